"""Migration 0007 upgrades a store written by the release before it (commit 2fa3722, schema 0006)
with nothing lost: the old release's own code fills the store and reads it back, then this
release upgrades it and reads the same things (same counts per kind of record, same status,
checklist, runs, results, decisions, outbox and stored answers)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES

ROOT = Path(__file__).resolve().parents[2]
RELEASE = "2fa3722"  # the last commit at schema 0006
SCRIPT = Path(__file__).with_name("store_0006.py")


@pytest.fixture(scope="module")
def old_tree(tmp_path_factory) -> Path:
    """The release's code, extracted as the package `partner_review` (its pyproject's package-dir)."""
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed: the 0006 release's code cannot be extracted")
    found = subprocess.run([git, "-C", str(ROOT), "cat-file", "-e", f"{RELEASE}^{{commit}}"], capture_output=True)
    if found.returncode != 0:
        pytest.skip(f"commit {RELEASE} (the 0006 release) is not in this clone (a shallow clone?)")
    top = tmp_path_factory.mktemp("release-0006")
    package = top / "partner_review"
    package.mkdir()
    archive = subprocess.run([git, "-C", str(ROOT), "archive", RELEASE], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(package)], input=archive, check=True)
    return top


def run(script_args: list[str], env: dict[str, str], pythonpath: Path | None) -> dict:
    environment = {**os.environ, **env}
    environment.pop("PYTHONPATH", None)
    if pythonpath is not None:
        environment["PYTHONPATH"] = str(pythonpath)
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *script_args], env=environment, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_a_store_of_the_0006_release_upgrades_with_nothing_lost(engine, old_tree, tmp_path, request):
    env = {
        "PARTNER_REVIEW_DATA_DIR": str(tmp_path / "data"),
        "PARTNER_REVIEW_WEBHOOK_SECRET": "test-webhook-secret",
        "PARTNER_REVIEW_DATABASE_URL": request.getfixturevalue("pg_url") if engine == "postgresql" else "",
    }
    if engine == "sqlite":
        env["PARTNER_REVIEW_DATABASE_URL"] = f"sqlite:///{tmp_path / 'data' / 'partner-review.db'}"

    before = run(["populate", str(EXAMPLES)], env, old_tree)
    assert before.pop("where") == str(old_tree / "partner_review")  # the old release wrote and read it

    from partner_review.models.store import upgrade

    upgrade(env["PARTNER_REVIEW_DATABASE_URL"])  # what `partner-review db upgrade` runs
    after = run(["view", str(EXAMPLES)], env, None)
    assert after.pop("where") == str(ROOT)

    counts = before.pop("counts")
    assert after.pop("counts") == counts
    assert counts["result/access_request"] == 4 and counts["run/access_request"] == 3
    assert counts["delivery/access-requests"] == 3 and counts["delivery/activity"] == 1
    for slug, old in before["status"].items():  # what a later release adds to the checklist is new, not lost
        new = after["status"][slug]
        known = {r["id"] for r in old["requirements"]}
        added = [r for r in new["requirements"] if r["id"] not in known]
        assert all(r["status"] == "unknown" for r in added), added  # nothing verified them in the old store
        new["requirements"] = [r for r in new["requirements"] if r["id"] in known]
        for field in set(new) - set(old):
            new.pop(field)
        # The graduation promise's wording names the health gate now (issue 26); when it is due is compared.
        old["next_due"].pop("note", None), new["next_due"].pop("note", None)
    assert after == before

    # The upgraded store takes new records of every kind (PostgreSQL's id sequences follow the moved rows).
    from datetime import UTC, datetime, timedelta

    from partner_review.models.access import AccessState, parse_access_request
    from partner_review.models.checks import Result
    from partner_review.models.lifecycle import State
    from partner_review.models.settings import Settings
    from partner_review.models.store import Store
    from partner_review.models.submission import parse_submission

    now = datetime.now(UTC)
    store = Store(Settings(data_dir=tmp_path / "data", database_url=env["PARTNER_REVIEW_DATABASE_URL"]))
    try:
        example = json.loads((EXAMPLES / "submission.json").read_text())
        sid = store.record_delivery(
            "new-1", b"new", parse_submission({**example, "version": 3}), received_at=now, ack_due_at=now
        ).submission_id
        store.transition(sid, State.acknowledged, actor="partner-review")
        run_id = store.start_review_run(sid, "55555555-5555-4555-8555-555555555555")
        done = [Result(check="CAT-001", stage="catalog", severity="blocker", outcome="pass", message="ok")]
        store.save_results(run_id, done, "pass")
        store.record_decision(run_id, sid, decision="approve", reviewer="rita", comment="")
        assert (
            store.results_of(run_id) == done and run_id == counts["run/submission"] + counts["run/access_request"] + 1
        )
        access = store.access
        rid = access.record_delivery(
            "new-acc",
            b"new",
            parse_access_request(json.loads((EXAMPLES / "access-request.json").read_text())),
            domain="acme.example",
            received_at=now,
            decision_due_at=now + timedelta(days=1),
        ).access_request_id
        review = access.start_review(rid, None)
        access.save_review(review, done, "pass")
        access.decide(rid, AccessState.rejected, actor="rita", reason="no")
        assert access.latest_review(rid).results == done and rid in access.pending_dispatches()
        assert [t.to_state for t in access.transitions(rid)] == ["requested", "rejected"]
    finally:
        store.close()
