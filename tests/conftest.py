"""Suite-wide settings: keep the parse cache of test runs out of the user's home, and fail a CI
run that lacks ``../shared`` instead of skipping the tests that read it (``shared_data``)."""

from __future__ import annotations

import os
import tempfile

import pytest

from shared_data import problem

os.environ.setdefault("TRUSTMAP_CACHE_DIR", tempfile.mkdtemp(prefix="trustmap-test-cache-"))


def pytest_configure(config: pytest.Config) -> None:
    why = problem()
    if why is not None:
        raise pytest.UsageError(why)
