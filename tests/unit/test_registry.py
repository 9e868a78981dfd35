"""One registry (every check module listed once) and one runner (applicability, with reasons)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from partner_review.models.checks import Check, Result
from partner_review.models.submission import parse_submission
from partner_review.tasks import registry
from partner_review.tasks.runner import Scope, applies, stage, why_not

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = json.loads((ROOT / "examples" / "submission.json").read_text())


def _ids(code: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout))


def test_every_module_that_declares_checks_is_listed():
    listed = _ids(
        "import json\nfrom partner_review.tasks.registry import all_checks\n"
        "print(json.dumps([c.id for c in all_checks()]))"
    )
    everything = _ids(
        "import importlib, json, pkgutil\nimport partner_review.tasks as t\n"
        "from partner_review.models.checks import REGISTRY\n"
        "for m in pkgutil.walk_packages(t.__path__, 'partner_review.tasks.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(json.dumps(sorted(REGISTRY)))"
    )
    assert listed == everything and len(listed) > 90


def test_metadata_defaults_follow_the_stage():
    checks = {c.id: c for c in registry.all_checks()}
    assert checks["E2E-001"].applies_to == "destination" and checks["E2E-001"].network
    assert checks["VOL-001"].applies_to == "destination"
    assert checks["SPEC-001"].applies_to == "source" and not checks["SPEC-001"].network
    assert checks["GRD-002"].phase == "post-launch" and checks["CAT-001"].phase == "pre-launch"


NET = Check("T-1", "t", "volume", "blocker", "r", network=True, applies_to="destination")
LOCAL = Check("T-2", "t", "links", "warning", "r")
LATER = Check("T-3", "t", "graduation", "info", "r", phase="post-launch")


def test_reasons_say_why():
    full = Scope(components=frozenset({"app", "destination"}))
    assert why_not(NET, full) is None
    assert why_not(NET, Scope()) == "the submission has no destination component"
    offline = why_not(NET, Scope(offline=True, components=full.components), network_use="sends load")
    assert offline == "offline: not run, since it sends load (run without --offline)"
    assert why_not(LOCAL, Scope(offline=True)) is None
    assert "post-launch" in (why_not(LATER, Scope()) or "")
    assert not applies((NET,), Scope(offline=True, components=full.components))


async def test_a_stage_nothing_applies_to_is_not_called():
    calls: list[bool] = []

    @stage((NET,), network_use="sends load", nothing=set)
    async def run(submission, *, offline: bool = False):
        calls.append(offline)
        return [NET.passed()], {"track"}

    submission = parse_submission(EXAMPLE)
    results, more = await run(submission, offline=True)
    assert calls == [] and more == set()
    assert [(r.check, r.outcome) for r in results] == [("T-1", "skip")]
    assert results[0].message.startswith("offline: not run, since it sends load")
    results, more = await run(submission)
    assert calls == [False] and more == {"track"} and results[0].outcome == "pass"


async def test_results_for_checks_that_do_not_apply_are_the_runners_skips():
    @stage((NET, LOCAL))
    async def run(submission, *, offline: bool = False) -> list[Result]:
        return [NET.passed("sent anyway"), LOCAL.passed()]

    results = await run(parse_submission(EXAMPLE), offline=True)
    assert {r.check: r.outcome for r in results} == {"T-1": "skip", "T-2": "pass"}


@pytest.mark.parametrize("offline", [True, False])
def test_scope_of_a_submission(offline):
    scope = Scope.of(parse_submission(EXAMPLE), offline=offline)
    assert scope.offline is offline and {"app", "destination"} <= scope.components


async def test_graduation_button_check_is_skipped_offline_by_the_runner():
    from datetime import UTC, datetime

    from partner_review.models.store import StoredSubmission
    from partner_review.tasks.graduation.checks import check_button

    now = datetime.now(UTC)
    stored = StoredSubmission(
        id="s-1",
        slug="acme-analytics",
        version=1,
        state="public-beta",  # type: ignore[arg-type]
        submission=parse_submission(EXAMPLE),
        previous_id=None,
        received_at=now,
        ack_due_at=now,
        acknowledged_at=None,
        ack_on_time=None,
    )
    result = await check_button(stored, offline=True)
    assert result.check == "GRD-002" and result.outcome == "skip"
    assert result.message == "offline: not run, since it fetches the button page (run without --offline)"
