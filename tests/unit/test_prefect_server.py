"""The embedded Prefect server's SQLite transactions: a read-then-write transaction waits for the
write lock instead of failing with `database is locked` when another writer commits first.

Prefect's own configuration begins such a transaction DEFERRED (`with_for_update=False`, as the
resume route does), and the test shows that shape failing on Prefect's class; the same
transactions through `ImmediateSqliteConfiguration` all commit.
"""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa


async def read_then_write(configuration, workers: int = 5) -> list[str]:
    """`workers` transactions at once, each reading, pausing while the others commit, then writing."""
    engine = await configuration.engine()
    async with engine.begin() as connection:
        await connection.execute(sa.text("CREATE TABLE IF NOT EXISTS runs (n INTEGER)"))

    async def one(n: int) -> str:
        session = await configuration.session(engine)
        try:
            async with session, configuration.begin_transaction(session, with_for_update=False):
                await session.execute(sa.text("SELECT count(*) FROM runs"))
                await asyncio.sleep(0.2)
                await session.execute(sa.text("INSERT INTO runs VALUES (:n)"), {"n": n})
        except sa.exc.OperationalError as error:
            return str(error.orig)
        return "committed"

    try:
        return await asyncio.gather(*(one(n) for n in range(workers)))
    finally:
        await engine.dispose()


def test_prefect_deferred_transactions_fail_where_immediate_ones_wait(tmp_path):
    from prefect.server.database.configurations import AioSqliteConfiguration

    from partner_review.flows.prefect_server import ImmediateSqliteConfiguration

    stock = asyncio.run(read_then_write(AioSqliteConfiguration(f"sqlite+aiosqlite:///{tmp_path / 'stock.db'}")))
    assert "database is locked" in stock, stock  # Prefect 3.9's behaviour, the reason for the class
    ours = asyncio.run(read_then_write(ImmediateSqliteConfiguration(f"sqlite+aiosqlite:///{tmp_path / 'ours.db'}")))
    assert ours == ["committed"] * 5


@pytest.mark.parametrize("url", ["postgresql+asyncpg://db/prefect", "sqlite+aiosqlite:///file::memory:?cache=shared"])
def test_only_a_sqlite_file_is_watched_before_stopping(monkeypatch, url):
    from prefect.settings import PREFECT_API_DATABASE_CONNECTION_URL, temporary_settings

    from partner_review.flows.prefect_server import sqlite_files

    with temporary_settings({PREFECT_API_DATABASE_CONNECTION_URL: url}):
        assert sqlite_files() == []
    with temporary_settings({PREFECT_API_DATABASE_CONNECTION_URL: "sqlite+aiosqlite:////tmp/x/prefect.db"}):
        assert [str(p) for p in sqlite_files()] == ["/tmp/x/prefect.db", "/tmp/x/prefect.db-wal"]
