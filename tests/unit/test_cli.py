"""The `partner-review` command as a user runs it: exit codes, JSON shape, no Prefect on the check path."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import EXAMPLES, ROOT


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "partner_review.cli.main", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def test_check_json_offline_on_the_bundled_submission():
    done = run("check", str(EXAMPLES / "submission.json"), "--format", "json", "--offline")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["verdict"] == "pass"
    assert set(report["results"][0]) == {"check", "stage", "severity", "outcome", "message", "evidence"}
    network = [r for r in report["results"] if r["outcome"] == "skip" and "offline" in r["message"].lower()]
    stages = {r["stage"] for r in report["results"]}
    assert "catalog" in stages
    assert all(r["stage"] != "catalog" for r in network)


def test_check_exits_1_when_a_blocker_fails():
    done = run("check", str(EXAMPLES / "invalid" / "catalog-problems.json"), "--format", "json", "--offline")
    assert done.returncode == 1
    failed = {r["check"] for r in json.loads(done.stdout)["results"] if r["outcome"] == "fail"}
    assert {"CAT-002", "CAT-005"} <= failed


@pytest.mark.parametrize(
    "name,words",
    [
        ("does-not-exist.json", "no such file"),
        ("invalid/not-json.json", "not valid JSON"),
        ("invalid/unknown-field.json", "unknown field"),
        ("invalid/missing-app.json", "app: required field is missing"),
    ],
)
def test_check_exits_2_with_one_line_for_bad_files(name, words):
    done = run("check", str(EXAMPLES / name))
    assert done.returncode == 2
    assert words in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_check_usage_error_exits_2():
    assert run("check").returncode == 2
    assert run("check", str(EXAMPLES / "submission.json"), "--format", "xml").returncode == 2


def test_check_path_does_not_import_prefect():
    code = (
        "import sys, asyncio, json; from partner_review.cli.files import load_submission_file; from pathlib import Path; "
        "from partner_review.tasks.pipeline import run_checks; from partner_review.tasks.lifecycle import report; "
        f"s = load_submission_file(Path({str(EXAMPLES / 'submission.json')!r})); "
        "asyncio.run(run_checks(s, offline=True)); "
        "print('prefect' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False", done.stderr


def test_schema_prints_the_json_schema():
    done = run("schema")
    schema = json.loads(done.stdout)
    assert schema["title"] == "Submission" and schema["additionalProperties"] is False


def test_checks_reference_matches_docs_checks_md():
    done = run("checks", "--markdown")
    assert done.returncode == 0
    assert (ROOT / "docs" / "checks.md").read_text() == done.stdout, "docs/checks.md is stale: run `make docs`"


def test_settings_reference_matches_docs_settings_md():
    done = run("settings", "--markdown")
    assert (ROOT / "docs" / "settings.md").read_text() == done.stdout, "docs/settings.md is stale: run `make docs`"


def test_settings_table_masks_secrets():
    done = run("settings", env={"PARTNER_REVIEW_WEBHOOK_SECRET": "hush-hush-value"})
    assert done.returncode == 0 and "hush-hush-value" not in done.stdout


def _version(tmp_path, name: str, number: int, edit=None):
    data = json.loads((EXAMPLES / "submission.json").read_text())
    data["version"] = number
    if edit:
        edit(data)
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def test_check_against_a_released_version_runs_the_update_gate(tmp_path):
    released = _version(tmp_path, "released.json", 1)
    same = run("check", _version(tmp_path, "same.json", 2), "--against", released, "--format", "json", "--offline")
    assert same.returncode == 0, same.stderr
    compat = [r for r in json.loads(same.stdout)["results"] if r["stage"] == "compat"]
    gate = [r for r in compat if r["check"].startswith("UPD-")]  # the field gate; CMP-* need the network
    assert {r["check"] for r in gate} >= {"UPD-001", "UPD-004"} and {r["outcome"] for r in gate} == {"pass"}
    behaviour = [r for r in compat if not r["check"].startswith("UPD-")]
    assert {r["check"] for r in behaviour} == {"CMP-001", "CMP-002", "CMP-003"}
    assert all(r["outcome"] == "skip" and "offline" in r["message"] for r in behaviour)

    def breaking(data):
        data["components"].pop()  # the source is gone
        data["app"]["name"] = "Acme Insights"

    broken = run(
        "check", _version(tmp_path, "new.json", 2, breaking), "--against", released, "--format", "json", "--offline"
    )
    assert broken.returncode == 1
    outcomes = {r["check"]: r["outcome"] for r in json.loads(broken.stdout)["results"]}
    assert outcomes["UPD-003"] == "fail" and outcomes["UPD-005"] == "warn" and outcomes["UPD-004"] == "pass"
    replay = [r for r in json.loads(broken.stdout)["results"] if r["stage"] == "replay"]
    assert replay and all(r["outcome"] == "skip" and "offline" in r["message"] for r in replay)


def test_check_without_against_skips_the_update_gate_and_names_the_option():
    done = run("check", str(EXAMPLES / "submission.json"), "--format", "json", "--offline")
    compat = [r for r in json.loads(done.stdout)["results"] if r["stage"] == "compat"]
    assert compat and all(r["outcome"] == "skip" and "--against" in r["message"] for r in compat)


def test_check_against_an_unreadable_file_exits_2(tmp_path):
    done = run("check", str(EXAMPLES / "submission.json"), "--against", str(tmp_path / "gone.json"), "--offline")
    assert done.returncode == 2 and "gone.json: no such file" in done.stderr and "Traceback" not in done.stderr


def test_check_one_stage_and_one_check_keep_the_json_shape_and_exit_codes(tmp_path):
    done = run("check", str(EXAMPLES / "submission.json"), "--stage", "catalog", "--format", "json", "--offline")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report) == {"verdict", "results", "unverified"} and {r["stage"] for r in report["results"]} == {
        "catalog"
    }

    flawed = str(EXAMPLES / "invalid" / "catalog-problems.json")
    one = run("check", flawed, "--check", "CAT-002", "--check", "cat-005", "--format", "json", "--offline")
    assert one.returncode == 1
    assert sorted(r["check"] for r in json.loads(one.stdout)["results"]) == ["CAT-002", "CAT-005"]
    elsewhere = run("check", flawed, "--stage", "docs", "--format", "json", "--offline")  # the blockers are not run
    assert elsewhere.returncode == 0 and {r["stage"] for r in json.loads(elsewhere.stdout)["results"]} == {"docs"}

    released = _version(tmp_path, "released.json", 1)
    gate = run(
        "check",
        _version(tmp_path, "new.json", 2, lambda d: d["components"].pop()),
        "--against",
        released,
        "--check",
        "UPD-003",
        "--format",
        "json",
    )
    assert gate.returncode == 1
    assert [(r["check"], r["outcome"]) for r in json.loads(gate.stdout)["results"]] == [("UPD-003", "fail")]


@pytest.mark.parametrize(
    "option,name,words",
    [("--stage", "graduation", "unknown stage 'graduation' (one of: catalog, docs"), ("--check", "NOPE-1", "CAT-001")],
)
def test_check_unknown_stage_or_check_exits_2_listing_the_valid_ones(option, name, words):
    done = run("check", str(EXAMPLES / "submission.json"), option, name, "--offline")
    assert done.returncode == 2 and done.stdout == ""
    assert words in done.stderr and len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
