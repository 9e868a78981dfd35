"""`partner-review demo`: the bundled partner through the whole path on the embedded default.

A real receiver on a free loopback port takes signed deliveries: first the partner's access
request, which the access flow checks against the partner's website and the demo approves as a
reviewer would; then the submission, which the receiver takes only from an approved partner
(`require_approved_partner` is on) and the review flow checks. Both flows run in this process, on
PREFECT_API_URL when set, else on Prefect's temporary API started once for the demo and stopped at
its end, with a fresh SQLite store. The results, the messages and the app's checklist are printed.

The partner's website keeps its name (`https://acme.example`): it is served on loopback over HTTPS
with a private CA, and `PARTNER_REVIEW_RESOLVE` maps its names to that server for the guarded
client, so the domain checks (contact e-mail on the website's domain, the approved-partner gate)
see the partner's real domain.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from partner_review.cli.api import START_HINT
from partner_review.cli.errors import fail

if TYPE_CHECKING:
    from partner_review.models.settings import Settings
    from partner_review.models.store import Store

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
EXAMPLE = EXAMPLES / "submission.json"
ACCESS_EXAMPLE = EXAMPLES / "access-request.json"
# The partner's host names in the bundled files, served by the sample website.
SITE_NAMES = ("acme.example", "app.acme.example")
DEMO_SLUG = "acme-analytics"  # the bundled submission's app.slug


def _settings(data_dir: Path, secret: str, **more: Any) -> Settings:
    """The demo's settings, adopted by this process (models.settings.adopt_settings: what the
    receiver, the dispatcher and the review read) without touching its environment: the store in
    `data_dir`, a fresh webhook secret, reviews run in this process."""
    from partner_review.models.settings import Settings, adopt_settings

    values: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": None,
        "webhook_secret": secret,
        "dispatch": "local",
        "dispatch_interval_seconds": 1,
        # The demo's partner runs on loopback, which the outbound guard refuses unless allowed.
        "allowed_networks": "127.0.0.0/8",
        # Submissions only from approved partners: the demo's access approval is what lets it in.
        "require_approved_partner": True,
    }
    settings = Settings(**{**values, **more})
    adopt_settings(settings)
    return settings


# The partner's own web addresses in the bundled files: https://acme.example and its subdomains
# (app.acme.example in the docs), not e-mail addresses (no scheme) nor segment.com.
_PARTNER_SITE = re.compile(r"https://(?P<host>(?:[a-z0-9-]+\.)*acme\.example)(?![a-z0-9.:-])", re.IGNORECASE)


def on_site(value, site):
    """`value` (JSON) with every https://acme.example URL aimed at the running sample website: a
    name the site's certificate holds keeps its name and gets the site's port (the names resolve
    to the site through `PARTNER_REVIEW_RESOLVE`); any other becomes the site's base URL."""

    def aimed(match: re.Match[str]) -> str:
        host = match["host"].lower()
        return f"https://{host}:{site.port}" if host in site.names else site.base_url.rstrip("/")

    if isinstance(value, str):
        return _PARTNER_SITE.sub(aimed, value)
    if isinstance(value, list):
        return [on_site(item, site) for item in value]
    if isinstance(value, dict):
        return {key: on_site(item, site) for key, item in value.items()}
    return value


def pointed_at(submission: dict, partner: str, site=None) -> dict:
    """The bundled submission with its destination aimed at the local sample partner and, given a
    running sample website (`partners.site_running()`), every https://acme.example URL (app fields
    and the docs' markdown) aimed at that site (`on_site`)."""
    if site is not None:
        submission["app"] = on_site(submission["app"], site)
    for component in submission["components"]:
        if component["type"] == "destination":
            component["endpoint"] = f"{partner}/v1/events"
            component["batch_endpoint"] = f"{partner}/v1/batch"
    return submission


def wait_for(condition, failure: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"partner-review demo: {failure} within {timeout:.0f} s")
        time.sleep(0.5)


def _decided(store: Store, submission_id: str) -> bool:
    latest = store.latest_review(submission_id)
    return latest is not None and store.decision_of(latest[0].id) is not None


def _try_resume(submission_id: str, decision) -> bool:
    from partner_review.cli.decide import DecisionRefused, resume

    try:
        resume(submission_id, decision)
    except DecisionRefused as error:
        if "not waiting" in str(error):
            return False
        raise SystemExit(f"partner-review demo: the decision was refused: {error}") from None
    return True


