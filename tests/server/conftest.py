"""Registry test fixtures: every API test runs against SQLite and a real PostgreSQL server.

PostgreSQL comes from the Debian package (``scripts/setup-system.sh`` installs it): a private
cluster is created with ``initdb`` in a temporary folder and started with ``pg_ctl`` on a free
loopback port, as the ``postgres`` user when running as root (PostgreSQL refuses root). Each test
gets a fresh database cloned from a migrated template. Outside CI, a machine without PostgreSQL
skips the PostgreSQL half; in CI (``CI=true``) that is a failure.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from registry_helpers import ADMIN, TODAY
from registry_live import serve

from trustmap.server import Settings, create_app
from trustmap.server.db import upgrade


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_bin() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    return Path(found[-1]).parent if found else None


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A private PostgreSQL cluster on a loopback port; yields its base URL."""
    bindir = _pg_bin()
    if bindir is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("PostgreSQL is not installed: run scripts/setup-system.sh")
        pytest.skip("PostgreSQL is not installed (scripts/setup-system.sh installs it)")
    root = Path(tempfile.mkdtemp(prefix="trustmap-pg-"))
    root.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data, port = root / "data", _free_port()
    run = lambda *args: subprocess.run(_as_postgres(list(args)), check=True, capture_output=True)  # noqa: E731
    run(
        str(bindir / "initdb"),
        "-D",
        str(data),
        "-A",
        "trust",
        "-U",
        "postgres",
        "-E",
        "UTF8",
        "--no-sync",
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    run(
        str(bindir / "pg_ctl"),
        "-D",
        str(data),
        "-o",
        options,
        "-l",
        str(root / "log"),
        "-w",
        "start",
    )
    try:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{port}"
        upgrade(f"{url}/postgres")  # proves migrations run on a fresh server
        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True
        ) as conn:
            conn.execute("CREATE DATABASE template_registry")
        upgrade(f"{url}/template_registry")
        yield url
    finally:
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that tests copy."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    """A fresh, migrated registry database: SQLite, then a real PostgreSQL server."""
    if request.param == "sqlite":
        path = tmp_path / "registry.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    base = request.getfixturevalue("postgres_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = base.replace("postgresql+psycopg", "postgresql") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE template_registry")
    yield f"{base}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def settings_for(url: str, **overrides: object) -> Settings:
    """Test settings: fixed day, known admin token, already migrated."""
    values: dict[str, object] = {
        "database_url": url,
        "admin_token": ADMIN,
        "today": TODAY,
        "migrate_on_start": False,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def registry_url(database_url: str) -> Iterator[str]:
    """A live registry (uvicorn on loopback) over the test database."""
    with serve(create_app(settings_for(database_url))) as url:
        yield url


@pytest.fixture
def client(registry_url: str) -> Iterator[httpx.Client]:
    """An HTTP client of the live registry."""
    with httpx.Client(base_url=registry_url, timeout=60) as http:
        yield http


__all__ = ["dt", "settings_for"]
