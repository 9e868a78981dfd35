"""`python -m partner_review.deployments.production up [--dir DIR]`: the layout until Ctrl-C.
`... reap --api URL`: the reaper alone (the layout starts it)."""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m partner_review.deployments.production")
    parser.add_argument("command", choices=["up", "reap"])
    parser.add_argument("--dir", type=Path, default=None, help="where logs and data go (default: a new temporary one)")
    parser.add_argument("--api", default=None, help="reap: Prefect's API URL (default: PREFECT_API_URL)")
    args = parser.parse_args(argv)
    if args.command == "reap":
        from partner_review.deployments.production.reaper import main as reap

        api = args.api or os.environ.get("PREFECT_API_URL")
        if not api:
            print("partner-review: production: reap needs --api or PREFECT_API_URL", file=sys.stderr)
            return 2
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            reap(api)
        except KeyboardInterrupt:
            pass
        return 0

    from cryptography.fernet import Fernet

    from partner_review.deployments.production.layout import Layout
    from partner_review.deployments.production.services import NotReady

    directory = args.dir or Path(tempfile.mkdtemp(prefix="partner-review-ha-"))
    secret = os.environ.get("PARTNER_REVIEW_WEBHOOK_SECRET") or secrets.token_urlsafe(32)
    key = os.environ.get("PARTNER_REVIEW_SECRET_KEY") or Fernet.generate_key().decode()
    layout = Layout(directory, secret=secret, secret_key=key)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        print(f"starting the layout in {directory} (logs in {layout.logs}) ...", flush=True)
        layout.up()
        print(f"Prefect API (balanced): {layout.api_url}")
        print(f"webhooks (balanced):    {layout.hooks_url}/webhooks/submissions")
        print(f"app store:              {layout.database_url('app')}")
        print(
            f"webhook secret:         {'(from PARTNER_REVIEW_WEBHOOK_SECRET)' if 'PARTNER_REVIEW_WEBHOOK_SECRET' in os.environ else secret}"
        )
        print("running; Ctrl-C stops every process", flush=True)
        while True:
            time.sleep(3600)
    except NotReady as error:
        print(f"partner-review: production: {str(error).splitlines()[0]} (logs in {layout.logs})", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    finally:
        layout.down()


if __name__ == "__main__":
    raise SystemExit(main())
