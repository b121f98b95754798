"""How a registry server is configured: one pydantic-settings object, read from ``TRUSTMAP_*``.

``create_app(settings)`` takes it explicitly (tests build their own); ``trustmap serve`` fills the
environment and lets uvicorn call the factory, so every worker reads the same values.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_DATABASE_URL", "MIN_ADMIN_TOKEN", "Settings", "weak_token"]

MIN_ADMIN_TOKEN = 32
"""Shortest admin token accepted ('openssl rand -base64 32' gives 44 characters)."""


def weak_token(token: str) -> str | None:
    """Why ``token`` is too weak to be the admin token (or audit key), or ``None``."""
    if len(token) < MIN_ADMIN_TOKEN:
        return f"the secret has {len(token)} characters; use at least {MIN_ADMIN_TOKEN}"
    if len(set(token)) < 10:
        return "the secret repeats too few characters; use a random one"
    return None


def _first_line(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error}") from None
    return lines[0].strip() if lines else ""


DEFAULT_DATABASE_URL = "sqlite:///.trustmap/registry.db"


class Settings(BaseSettings):
    """Registry settings; every field can be set as ``TRUSTMAP_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="TRUSTMAP_", extra="forbid", frozen=True)

    database_url: str = DEFAULT_DATABASE_URL
    """SQLAlchemy URL: SQLite (default, a file under ``.trustmap/``) or ``postgresql+psycopg://``."""
    admin_token: SecretStr | None = None
    """The admin token: creates and revokes team tokens, may push a scope on a team's behalf
    (ownership still applies). Unset = no admin. Give it by environment variable or
    ``admin_token_file``, never on a command line (other users can read those). At least
    :data:`MIN_ADMIN_TOKEN` characters, of at least 10 different ones."""
    admin_token_file: Path | None = None
    """A file holding the admin token (its first line), e.g. a mounted secret."""
    audit_key: SecretStr | None = None
    """Signs every audit entry (HMAC-SHA256 of its hash); kept outside the database, so a
    rewritten database cannot be re-signed. At least 32 characters. Unset = entries unsigned."""
    audit_key_file: Path | None = None
    """A file holding the audit key (its first line)."""
    read_access: Literal["public", "token"] = "public"
    """``public``: anyone who reaches the server may read; ``token``: reads need a valid token."""
    platform_team: str = "platform"
    """The push scope allowed to hold the Organization and Team documents."""
    max_request_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    """Largest request body accepted (413 above)."""
    max_files: int = Field(default=500, ge=1)
    """Most files one push may hold (413 above)."""
    max_yaml_depth: int = Field(default=32, ge=4, le=256)
    """Deepest YAML nesting accepted in a pushed file (TM117 above)."""
    migrate_on_start: bool = True
    """Run the Alembic migrations to head when the app starts."""
    today: dt.date | None = None
    """Judge expiry as of this date instead of the current day (tests, reproducible demos)."""
    flows_db: str | None = None
    """A flow database written by ``trustmap observe ingest``; when set, drift is served."""
    drift_window_days: int = Field(default=7, ge=1, le=3650)
    """How far back drift looks at observed flows."""

    @model_validator(mode="before")
    @classmethod
    def _secrets_from_files(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        for name in ("admin_token", "audit_key"):
            if values.get(f"{name}_file") and not values.get(name):
                values = {**values, name: _first_line(Path(str(values[f"{name}_file"])))}
        return values

    @field_validator("admin_token", "audit_key")
    @classmethod
    def _strong(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            problem = weak_token(value.get_secret_value())
            if problem:
                raise ValueError(f"{problem} (e.g. 'openssl rand -base64 32')")
        return value
