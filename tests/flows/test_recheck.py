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


async def test_weekly_security_rescan_notifies_a_new_finding_once_and_its_fix_once(prefect_harness, store, monkeypatch):
    """Issue 25 item 9: a live app's website drops HSTS after launch, then sends it again."""
    from partner_review.cli.demo import pointed_at
    from partner_review.flows.recheck import recheck_live
    from partner_review.models.settings import get_settings
    from partner_review.partners.security import secure_running
    from partner_review.tasks.security.stage import check_security

    now = datetime.now(UTC)
    weaknesses: set[str] = set()  # read by the running server on every request
    with secure_running(weaknesses=weaknesses) as site:
        monkeypatch.setenv("PARTNER_REVIEW_CA_FILE", str(site.ca_file))
        monkeypatch.setenv("PARTNER_REVIEW_RESOLVE", ",".join(f"{n}:{site.port}:127.0.0.1" for n in site.names))
        get_settings.cache_clear()
        data = json.loads((EXAMPLES / "submission.json").read_text())
        submission = pointed_at(data, f"https://api.acme.example:{site.port}", site)
        sid = store.record_delivery(
            "d-sec", b"b", parse_submission(submission), received_at=now, ack_due_at=now + timedelta(days=2)
        ).submission_id
        # Launched on a clean security stage (the rest of its review is the other test's business).
        launched = await check_security(parse_submission(submission))
        assert {r.check: r.outcome for r in launched} == {f"SEC-00{n}": "pass" for n in range(1, 10)}
        run_id = store.start_review_run(sid, None)
        store.save_results(run_id, launched, "pass")
        for state in (State.acknowledged, State.in_review, State.public_beta):
            store.transition(sid, state, actor="test")

        def security_mails():
            return [(n.kind, n.recipient) for n in store.notifications(sid) if n.kind.startswith("security")]

        await recheck_live()
        assert security_mails() == []
        weaknesses.add("no-hsts")
        await recheck_live()
        found = security_mails()
        assert sorted(found) == [
            ("security-finding", "reviewers@localhost"),
            ("security-finding", "support@acme.example"),
        ]
        mail = next(n for n in store.notifications(sid) if n.kind == "security-finding")
        assert "SEC-005" in mail.subject and "Strict-Transport-Security" in mail.body
        await recheck_live()  # the week in between: the same finding, nothing new sent
        assert security_mails() == found
        weaknesses.discard("no-hsts")
        await recheck_live()
        await recheck_live()
        fixed = [m for m in security_mails() if m[0] == "security-fixed"]
        assert sorted(fixed) == [("security-fixed", "reviewers@localhost"), ("security-fixed", "support@acme.example")]
        assert len(security_mails()) == 4
        run, results = store.latest_review(sid, kind="recheck")
        assert {r.check for r in results if r.stage == "security"} == {f"SEC-00{n}" for n in range(1, 10)}
    get_settings.cache_clear()
