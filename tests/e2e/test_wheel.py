"""Issue 29 item 7: the wheel works on its own. It is built from a copy of the checkout, installed
with its dependencies (from the package index) into a fresh virtual environment outside the
checkout, and run from an empty directory: `check --offline` on the bundled example, `lint` on
the bundled doc page, and the whole `demo`. Slow (the install fetches Prefect and the rest):
marker `wheel`, run once by CI (.ci/run)."""

from __future__ import annotations

import json
import os
import subprocess
import venv
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.unit.test_packaging import build_wheel

pytestmark = pytest.mark.wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The `bin` folder of a fresh virtual environment holding only the wheel and its dependencies."""
    tmp = tmp_path_factory.mktemp("wheel")
    wheel, _ = build_wheel(tmp)
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    done = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheel)],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return bin_dir


def command(bin_dir: Path, *args: str, cwd: Path, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PARTNER_REVIEW_", "PYTHON", "VIRTUAL_ENV"))}
    clean.update({"PARTNER_REVIEW_DATA_DIR": str(cwd / "data"), "PREFECT_HOME": str(cwd / "prefect"), **env})
    clean["PATH"] = f"{bin_dir}{os.pathsep}{clean.get('PATH', '')}"
    return subprocess.run(
        [str(bin_dir / "partner-review"), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=clean
    )


def bundled(bin_dir: Path, name: str) -> Path:
    code = f"import importlib.resources as r; print(r.files('partner_review.examples') / {name!r})"
    found = subprocess.run([str(bin_dir / "python"), "-c", code], capture_output=True, text=True, timeout=60, cwd="/")
    path = Path(found.stdout.strip())
    assert path.is_file() and ROOT not in path.parents, (path, found.stderr)
    return path


def test_check_offline_on_the_bundled_example(installed, tmp_path):
    done = command(
        installed, "check", str(bundled(installed, "submission.json")), "--offline", "--format", "json", cwd=tmp_path
    )
    assert done.returncode in (0, 1), done.stderr
    report = json.loads(done.stdout)
    assert report["results"] and "Traceback" not in done.stderr


def test_lint_on_the_bundled_page(installed, tmp_path):
    done = command(installed, "lint", str(bundled(installed, "docs/acme-analytics-destination.md")), cwd=tmp_path)
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr
    assert "finding(s)" in done.stderr


def test_a_bad_file_is_one_line_from_the_wheel_too(installed, tmp_path):
    done = command(installed, "check", "/dev/zero", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0, done.stderr
    assert done.stderr.startswith("partner-review: check: /dev/zero: ")


def test_the_demo_runs_from_the_wheel_and_says_how_to_look_afterwards(installed, tmp_path):
    done = command(installed, "demo", "--keep", cwd=tmp_path, timeout=900, PREFECT_API_URL="")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "Traceback" not in output and "FileNotFoundError" not in output
    look = next(
        line.strip() for line in done.stdout.splitlines() if "partner-review status" in line and "DATA_DIR=" in line
    )
    assignment, *status = look.split()
    name, _, value = assignment.partition("=")
    assert name == "PARTNER_REVIEW_DATA_DIR" and status == ["partner-review", "status", "acme-analytics"]
    shown = command(installed, *status[1:], cwd=tmp_path, PARTNER_REVIEW_DATA_DIR=value)
    assert shown.returncode == 0 and "Public Beta checklist" in shown.stdout, shown.stderr
