"""The few exceptions trustmap raises; bad *input* is reported as diagnostics instead.

::

    TrustmapError               anything trustmap raises on purpose
    ├── UsageError              the caller asked for something that cannot be done (exit 2)
    └── InputError              a file or stream cannot be read at all (exit 2)
"""

from __future__ import annotations

__all__ = ["InputError", "TrustmapError", "UsageError"]


class TrustmapError(Exception):
    """Base class: catch this to handle every deliberate trustmap failure."""


class UsageError(TrustmapError):
    """Wrong arguments or options: fix the call (the CLI exits 2)."""


class InputError(TrustmapError):
    """Input that cannot be read at all, such as a missing path (the CLI exits 2)."""
