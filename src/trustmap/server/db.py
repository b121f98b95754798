"""Database access: engines, read and write transactions, and migrations to head.

Writes are serialised: every write transaction first locks the single ``head`` row (``SELECT ...
FOR UPDATE`` on PostgreSQL; SQLite takes its write lock at ``BEGIN IMMEDIATE``), so a push is
validated against exactly the state it commits on top of and no update is ever lost. Reads use a
separate engine and never wait for writers (PostgreSQL MVCC, SQLite in WAL mode).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from trustmap.server.models import Head

__all__ = ["MIGRATIONS", "Database", "alembic_config", "normalise_url", "upgrade"]

QUICK_WAIT = 2
"""Seconds a quick write (a denial record) waits for the write lock before giving up."""
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
"""The Alembic environment shipped with the package."""


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3 here; other URLs pass unchanged."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def alembic_config(url: str) -> Config:
    """An Alembic configuration for ``url`` pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Run every migration up to head on the database at ``url`` (creating a SQLite file's folder)."""
    _ensure_sqlite_folder(normalise_url(url))
    command.upgrade(alembic_config(url), "head")


def _ensure_sqlite_folder(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_engine(url: str, *, immediate: bool, wait: int = 60) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": wait})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={wait * 1000}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """The registry database: a read engine, a write engine and their sessions."""

    def __init__(self, url: str, audit_key: bytes | None = None) -> None:
        self.url = normalise_url(url)
        self.audit_key = audit_key
        """Signs audit entries written through this database's write sessions."""
        self.backend = make_url(self.url).get_backend_name()
        _ensure_sqlite_folder(self.url)
        if self.backend == "sqlite":
            self.read_engine = _sqlite_engine(self.url, immediate=False)
            self.write_engine = _sqlite_engine(self.url, immediate=True)
            self.quick_engine = _sqlite_engine(self.url, immediate=True, wait=QUICK_WAIT)
        else:
            timeout = {"connect_timeout": 10}
            options: dict[str, Any] = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}
            # One snapshot per read request: the head row and the rows read with it agree.
            self.read_engine = create_engine(
                self.url, isolation_level="REPEATABLE READ", connect_args=timeout, **options
            )
            self.write_engine = create_engine(self.url, connect_args=timeout, **options)
            self.quick_engine = create_engine(
                self.url,
                pool_pre_ping=True,
                pool_size=2,
                connect_args={**timeout, "options": f"-c lock_timeout={QUICK_WAIT * 1000}"},
            )
        self._read = sessionmaker(self.read_engine, expire_on_commit=False)
        self._write = sessionmaker(self.write_engine, expire_on_commit=False)
        self._quick = sessionmaker(self.quick_engine, expire_on_commit=False)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reading; objects stay usable after it ends."""
        with self._read() as session, session.begin():
            yield session

    @contextmanager
    def writing(self) -> Iterator[tuple[Session, Head]]:
        """A write transaction holding the head row's lock; commits unless an exception escapes."""
        with self._write() as session, session.begin():
            session.info["audit_key"] = self.audit_key
            head = session.scalars(select(Head).where(Head.id == 1).with_for_update()).one()
            yield session, head

    @contextmanager
    def writing_quickly(self) -> Iterator[tuple[Session, Head]]:
        """Like :meth:`writing`, but gives up (raising) after :data:`QUICK_WAIT` seconds of
        waiting for the lock: for records that must never hold a request up (denials)."""
        with self._quick() as session, session.begin():
            session.info["audit_key"] = self.audit_key
            head = session.scalars(select(Head).where(Head.id == 1).with_for_update()).one()
            yield session, head

    def ping(self) -> None:
        """Raise unless the database answers (readiness)."""
        with self.read_engine.connect() as connection:
            connection.execute(select(1))

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.read_engine.dispose()
        self.write_engine.dispose()
        self.quick_engine.dispose()
