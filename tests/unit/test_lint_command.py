"""`partner-review lint PAGE.md` (contract section 8): the docs stage alone, linter-style output."""

import json
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

CORPUS = ROOT.parent / "shared" / "corpus" / "segment-docs"
BAD_PAGE = "---\ntitle: Acme Destination\n---\n\nSee [our site](http://x.example).\n\n## Getting Started\n\n1. Do it\n"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "partner_review.cli.main", "lint", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
    )


@pytest.fixture
def bad_page(tmp_path):
    page = tmp_path / "acme.md"
    page.write_text(BAD_PAGE)
    return page


def test_findings_read_like_a_linter_and_a_failed_blocker_exits_1(bad_page):
    done = run(str(bad_page))
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines and all(re.match(rf"^{re.escape(str(bad_page))}:\d+:\d+ DOC-\d{{3}} \S", line) for line in lines)
    assert f"{bad_page}:5:" in done.stdout and "DOC-004" in done.stdout  # the link without UTM, where it is
    assert "blocker(s) failed" in done.stderr


def test_json_has_the_check_commands_shape_and_only_the_docs_stage(bad_page):
    done = run(str(bad_page), "--format", "json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["verdict"] == "fail" and {r["stage"] for r in report["results"]} == {"docs"}
    assert set(report["results"][0]) == {"check", "stage", "severity", "outcome", "message", "evidence"}


def test_a_real_destination_page_passes():
    page = CORPUS / "destinations" / "1flow-analytics.md"
    if not page.exists():
        pytest.skip("the corpus is not beside the checkout")
    done = run(str(page))
    assert done.returncode == 0, done.stdout
    assert done.stdout == ""


def test_kind_chooses_the_template(bad_page):
    as_destination = {
        r["check"]: r["outcome"] for r in json.loads(run(str(bad_page), "--format", "json").stdout)["results"]
    }
    as_source = json.loads(run(str(bad_page), "--kind", "source", "--format", "json").stdout)["results"]
    assert {r["check"]: r["outcome"] for r in as_source} != as_destination
    assert "Supported methods" not in " ".join(r["message"] for r in as_source if r["outcome"] == "fail")


@pytest.mark.parametrize("what", ["missing", "directory"])
def test_an_unreadable_file_exits_2_with_one_line(tmp_path, what):
    target = tmp_path / "nope.md" if what == "missing" else tmp_path
    done = run(str(target))
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_bytes_that_are_not_utf8_are_a_finding_not_a_crash(tmp_path):
    page = tmp_path / "latin1.md"
    page.write_bytes(BAD_PAGE.encode() + "caf\xe9\n".encode("latin-1"))
    done = run(str(page))
    assert done.returncode == 1 and "DOC-002" in done.stdout and "Traceback" not in done.stderr


def test_lint_imports_no_prefect(bad_page):
    code = (
        "import sys\n"
        "from partner_review.cli.main import app\n"
        "try:\n"
        f"    app(['lint', {str(bad_page)!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        "assert 'prefect' not in sys.modules, 'lint imported Prefect'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "DOC-004" in done.stdout  # the command did run
