"""Stage `compat` by behaviour: the same traffic to a live and a new sample partner on loopback,
compared request by request; and `check v2.json --against v1.json --stage compat` as a user runs it."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
import time

import pytest

from partner_review import partners
from partner_review.models.checks import verdict
from partner_review.models.settings import get_settings
from partner_review.tasks.compat import behaviour
from tests.conftest import ROOT
from tests.e2e.test_e2e_suite import SECRET, submission


@pytest.fixture(autouse=True)
def _short_deadline(monkeypatch):
    monkeypatch.setenv("PARTNER_REVIEW_E2E_TIMEOUT_SECONDS", "2")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def versions(example, live_base, new_base, **new_shape):
    live = submission(example, live_base)
    new = submission({**example, "version": 2}, new_base, **new_shape)
    return new, live


async def compare(example, live: str, new: str, **new_shape):
    with partners.running(live) as live_base, partners.running(new) as new_base:
        results = await behaviour.compare_behaviour(*versions(example, live_base, new_base, **new_shape))
    return {r.check: r for r in results}, results


def rows(result, finding: str | None = None):
    return [r for r in result.evidence["requests"] if finding is None or r.get("finding") == finding]


async def test_the_same_behaviour_is_quiet(example):
    by_id, results = await compare(example, "conformant", "conformant")
    assert [r.check for r in results] == ["CMP-001", "CMP-002", "CMP-003"]
    assert {r.outcome for r in results} == {"pass"}, [r.message for r in results if r.outcome != "pass"]
    table = rows(by_id["CMP-001"])
    names = [r["request"] for r in table]
    assert names[:6] == ["identify", "track", "page", "screen", "group", "alias"]
    assert {"batch", "no credential", "wrong credential", "event 7 days old"} <= set(names)
    assert all(r["live"]["status"] == r["new"]["status"] for r in table)
    assert next(r for r in table if r["request"] == "no credential")["live"]["status"] == 401
    assert SECRET not in json.dumps([r.model_dump() for r in results])


async def test_a_version_refusing_old_events_is_a_blocker(example):
    by_id, results = await compare(example, "conformant", "rejects-old-events")
    found = by_id["CMP-001"]
    assert found.outcome == "fail" and found.severity == "blocker"
    (row,) = rows(found, "CMP-001")
    assert row["request"] == "event 7 days old"
    assert (row["live"]["answer"], row["live"]["status"]) == ("accepted", 200)
    assert (row["new"]["answer"], row["new"]["status"]) == ("refused", 400) and "too old" in row["new"]["detail"]
    assert "event 7 days old: the live version accepts it (200), the new one refused it (400)" in found.message
    assert by_id["CMP-002"].outcome == "pass"
    assert verdict(results) == "fail"


async def test_a_version_no_longer_asking_for_credentials_is_a_blocker(example):
    by_id, results = await compare(example, "conformant", "no-auth")
    found = by_id["CMP-002"]
    assert found.outcome == "fail" and found.severity == "blocker"
    flagged = rows(found, "CMP-002")
    assert {r["request"] for r in flagged} == {"no credential", "wrong credential"}
    assert all(r["live"]["status"] == 401 and r["new"]["status"] == 200 for r in flagged)
    assert "credentials are no longer required" in found.message
    assert by_id["CMP-001"].outcome == "pass"


async def test_a_version_answering_500_to_batches_is_a_blocker(example):
    by_id, results = await compare(example, "conformant", "fails-batches")
    found = by_id["CMP-001"]
    assert found.outcome == "fail"
    (row,) = rows(found, "CMP-001")
    assert row["request"] == "batch" and row["live"]["status"] == 202 and row["new"]["status"] == 500
    assert row["new"]["class"] == "5xx" and row["live"]["shape"] != row["new"]["shape"]


async def test_a_refusal_that_does_not_last_is_sent_again_and_only_warns(example):
    with partners.running("conformant") as live_base, partners.running("flaky", fail_every=7) as new_base:
        results = await behaviour.compare_behaviour(*versions(example, live_base, new_base))
    by_id = {r.check: r for r in results}
    assert by_id["CMP-001"].outcome == "pass", by_id["CMP-001"].message
    warned = by_id["CMP-003"]
    assert warned.outcome == "warn"
    (row,) = rows(warned, "CMP-003")  # the 7th request drew a 500 or 503
    assert row["new"].get("first", row["new"])["class"] == "5xx"
    if "first" in row["new"]:
        assert "accepted when sent again" in row["difference"] and row["new"]["answer"] == "accepted"


async def test_a_dropped_batch_endpoint_is_a_blocker_and_other_differences_warn(example):
    by_id, _ = await compare(example, "conformant", "lenient", batch=False)
    (row,) = rows(by_id["CMP-001"], "CMP-001")
    assert row["request"] == "batch" and row["new"]["detail"] == "no batch_endpoint declared"
    assert by_id["CMP-002"].outcome == "fail"  # lenient takes anything
    warned = by_id["CMP-003"]
    assert warned.outcome == "warn" and warned.severity == "warning"
    (malformed,) = rows(warned, "CMP-003")
    assert malformed["request"].startswith("malformed event") and malformed["live"]["status"] == 400


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def silent_listener():
    """A live endpoint that accepts connections and never answers (a hung server)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held, stop = [], threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(server.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


@pytest.mark.parametrize("live", ["down", "hung"])
async def test_a_live_version_down_or_hung_is_an_error_within_the_bound(example, live):
    with contextlib.ExitStack() as stack:
        base = f"http://127.0.0.1:{free_port()}" if live == "down" else stack.enter_context(silent_listener())
        new_base = stack.enter_context(partners.running("conformant"))
        started = time.monotonic()
        results = await behaviour.compare_behaviour(*versions(example, base, new_base))
        took = time.monotonic() - started
    settings = get_settings()
    assert took < behaviour.cap_seconds(settings, 12) + 2
    assert {r.outcome for r in results} == {"error"}, [r.message for r in results]
    assert all("no comparison, not a pass" in r.message for r in results)
    assert verdict(results) == "fail"
    row = results[0].evidence["requests"][0]
    assert row["live"]["answer"] == "no answer" and row["new"]["answer"] == "accepted"


async def test_not_applicable_without_a_live_version_or_a_shared_destination(example):
    new = submission(example, "http://127.0.0.1:9")
    results = await behaviour.compare_behaviour(new, None, reason="not an update")
    assert {(r.outcome, r.message) for r in results} == {("skip", "not an update")}
    renamed = json.loads(json.dumps(example))
    renamed["components"][0]["name"] = "Renamed"
    results = await behaviour.compare_behaviour(submission(renamed, "http://127.0.0.1:9"), new)
    assert all(r.outcome == "skip" and "UPD-003" in r.message for r in results)
    offline = await behaviour.compare_behaviour(new, new, offline=True)
    assert all(r.outcome == "skip" and "offline" in r.message for r in offline)


def write(tmp_path, name, sub) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(sub.model_dump(mode="json") | {"components": [_plain(c) for c in sub.components]}))
    return str(path)


