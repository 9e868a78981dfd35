"""`partner-review check-access` as a user runs it: the JSON of `check`, its exit codes, no Prefect."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "partner_review.cli.main", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ.copy(),
    )


@pytest.fixture
def example_file(shared_dir):
    return shared_dir / "contract" / "access-request.example.json"


def test_the_example_passes_offline_with_the_check_json_shape(example_file):
    done = run("check-access", str(example_file), "--format", "json", "--offline")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["verdict"] == "pass"
    assert {tuple(sorted(r)) for r in report["results"]} == {
        ("check", "evidence", "message", "outcome", "severity", "stage")
    }
    skipped = {r["check"]: r["message"] for r in report["results"] if r["outcome"] == "skip"}
    assert set(skipped) == {"ACC-002", "ACC-003", "ACC-008"} and "offline" in skipped["ACC-002"].lower()


def test_a_failing_blocker_exits_1(example_file, tmp_path):
    data = json.loads(example_file.read_text())
    data["contact"]["email"] = "dana@mailinator.com"
    data["agreed_to_partner_terms"] = False
    path = tmp_path / "request.json"
    path.write_text(json.dumps(data))
    done = run("check-access", str(path), "--format", "json", "--offline")
    assert done.returncode == 1
    failed = {r["check"] for r in json.loads(done.stdout)["results"] if r["outcome"] == "fail"}
    assert failed == {"ACC-004", "ACC-005", "ACC-007"}
    table = run("check-access", str(path), "--offline")
    assert table.returncode == 1 and "verdict: fail" in table.stdout


def test_online_the_website_is_fetched_through_the_guard(example_file, tmp_path):
    data = json.loads(example_file.read_text())
    data["company"]["website"] = "https://127.0.0.1:9/"  # allowed by the test environment; nothing listens
    path = tmp_path / "request.json"
    path.write_text(json.dumps(data))
    done = run("check-access", str(path), "--format", "json")
    assert done.returncode == 1
    results = {r["check"]: r for r in json.loads(done.stdout)["results"]}
    assert results["ACC-002"]["outcome"] == "fail" and results["ACC-002"]["evidence"]["url"] == "https://127.0.0.1:9/"
    assert results["ACC-003"]["outcome"] == "skip"


@pytest.mark.parametrize(
    "content,words",
    [
        (None, "no such file"),
        (b"{not json", "not valid JSON"),
        (b"[" * 100_000, "not valid JSON"),
        (
            json.dumps({"company": {}, "contact": {}, "agreed_to_partner_terms": True, "x": 1}).encode(),
            "x: unknown field",
        ),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_bad_files_exit_2_with_one_line(tmp_path, content, words):
    path = tmp_path / "request.json"
    if content is not None:
        path.write_bytes(content)
    done = run("check-access", str(path))
    assert done.returncode == 2
    assert words in done.stderr and len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_usage_errors_exit_2(example_file):
    assert run("check-access").returncode == 2
    assert run("check-access", str(example_file), "--format", "xml").returncode == 2


def test_the_check_access_and_status_paths_do_not_import_prefect(example_file):
    code = (
        "import sys; from pathlib import Path; from partner_review.cli.access import check_access_file, status_of; "
        f"check_access_file(Path({str(example_file)!r}), format='json', offline=True); "
        "import partner_review.tasks.lifecycle.checklist; "
        "print('prefect' in sys.modules, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stderr.strip().splitlines()[-1] == "False", done.stderr


def test_decide_access_needs_exactly_one_decision_and_a_known_request(tmp_path):
    both = run("decide-access", "r-1", "--approve", "--reject")
    assert both.returncode == 2 and "exactly one of --approve, --reject" in both.stderr
    env = {**os.environ, "PARTNER_REVIEW_DATA_DIR": str(tmp_path)}
    env.pop("PARTNER_REVIEW_DATABASE_URL", None)
    unknown = subprocess.run(
        [sys.executable, "-m", "partner_review.cli.main", "decide-access", "r-1", "--approve"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert unknown.returncode == 2 and "no access request r-1" in unknown.stderr and "Traceback" not in unknown.stderr
