"""Shared by the validate golden tests and ``tests/regen_golden.py``: run a case, render it.

A case folder under ``tests/fixtures/validate/<case>/`` holds declaration files, ``expected.txt``
(the diagnostics, one ``file:line:col: severity CODE message`` line each, paths relative to the
folder, no hints), optionally ``now.txt`` (the date expiry is judged against) and optionally
``generate.py`` with ``generate(folder: Path) -> None`` that writes inputs too large to commit.
A case with ``generate.py`` runs on a temporary copy, so the fixture tree never changes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from trustmap.graph import load_graph

CASES = Path(__file__).resolve().parent / "fixtures" / "validate"
DEFAULT_NOW = dt.date(2026, 11, 23)
EXPECTED = "expected.txt"

KNOWN_WRONG: dict[str, str] = {}
"""Cases whose expected.txt holds the correct output that trustmap does not produce yet.

Their tests are strict xfails (a fix makes them fail as XPASS: then delete the entry), and
``regen_golden.py`` leaves their expected.txt alone unless told ``--force``.
"""


def case_names() -> list[str]:
    """Every case folder, sorted."""
    return sorted(p.name for p in CASES.iterdir() if p.is_dir() and not p.name.startswith("."))


def today_of(case: Path) -> dt.date:
    """The case's ``now.txt`` date, or the default."""
    now = case / "now.txt"
    return dt.date.fromisoformat(now.read_text().strip()) if now.exists() else DEFAULT_NOW


@contextlib.contextmanager
def prepared(case: Path) -> Iterator[Path]:
    """The folder to validate: the case itself, or a generated copy when it has ``generate.py``."""
    script = case / "generate.py"
    if not script.exists():
        yield case
        return
    with tempfile.TemporaryDirectory(prefix=f"trustmap-{case.name}-") as tmp:
        copy = Path(tmp) / case.name
        shutil.copytree(case, copy, symlinks=True)
        _run_generate(script, copy)
        yield copy


def _run_generate(script: Path, folder: Path) -> None:
    spec = importlib.util.spec_from_file_location(f"generate_{folder.name}", script)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.generate(folder)


def render_case(case: Path) -> str:
    """Validate ``case`` from inside it (as ``trustmap validate .`` would) and render the lines.

    Running from inside the folder makes every path, including those quoted in messages
    ("first at checkout.yaml:3:1"), relative to the case, exactly as a user sees them.
    """
    with prepared(case) as folder, contextlib.chdir(folder):
        graph = load_graph(["."], today_of(case))
    return "".join(f"{found}\n" for found in graph.diagnostics)


def expected_of(case: Path) -> str:
    """The committed expected output of ``case`` ('' when the file is missing)."""
    path = case / EXPECTED
    return path.read_text() if path.exists() else ""
