"""Where ``../shared`` (read-only data beside the checkout) is, and what CI requires of it.

About a hundred tests read ``../shared`` (real app manifests, upstream schemas, NetworkPolicy
cases, flow captures); each skips with a reason on a laptop without it. In CI (``CI=true``) a
skip would hide that those tests never ran, so ``tests/conftest.py`` stops the run before any
test when a folder below is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
NEEDED = ("apps", "samples", "schemas", "cases/netpol")
"""The folders of ``../shared`` that tests read."""


def in_ci(environ: dict[str, str] | None = None) -> bool:
    """Whether this is a CI run (``CI`` set to 1, true or yes)."""
    return (environ if environ is not None else dict(os.environ)).get("CI", "").lower() in (
        "1",
        "true",
        "yes",
    )


def missing(shared: Path = SHARED) -> list[str]:
    """The folders of :data:`NEEDED` that ``shared`` lacks."""
    return [name for name in NEEDED if not (shared / name).is_dir()]


def problem(shared: Path = SHARED, environ: dict[str, str] | None = None) -> str | None:
    """Why the run must stop (CI without the shared data), or ``None``."""
    absent = missing(shared)
    if not absent or not in_ci(environ):
        return None
    return (
        f"CI=true but {shared} lacks {', '.join(absent)}: about a hundred tests would be "
        "skipped. Check out the shared data beside the repository (../shared), or unset CI "
        "to run without it."
    )
