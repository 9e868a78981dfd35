"""Issue 24 item 6: Prefect's internals are touched from one module, flows/prefect_server.py, and
this test fails when the Prefect version changes what that module copied or leans on: the body of
`SubprocessASGIServer._run_uvicorn_command` (EmbeddedServer's copy must then be compared with the
new one) and the `_instances` registry of temporary servers."""

from __future__ import annotations

import hashlib
import inspect
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("cli", "flows", "tasks", "models", "webhooks", "deployments", "partners", "migrations")
# sha256 of Prefect 3.9.1's SubprocessASGIServer._run_uvicorn_command source, which EmbeddedServer copies.
COPIED = "ade91366329f9f14fa49035c1801a6f63c240e439adb65efef67a96ce3f524c6"
INTERNAL = re.compile(r"^\s*(?:from|import)\s+prefect\.(?:_internal|server)\b", re.MULTILINE)


def test_what_the_embedded_server_copies_is_unchanged_in_this_prefect():
    from prefect.server.api.server import SubprocessASGIServer

    source = inspect.getsource(SubprocessASGIServer._run_uvicorn_command)
    assert hashlib.sha256(source.encode()).hexdigest() == COPIED, (
        "Prefect changed SubprocessASGIServer._run_uvicorn_command: compare it with "
        "flows/prefect_server.py:EmbeddedServer._run_uvicorn_command, then update COPIED"
    )
    assert isinstance(SubprocessASGIServer.__dict__.get("_instances"), dict), "Prefect's server registry moved"


def test_only_one_module_imports_prefect_internals():
    touching = sorted(
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if INTERNAL.search(path.read_text(encoding="utf-8"))
    )
    assert touching == ["flows/prefect_server.py"], touching
