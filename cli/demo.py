"""`partner-review demo`: the bundled submission through the whole path on the embedded default.

A real receiver on a free loopback port takes a signed delivery; the review flow runs in this
process, on PREFECT_API_URL when set, else on Prefect's temporary API started once for the demo
and stopped at its end, with a fresh SQLite store; the results and messages are printed at the end.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from partner_review.cli.api import START_HINT

if TYPE_CHECKING:
    from partner_review.models.store import Store

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "submission.json"


def _environment(data_dir: Path) -> str:
    secret = secrets.token_hex(16)
    os.environ.update(
        {
            "PARTNER_REVIEW_DATA_DIR": str(data_dir),
            "PARTNER_REVIEW_WEBHOOK_SECRET": secret,
            "PARTNER_REVIEW_DISPATCH": "local",
            "PARTNER_REVIEW_DISPATCH_INTERVAL_SECONDS": "1",
            # The demo's partner runs on loopback, which the outbound guard refuses unless allowed.
            "PARTNER_REVIEW_ALLOWED_NETWORKS": "127.0.0.0/8",
        }
    )
    os.environ.pop("PARTNER_REVIEW_DATABASE_URL", None)
    from partner_review.models.settings import get_settings

    get_settings.cache_clear()
    return secret


# The partner's own web addresses in the bundled submission: https://acme.example and its
# subdomains (app.acme.example in the docs), not e-mail addresses (no scheme) nor segment.com.
_PARTNER_SITE = re.compile(r"https://(?:[a-z0-9-]+\.)*acme\.example(?![a-z0-9.-])", re.IGNORECASE)


def _on_site(value, base_url: str):
    if isinstance(value, str):
        return _PARTNER_SITE.sub(base_url, value)
    if isinstance(value, list):
        return [_on_site(item, base_url) for item in value]
    if isinstance(value, dict):
        return {key: _on_site(item, base_url) for key, item in value.items()}
    return value


def pointed_at(submission: dict, partner: str, site=None) -> dict:
    """The bundled submission with its destination aimed at the local sample partner and, given a
    running sample website (`partners.site_running()`), every https://acme.example URL (app fields
    and the docs' markdown) aimed at that site."""
    if site is not None:
        submission["app"] = _on_site(submission["app"], site.base_url.rstrip("/"))
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
        print(f"partner-review demo: {error}", file=sys.stderr)
        return 1
    finally:
        if not keep:
            shutil.rmtree(data_dir, ignore_errors=True)
        else:
            console.print(f"data kept in {data_dir} (store partner-review.db and its key)")


def _run(console, data_dir: Path, decision: str, api_url: str, temporary: bool) -> int:
    from rich.markup import escape

    secret = _environment(data_dir)

    import httpx

    from partner_review.cli.render import print_table
    from partner_review.models.decision import Decision
    from partner_review.models.settings import get_settings
    from partner_review.models.store import get_store
    from partner_review.partners import running as partner_running
    from partner_review.partners import site_running
    from partner_review.webhooks.server import running
    from partner_review.webhooks.signing import DELIVERY_HEADER, HEADER, sign

    where = "Prefect's temporary API (started for this demo)" if temporary else f"the Prefect API at {api_url}"
    console.print(f"[bold]partner-review demo[/]  store: {data_dir / 'partner-review.db'}; runs on {where}")
    store = get_store()
    try:
        with site_running() as site:
            # The review trusts the site's private CA (verification stays on), in this process only.
            os.environ["PARTNER_REVIEW_CA_FILE"] = str(site.ca_file)
            get_settings.cache_clear()
            with partner_running("conformant") as partner, running() as base:
                body = json.dumps(pointed_at(json.loads(EXAMPLE.read_text()), partner, site)).encode()
                console.print(f"sample partner (conformant) at {partner}; the destination's endpoints point there")
                console.print(
                    f"the partner's website (https://acme.example) is served locally at {site.base_url} "
                    "over HTTPS; the review trusts its private CA"
                )
                delivery = f"demo-{uuid.uuid4()}"
                answer = httpx.post(
                    f"{base}/webhooks/submissions",
                    content=body,
                    timeout=30,
                    headers={
                        "content-type": "application/json",
                        DELIVERY_HEADER: delivery,
                        HEADER: sign(secret, body),
                    },
                )
                console.print(f"POST {base}/webhooks/submissions -> {answer.status_code} {escape(answer.text)}")
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
            raise SystemExit("partner-review demo: the review recorded no results")
        run, results = latest
        stored = store.get_submission(submission_id)
        print_table(results, title=f"{stored.submission.app.name} v{stored.version}", console=console)
        console.print("messages sent (subjects; the bodies are in the store):")
        for note in store.notifications(submission_id):
            console.print(escape(f"  {note.kind} ({note.status}) to {note.recipient}: {note.subject}"))
        console.print(
            f"state: {stored.state}; acknowledged {'on time' if stored.ack_on_time else 'late'} "
            f"(due {stored.ack_due_at:%Y-%m-%d %H:%M} UTC)"
        )
        artifacts = f"artifacts 'review-{stored.slug}', '-results' and '-tile'"
        if temporary:
            console.print(
                f"Prefect: flow run {run.flow_run_id}, {artifacts}. The temporary API stops with this command; "
                f"to browse the run in the UI, {START_HINT} before running the demo again."
            )
        else:
            ui = api_url.removesuffix("/").removesuffix("/api")
            console.print(f"Prefect: flow run {ui}/runs/flow-run/{run.flow_run_id} ({artifacts})")
        return 0
    finally:
        store.close()
