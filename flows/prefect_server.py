"""Prefect's embedded API server as partner-review starts it: Prefect's own app, its SQLite write
transactions begun IMMEDIATE.

Without PREFECT_API_URL, Prefect runs a temporary API server in a subprocess on SQLite (its
"ephemeral" mode; `cli.api.prefect_api`, the demo, the benchmarks, a receiver with
PARTNER_REVIEW_DISPATCH=local). Prefect 3.9's SQLite configuration
(`prefect/server/database/configurations.py`, `AioSqliteConfiguration.begin_transaction`) begins
a transaction IMMEDIATE only where the route locks rows (`set_state`); every other one begins
DEFERRED, so it reads under a shared snapshot and asks for the write lock at its first write. When
another connection has committed in between, SQLite cannot upgrade a stale snapshot and fails at
once with `database is locked`, without calling the busy handler (PRAGMA busy_timeout is no help
here). Prefect logs the traceback ("Encountered error during state validation") and answers 503;
the client retries. The resume of a paused review (`POST /flow_runs/{id}/resume`: read the run
and its input schema, then write the Running state) has that shape, so a reviewer's decision
taken while other reviews run printed it (Prefect issue #18934 is the same pattern).

`ImmediateSqliteConfiguration` begins every transaction IMMEDIATE: it takes the write lock first,
waiting for it up to the busy timeout (60 s), and never has to upgrade. SQLite has one writer at a
time either way; reads outside a transaction (most of the API's) stay concurrent in WAL mode.
`EmbeddedServer` is Prefect's `SubprocessASGIServer` with uvicorn pointed at `create_app` below,
which installs the configuration through Prefect's `set_database_config` before building the app.
A `prefect server start` of your own keeps Prefect's behaviour (docs/operations.md).

It also stops more gently. Prefect's task-run recorder writes the task runs from the events the
clients send, one event at a time, a moment behind the runs themselves; a SIGTERM that lands while
it writes one cancels that write, and Prefect logs the cancellation as an error with its
traceback ("Error flushing 1 events (1 to retry...)", then writes the event in its final flush).
`stop()` therefore waits until the database file has been left alone for a second (at most
`QUIET_LIMIT_SECONDS`) before it stops the process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prefect.server.api.server import SubprocessASGIServer
from prefect.server.database.configurations import AioSqliteConfiguration

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncSession, AsyncSessionTransaction

APP_FACTORY = "partner_review.flows.prefect_server:create_app"
QUIET_SECONDS = 1.0  # the task-run recorder catches up within about a second of the last run here
QUIET_LIMIT_SECONDS = 5.0  # runs still going (an interrupted demo): stop anyway


class ImmediateSqliteConfiguration(AioSqliteConfiguration):
    """Prefect's SQLite configuration, every transaction begun with BEGIN IMMEDIATE."""

    @asynccontextmanager
    async def begin_transaction(
        self, session: AsyncSession, with_for_update: bool = False
    ) -> AsyncGenerator[AsyncSessionTransaction, None]:
        async with super().begin_transaction(session, with_for_update=True) as transaction:
            yield transaction


def create_app() -> FastAPI:
    """The uvicorn factory of the embedded server: Prefect's app (`create_app`, with the settings
    the subprocess was given), on `ImmediateSqliteConfiguration` when its database is SQLite."""
    from prefect.server.api.server import create_app as prefect_app
    from prefect.server.database.dependencies import set_database_config
    from prefect.settings import PREFECT_API_DATABASE_CONNECTION_URL

    url = PREFECT_API_DATABASE_CONNECTION_URL.value()
    if url.startswith("sqlite"):
        set_database_config(ImmediateSqliteConfiguration(connection_url=url))
    return prefect_app()


class EmbeddedServer(SubprocessASGIServer):
    """Prefect's temporary API server, run from `create_app` above. The command and environment
    are those of Prefect 3.9's `SubprocessASGIServer._run_uvicorn_command` but for the factory."""

    def _run_uvicorn_command(self) -> subprocess.Popen[Any]:
        from prefect.settings import get_current_settings

        return subprocess.Popen(
            args=[
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                APP_FACTORY,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ],
            env={
                **os.environ,
                "PREFECT_UI_ENABLED": "0",
                "PREFECT__SERVER_EPHEMERAL": "1",
                "PREFECT__SERVER_FINAL": "1",
                **get_current_settings().to_environment_variables(exclude_unset=True),
            },
        )

    def stop(self) -> None:
        if self.running:
            wait_until_quiet(sqlite_files(), quiet=QUIET_SECONDS, limit=QUIET_LIMIT_SECONDS)
        super().stop()


def sqlite_files() -> list[Path]:
    """The database file of this process's Prefect settings and its write-ahead log (none for PostgreSQL)."""
    from prefect.settings import PREFECT_API_DATABASE_CONNECTION_URL
    from sqlalchemy.engine import make_url

    url = make_url(PREFECT_API_DATABASE_CONNECTION_URL.value())
    if not url.drivername.startswith("sqlite") or not url.database or ":memory:" in url.database:
        return []
    path = Path(url.database)
    return [path, path.with_name(f"{path.name}-wal")]


def wait_until_quiet(files: list[Path], *, quiet: float, limit: float) -> bool:
    """Wait until none of `files` has been written for `quiet` seconds, or `limit` seconds have
    passed; True when they went quiet."""
    deadline = time.monotonic() + limit
    while True:
        written = max((_mtime(f) for f in files), default=0.0)
        if time.time() - written >= quiet:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def embedded_server() -> SubprocessASGIServer:
    """The server Prefect's client starts in this process when no PREFECT_API_URL is set.

    Prefect keeps one default temporary server per process (`SubprocessASGIServer()`, the
    instance registered under port None, as `prefect_test_harness` registers its own): this
    registers an `EmbeddedServer` there unless one is registered already, and returns it. Call it
    before the first Prefect client of the process starts a server; `start()` it, or let Prefect
    start it on first use (Prefect then stops it when the process exits)."""
    existing = SubprocessASGIServer._instances.get(None)
    return existing if existing is not None else EmbeddedServer()


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # not there (yet, or any more): the write-ahead log goes when the last connection closes
        return 0.0
