"""The command tests reuse the helpers beside the tests of the packages each command calls
(tests/ is not a package): netpol cases, compile cases, discover, verify and review data.

Command tests that need a package's fixtures stay beside them: ``tests/lab/test_lab_cli.py``
(a real Envoy, started by ``tests/lab/conftest.py``) and ``tests/server/test_registry_cli.py``
(a running registry, ``tests/server/conftest.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
for helpers in ("analysis", "dialects", "discover", "review", "verify"):
    sys.path.insert(0, str(TESTS / helpers))
