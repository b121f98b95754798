"""Fixtures for the observe tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A database path in a folder that does not exist yet (ingest creates it)."""
    return tmp_path / "state" / "flows.duckdb"
