"""Fixtures that run partner-review for real: a Prefect server, the receiver, served deployments or
process workers, each a subprocess on a free loopback port, all stopped when the test ends.

`stack` is the one entry point: a test asks it for the processes it needs, in order, and reads
results through `stack.api` (Prefect REST) and `stack.store()` (the app's store). Logs of every
process stay in the test's tmp directory and are quoted in every readiness failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest

from partner_review.webhooks.server import free_port
from tests.conftest import require_postgres
from tests.server.support import BIN, ROOT, NotReady, PrefectAPI, Processes, healthy, wait_until

WEBHOOK_SECRET = "server-suite-webhook-secret"
READY_SECONDS = 120  # a Prefect server migrating a fresh database on 2 busy cores


def _clean_environ() -> dict[str, str]:
    """The test process's environment without its Prefect or partner-review settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PARTNER_REVIEW_"))}


class Stack:
    """The processes of one test and the settings they share."""

    def __init__(self, tmp: Path):
        from cryptography.fernet import Fernet

        self.tmp = tmp
        self.prefect_home = tmp / "prefect-home"
        self.data_dir = tmp / "data"
        self.secret = WEBHOOK_SECRET
        self.secret_key = Fernet.generate_key().decode()
        self.database_url = f"sqlite:///{self.data_dir / 'partner-review.db'}"
        self.api_url: str | None = None
        self.api: PrefectAPI | None = None
        self.databases: list[str] = []
        self.procs = Processes(tmp / "logs", _clean_environ())
        self._store = None
        self.partner_env: dict[str, str] = {}  # set by `partner()`: the sample site's CA, a short load test

    def partner(self, partner_url: str, site) -> None:
        """Reviews run against the sample partner and the sample website in this test's process:
        every process trusts the site's CA, and the load test is short."""
        self.partner_env = {
            "PARTNER_REVIEW_CA_FILE": str(site.ca_file),
            "PARTNER_REVIEW_VOLUME_RATE": "20",
            "PARTNER_REVIEW_VOLUME_DURATION_SECONDS": "1",
        }

    # Environment ------------------------------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        """What every process gets: Prefect quiet and pointed at this test's server, the app's
        settings (store, webhook secret, sealing key shared by all), loopback allowed outbound."""
        env = {
            "PREFECT_HOME": str(self.prefect_home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_RUNNER_POLL_FREQUENCY": "1",
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "PYTHONUNBUFFERED": "1",
            "PARTNER_REVIEW_HOME": str(ROOT),
            "PARTNER_REVIEW_DATA_DIR": str(self.data_dir),
            "PARTNER_REVIEW_DATABASE_URL": self.database_url,
            "PARTNER_REVIEW_WEBHOOK_SECRET": self.secret,
            "PARTNER_REVIEW_SECRET_KEY": self.secret_key,
            "PARTNER_REVIEW_ALLOWED_NETWORKS": "127.0.0.0/8",
            "PARTNER_REVIEW_DISPATCH_INTERVAL_SECONDS": "1",
        }
        if self.api_url:
            env["PREFECT_API_URL"] = self.api_url
        return {**env, **self.partner_env, **extra}

    # PostgreSQL -------------------------------------------------------------------------------

    def postgres_database(self, purpose: str) -> tuple[str, str]:
        """A fresh database of its own; returns (asyncpg URL for Prefect, psycopg URL for the app).
        Dropped when the test ends."""
        admin = require_postgres()
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        name = f"pr_{purpose}_{uuid.uuid4().hex[:10]}"
        engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        self.databases.append(name)
        url = make_url(admin).set(database=name)
        return (
            url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False),
            url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False),
        )

    def _drop_databases(self) -> None:
        if not self.databases:
            return
        from sqlalchemy import create_engine, text

        engine = create_engine(require_postgres(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            for name in self.databases:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()

    # Processes --------------------------------------------------------------------------------

    def prefect_server(self, *, database_url: str | None = None, ui: bool = True) -> str:
        """`prefect server start` on a free port, on SQLite in its own PREFECT_HOME or on the given
        PostgreSQL database, with or without its UI; returns the API URL once /api/health answers."""
        port = free_port()
        db = database_url or f"sqlite+aiosqlite:///{self.prefect_home / 'prefect.db'}"
        self.prefect_home.mkdir(parents=True, exist_ok=True)
        self.api_url = f"http://127.0.0.1:{port}/api"
        self.procs.start(
            "prefect-server",
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=self.env(
                PREFECT_SERVER_DATABASE_CONNECTION_URL=db,
                PREFECT_UI_ENABLED=str(ui).lower(),
                PREFECT_UI_API_URL=self.api_url,
                PREFECT_UI_URL=self.api_url.removesuffix("/api"),
            ),
        )
        wait_until(
            lambda: healthy(f"{self.api_url}/health"),
            timeout=READY_SECONDS,
            what="the Prefect server did not answer /api/health",
            processes=self.procs,
        )
        self.api = PrefectAPI(self.api_url)
        return self.api_url

    def serve(self) -> str:
        """`partner-review serve`: the receiver (dispatching to the review deployment) and every
        deployment served from one process. Returns the receiver's base URL once the receiver is
        healthy and the review deployment is registered."""
        port = free_port()
        self.procs.start(
            "partner-review-serve",
            [str(BIN / "partner-review"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=self.env(),
        )
        base = f"http://127.0.0.1:{port}"
        wait_until(
            lambda: healthy(f"{base}/healthz"),
            timeout=READY_SECONDS,
            what="the receiver of `partner-review serve` did not answer /healthz",
            processes=self.procs,
        )
        wait_until(
            lambda: self.api.deployment("review-submission/review-submission"),
            timeout=READY_SECONDS,
            what="`partner-review serve` did not register the review deployment",
            processes=self.procs,
        )
        return base

    def receiver(self, name: str = "receiver", *, wait: bool = True) -> str:
        """The receiver alone under uvicorn, dispatching to the review deployment; returns its base
        URL (once it answers /healthz unless `wait` is false: then call `wait_for_receiver`)."""
        port = free_port()
        self.procs.start(
            name,
            [
                str(BIN / "uvicorn"),
                "partner_review.webhooks.app:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "info",
            ],
            env=self.env(PARTNER_REVIEW_DISPATCH="deployment"),
        )
        base = f"http://127.0.0.1:{port}"
        if wait:
            self.wait_for_receiver(base)
        return base

    def wait_for_receiver(self, base: str) -> None:
        wait_until(
            lambda: healthy(f"{base}/healthz"),
            timeout=READY_SECONDS,
            what=f"the receiver at {base} did not answer /healthz",
            processes=self.procs,
        )

    def worker(self, name: str, *, pool: str = "partner-review", limit: int | None = None, wait: bool = True) -> None:
        """`prefect worker start --pool POOL --name NAME`; returns once the API lists the worker
        (unless `wait` is false: then call `wait_for_worker`)."""
        argv = [str(BIN / "prefect"), "worker", "start", "--pool", pool, "--name", name, "--type", "process"]
        if limit:
            argv += ["--limit", str(limit)]
        self.procs.start(name, argv, env=self.env())
        if wait:
            self.wait_for_worker(name, pool=pool)

    def wait_for_worker(self, name: str, *, pool: str = "partner-review") -> None:
        def listed() -> bool:
            workers = self.api.post(f"/work_pools/{pool}/workers/filter", {})
            return any(w["name"] == name for w in workers)

        wait_until(listed, timeout=READY_SECONDS, what=f"worker {name} never reported to the API", processes=self.procs)

    def cli(self, name: str, *args: str, check: bool = True, timeout: float = 180, **env: str):
        """Run a command from the venv (`partner-review`, `prefect`) against this stack."""
        return self.procs.run(name, [str(BIN / args[0]), *args[1:]], env=self.env(**env), check=check, timeout=timeout)

    # Reading results --------------------------------------------------------------------------

    def store(self):
        """The app's store, read from the test process with the same settings as the processes."""
        if self._store is None:
            from partner_review.models.settings import Settings
            from partner_review.models.store import Store

            self._store = Store(
                Settings(database_url=self.database_url, data_dir=self.data_dir, secret_key=self.secret_key),
                migrate=False,
            )
        return self._store

    def stop(self) -> list[int]:
        leftovers = self.procs.stop_all()
        if self.api:
            self.api.close()
        if self._store is not None:
            self._store.close()
        self._drop_databases()
        return leftovers


