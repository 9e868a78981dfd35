"""Scheduled flows: SLA watch and graduation, with the clock moved by parameter, not by waiting."""

import threading
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from partner_review.models.activity import Activity
from partner_review.models.lifecycle import State
from partner_review.models.submission import parse_submission
from tests.flows.support import review

pytestmark = pytest.mark.prefect
NOW = datetime.now(UTC)


def submit(store, example, *, received_at, delivery="d-1"):
    return store.record_delivery(
        delivery, b"b", parse_submission(example), received_at=received_at, ack_due_at=received_at + timedelta(days=2)
    ).submission_id


async def test_sla_watch_escalates_an_overdue_acknowledgment_once(prefect_harness, store, example):
    from partner_review.flows.sla import sla_watch

    sid = submit(store, example, received_at=NOW)
    early = await sla_watch(at=NOW + timedelta(days=1))
    assert early == {"open": 1, "escalated": []}
    late = await sla_watch(at=NOW + timedelta(days=3))
    assert late == {"open": 1, "escalated": [f"sla-ack:{sid}"]}
    again = await sla_watch(at=NOW + timedelta(days=4))  # an overlapping or later run: no second mail
    assert again["escalated"] == []
    (note,) = store.notifications(sid)
    assert note.kind == "sla-acknowledgment" and note.recipient == "reviewers@localhost" and "Overdue" in note.subject


async def test_sla_watch_reminds_reviewers_of_an_undecided_review_once(prefect_harness, store, example):
    from partner_review.flows.sla import sla_watch

    sid = submit(store, example, received_at=NOW)
    store.acknowledge(sid, NOW)
    store.transition(sid, State.acknowledged, actor="t")
    run = store.start_review_run(sid, None)
    store.save_results(run, [], "pass")
    store.transition(sid, State.in_review, actor="t")
    assert (await sla_watch(at=NOW + timedelta(hours=1)))["escalated"] == []
    assert (await sla_watch(at=NOW + timedelta(days=6)))["escalated"] == [f"sla-decision:{run}"]
    assert (await sla_watch(at=NOW + timedelta(days=7)))["escalated"] == []
    assert [n.kind for n in store.notifications(sid)] == ["sla-decision"]


@pytest.fixture
def button_page():
    """The partner's settings page with an 'Enable with Segment' button, on loopback."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            html = (
                b'<html><body><h1>Integrations</h1><a href="https://app.segment.com/oauth2/authorize?'
                b'client_id=acme-123&amp;redirect_uri=x">Enable with Segment</a></body></html>'
            )
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(html)))
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/settings/integrations/segment"
    server.shutdown()


def active(store, workspaces: int, today: date):
    store.record_activity(
        [
            Activity(app="acme-analytics", workspace_id=f"ws-{w}", day=today - timedelta(days=d), events_delivered=10)
            for w in range(workspaces)
            for d in range(3)
        ]
    )


async def test_graduation_with_three_active_customers_goes_public_once(prefect_harness, store, example, button_page):
    from partner_review.flows.graduation import graduation_check

    example["app"]["oauth"]["button_page_url"] = button_page
    sid = submit(store, example, received_at=NOW)
    await review(sid, "approve")
    active(store, 3, NOW.date())
    assert await graduation_check(at=NOW) == {"acme-analytics": "graduated"}
    assert store.get_submission(sid).state == State.public
    assert await graduation_check(at=NOW) == {}  # no Public Beta apps left: no double transition
    assert [n.kind for n in store.notifications(sid)].count("graduated") == 1


async def test_graduation_with_two_customers_reports_the_gap(prefect_harness, store, example, button_page):
    from partner_review.flows.graduation import graduation_check

    example["app"]["oauth"]["button_page_url"] = button_page
    sid = submit(store, example, received_at=NOW)
    await review(sid, "approve")
    active(store, 2, NOW.date())
    assert await graduation_check(at=NOW) == {"acme-analytics": "waiting"}
    assert store.get_submission(sid).state == State.public_beta
    run, results = store.latest_review(sid, kind="graduation")
    customers = next(r for r in results if r.check == "GRD-003")
    assert customers.outcome == "fail" and customers.message == "2 of 3 active customers"
    assert "oauth-request" not in [n.kind for n in store.notifications(sid)]  # OAuth is in place


async def test_missing_oauth_is_requested_once(prefect_harness, store, example):
    from partner_review.flows.graduation import graduation_check

    del example["app"]["oauth"]
    sid = submit(store, example, received_at=NOW)
    await review(sid, "approve")
    active(store, 3, NOW.date())
    await graduation_check(at=NOW)
    await graduation_check(at=NOW + timedelta(days=1))
    requests = [n for n in store.notifications(sid) if n.kind == "oauth-request"]
    assert len(requests) == 1 and "no OAuth configuration" in requests[0].body
    assert store.get_submission(sid).state == State.public_beta
