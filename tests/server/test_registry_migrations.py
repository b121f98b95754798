"""The Alembic migrations create exactly the tables the models declare, on both databases."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect

from trustmap.cli import cli
from trustmap.server.db import normalise_url
from trustmap.server.models import Base


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_engine(normalise_url(database_url))
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert differences == []


def test_db_upgrade_creates_a_fresh_sqlite_registry(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'registry.db'}"
    result = CliRunner().invoke(cli, ["db", "upgrade", "--database-url", url])
    assert result.exit_code == 0, result.output
    engine = create_engine(url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {
        "versions",
        "version_files",
        "approvals",
        "tokens",
        "audit_log",
        "head",
        "alembic_version",
    } <= tables