@pytest.fixture
def stack(tmp_path):
    """Real processes for one test; every one is stopped (and its databases dropped) at the end,
    pass or fail. The logs stay in `<tmp_path>/logs`."""
    s = Stack(tmp_path)
    try:
        yield s
    finally:
        leftovers = s.stop()
        if leftovers:
            print(f"killed leftover processes after the test: {leftovers}")


def _require(what: str, reason: str) -> None:
    """Missing tooling: a failure where CI must run the suite, a skip on a developer's machine."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing but CI runs this suite: {reason}")
    pytest.skip(f"{what} is missing: {reason}")


@pytest.fixture
def chromium_path() -> str:
    path = os.environ.get("PARTNER_REVIEW_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        _require("Chromium", "apt-get install -y chromium (or set PARTNER_REVIEW_CHROMIUM)")
    return path


@pytest.fixture
def browser(chromium_path, tmp_path):
    """Headless Chromium driven by Playwright (the wheel's bundled driver; never `playwright install`)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _require("playwright", "pip install -e '.[browser]'")
    with sync_playwright() as p:
        instance = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=chromium_path,
            headless=True,
            viewport={"width": 1280, "height": 800},
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield instance
        finally:
            instance.close()


__all__ = ["NotReady", "Stack", "wait_until"]


@pytest.fixture
def sample_partner():
    """A conformant sample destination and the partner's sample website (HTTPS), on loopback."""
    from partner_review.partners import running, site_running

    with running("conformant") as partner_url, site_running() as site:
        yield partner_url, site
