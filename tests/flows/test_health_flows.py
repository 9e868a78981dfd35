"""Delivery health in flows: graduation gated on it, the daily watch over a simulated month, and
the weekly table of the checks' own quality (real Prefect test harness, real store)."""

from datetime import UTC, datetime, timedelta

import pytest

from partner_review.models.activity import Activity
from partner_review.models.lifecycle import State
from partner_review.models.submission import parse_submission
from tests.flows.test_scheduled import button_page  # noqa: F401 - the partner's button page fixture

pytestmark = pytest.mark.prefect
NOW = datetime.now(UTC)


def live_app(store, example) -> str:
    """The example app in Public Beta, as an approved review leaves it."""
    sid = store.record_delivery(
        "d-1", b"b", parse_submission(example), received_at=NOW, ack_due_at=NOW + timedelta(days=2)
    ).submission_id
    store.acknowledge(sid, NOW)
    for state in (State.acknowledged, State.in_review, State.public_beta):
        store.transition(sid, state, actor="test")
    return sid


def days(first, count, rate, *, workspaces=3, per_day=100):
    ok = round(per_day * rate)
    return [
        Activity(
            app="acme-analytics",
            workspace_id=f"ws-{w}",
            day=first + timedelta(days=d),
            events_delivered=ok,
            events_failed=per_day - ok,
        )
        for w in range(workspaces)
        for d in range(count)
    ]


async def newest_artifact(key: str) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async with get_client() as client:
        (artifact,) = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])), limit=1, sort="CREATED_DESC"
        )
    return artifact.data.replace("\\", "")  # partner text is escaped for markdown; read it as shown


async def test_graduation_refuses_an_unhealthy_app_and_says_why(prefect_harness, store, example, button_page):  # noqa: F811
    from partner_review.flows.graduation import graduation_check

    example["app"]["oauth"]["button_page_url"] = button_page
    sid = live_app(store, example)
    store.record_activity(days(NOW.date() - timedelta(days=29), 30, 0.70))  # three customers, 30% failing
    assert await graduation_check(at=NOW) == {"acme-analytics": "waiting"}
    assert store.get_submission(sid).state == State.public_beta
    _, results = store.latest_review(sid, kind="graduation")
    outcomes = {r.check: r.outcome for r in results}
    assert outcomes == {"GRD-001": "pass", "GRD-002": "pass", "GRD-003": "pass", "GRD-004": "fail"}
    health = next(r for r in results if r.check == "GRD-004")
    assert health.evidence["success_rate"] == 0.7 and health.evidence["active_customers"] == 3
    artifact = await newest_artifact("graduation")
    assert "## Why they did not graduate" in artifact
    assert "acme-analytics: GRD-004 success rate 70.00% is below 95%" in artifact
    assert "graduated" not in [n.kind for n in store.notifications(sid)]

    store.record_activity(days(NOW.date() - timedelta(days=29), 30, 0.99))  # the same days, corrected
    assert await graduation_check(at=NOW + timedelta(minutes=1)) == {"acme-analytics": "graduated"}
    assert "success rate 99.00% over 30 days, 3 active customers: healthy" in await newest_artifact("graduation")


async def test_the_watch_tells_a_breach_once_and_the_recovery_once_over_a_month(
    prefect_harness, store, example, monkeypatch
):
    """A 5-day window: days 1-10 at 99%, days 11-17 at 50%, days 18-30 at 99%. The window holds a
    bad day from day 11 to day 21, so: breach on day 11, recovery on day 22, silence otherwise."""
    from partner_review.flows.health import health_watch
    from partner_review.models.settings import get_settings

    monkeypatch.setenv("PARTNER_REVIEW_HEALTH_WINDOW_DAYS", "5")
    get_settings.cache_clear()
    sid = live_app(store, example)
    start = NOW.date() - timedelta(days=40)
    store.record_activity(days(start - timedelta(days=10), 20, 0.99) + days(start + timedelta(days=10), 7, 0.5))
    store.record_activity(days(start + timedelta(days=17), 13, 0.99))
    changes = {}
    for n in range(30):
        at = datetime.combine(start + timedelta(days=n), datetime.min.time(), tzinfo=UTC) + timedelta(hours=14)
        changes[n + 1] = (await health_watch(at=at))["acme-analytics"]
    assert {day: c for day, c in changes.items() if c} == {11: "breach", 22: "recovery"}
    told = [(n.kind, n.recipient) for n in store.notifications(sid)]
    assert told == [
        ("health-breach", "support@acme.example"),
        ("health-breach", "reviewers@localhost"),
        ("health-recovery", "support@acme.example"),
        ("health-recovery", "reviewers@localhost"),
    ]
    breach = next(n for n in store.notifications(sid) if n.kind == "health-breach")
    assert "is below 95%" in breach.body and "not healthy" in breach.subject
    # A second run on the same day (a retry, an overlap) tells nothing again.
    assert (await health_watch(at=at))["acme-analytics"] is None and len(store.notifications(sid)) == 4
    artifact = await newest_artifact("health-watch")
    assert "| acme-analytics | success rate 99.00% over 5 days, 3 active customers: healthy | - |" in artifact
    assert "](data:image/png;base64," in artifact


async def test_the_weekly_table_lists_flaky_checks_first(prefect_harness, store, example):
    from partner_review.flows.health import check_health_report
    from partner_review.models.checks import REGISTRY

    sid = live_app(store, example)
    for n in range(4):  # CAT-001 flips on an unchanged version; CAT-002 always passes
        run = store.start_review_run(sid, None)
        cat1 = REGISTRY["CAT-001"].failed("x") if n % 2 else REGISTRY["CAT-001"].passed()
        store.save_results(run, [REGISTRY["CAT-002"].passed(), cat1], "pass")
    rows = await check_health_report()
    assert [(r["check"], r["flaky"], r["flip_rate"]) for r in rows] == [("CAT-001", True, 1.0), ("CAT-002", False, 0.0)]
    assert "**flaky**" in await newest_artifact("check-health-summary")