def _try_resume_access(request_id: str, decision) -> bool:
    """`partner-review decide-access`'s path: False while the run is not yet waiting for it."""
    from partner_review.cli.access import AccessDecisionRefused, resume_access

    try:
        resume_access(request_id, decision)
    except AccessDecisionRefused as error:
        if "not waiting" in str(error) or "no review run yet" in str(error):
            return False
        raise SystemExit(f"partner-review demo: the access decision was refused: {error}") from None
    return True


def data_directory(keep: bool) -> Path:
    """Where the demo's store and key live: a fresh temporary directory, or with `keep` the one
    place the demo always uses (under the default data directory), emptied first."""
    if not keep:
        return Path(tempfile.mkdtemp(prefix="partner-review-demo-"))
    from partner_review.models.settings import Settings

    kept = Settings().data_dir / "demo"
    shutil.rmtree(kept, ignore_errors=True)
    kept.mkdir(parents=True)
    return kept


def run_demo(*, keep: bool = False, decision: str = "approve") -> int:
    from rich.console import Console

    from partner_review.cli.api import ApiUnavailable, prefect_api

    # Before Prefect is imported: its logging is configured once, and its server reads these.
    os.environ.update({"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"})
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    console = Console()
    data_dir = data_directory(keep)
    try:
        with prefect_api() as (api_url, temporary):
            return _run(console, data_dir, decision, api_url, temporary)
    except ApiUnavailable as error:
        fail(str(error), 1)
    finally:
        if not keep:
            shutil.rmtree(data_dir, ignore_errors=True)
            console.print(
                "the demo's store was temporary and is removed; to look at the result afterwards, run "
                "`partner-review demo --keep`, then the line it prints"
            )
        else:
            console.print(
                f"data kept in {data_dir} (store partner-review.db and its key); to look at it:", soft_wrap=True
            )
            look = f"  PARTNER_REVIEW_DATA_DIR={shlex.quote(str(data_dir))} partner-review status {DEMO_SLUG}"
            console.print(look, soft_wrap=True, markup=False, highlight=False)


