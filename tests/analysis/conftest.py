"""Shared data for the analysis tests: where the netpol cases are, and a pass-count summary."""

from __future__ import annotations

from typing import Any

import pytest

TALLY: dict[str, dict[str, bool]] = {"connectivity": {}, "strict": {}, "invalid": {}}
"""Case name → passed, filled by tests/analysis/test_netpol_cases.py."""


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print e.g. ``netpol cases: 64/64 connectivity (64/64 strict), 5/5 invalid``."""
    if not any(TALLY.values()):
        return

    def count(kind: str) -> str:
        results = TALLY[kind]
        return f"{sum(results.values())}/{len(results)}"

    terminalreporter.write_line(
        f"netpol cases: {count('connectivity')} connectivity "
        f"({count('strict')} line-for-line identical), {count('invalid')} invalid rejected"
    )


@pytest.fixture(scope="session")
def tally() -> dict[str, dict[str, bool]]:
    """Where case tests record their outcome for the summary line."""
    return TALLY
