"""Customer activity and the active-customer rule, on both engines."""

import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from partner_review.models.activity import Activity, UnknownApp
from partner_review.models.submission import parse_submission
from partner_review.tasks.graduation.adoption import BadActivity, count_active, read_file
from tests.conftest import ROOT

TODAY = date(2026, 11, 26)


@pytest.fixture
def app_in_store(store, example):
    now = datetime.now(UTC)
    store.record_delivery("d-1", b"b", parse_submission(example), received_at=now, ack_due_at=now)
    return "acme-analytics"


def days(workspace, n, delivered=5, start=TODAY):
    return [
        Activity(
            app="acme-analytics", workspace_id=workspace, day=start - timedelta(days=i), events_delivered=delivered
        )
        for i in range(n)
    ]


def test_active_needs_three_distinct_days_in_the_window(store, app_in_store):
    from partner_review.models.settings import get_settings

    store.record_activity(
        days("ws-a", 3)
        + days("ws-b", 2)
        + days("ws-c", 5, delivered=0)
        + days("ws-old", 3, start=TODAY - timedelta(days=40))
    )
    adoption = count_active(store, get_settings(), "acme-analytics", today=TODAY)
    assert adoption.active == ["ws-a"] and adoption.almost == {"ws-b": 2}


def test_repeated_rows_are_not_counted_twice_and_corrections_replace(store, app_in_store):
    first = store.record_activity(days("ws-a", 2))
    again = store.record_activity(days("ws-a", 2))
    fixed = store.record_activity(days("ws-a", 1, delivered=9))
    assert (first, again, fixed) == (
        {"inserted": 2, "updated": 0, "unchanged": 0},
        {"inserted": 0, "updated": 0, "unchanged": 2},
        {"inserted": 0, "updated": 1, "unchanged": 0},
    )
    assert store.active_days("acme-analytics", until=TODAY, window_days=30) == {"ws-a": 2}


def test_unknown_app_stores_nothing(store, app_in_store):
    with pytest.raises(UnknownApp, match="'nope'"):
        store.record_activity(days("ws-a", 1) + [Activity(app="nope", workspace_id="w", day=TODAY, events_delivered=1)])
    assert store.active_days("acme-analytics", until=TODAY, window_days=30) == {}


def test_files_in_csv_and_json_lines():
    csv_text = "app,workspace_id,day,events_delivered,events_failed\nacme-analytics,ws-1,2026-11-25,10,0\n"
    jsonl = '{"app": "acme-analytics", "workspace_id": "ws-1", "day": "2026-11-25", "events_delivered": 10}\n'
    assert read_file(csv_text, name="a.csv") == read_file(jsonl, name="a.jsonl")


@pytest.mark.parametrize(
    "text,words",
    [
        ("app,workspace_id,day,events_delivered\nacme,ws,2026-13-01,1\n", "line 2: day"),
        ("app,workspace_id,day,events_delivered\nacme,ws,2026-11-01,-4\n", "line 2: events_delivered"),
        ('{"app": "acme"\n', "line 1: not valid JSON"),
        (
            '{"app": "a", "workspace_id": "w", "day": "2026-11-01", "events_delivered": 1, "extra": 1}\n',
            "line 1: extra",
        ),
    ],
)
def test_bad_records_are_named_by_line(text, words):
    with pytest.raises(BadActivity, match=words):
        read_file(text, name="f.csv" if text.startswith("app,") else "f.jsonl")


def test_import_command(store, app_in_store, tmp_path):
    import os

    good = tmp_path / "activity.csv"
    good.write_text("app,workspace_id,day,events_delivered,events_failed\nacme-analytics,ws-1,2026-11-25,10,0\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("app,workspace_id,day,events_delivered\nacme-analytics,ws-1,someday,1\n")
    env = {**os.environ, "PARTNER_REVIEW_DATABASE_URL": store.url}
    run = lambda f: subprocess.run(
        [sys.executable, "-m", "partner_review.cli.main", "activity", "import", str(f)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert "1 new" in run(good).stdout and "1 already known" in run(good).stdout
    failed = run(bad)
    assert failed.returncode == 2 and "line 2: day" in failed.stderr and "nothing was imported" in failed.stderr


def test_activity_webhook(store, app_in_store, monkeypatch):
    import uuid

    from partner_review.webhooks.server import running
    from partner_review.webhooks.signing import DELIVERY_HEADER, HEADER, sign

    monkeypatch.setenv("PARTNER_REVIEW_DISPATCH", "off")
    from partner_review.models.settings import get_settings

    get_settings.cache_clear()
    record = {"app": "acme-analytics", "workspace_id": "ws-9", "day": "2026-11-25", "events_delivered": 3}
    with running() as base:
        post = lambda data, secret="test-webhook-secret": httpx.post(
            f"{base}/webhooks/activity",
            content=(raw := json.dumps(data).encode()),
            headers={HEADER: sign(secret, raw), DELIVERY_HEADER: f"activity-{uuid.uuid4()}"},
        )
        assert post([record, record]).json() == {"inserted": 1, "updated": 0, "unchanged": 1}
        assert post(record).json() == {"inserted": 0, "updated": 0, "unchanged": 1}
        assert post(record, secret="wrong").status_code == 401
        bad = post({**record, "events_delivered": -1})
        assert bad.status_code == 422 and "record 0: events_delivered" in bad.json()["fields"][0]
        unknown = post({**record, "app": "ghost"})
        assert unknown.status_code == 422 and "'ghost'" in unknown.json()["error"]
    assert store.active_days("acme-analytics", until=TODAY, window_days=30) == {"ws-9": 1}
