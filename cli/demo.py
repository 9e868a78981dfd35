"""`partner-review demo`: the bundled submission through the whole path on the embedded default.

A real receiver on a free loopback port takes a signed delivery; the review flow runs in this
process on Prefect's ephemeral API with a fresh SQLite store; the report is printed at the end.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
import time
import uuid
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "submission.json"


def _environment(data_dir: Path) -> str:
    secret = secrets.token_hex(16)
    os.environ.update({
        "PARTNER_REVIEW_DATA_DIR": str(data_dir),
        "PARTNER_REVIEW_WEBHOOK_SECRET": secret,
        "PARTNER_REVIEW_DISPATCH": "local",
        "PARTNER_REVIEW_DISPATCH_INTERVAL_SECONDS": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    })
    os.environ.pop("PARTNER_REVIEW_DATABASE_URL", None)
    from models.settings import get_settings

    get_settings.cache_clear()
    return secret


def run_demo(*, keep: bool = False) -> int:
    from rich.console import Console
    from rich.markup import escape

    console = Console()
    data_dir = Path(tempfile.mkdtemp(prefix="partner-review-demo-"))
    secret = _environment(data_dir)

    import httpx

    from models.store import get_store
    from tasks import report
    from webhooks.server import running
    from webhooks.signing import DELIVERY_HEADER, HEADER, sign

    body = json.dumps(json.loads(EXAMPLE.read_text())).encode()
    console.print(f"[bold]partner-review demo[/]  store: {data_dir / 'partner-review.db'}")
    with running() as base:
        delivery = f"demo-{uuid.uuid4()}"
        answer = httpx.post(f"{base}/webhooks/submissions", content=body, timeout=30, headers={
            "content-type": "application/json", DELIVERY_HEADER: delivery, HEADER: sign(secret, body)})
        console.print(f"POST {base}/webhooks/submissions -> {answer.status_code} {answer.text}")
        if answer.status_code != 202:
            console.print("[red]the receiver refused the bundled submission[/]")
            return 1
        submission_id = answer.json()["submission_id"]
        console.print("reviewing (Prefect's ephemeral API starts on first use; about 10-20 s)...")
        store = get_store()
        deadline = time.monotonic() + 600
        while True:
            latest = store.latest_review(submission_id)
            if latest and latest[0].status == "completed":
                break
            if time.monotonic() > deadline:
                console.print("[red]the review did not finish within 10 minutes[/]")
                return 1
            time.sleep(0.5)
    run, results = latest
    stored = store.get_submission(submission_id)
    report.print_table(results, title=f"{stored.submission.app.name} v{stored.version}", console=console)
    for note in store.notifications(submission_id):
        console.print(escape(f"notification ({note.status}) {note.kind} to {note.recipient}: {note.subject}"))
    console.print(
        f"state: {stored.state}; acknowledged {'on time' if stored.ack_on_time else 'late'} "
        f"(due {stored.ack_due_at:%Y-%m-%d %H:%M} UTC)\n"
        f"Prefect: flow run {run.flow_run_id}, artifacts 'review-{stored.slug}' and 'review-{stored.slug}-results'. "
        "The demo used Prefect's ephemeral API, which stops with this command; to browse runs in the UI, "
        "start `prefect server start`, set PREFECT_API_URL=http://127.0.0.1:4200/api and run the demo again."
    )
    if not keep:
        import shutil

        store.close()
        shutil.rmtree(data_dir, ignore_errors=True)
    else:
        console.print(f"data kept in {data_dir}")
    return 0
