"""The `partner-review` command.

cyclopts (already installed with Prefect) parses the command line; rich prints. Prefect itself is
imported only by the commands that run flows, so `check`, `checks` and `schema` start fast.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Literal

from cyclopts import App, Parameter

app = App(name="partner-review", help="Review pipeline for third-party integrations, on Prefect 3.")
db = App(name="db", help="Database schema commands.")
app.command(db)
activity = App(name="activity", help="Customer activity (adoption) commands.")
app.command(activity)


def fail(message: str) -> int:
    """A usage or input error: one line on stderr, exit status 2."""
    print(f"partner-review: {message}", file=sys.stderr)
    return 2


def load_submission_file(path: Path):
    """Read and validate a submission file, or raise SystemExit(2) with a one-line reason."""
    from partner_review.models.jsonbody import NotJson, decode
    from partner_review.models.submission import InvalidSubmission, parse_submission

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SystemExit(fail(f"{path}: no such file")) from None
    except OSError as error:
        raise SystemExit(fail(f"{path}: cannot be read ({error.strerror or error})")) from None
    try:
        data = decode(raw)
    except NotJson as error:
        raise SystemExit(fail(f"{path}: not valid JSON ({error})")) from None
    try:
        return parse_submission(data)
    except InvalidSubmission as error:
        raise SystemExit(fail(f"{path}: not a valid submission: {error}")) from None


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
        Run only this stage (repeatable): one of the review's stages (`partner-review checks` lists them).
    only_check
        Run only this check (repeatable), e.g. CAT-002: its stage runs, only the check is reported.
    """
    from partner_review.cli.render import print_table
    from partner_review.models.checks import verdict
    from partner_review.tasks.lifecycle import report
    from partner_review.tasks.pipeline import run_checks
    from partner_review.tasks.selection import Selection, UnknownName

    only = None
    if stage or only_check:
        try:
            only = Selection.of(stages=stage or [], checks=only_check or [])
        except UnknownName as error:
            return fail(str(error))
    submission = load_submission_file(file)
    released = load_submission_file(against) if against is not None else None
    results = asyncio.run(
        run_checks(
            submission,
            offline=offline,
            released=released,
            released_reason="no released version given: pass --against RELEASED.json to compare with the live one",
            only=only,
        )
    )
    if format == "json":
        print(json.dumps(report.as_json(results, offline=offline), indent=2))
    else:
        print_table(results, offline=offline, title=f"{submission.app.name} v{submission.version}")
    return 1 if verdict(results, offline=offline) == "fail" else 0


@app.command
def checks(
    *, markdown: bool = False, format: Annotated[Literal["table", "json"], Parameter(name="--format")] = "table"
) -> int:
    """Print the check reference (every check's id, stage, severity, title and remedy).

    Parameters
    ----------
    markdown
        Print the markdown that docs/checks.md holds.
    format
        `table` for people, `json` for programs: a list of every check's declaration.
    """
    from partner_review.cli.reference import reference_json, reference_markdown, reference_table

    if markdown:
        print(reference_markdown(), end="")
    elif format == "json":
        print(reference_json())
    else:
        reference_table()
    return 0


@app.command(name="sample-partner")
def sample_partner(*, behaviour: str = "conformant", port: int = 8765, host: str = "127.0.0.1") -> int:
    """Serve a sample destination until stopped (endpoint /v1/events, batch /v1/batch).

    Parameters
    ----------
    behaviour
        conformant, slow, flaky, lenient, no-auth, rate-limited, drops-fields or wrong-content-type.
    port
        Port to listen on.
    host
        Address to listen on.
    """
    from partner_review.partners import BEHAVIOURS
    from partner_review.partners import serve as serve_partner

    if behaviour not in BEHAVIOURS:
        return fail(f"unknown behaviour '{behaviour}' (one of: {', '.join(BEHAVIOURS)})")
    serve_partner(behaviour, host, port)
    return 0


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

    return run_cli(str(file), rate=rate, duration=duration)


@app.command
def settings(*, markdown: bool = False) -> int:
    """Print the settings in force (secrets masked).

    Parameters
    ----------
    markdown
        Print the reference that docs/settings.md holds instead.
    """
    from partner_review.cli.reference import settings_markdown, settings_table

    if markdown:
        print(settings_markdown(), end="")
    else:
        settings_table()
    return 0


@app.command
def deployments(*, yaml: bool = False) -> int:
    """List the deployments (`serve` serves them; prefect.yaml declares them for a work pool).

    Parameters
    ----------
    yaml
        Print the prefect.yaml generated from them instead.
    """
    from partner_review.deployments.definitions import DEFINITIONS, prefect_yaml

    if yaml:
        print(prefect_yaml(), end="")
    else:
        for d in DEFINITIONS:
            print(f"{d.name:20} {d.cron or '(on demand)':12} {d.entrypoint:42} {d.description}")
    return 0


@app.command
def schema() -> int:
    """Print the submission JSON Schema."""
    from partner_review.models.submission import Submission

    print(json.dumps(Submission.model_json_schema(), indent=2))
    return 0


@db.command
def upgrade() -> int:
    """Create or migrate the store's tables to the newest schema.

    Exit status: 0 done, 1 the database cannot be reached or migrated, 2 the URL is unusable.
    """
    from partner_review.models.settings import get_settings
    from partner_review.models.store import upgrade as run_upgrade

    url = get_settings().resolved_database_url
    shown = _safe_url(url)
    try:
        run_upgrade(url)
    except Exception as error:  # one line for every way a URL or a server can fail; the cause is named
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        reason = " ".join(str(getattr(error, "orig", None) or error).split())[:200] or type(error).__name__
        if isinstance(error, ArgumentError | NoSuchModuleError | ImportError | ValueError):
            return fail(f"db upgrade: PARTNER_REVIEW_DATABASE_URL {shown} is not usable: {reason}")
        print(
            f"partner-review: db upgrade: cannot migrate the database at {shown}: {reason} "
            "(check that it runs and PARTNER_REVIEW_DATABASE_URL)",
            file=sys.stderr,
        )
        return 1
    print(f"database at {shown} is at the newest schema")
    return 0


