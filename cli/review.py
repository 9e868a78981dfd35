"""Commands on a submission: `check`, `load-test`, `schema`, `decide` and `demo`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Literal

from cyclopts import Parameter

from partner_review.cli.app import app
from partner_review.cli.errors import fail
from partner_review.cli.files import load_submission_file


@app.command
def check(
    file: Path,
    *,
    format: Annotated[Literal["table", "json"], Parameter(name="--format")] = "table",
    offline: bool = False,
    against: Annotated[Path | None, Parameter(name="--against")] = None,
    stage: Annotated[list[str] | None, Parameter(name="--stage", consume_multiple=False)] = None,
    only_check: Annotated[list[str] | None, Parameter(name="--check", consume_multiple=False)] = None,
) -> int:
    """Run the checks on a submission file, without any server.

    Exit status: 0 no blocker failed, 1 a blocker failed, 2 usage error or invalid file.

    Parameters
    ----------
    file
        The submission JSON file.
    format
        `table` for people, `json` for programs (the contract's shape).
    offline
        Skip every check that needs the network (each skipped result says so).
    against
        The released (live) version's submission file: also run the update-compatibility stage (compat).
    stage
        Run only this stage (repeatable): catalog, docs, links, e2e, replay, spec, volume, compat or security.
    only_check
        Run only this check (repeatable), e.g. CAT-002: its stage runs, only the check is reported.
    """
    from partner_review.cli.render import print_table
    from partner_review.flows.context import entry_context
    from partner_review.models.checks import verdict
    from partner_review.tasks.lifecycle import report
    from partner_review.tasks.pipeline import run_checks
    from partner_review.tasks.selection import Selection, UnknownName

    only = None
    if stage or only_check:
        try:
            only = Selection.of(stages=stage or [], checks=only_check or [])
        except UnknownName as error:
            fail(str(error))
    submission = load_submission_file(file)
    released = load_submission_file(against) if against is not None else None
    results = asyncio.run(
        run_checks(
            submission,
            offline=offline,
            released=released,
            released_reason="no released version given: pass --against RELEASED.json to compare with the live one",
            only=only,
            settings=entry_context().settings,
        )
    )
    if format == "json":
        print(json.dumps(report.as_json(results, offline=offline), indent=2))
    else:
        print_table(results, offline=offline, title=f"{submission.app.name} v{submission.version}")
    return 1 if verdict(results, offline=offline) == "fail" else 0


@app.command(name="load-test")
def load_test(file: Path, *, rate: float | None = None, duration: float | None = None) -> int:
    """Run the volume stage alone against a submission's destination, with a progress bar.

    Exit status: 0 no blocker failed, 1 a blocker failed, 2 usage error or a refused target.

    Parameters
    ----------
    file
        The submission JSON file.
    rate
        Target requests per second (default: PARTNER_REVIEW_VOLUME_RATE).
    duration
        Seconds to send for (default: PARTNER_REVIEW_VOLUME_DURATION_SECONDS).
    """
    from partner_review.cli.load_test import run_cli

    return run_cli(file, rate=rate, duration=duration)


@app.command
def schema() -> int:
    """Print the submission JSON Schema."""
    from partner_review.models.submission import Submission

    print(json.dumps(Submission.model_json_schema(), indent=2))
    return 0


@app.command
def decide(
    submission_id: str,
    *,
    approve: bool = False,
    request_changes: bool = False,
    reject: bool = False,
    comment: str = "",
    reviewer: str | None = None,
    waive: list[str] | None = None,
    reason: list[str] | None = None,
    expires: list[str] | None = None,
) -> int:
    """Decide a review waiting in Prefect: resumes its flow run with the decision.

    Parameters
    ----------
    submission_id
        The submission to decide.
    approve
        Approve: the app becomes Public Beta.
    request_changes
        Ask the partner for changes (each blocker is sent with its remedy).
    reject
        Reject the submission.
    comment
        Sent to the partner with the decision.
    reviewer
        Who decides (default: $USER).
    waive
        A failing check id to accept; give --reason and --expires for each.
    reason
        Why the waived check's failure is acceptable (one per --waive).
    expires
        Last day the waiver applies, YYYY-MM-DD (one per --waive).
    """
    import os

    from pydantic import ValidationError

    from partner_review.cli.decide import main as run_decide
    from partner_review.models.decision import Decision

    chosen = [
        name for name, on in (("approve", approve), ("request_changes", request_changes), ("reject", reject)) if on
    ]
    if len(chosen) != 1:
        fail("give exactly one of --approve, --request-changes, --reject")
    waive, reason, expires = waive or [], reason or [], expires or []
    if not (len(waive) == len(reason) == len(expires)):
        fail("each --waive needs its own --reason and --expires")
    try:
        decision = Decision(
            decision=chosen[0],
            comment=comment,
            reviewer=reviewer or os.environ.get("USER") or "reviewer",
            waivers=[{"check_id": c, "reason": r, "expires": e} for c, r, e in zip(waive, reason, expires)],
        )
    except ValidationError as error:
        from partner_review.models.submission import field_problems

        fail("; ".join(field_problems(error)))
    return run_decide(submission_id, decision)


@app.command
def demo(*, keep: bool = False, decision: Literal["approve", "request-changes", "reject"] = "approve") -> int:
    """Review the bundled sample submission end to end (receiver, flow, SQLite store, decision).

    Runs on PREFECT_API_URL when set (see the run in its UI), else on Prefect's temporary API,
    started once and stopped when the demo ends. The review waits for a reviewer like any other;
    the demo plays the reviewer and sends `decision` exactly as `partner-review decide` does.

    Parameters
    ----------
    keep
        Keep the store and key in DATA_DIR/demo (default ~/.local/share/partner-review/demo,
        emptied at the start) instead of a temporary directory removed at the end.
    decision
        The reviewer's decision the demo sends once the automated checks are done.
    """
    from partner_review.cli.demo import run_demo

    return run_demo(keep=keep, decision=decision)
