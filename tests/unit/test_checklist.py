"""The Public Beta checklist: each requirement met, unmet or unknown from what a run verified, on
both engines; the status command as a user runs it."""

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from partner_review.models.checks import NOT_RUN, Result
from partner_review.models.lifecycle import State
from partner_review.models.store import NotFound, Waiver
from partner_review.models.submission import parse_submission
from partner_review.tasks.lifecycle.checklist import REQUIREMENTS, checklist_of
from tests.conftest import ROOT

NOW = datetime.now(UTC)


def result(check, outcome="pass", stage=None, severity="blocker"):
    stage = (
        stage
        or {
            "CAT": "catalog",
            "DOC": "docs",
            "LNK": "links",
            "E2E": "e2e",
            "SPEC": "spec",
            "VOL": "volume",
            "GRD": "graduation",
        }[check.split("-")[0]]
    )
    evidence = {NOT_RUN: "not-applicable"} if outcome == "skip" else {}  # a destination has no source events
    return Result(
        check=check, stage=stage, severity=severity, outcome=outcome, message=f"{check} {outcome}", evidence=evidence
    )


def passing_review():
    return (
        [result(f"CAT-{n:03d}") for n in range(1, 19)]
        + [result(f"DOC-{n:03d}") for n in range(1, 14)]
        + [result(f"LNK-{n:03d}") for n in range(1, 10)]
        + [result(f"E2E-{n:03d}") for n in range(1, 16)]
        + [result(f"SPEC-{n:03d}", "skip") for n in range(1, 19)]  # a destination: no source events
        + [result(f"VOL-{n:03d}") for n in range(1, 4)]
    )


def submit(store, example, version=1, delivery="d-1"):
    submission = parse_submission({**example, "version": version})
    intake = store.record_delivery(delivery, b"b", submission, received_at=NOW, ack_due_at=NOW + timedelta(days=2))
    return intake.submission_id


def review(store, sid, results, flow_run_id="fr-1"):
    run = store.start_review_run(sid, flow_run_id)
    store.save_results(run, results, "pass")
    return run


def statuses(checklist):
    return {line.requirement.id: line.status for line in checklist.lines}


def test_unknown_app_is_not_found(store):
    with pytest.raises(NotFound, match="no app 'nope'"):
        checklist_of(store, "nope")


def test_before_any_run_everything_is_unknown_and_the_acknowledgment_is_due(store, example):
    submit(store, example)
    checklist = checklist_of(store, "acme-analytics")
    assert set(statuses(checklist).values()) == {"unknown"}
    data = checklist.as_json()
    assert data["app"] == "acme-analytics" and data["state"] == "submitted"
    assert data["next_due"] == {"promise": "acknowledgment", "due_at": (NOW + timedelta(days=2)).isoformat()}
    assert [r["id"] for r in data["requirements"]] == [r.id for r in REQUIREMENTS]
    assert set(data["requirements"][0]) >= {"id", "title", "status", "checks"}


def test_a_passing_review_meets_the_launch_requirements_and_waits_for_the_reviewer(store, example):
    sid = submit(store, example)
    for target in (State.acknowledged, State.in_review):
        store.transition(sid, target, actor="t")
    store.acknowledge(sid, NOW)
    run = review(store, sid, passing_review())
    checklist = checklist_of(store, "acme-analytics")
    s = statuses(checklist)
    assert {k for k, v in s.items() if v == "met"} == {
        "end-to-end",
        "spec",
        "volume",
        "docs",
        "catalog",
        "partner-page",
        "launch-post",
        "test-account",
    }
    assert s["approval"] == "unknown" and s["oauth-button"] == s["active-customers"] == "unknown"
    line = next(line for line in checklist.lines if line.requirement.id == "test-account")
    assert line.checks == ["CAT-016"] and line.run.id == run and line.run.flow_run_id == "fr-1"
    assert checklist.as_json()["next_due"]["promise"] == "decision"

    store.record_decision(run, sid, decision="approve", reviewer="rita", comment="")
    store.transition(sid, State.public_beta, actor="rita")
    data = checklist_of(store, "acme-analytics").as_json()
    assert data["state"] == "public_beta" and data["next_due"]["promise"] == "graduation"
    assert next(r for r in data["requirements"] if r["id"] == "approval")["status"] == "met"