def _plain(component) -> dict:
    data = component.model_dump(mode="json")
    if "auth" in data:
        data["auth"]["secret"] = component.auth.secret.get_secret_value()
    return data


def cli_check(v2: str, v1: str, *selection: str) -> tuple[int, dict[str, str]]:
    done = subprocess.run(
        [sys.executable, "-m", "partner_review.cli.main", "check", v2, "--against", v1, *selection, "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode, {r["check"]: r["outcome"] for r in json.loads(done.stdout)["results"]}


def test_check_against_flags_each_behaviour_change_and_is_quiet_for_none(example, tmp_path):
    with contextlib.ExitStack() as stack:
        live = stack.enter_context(partners.running("conformant"))
        bases = {
            name: stack.enter_context(partners.running(name))
            for name in ("conformant", "rejects-old-events", "no-auth", "fails-batches")
        }
        v1 = write(tmp_path, "v1.json", submission(example, live))
        found, v2s = {}, {}
        for name, base in bases.items():
            v2s[name] = write(tmp_path, f"{name}.json", submission({**example, "version": 2}, base))
            found[name] = cli_check(v2s[name], v1, "--stage", "compat")
        only = cli_check(v2s["no-auth"], v1, "--check", "CMP-002")
    for code, outcomes in found.values():
        assert {o for c, o in outcomes.items() if c.startswith("UPD-")} == {"pass"}
    cmp = {
        name: (code, {c: o for c, o in outcomes.items() if c.startswith("CMP-")})
        for name, (code, outcomes) in found.items()
    }
    assert cmp["conformant"] == (0, {"CMP-001": "pass", "CMP-002": "pass", "CMP-003": "pass"})
    assert cmp["rejects-old-events"] == (1, {"CMP-001": "fail", "CMP-002": "pass", "CMP-003": "pass"})
    assert cmp["no-auth"] == (1, {"CMP-001": "pass", "CMP-002": "fail", "CMP-003": "pass"})
    assert cmp["fails-batches"] == (1, {"CMP-001": "fail", "CMP-002": "pass", "CMP-003": "pass"})
    assert only == (1, {"CMP-002": "fail"})


async def test_the_reviewer_report_shows_both_answers_side_by_side(example):
    from partner_review.tasks.lifecycle import report

    _, results = await compare(example, "conformant", "rejects-old-events")
    text = report.markdown("Review", results)
    assert "## Live v1 beside new v2: Acme Analytics" in text
    assert "| request | live v1 | new v2 | difference |" in text
    line = next(x for x in text.splitlines() if x.startswith("| event 7 days old"))
    assert "accepted 200" in line and "refused 400" in line and "the live version accepts it" in line
    assert text.count("beside new v2") == 1  # one table, not one per CMP check


async def test_hostile_answers_are_compared_without_harm(example):
    """A live side answering JSON nested past the parser's limit, a new side answering 5,000 keys:
    both compared, the shapes bounded."""
    from tests.e2e.sites import Site, page

    deep = "[" * 100_000 + "]" * 100_000
    wide = json.dumps({f"k{i:05d}": i for i in range(5000)})
    async with Site() as live, Site() as new:
        for path in ("/v1/events", "/v1/batch"):
            live.route(path, page(deep, content_type="application/json"))
            new.route(path, page(wide, content_type="application/json"))
        results = await behaviour.compare_behaviour(
            *versions(example, live.url("").rstrip("/"), new.url("").rstrip("/"))
        )
    by_id = {r.check: r for r in results}
    row = by_id["CMP-003"].evidence["requests"][0]
    assert row["live"]["shape"] == "text" and row["new"]["shape"].startswith("{k00000:number,")
    assert len(row["new"]["shape"]) <= behaviour.SHAPE_CHARS
    assert by_id["CMP-003"].outcome == "warn" and by_id["CMP-001"].outcome == "pass"
    assert by_id["CMP-002"].outcome == "pass"  # the live side took requests without credentials too
    assert "did not require credentials either" in by_id["CMP-002"].message
