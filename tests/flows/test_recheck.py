"""The weekly re-check finds a live app's pages gone and tells the reviewers once."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from partner_review.models.lifecycle import State
from partner_review.models.submission import parse_submission
from tests.conftest import EXAMPLES
from tests.flows.support import review

pytestmark = pytest.mark.prefect


async def test_recheck_reports_a_regression_once(prefect_harness, store, conformant_partner, monkeypatch, tmp_path):
    from partner_review.cli.demo import pointed_at
    from partner_review.flows.recheck import recheck_live
    from partner_review.models.settings import get_settings
    from partner_review.partners import site_running

    now = datetime.now(UTC)
    monkeypatch.setenv("PARTNER_REVIEW_LINK_RETRIES", "0")  # a refused connection is final here
    with site_running() as site:  # this app's own website, which goes away after launch
        ca_file = tmp_path / "site-ca.pem"  # outlives the site, as an operator's CA file would
        ca_file.write_bytes(site.ca_file.read_bytes())
        monkeypatch.setenv("PARTNER_REVIEW_CA_FILE", str(ca_file))
        get_settings.cache_clear()
        submission = pointed_at(json.loads((EXAMPLES / "submission.json").read_text()), conformant_partner, site)
        sid = store.record_delivery(
            "d-1", b"b", parse_submission(submission), received_at=now, ack_due_at=now + timedelta(days=2)
        ).submission_id
        await review(sid, "approve")
        assert store.get_submission(sid).state == State.public_beta
        assert await recheck_live() == {"acme-analytics": []}
    regressed = await recheck_live()  # the site is down now
    assert {"LNK-001", "LNK-005"} <= set(regressed["acme-analytics"])
    assert (await recheck_live())["acme-analytics"] == regressed["acme-analytics"]
    mails = [n for n in store.notifications(sid) if n.kind == "regression"]
    assert len(mails) == 1 and "LNK-001" in mails[0].subject and mails[0].recipient == "reviewers@localhost"
    run, results = store.latest_review(sid, kind="recheck")
    assert run.verdict == "fail" and any(r.check == "LNK-001" and r.outcome == "fail" for r in results)
