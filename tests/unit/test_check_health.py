"""The checks' own quality (`partner-review check-health`), on both engines."""

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from partner_review.models.checks import Result
from partner_review.models.db import RunRow
from partner_review.models.store import Waiver
from partner_review.models.submission import parse_submission
from tests.unit.test_health import run_cli

T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)


def submit(store, example, version):
    example = {**example, "version": version}
    return store.record_delivery(
        f"d-{version}", b"b", parse_submission(example), received_at=T0, ack_due_at=T0
    ).submission_id


def run(store, sid, at, **outcomes):
    run_id = store.start_review_run(sid, None)
    results = [
        Result(check=c.replace("_", "-"), stage="catalog", severity="blocker", outcome=o, message="x")
        for c, o in outcomes.items()
    ]
    store.save_results(run_id, results, "pass")
    with store.engine.begin() as conn:
        conn.execute(update(RunRow).where(RunRow.id == run_id).values(started_at=at))


def history(store, example):
    v1, v2 = submit(store, example, 1), submit(store, example, 2)
    run(store, v1, T0, CAT_001="fail", CAT_002="pass")
    run(store, v1, T0 + timedelta(days=1), CAT_001="fail", CAT_002="fail")
    run(store, v1, T0 + timedelta(days=2), CAT_001="fail", CAT_002="pass")
    run(store, v2, T0 + timedelta(days=3, hours=10), CAT_001="pass", CAT_002="pass")
    store.add_waiver("acme-analytics", Waiver("CAT-001", "known", "rita", T0 + timedelta(days=30)), submission_id=v1)


def test_fail_flip_fix_and_waivers_per_check(store, example):
    from partner_review.models.settings import get_settings
    from partner_review.tasks.health.quality import check_health

    history(store, example)
    rows = [q.as_json() for q in check_health(store, get_settings())]
    assert rows == [
        # CAT-002 failed once between two passes of version 1: a flip each way, nothing fixed.
        {
            "check": "CAT-002",
            "stage": "catalog",
            "runs": 4,
            "fail_rate": 0.25,
            "waived": 0,
            "flip_rate": 1.0,
            "median_time_to_fix": None,
            "flaky": True,
        },
        # CAT-001 failed on every run of version 1 and passed on version 2, 3 days 10 hours later.
        {
            "check": "CAT-001",
            "stage": "catalog",
            "runs": 4,
            "fail_rate": 0.75,
            "waived": 1,
            "flip_rate": 0.0,
            "median_time_to_fix": 82.0,
            "flaky": False,
        },
    ]
    later = check_health(store, get_settings(), since=T0 + timedelta(days=2))
    assert [(q.check, q.runs) for q in later] == [("CAT-001", 2), ("CAT-002", 2)]


def test_check_health_command(store, example):
    history(store, example)
    done = run_cli(store, "check-health", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert [r["check"] for r in json.loads(done.stdout)] == ["CAT-002", "CAT-001"]
    since = run_cli(store, "check-health", "--since", "2026-11-03")
    assert since.returncode == 0 and "FLAKY" not in since.stdout and "CAT-001" in since.stdout
