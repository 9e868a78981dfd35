"""Test-wide setup: quiet Prefect, loopback allowed for the outbound client, ../shared access."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
# Sample partners and test sites run on loopback; the guard itself is tested with this unset.
os.environ.setdefault("PARTNER_REVIEW_ALLOWED_NETWORKS", "127.0.0.0/8")

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """`../shared`; skipped where absent (a fresh clone), an error under .ci/run."""
    if not (SHARED / "REVIEW_RULES.md").exists():
        if os.environ.get("PARTNER_REVIEW_REQUIRE_SHARED") == "1":
            pytest.fail(f"{SHARED} is missing but PARTNER_REVIEW_REQUIRE_SHARED=1 (CI needs ../shared)")
        pytest.skip(f"{SHARED} is absent (a fresh clone without ../shared beside it)")
    return SHARED


def _clear_caches() -> None:
    from partner_review.models.settings import get_settings

    get_settings.cache_clear()


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A fresh data directory and webhook secret; settings re-read. Yields the secret."""
    monkeypatch.setenv("PARTNER_REVIEW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PARTNER_REVIEW_WEBHOOK_SECRET", "test-webhook-secret")
    monkeypatch.delenv("PARTNER_REVIEW_DATABASE_URL", raising=False)
    _clear_caches()
    yield "test-webhook-secret"
    _clear_caches()


def postgres_url() -> str | None:
    return os.environ.get("PARTNER_REVIEW_TEST_POSTGRES_URL")


def require_postgres() -> str:
    """The test PostgreSQL URL; the test skips where none is given, and fails under .ci/run."""
    url = postgres_url()
    if not url:
        if os.environ.get("PARTNER_REVIEW_REQUIRE_SHARED") == "1":
            pytest.fail("PARTNER_REVIEW_TEST_POSTGRES_URL is not set but CI must test PostgreSQL")
        pytest.skip(
            "PostgreSQL tests need PARTNER_REVIEW_TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
        )
    return url


@dataclass
class Mailbox:
    """What a loopback SMTP server received: messages (aiosmtpd envelopes) and AUTH attempts."""

    port: int
    messages: list = field(default_factory=list)
    logins: list[bool] = field(default_factory=list)


@contextlib.contextmanager
def smtp_server(password: str | None = None) -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) on loopback; with `password`, AUTH is required and checked."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    from partner_review.webhooks.server import free_port

    box = Mailbox(port=free_port())

    class Collect:
        async def handle_DATA(self, server, session, envelope):
            box.messages.append(envelope)
            return "250 OK"

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.password.decode() == password
        box.logins.append(ok)
        return AuthResult(success=ok)

    auth = dict(authenticator=authenticator, auth_require_tls=False, auth_required=True) if password else {}
    controller = Controller(Collect(), hostname="127.0.0.1", port=box.port, **auth)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def smtp(monkeypatch) -> Iterator[Mailbox]:
    """A loopback SMTP server that partner-review's settings point at."""
    with smtp_server() as box:
        monkeypatch.setenv("PARTNER_REVIEW_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("PARTNER_REVIEW_SMTP_PORT", str(box.port))
        _clear_caches()
        yield box
    _clear_caches()


@pytest.fixture
def pg_url(monkeypatch):
    """A PostgreSQL URL on a fresh schema of its own (dropped afterwards)."""
    base = require_postgres()
    import uuid

    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@contextlib.contextmanager
def opened_store(request, monkeypatch, engine: str):
    """A migrated store on `engine`, registered so get_store() in the code under test finds it."""
    from partner_review.models.store import Store, _stores

    if engine == "postgresql":
        monkeypatch.setenv("PARTNER_REVIEW_DATABASE_URL", request.getfixturevalue("pg_url"))
        _clear_caches()
    from partner_review.models.settings import get_settings

    s = Store(get_settings())
    _stores[s.url] = s
    try:
        yield s
    finally:
        _stores.pop(s.url, None)
        s.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, env, monkeypatch):
    """A migrated store on each engine: SQLite always, PostgreSQL where a URL is given."""
    with opened_store(request, monkeypatch, request.param) as s:
        yield s


@pytest.fixture(scope="session")
def prefect_harness():
    """One Prefect test server for the whole session (starting one costs about 10 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        from prefect.settings import PREFECT_API_URL

        os.environ["PREFECT_API_URL"] = PREFECT_API_URL.value()
        yield PREFECT_API_URL.value()
        os.environ.pop("PREFECT_API_URL", None)


@pytest.fixture
def example() -> dict:
    import json

    return json.loads((EXAMPLES / "submission.json").read_text())
