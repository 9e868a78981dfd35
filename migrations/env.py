"""Alembic environment: the URL comes from the caller (models.store.upgrade) or the settings."""

from alembic import context
from sqlalchemy import engine_from_config, pool

from partner_review.models.db import Base
from partner_review.models.settings import get_settings

config = context.config
url = config.attributes.get("url") or get_settings().resolved_database_url
connection = config.attributes.get("connection")


def run(conn) -> None:
    context.configure(connection=conn, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    run(connection)
else:
    engine = engine_from_config({"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as conn:
        run(conn)