def _safe_url(url: str) -> str:
    """The URL without its password."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


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


@app.command
def serve(*, host: str = "127.0.0.1", port: int = 8000) -> int:
    """Run the webhook receiver and serve the deployments against the Prefect API at PREFECT_API_URL.

    Exit status: 1 when no Prefect API answers there.

    Parameters
    ----------
    host
        Address the receiver listens on.
    port
        Port the receiver listens on.
    """
    from partner_review.cli.api import START_HINT, ApiUnavailable, check_reachable, configured_api_url

    url = configured_api_url()
    if not url:
        print(f"partner-review: serve needs a running Prefect API: {START_HINT}", file=sys.stderr)
        return 1
    try:
        check_reachable(url)
    except ApiUnavailable as error:
        print(f"partner-review: serve: {error}", file=sys.stderr)
        return 1
    from partner_review.deployments.serve import serve_all

    return serve_all(host=host, port=port)


@app.command
def lint(
    page: Path,
    *,
    kind: Annotated[Literal["direct", "actions", "source"] | None, Parameter(name="--kind")] = None,
    format: Annotated[Literal["text", "json"], Parameter(name="--format")] = "text",
) -> int:
    """Lint one Segment doc page (the docs stage alone), as a partner writing it would.

    Exit status: 0 no blocker failed, 1 a blocker failed, 2 unreadable file.

    Parameters
    ----------
    page
        The Markdown file.
    kind
        The page's template: a direct destination, an actions destination or a source (default:
        told from the file name and the page itself).
    format
        `text`: one `file:line:col rule message` line per finding; `json`: the `check` command's shape.
    """
    from partner_review.cli.lint import run_lint

    return run_lint(page, kind=kind, format=format)


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
        return fail("give exactly one of --approve, --request-changes, --reject")
    waive, reason, expires = waive or [], reason or [], expires or []
    if not (len(waive) == len(reason) == len(expires)):
        return fail("each --waive needs its own --reason and --expires")
    try:
        decision = Decision(
            decision=chosen[0],
            comment=comment,
            reviewer=reviewer or os.environ.get("USER") or "reviewer",
            waivers=[{"check_id": c, "reason": r, "expires": e} for c, r, e in zip(waive, reason, expires)],
        )
    except ValidationError as error:
        from partner_review.models.submission import field_problems

        return fail("; ".join(field_problems(error)))
    return run_decide(submission_id, decision)


@activity.command(name="import")
def import_activity(file: Path) -> int:
    """Import customer activity from a CSV or JSON-lines file; idempotent per (app, workspace, day).

    Parameters
    ----------
    file
        CSV with header app,workspace_id,day,events_delivered,events_failed, or JSON lines.
    """
    from partner_review.models.activity import UnknownApp
    from partner_review.models.store import get_store
    from partner_review.tasks.graduation.adoption import BadActivity, read_file

    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return fail(f"{file}: no such file")
    except (OSError, UnicodeDecodeError) as error:
        return fail(f"{file}: cannot be read ({error})")
    try:
        counts = get_store().record_activity(read_file(text, name=file.name))
    except (BadActivity, UnknownApp) as error:
        return fail(f"{file}: {error}; nothing was imported")
    print(f"{file}: {counts['inserted']} new, {counts['updated']} corrected, {counts['unchanged']} already known")
    return 0


@app.command(name="check-access")
def check_access(
    file: Path,
    *,
    format: Annotated[Literal["table", "json"], Parameter(name="--format")] = "table",
    offline: bool = False,
) -> int:
    """Run the access checks (ACC-*) on an access request file, without any server.

    Exit status: 0 no blocker failed, 1 a blocker failed, 2 usage error or invalid file.

    Parameters
    ----------
    file
        The access request JSON file (contract section 7).
    format
        `table` for people, `json` for programs (the same shape as `check`).
    offline
        Skip the checks that fetch the website (each skipped result says so).
    """
    from partner_review.cli.access import check_access_file

    return check_access_file(file, format=format, offline=offline)


@app.command
def status(slug: str, *, format: Annotated[Literal["table", "json"], Parameter(name="--format")] = "table") -> int:
    """Print an app's Public Beta checklist: each launch requirement met, unmet or unknown, and why.

    Exit status: 0 printed, 2 unknown app or usage error.

    Parameters
    ----------
    slug
        The app's slug.
    format
        `table` for people, `json` for programs (contract section 8).
    """
    from partner_review.cli.access import status_of

    return status_of(slug, format=format)


@app.command(name="decide-access")
def decide_access(
    access_request_id: str,
    *,
    approve: bool = False,
    reject: bool = False,
    comment: str = "",
    reviewer: str | None = None,
) -> int:
    """Decide an access request waiting in Prefect: resumes its flow run with the decision.

    Parameters
    ----------
    access_request_id
        The access request to decide.
    approve
        Approve: the partner is welcomed and may build.
    reject
        Reject (a comment saying why is required).
    comment
        Sent to the partner with the decision.
    reviewer
        Who decides (default: $USER).
    """
    import os

    from partner_review.cli.access import decide_access as run_decide_access

    if approve == reject:
        return fail("give exactly one of --approve, --reject")
    return run_decide_access(
        access_request_id,
        decision="approve" if approve else "reject",
        comment=comment,
        reviewer=reviewer or os.environ.get("USER") or "reviewer",
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
