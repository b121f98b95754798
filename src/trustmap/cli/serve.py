"""``trustmap serve`` and ``trustmap db upgrade``: run the registry server, migrate its database.

Both hand the work to the tool made for it, by name: uvicorn imports the app factory
``trustmap.server.app:serve_app`` (which turns an unreachable database into one line on stderr
and exit status 2) (settings travel as ``TRUSTMAP_*`` environment variables, so
every worker reads the same), and Alembic runs the migrations shipped in ``trustmap.server``.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from trustmap.cli.common import fail, out

__all__ = ["db", "serve"]

DEFAULT_URL = "sqlite:///.trustmap/registry.db"
_URL = click.option(
    "--database-url",
    envvar="TRUSTMAP_DATABASE_URL",
    default=DEFAULT_URL,
    show_default=True,
    help="SQLAlchemy URL: sqlite:///path.db or postgresql://user@host/db (env TRUSTMAP_DATABASE_URL).",
)


@click.command(
    epilog="""\b
Examples:
  trustmap serve                                   # SQLite under .trustmap/, http://127.0.0.1:8420
  openssl rand -base64 32 > admin.token && chmod 600 admin.token
  trustmap serve --admin-token-file admin.token --host 0.0.0.0 --port 8420
  TRUSTMAP_ADMIN_TOKEN="$(cat admin.token)" trustmap serve   # or from the environment
  trustmap serve --database-url postgresql://trustmap@db/trustmap --read-access token

\b
Open the URL in a browser for the web UI; the API is under /api/v1 (OpenAPI document at
/openapi.json).
Every setting can also come from the environment (TRUSTMAP_<SETTING>).
"""
)
@_URL
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8420, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--admin-token-file",
    envvar="TRUSTMAP_ADMIN_TOKEN_FILE",
    type=click.Path(dir_okay=False, exists=True, path_type=str),
    help="File holding the admin token (or set TRUSTMAP_ADMIN_TOKEN; never on the command line, "
    "where other users can read it). At least 32 characters.",
)
@click.option(
    "--read-access",
    type=click.Choice(["public", "token"]),
    envvar="TRUSTMAP_READ_ACCESS",
    default="public",
    show_default=True,
    help="Who may read: anyone, or token holders only.",
)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
def serve(
    database_url: str,
    host: str,
    port: int,
    admin_token_file: str | None,
    read_access: str,
    workers: int,
) -> None:
    """Run the registry server (API + web UI)."""
    try:
        import uvicorn
    except ImportError:
        fail("the registry needs the server extra", "pip install 'trustmap[server]'")
    os.environ["TRUSTMAP_DATABASE_URL"] = database_url
    os.environ["TRUSTMAP_READ_ACCESS"] = read_access
    if admin_token_file:
        os.environ["TRUSTMAP_ADMIN_TOKEN_FILE"] = str(Path(admin_token_file).resolve())
    uvicorn.run(
        "trustmap.server.app:serve_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )


def _redacted(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return scheme + sep + rest


@click.group(
    epilog="""\b
Examples:
  trustmap db upgrade
  trustmap db upgrade --database-url postgresql://trustmap@db/trustmap
"""
)
def db() -> None:
    """Manage the registry's database."""


@db.command(epilog="The server also migrates at start-up; use this to migrate ahead of a deploy.")
@_URL
def upgrade(database_url: str) -> None:
    """Apply every database migration up to the latest."""
    try:
        from alembic import command
        from alembic.config import Config
    except ImportError:
        fail("the registry needs the server extra", "pip install 'trustmap[server]'")
    if database_url.startswith("sqlite:///"):
        Path(database_url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    config = Config()
    config.set_main_option("script_location", "trustmap.server:migrations")
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    command.upgrade(config, "head")
    out.print(f"database {_redacted(database_url)} is at the latest migration", highlight=False)
