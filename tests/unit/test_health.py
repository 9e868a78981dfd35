"""Delivery health (`partner-review health`, the API, the checklist) and the activity file's value
checks, on both engines."""

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest

from partner_review.models.activity import Activity
from partner_review.models.submission import parse_submission
from partner_review.tasks.graduation.adoption import BadActivity, count_active, read_file
from tests.conftest import ROOT

TODAY = datetime.now(UTC).date()


@pytest.fixture
def app_in_store(store, example):
    now = datetime.now(UTC)
    store.record_delivery("d-1", b"b", parse_submission(example), received_at=now, ack_due_at=now)
    return "acme-analytics"


def month(rate: float, *, workspaces: int = 3, days: int = 28, per_day: int = 100, end: date = TODAY):
    ok = round(per_day * rate)
    return [
        Activity(
            app="acme-analytics",
            workspace_id=f"ws-{w}",
            day=end - timedelta(days=d),
            events_delivered=ok,
            events_failed=per_day - ok,
        )
        for w in range(workspaces)
        for d in range(days)
    ]


def run_cli(store, *args):
    env = {**os.environ, "PARTNER_REVIEW_DATABASE_URL": store.url}
    return subprocess.run(
        [sys.executable, "-m", "partner_review.cli.main", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_a_month_at_99_percent_is_healthy_and_a_reimport_at_70_replaces_it(store, app_in_store):
    from partner_review.models.settings import get_settings
    from partner_review.tasks.health.delivery import health_of

    settings = get_settings()
    store.record_activity(month(0.99))
    good = health_of(store, settings, "acme-analytics", today=TODAY)
    assert good.as_json() == {
        "app": "acme-analytics",
        "window_days": 30,
        "events_delivered": 99 * 28 * 3,
        "events_failed": 28 * 3,
        "success_rate": 0.99,
        "active_customers": 3,
        "healthy": True,
        "reasons": [],
    }
    # "Active" is the graduation check's own count.
    assert good.active_customers == len(count_active(store, settings, "acme-analytics", today=TODAY).active)
    store.record_activity(month(0.70))  # the same days again: each later record replaces the earlier one
    bad = health_of(store, settings, "acme-analytics", today=TODAY)
    assert (bad.events_delivered, bad.events_failed, bad.success_rate, bad.healthy) == (70 * 84, 30 * 84, 0.7, False)
    assert bad.reasons == ["success rate 70.00% is below 95%: 2,520 of 8,400 events failed in the last 30 days"]


def test_no_events_and_too_few_customers_are_named(store, app_in_store):
    from partner_review.models.settings import get_settings
    from partner_review.tasks.health.delivery import health_of

    empty = health_of(store, get_settings(), "acme-analytics", today=TODAY)
    assert empty.success_rate is None and not empty.healthy
    assert "no events were delivered or failed in the last 30 days" in empty.reasons[0]
    store.record_activity(month(1.0, workspaces=2))
    two = health_of(store, get_settings(), "acme-analytics", today=TODAY, days=7)
    assert (
        two.window_days == 7 and two.success_rate == 1.0 and two.reasons[0].startswith("2 active customers, 3 needed")
    )


def test_the_window_ends_today_and_counts_its_days_only(store, app_in_store):
    from partner_review.models.settings import get_settings
    from partner_review.tasks.health.delivery import health_of

    store.record_activity(month(0.5, days=10, end=TODAY - timedelta(days=30)) + month(1.0, days=30))
    found = health_of(store, get_settings(), "acme-analytics", today=TODAY)
    assert found.success_rate == 1.0 and found.healthy


def csv_of(records) -> str:
    rows = [f"{r.app},{r.workspace_id},{r.day},{r.events_delivered},{r.events_failed}" for r in records]
    return "app,workspace_id,day,events_delivered,events_failed\n" + "\n".join(rows) + "\n"


def test_health_command_exit_status_and_json(store, app_in_store, tmp_path):
    """The issue's acceptance: 28 days x 3 workspaces imported at 99%, then the same days at 70%."""
    (tmp_path / "good.csv").write_text(csv_of(month(0.99)))
    (tmp_path / "bad.csv").write_text(csv_of(month(0.70)))
    imported = run_cli(store, "activity", "import", str(tmp_path / "good.csv"))
    assert imported.returncode == 0 and "84 new" in imported.stdout, imported.stderr
    healthy = run_cli(store, "health", "acme-analytics", "--format", "json")
    assert healthy.returncode == 0, healthy.stderr
    data = json.loads(healthy.stdout)
    assert list(data) == [
        "app",
        "window_days",
        "events_delivered",
        "events_failed",
        "success_rate",
        "active_customers",
        "healthy",
        "reasons",
    ]
    assert (data["success_rate"], data["active_customers"], data["healthy"]) == (0.99, 3, True)
    assert "84 corrected" in run_cli(store, "activity", "import", str(tmp_path / "bad.csv")).stdout
    unhealthy = run_cli(store, "health", "acme-analytics")
    assert unhealthy.returncode == 1 and "NOT healthy" in unhealthy.stdout and "below 95%" in unhealthy.stdout
    for args, words in (
        (("health", "ghost"), "no app with slug 'ghost'"),
        (("health", "acme-analytics", "--days", "0"), "--days must be between 1 and 366"),
        (("check-health", "--since", "yesterday"), "--since must be a day"),
    ):
        refused = run_cli(store, *args)
        assert refused.returncode == 2 and words in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr


def test_the_api_and_the_checklist_give_the_same_figures(store, app_in_store, monkeypatch):
    import httpx

    from partner_review.models.settings import get_settings
    from partner_review.tasks.graduation.checks import graduation_results
    from partner_review.tasks.health.delivery import health_of
    from partner_review.tasks.lifecycle.checklist import checklist_of
    from partner_review.webhooks.server import running

    monkeypatch.setenv("PARTNER_REVIEW_DISPATCH", "off")
    monkeypatch.setenv("PARTNER_REVIEW_API_TOKEN", "t0ken")
    get_settings.cache_clear()
    store.record_activity(month(0.70))
    expected = health_of(store, get_settings(), "acme-analytics", today=TODAY).as_json()
    with running() as base:
        answer = httpx.get(f"{base}/apps/acme-analytics/health", headers={"authorization": "Bearer t0ken"})
        assert answer.status_code == 200 and answer.json() == expected
        assert httpx.get(f"{base}/apps/ghost/health", headers={"authorization": "Bearer t0ken"}).status_code == 404
        assert httpx.get(f"{base}/apps/acme-analytics/health").status_code == 401
    import asyncio

    stored = store.get_submission(store.latest_submission_id("acme-analytics"))
    results = asyncio.run(graduation_results(store, get_settings(), stored, today=TODAY, offline=True))
    (grd,) = [r for r in results if r.check == "GRD-004"]
    assert grd.outcome == "fail" and grd.evidence == expected
    run = store.start_review_run(stored.id, None, kind="graduation")
    store.save_results(run, results, "fail")
    line = next(r for r in checklist_of(store, "acme-analytics").as_json()["requirements"] if r["id"] == "health")
    assert line["status"] == "unmet" and line["checks"] == ["GRD-004"] and "70.00%" in line["note"]


@pytest.mark.parametrize(
    "text,words",
    [
        ("app,workspace_id,day,events_delivered\nacme,ws,2999-01-01,1\n", "line 2: day 2999-01-01 is in the future"),
        (
            "app,workspace_id,day,events_delivered\nacme,ws,2026-11-01,1\nacme,ws,2026-11-01,2\n",
            "line 3: repeats line 2 (app acme, workspace ws, day 2026-11-01)",
        ),
        ("app,workspace_id,day,events_delivered\nacme,ws,2026-11-01,10000000000000\n", "line 2: events_delivered"),
        ("app,workspace_id,day,events_delivered\nacme,ws,2026-11-01,-1\n", "line 2: events_delivered"),
    ],
)
def test_bad_values_in_an_activity_file_are_named(text, words):
    with pytest.raises(BadActivity, match=words.replace("(", r"\(").replace(")", r"\)")):
        read_file(text, name="f.csv", today=date(2026, 12, 6))


def test_bad_activity_file_gets_one_line_and_exit_2(store, app_in_store, tmp_path):
    rows = [
        ("future", f"acme-analytics,ws-1,{TODAY + timedelta(days=5)},1,0", "is in the future"),
        ("twice", f"acme-analytics,ws-1,{TODAY},1,0\nacme-analytics,ws-1,{TODAY},2,0", "repeats line 2"),
        ("ghost", f"ghost,ws-1,{TODAY},1,0", "no app with slug 'ghost'"),
        ("huge", f"acme-analytics,ws-1,{TODAY},99999999999999999,0", "line 2: events_delivered"),
    ]
    for name, body, words in rows:
        path = tmp_path / f"{name}.csv"
        path.write_text("app,workspace_id,day,events_delivered,events_failed\n" + body + "\n")
        done = run_cli(store, "activity", "import", str(path))
        assert done.returncode == 2 and words in done.stderr, (name, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert store.active_days("acme-analytics", until=TODAY, window_days=30) == {}
