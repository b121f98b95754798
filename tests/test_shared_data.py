"""A CI run without ``../shared`` stops before any test; a laptop run skips what needs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from shared_data import NEEDED, problem

ROOT = Path(__file__).resolve().parents[1]


def test_ci_without_the_shared_data_is_a_problem_naming_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "apps").mkdir()
    why = problem(tmp_path, {"CI": "true"})
    assert why is not None
    assert "samples, schemas, cases/netpol" in why
    assert problem(tmp_path, {"CI": ""}) is None
    assert problem(tmp_path, {}) is None


def test_complete_shared_data_is_no_problem_in_ci(tmp_path: Path) -> None:
    for name in NEEDED:
        (tmp_path / name).mkdir(parents=True)
    assert problem(tmp_path, {"CI": "1"}) is None


def test_pytest_refuses_to_start_in_ci_when_the_shared_data_is_missing(tmp_path: Path) -> None:
    """The real conftest, in a copy of the tests folder whose ``../shared`` is empty."""
    copy = tmp_path / "repo" / "tests"
    copy.mkdir(parents=True)
    for name in ("conftest.py", "shared_data.py"):
        (copy / name).write_text((ROOT / "tests" / name).read_text())
    (copy / "test_nothing.py").write_text("def test_nothing() -> None:\n    assert True\n")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(copy)],
        cwd=copy.parent,
        env={"CI": "true", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 4, run.stdout + run.stderr
    assert "lacks apps, samples, schemas, cases/netpol" in run.stdout + run.stderr
