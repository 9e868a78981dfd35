"""Stages declared once (models/stages.py), checks as objects: whatever selects by stage reads the
declaration, so a new stage is its package plus one declaration, and a new check one object."""

from __future__ import annotations

import asyncio
import copy
import json
import sys
import textwrap

import pytest

import partner_review.tasks as tasks_package
from partner_review.models import stages
from partner_review.models.checks import REGISTRY
from partner_review.models.submission import parse_submission
from partner_review.tasks import pipeline, registry
from partner_review.tasks.lifecycle.checklist import REQUIREMENTS
from partner_review.tasks.selection import Selection
from tests.unit.test_cli import run

# The README's worked example ("Adding a stage"): a package with one check object and its entry.
PRIVACY_CHECKS = """
from typing import Any

from partner_review.models.checks import Check, Result, declare
from partner_review.models.settings import Settings
from partner_review.models.submission import Submission
from partner_review.tasks.runner import Scope, run_objects


class HttpsEndpoints(Check[Submission]):
    def run(self, subject: Submission, ctx: Any) -> Result:
        plain = [d.endpoint for d in subject.destinations if not d.endpoint.startswith("https://")]
        if plain:
            return self.failed(f"endpoints without TLS: {', '.join(plain)}", endpoints=plain)
        return self.passed("every endpoint uses https")


HTTPS_ENDPOINTS = declare(
    HttpsEndpoints(
        "PRV-001",
        "Every endpoint uses HTTPS",
        stage="privacy",
        severity="blocker",
        remedy="Serve the event and batch endpoints over https.",
    )
)
CHECKS = (HTTPS_ENDPOINTS,)


async def check_privacy(
    submission: Submission, *, offline: bool = False, settings: Settings | None = None
) -> list[Result]:
    return run_objects(CHECKS, submission, settings, Scope.of(submission, offline=offline))
"""
PRIVACY = stages.StageSpec(
    "privacy",
    "Events reach the partner's endpoints encrypted",
    ("partner_review.tasks.privacy.checks",),
    entry="privacy.checks:check_privacy",
    task="check-privacy-in-transit",
    applies_to="destination",
    listed=45,
    requirements=("end-to-end",),
)


@pytest.fixture
def privacy_stage(tmp_path, monkeypatch):
    """A stage `privacy` as a new package under tasks/ and one more declaration."""
    package = tmp_path / "privacy"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "checks.py").write_text(textwrap.dedent(PRIVACY_CHECKS))
    monkeypatch.setattr(tasks_package, "__path__", [*tasks_package.__path__, str(tmp_path)])
    monkeypatch.setattr(stages, "STAGE_SPECS", (*stages.STAGE_SPECS, PRIVACY))
    yield PRIVACY
    REGISTRY.pop("PRV-001", None)
    for name in ("partner_review.tasks.privacy.checks", "partner_review.tasks.privacy"):
        sys.modules.pop(name, None)
    pipeline.entry.cache_clear()


def test_every_declared_stage_has_checks_and_every_check_a_declared_stage():
    assert set(stages.names()) == {c.stage for c in registry.all_checks()}
    # A check applies to its stage's component, or to the app; a stage of the whole app may hold checks of one component.
    assert all(
        c.applies_to in (stages.spec(c.stage).applies_to, "app") or stages.spec(c.stage).applies_to == "app"
        for c in registry.all_checks()
    )


def test_review_stages_are_those_with_an_entry_and_run_in_their_declared_order():
    review = pipeline.review()
    assert [s.name for s in review] == [
        "catalog",
        "e2e",
        "replay",
        "docs",
        "volume",
        "spec",
        "links",
        "compat",
        "security",
    ]
    assert all(s.after == () or set(s.after) <= {t.name for t in review} for s in review)


def test_every_requirement_but_approval_is_fed_by_declared_checks():
    fed = {r.id: r.checks for r in REQUIREMENTS}
    assert fed.pop("approval") == frozenset()
    assert all(fed.values()), fed
    assert {"E2E-001", "E2E-014", "SPEC-001"} <= fed["spec"] and "E2E-015" not in fed["spec"]
    assert fed["catalog"] >= {"CAT-001", "CAT-013", "LNK-009"} and "CAT-014" in fed["docs"]


def test_a_new_stage_is_its_package_and_one_declaration(privacy_stage, example):
    assert "PRV-001" in {c.id for c in registry.all_checks()}
    assert "privacy" in Selection.of(stages=["privacy"]).called
    assert "PRV-001" in registry.feeding("end-to-end")
    submission = parse_submission(example)
    called = []

    async def recording(stage, *args, **kwargs):
        called.append(stage.__name__)
        return await stage(*args, **kwargs)

    everything = asyncio.run(pipeline.run_checks(submission, offline=True, call=recording))
    assert "check_privacy" in called
    (mine,) = [r for r in everything if r.stage == "privacy"]
    assert mine.check == "PRV-001" and mine.outcome == "pass"
    listed = [r.stage for r in everything]
    assert listed.index("privacy") > listed.index("links") and listed.index("privacy") < listed.index("compat")
    alone = asyncio.run(pipeline.run_checks(submission, offline=True, only=Selection.of(checks=["prv-001"])))
    assert [r.check for r in alone] == ["PRV-001"]
    plain = copy.deepcopy(example)
    plain["components"][0]["endpoint"] = "http://api.acme.example/segment/v1/events"
    (failed,) = asyncio.run(
        pipeline.run_checks(parse_submission(plain), offline=True, only=Selection.of(stages=["privacy"]))
    )
    assert failed.outcome == "fail" and failed.evidence["endpoints"] == [plain["components"][0]["endpoint"]]


def test_checks_format_json_lists_every_declaration():
    done = run("checks", "--format", "json")
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    assert [c["id"] for c in listed] == [c.id for c in registry.all_checks()]
    assert {"id", "title", "stage", "severity", "applies_to", "needs_network", "remedy"} <= set(listed[0])
    by_id = {c["id"]: c for c in listed}
    assert by_id["E2E-001"]["needs_network"] is True and by_id["E2E-001"]["applies_to"] == "destination"
    assert by_id["UPD-001"]["stage"] == "compat" and by_id["GRD-001"]["phase"] == "post-launch"
