"""How a registry server is configured: one pydantic-settings object, read from ``TRUSTMAP_*``.

``create_app(settings)`` takes it explicitly (tests build their own); ``trustmap serve`` fills the
environment and lets uvicorn call the factory, so every worker reads the same values.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_DATABASE_URL", "Settings"]

DEFAULT_DATABASE_URL = "sqlite:///.trustmap/registry.db"


class Settings(BaseSettings):
    """Registry settings; every field can be set as ``TRUSTMAP_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="TRUSTMAP_", extra="forbid", frozen=True)

    database_url: str = DEFAULT_DATABASE_URL
    """SQLAlchemy URL: SQLite (default, a file under ``.trustmap/``) or ``postgresql+psycopg://``."""
    admin_token: SecretStr | None = None
    """The admin token: creates and revokes team tokens, may push any scope. Unset = no admin."""
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