def test_a_failing_blocker_makes_its_requirement_unmet_until_waived(store, example):
    sid = submit(store, example)
    results = [r if r.check != "LNK-006" else result("LNK-006", "fail") for r in passing_review()]
    results = [r if r.check != "VOL-002" else result("VOL-002", "error") for r in results]
    review(store, sid, results)
    lines = {line.requirement.id: line for line in checklist_of(store, "acme-analytics").lines}
    assert lines["launch-post"].status == "unmet" and lines["launch-post"].checks == ["LNK-006"]
    assert lines["volume"].status == "unmet" and lines["volume"].checks == ["VOL-002"]  # not verified: not met
    assert lines["partner-page"].status == "met"
    store.add_waiver(
        "acme-analytics", Waiver("LNK-006", "blog moves", "rita", NOW + timedelta(days=5)), submission_id=sid
    )
    assert statuses(checklist_of(store, "acme-analytics"))["launch-post"] == "met"


def test_skipped_checks_leave_a_requirement_unknown(store, example):
    sid = submit(store, example)
    skipped = {"outcome": "skip", "evidence": {NOT_RUN: "not-applicable"}}
    review(store, sid, [r if r.stage != "volume" else r.model_copy(update=skipped) for r in passing_review()])
    lines = {line.requirement.id: line for line in checklist_of(store, "acme-analytics").lines}
    assert lines["volume"].status == "unknown" and lines["volume"].checks == ["VOL-001", "VOL-002", "VOL-003"]


def test_blockers_that_could_not_run_leave_a_requirement_unmet(store, example):
    sid = submit(store, example)
    not_run = {"outcome": "skip", "evidence": {NOT_RUN: "not-verified"}}
    review(store, sid, [r if r.stage != "volume" else r.model_copy(update=not_run) for r in passing_review()])
    lines = {line.requirement.id: line for line in checklist_of(store, "acme-analytics").lines}
    assert lines["volume"].status == "unmet" and lines["volume"].checks == ["VOL-001", "VOL-002", "VOL-003"]


def test_the_graduation_run_decides_the_post_launch_requirements(store, example):
    sid = submit(store, example)
    review(store, sid, passing_review())
    grad = store.start_review_run(sid, None, kind="graduation")
    store.save_results(grad, [result("GRD-001"), result("GRD-002"), result("GRD-003", "fail")], "fail")
    lines = {line.requirement.id: line for line in checklist_of(store, "acme-analytics").lines}
    assert lines["oauth-button"].status == "met" and lines["oauth-button"].run.kind == "graduation"
    assert lines["active-customers"].status == "unmet" and lines["active-customers"].checks == ["GRD-003"]


def test_the_newest_version_is_the_one_shown(store, example):
    first = submit(store, example)
    review(store, first, passing_review())
    submit(store, example, version=2, delivery="d-2")
    data = checklist_of(store, "acme-analytics").as_json()
    assert data["submission"]["version"] == 2 and {r["status"] for r in data["requirements"]} == {"unknown"}


# The command ------------------------------------------------------------------------------------


def run_cli(*args, data_dir):
    import os

    env = {**os.environ, "PARTNER_REVIEW_DATA_DIR": str(data_dir)}
    env.pop("PARTNER_REVIEW_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "partner_review.cli.main", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_status_command_prints_the_contract_json_and_exits_2_for_an_unknown_app(env, tmp_path, example):
    from partner_review.models.settings import get_settings
    from partner_review.models.store import Store

    s = Store(get_settings())
    try:
        sid = submit(s, example)
        review(s, sid, passing_review())
    finally:
        s.close()
    done = run_cli("status", "acme-analytics", "--format", "json", data_dir=tmp_path / "data")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert set(data) >= {"app", "state", "requirements", "next_due"} and data["app"] == "acme-analytics"
    assert next(r for r in data["requirements"] if r["id"] == "catalog")["status"] == "met"
    table = run_cli("status", "acme-analytics", data_dir=tmp_path / "data")
    assert table.returncode == 0 and "Public Beta checklist" in table.stdout
    missing = run_cli("status", "no-such-app", data_dir=tmp_path / "data")
    assert missing.returncode == 2 and "no app 'no-such-app'" in missing.stderr and "Traceback" not in missing.stderr
