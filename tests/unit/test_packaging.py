"""The wheel installs one namespace, partner_review, and every package folder is in it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from tests.conftest import ROOT

TOP = ("cli", "deployments", "flows", "migrations", "models", "partners", "tasks", "webhooks")
DATA = {
    "partner_review.examples",
    "partner_review.examples.docs",
    "partner_review.examples.invalid",
}  # folders of package data only (no __init__.py)


def test_every_package_folder_is_listed_under_the_namespace():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {
        "partner_review." + ".".join(init.parent.relative_to(ROOT).parts)
        for top in TOP
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert folders | DATA == listed


def build_wheel(into: Path) -> tuple[Path, str]:
    """The wheel built from a copy of the checkout (setuptools builds in the source tree and
    leaves build/ there), and what pip said on stderr."""
    source = into / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".*", "build", "*.egg-info", "__pycache__", "tests"))
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(into), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    shutil.rmtree(source)
    (wheel,) = into.glob("partner_review-*.whl")
    return wheel, done.stderr


def test_the_wheel_holds_only_the_partner_review_namespace(tmp_path):
    wheel, said = build_wheel(tmp_path)
    assert "warning" not in said.lower().replace("warning: location", ""), said
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"partner_review"}
    assert "partner_review/migrations/alembic.ini" in names
    assert "partner_review/webhooks/app.py" in names
    assert {"partner_review/examples/submission.json", "partner_review/examples/access-request.json"} <= set(names)
    assert "partner_review/examples/docs/acme-analytics-destination.md" in names


def test_the_contracts_asgi_name_still_loads_from_the_project_root():
    """Contract section 2 names the ASGI app `webhooks.app:app`: from the checkout (where uvicorn is
    started) it is the same application as the installed `partner_review.webhooks.app:app`."""
    code = (
        "import uvicorn.importer as i\n"
        "a = i.import_from_string('webhooks.app:app')\n"
        "b = i.import_from_string('partner_review.webhooks.app:app')\n"
        'paths = lambda app: sorted(app.openapi()["paths"])\n'
        'print(a.title == b.title, paths(a) == paths(b) and "/webhooks/access-requests" in paths(a))'
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["True", "True"], done.stderr