def _run(console, data_dir: Path, decision: str, api_url: str, temporary: bool) -> int:
    from rich.markup import escape

    secret = secrets.token_hex(16)
    _settings(data_dir, secret)

    import httpx

    from partner_review.cli.render import print_checklist, print_table
    from partner_review.flows.keys import review_key, subject_key
    from partner_review.models.access import AccessDecision, AccessState
    from partner_review.models.decision import Decision
    from partner_review.models.store import get_store
    from partner_review.partners import running as partner_running
    from partner_review.partners import site_running
    from partner_review.tasks.lifecycle.checklist import checklist_of
    from partner_review.webhooks.server import running
    from partner_review.webhooks.signing import DELIVERY_HEADER, HEADER, sign

    def deliver(base: str, kind: str, body: bytes) -> httpx.Response:
        """A signed delivery, as the partner portal sends it; its answer printed."""
        answer = httpx.post(
            f"{base}/webhooks/{kind}",
            content=body,
            timeout=30,
            headers={
                "content-type": "application/json",
                DELIVERY_HEADER: f"demo-{uuid.uuid4()}",
                HEADER: sign(secret, body),
            },
        )
        console.print(f"POST {base}/webhooks/{kind} -> {answer.status_code} {escape(answer.text)}")
        return answer

    where = "Prefect's temporary API (started for this demo)" if temporary else f"the Prefect API at {api_url}"
    console.print(f"[bold]partner-review demo[/]  store: {data_dir / 'partner-review.db'}; runs on {where}")
    store = get_store()
    access = store.access
    try:
        with site_running(server_name=SITE_NAMES[0], aliases=SITE_NAMES[1:]) as site:
            # The review trusts the site's private CA (verification stays on) and finds the partner's
            # names on loopback, in this process only; the address guard still applies (127.0.0.0/8
            # is allowed above) and TLS still checks the names against the site's certificate.
            resolve = ",".join(f"{name}:{site.port}:127.0.0.1" for name in site.names)
            _settings(data_dir, secret, ca_file=str(site.ca_file), resolve=resolve)
            with partner_running("conformant") as partner, running() as base:
                console.print(
                    f"the partner's website ({', '.join(site.names)}) is served locally over HTTPS on port "
                    f"{site.port}; PARTNER_REVIEW_RESOLVE={resolve} points its names there and the review "
                    "trusts its private CA"
                )
                console.print(f"sample partner (conformant) at {partner}; the destination's endpoints point there")

                console.rule("1. The partner requests access")
                request = on_site(json.loads(ACCESS_EXAMPLE.read_text()), site)
                answer = deliver(base, "access-requests", json.dumps(request).encode())
                if answer.status_code != 202:
                    console.print("[red]the receiver refused the bundled access request[/]")
                    return 1
                request_id = answer.json()["access_request_id"]
                console.print("checking the request: company website, e-mail domain, survey, terms...")
                wait_for(
                    lambda: (r := access.latest_review(request_id)) is not None and r.status == "completed",
                    "the access checks did not finish",
                )
                checked = access.latest_review(request_id)
                assert checked is not None
                print_table(checked.results, title=f"Access request of {request['company']['name']}", console=console)

                console.rule("2. A submission before approval")
                body = json.dumps(pointed_at(json.loads(EXAMPLE.read_text()), partner, site)).encode()
                early = deliver(base, "submissions", body)
                if early.status_code != 403:
                    console.print("[red]the receiver took a submission from a partner not yet approved[/]")
                    return 1
                console.print("refused: only approved partners may submit (PARTNER_REVIEW_REQUIRE_APPROVED_PARTNER)")

                console.rule("3. The reviewer approves the access request")
                console.print("the demo plays the reviewer: 'approve', as `partner-review decide-access` sends it")
                grant = AccessDecision(
                    decision="approve", reviewer="demo (auto-decision)", comment="Approved by `partner-review demo`."
                )
                wait_for(lambda: _try_resume_access(request_id, grant), "the access review never waited for a decision")
                wait_for(
                    lambda: access.get(request_id).state is not AccessState.requested, "no access decision recorded"
                )
                approved = access.get(request_id)
                console.print(f"access request {request_id}: {approved.state} (domain {approved.domain})")
                if approved.state is not AccessState.approved:
                    return 1

                console.rule("4. The partner submits its integration")
                answer = deliver(base, "submissions", body)
                if answer.status_code != 202:
                    console.print("[red]the receiver refused the bundled submission[/]")
                    return 1
                submission_id = answer.json()["submission_id"]
                console.print("reviewing: every automated stage runs against the local partner and website...")
                wait_for(
                    lambda: (r := store.latest_review(submission_id)) and r[0].status == "completed",
                    "the automated checks did not finish",
                )
                console.print(
                    f"the demo plays the reviewer: decision '{decision}', as `partner-review decide` sends it"
                )
                verdict = Decision(
                    decision=decision.replace("-", "_"),
                    reviewer="demo (auto-decision)",
                    comment="Decided by `partner-review demo`.",
                )
                wait_for(lambda: _try_resume(submission_id, verdict), "the review never waited for a decision")
                wait_for(lambda: store.dispatches()[0].status == "dispatched", "the review did not finish")
                wait_for(lambda: _decided(store, submission_id), "no decision recorded")
        latest = store.latest_review(submission_id)
        if latest is None:
            fail("the review recorded no results", 1)
        run, results = latest
        stored = store.get_submission(submission_id)
        print_table(results, title=f"{stored.submission.app.name} v{stored.version}", console=console)
        console.print("messages sent (subjects; the bodies are in the store):")
        for note in store.notifications():
            console.print(escape(f"  {note.kind} ({note.status}) to {note.recipient}: {note.subject}"))
        console.print(
            f"state: {stored.state}; acknowledged {'on time' if stored.ack_on_time else 'late'} "
            f"(due {stored.ack_due_at:%Y-%m-%d %H:%M} UTC)"
        )
        console.rule(f"5. The checklist (`partner-review status {stored.slug}`)")
        print_checklist(checklist_of(store, stored.slug), console=console)
        artifacts = f"artifacts '{review_key(stored.slug)}', '--results', '--tile' and '--record'"
        granted = f"artifacts '{subject_key('access', approved.request.company.name)}' and '--decision'"
        if temporary:
            console.print(
                f"Prefect: access review flow run {checked.flow_run_id}, {granted}; submission review flow run "
                f"{run.flow_run_id}, {artifacts}. The temporary API stops with this command; "
                f"to browse the runs in the UI, {START_HINT} before running the demo again."
            )
        else:
            ui = api_url.removesuffix("/").removesuffix("/api")
            console.print(f"Prefect: access review {ui}/runs/flow-run/{checked.flow_run_id} ({granted})")
            console.print(f"Prefect: submission review {ui}/runs/flow-run/{run.flow_run_id} ({artifacts})")
        return 0
    finally:
        store.close()
