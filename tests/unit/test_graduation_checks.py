"""The graduation checks (GRD-*) as objects, each run on a hand-built `Graduation` subject."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

from partner_review.models.settings import Settings
from partner_review.models.store import StoredSubmission
from partner_review.models.submission import parse_submission
from partner_review.tasks.context import Context
from partner_review.tasks.graduation import checks as graduation
from partner_review.tasks.graduation.adoption import Adoption
from partner_review.tasks.health.delivery import Health
from partner_review.tasks.net.fetcher import Fetched
from tests.conftest import EXAMPLES

EXAMPLE = json.loads((EXAMPLES / "submission.json").read_text())
PAGE = "https://acme.example/settings/integrations/segment"


def stored(**oauth: Any) -> StoredSubmission:
    data = copy.deepcopy(EXAMPLE)
    data["app"]["oauth"].update(oauth)
    now = datetime.now(UTC)
    return StoredSubmission(
        id="s-1",
        slug="acme-analytics",
        version=1,
        state="public-beta",  # type: ignore[arg-type]
        submission=parse_submission(data),
        previous_id=None,
        received_at=now,
        ack_due_at=now,
        acknowledged_at=None,
        ack_on_time=None,
    )


def page(html: str, status: int = 200) -> Fetched:
    return Fetched(url=PAGE, method="GET", status=status, final_url=PAGE, content_type="text/html", text=html)


def test_button_live_finds_the_authorize_link_with_the_client_id():
    link = "https://app.segment.example/oauth/authorize?client_id=acme-123"
    found = graduation.BUTTON_LIVE.run(graduation.Graduation(stored(), button=page(f'<a href="{link}">Enable</a>')))
    assert found.outcome == "pass" and found.message == f"authorize link found: {link}"
    other = page('<a href="https://app.segment.example/oauth/authorize?client_id=someone-else">Enable</a>')
    missing = graduation.BUTTON_LIVE.run(graduation.Graduation(stored(), button=other))
    assert missing.outcome == "fail" and missing.message == "no authorize link with client_id=acme-123 on the page"
    assert missing.evidence["links_seen"] == 1 and missing.evidence["url"] == PAGE
    down = graduation.BUTTON_LIVE.run(graduation.Graduation(stored(), button=page("", status=503)))
    assert down.outcome == "fail" and down.message == "the button page did not answer with a page (503)"
    unfetched = graduation.BUTTON_LIVE.run(graduation.Graduation(stored(client_id=None)))
    assert unfetched.message == "no button page or client id to check"


def test_oauth_and_customers_read_their_limits_from_the_context():
    subject = graduation.Graduation(stored(redirect_uris=["http://acme.example/cb"]), adoption=Adoption(["ws-1"], {}))
    ctx = Context.of(Settings(graduation_min_customers=2))
    oauth = graduation.OAUTH_CONFIGURED.run(subject, ctx)
    assert oauth.outcome == "fail" and oauth.message.startswith("oauth.redirect_uris: ")
    customers = graduation.ACTIVE_CUSTOMERS.run(subject, ctx)
    assert customers.outcome == "fail" and customers.message == "1 of 2 active customers"
    assert customers.evidence["needed"] == 2 and customers.evidence["active"] == ["ws-1"]
    assert graduation.ACTIVE_CUSTOMERS.run(subject, Context.of(Settings(graduation_min_customers=1))).outcome == "pass"


def test_healthy_deliveries_judges_the_health_it_is_given():
    sick = Health("acme-analytics", 30, 70, 30, 0.7, 3, False, ["success rate 70.00% is below 95.00%"])
    found = graduation.HEALTHY_DELIVERIES.run(graduation.Graduation(stored(), health=sick))
    assert found.outcome == "fail" and found.message == "success rate 70.00% is below 95.00%"
    assert found.evidence == sick.as_json()
