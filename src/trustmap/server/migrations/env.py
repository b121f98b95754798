"""Alembic environment of the registry: migrations run online against the configured URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from trustmap.server.db import normalise_url
from trustmap.server.models import Base

target_metadata = Base.metadata


def run_migrations() -> None:
    """Upgrade (or downgrade) the database named by ``sqlalchemy.url``."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = create_engine(normalise_url(url), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
