"""Golden compile cases: ``tests/fixtures/compile/<target>/<case>/``.

Each case folder holds ``case.yaml`` (``now``, optional ``environment``, optional ``inputs``: paths
relative to the repository root; default ``input/`` beside it; optional ``manifests``: workload
manifests, as ``compile --manifests``) and ``expected/``: the files
``trustmap compile --out`` writes (``<namespace>.yaml``, ``_cluster.yaml``) plus
``diagnostics.txt``, the text report of every graph and compile diagnostic. Paths are loaded
relative to the repository root, so annotations name files the same way on every machine.

The expected files are what the CLI writes: the text path (:func:`render_paths`). The dict path
(:func:`compile_paths`, the library API) must give the same bytes (``test_compile_text.py``).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from trustmap.dialects import (
    TARGETS,
    Compilation,
    CompileResult,
    Rendered,
    compile_paths,
    render_paths,
)
from trustmap.report import render_diagnostics

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "fixtures" / "compile"
EXPECTED = "expected"
DIAGNOSTICS = "diagnostics.txt"


def case_dirs() -> list[Path]:
    """Every case folder, sorted by target then case."""
    return sorted(p.parent for p in CASES.glob("*/*/case.yaml") if p.parent.parent.name in TARGETS)


def case_id(case: Path) -> str:
    """``target/case``."""
    return f"{case.parent.name}/{case.name}"


@contextmanager
def at_root() -> Iterator[None]:
    """Run with the repository root as working directory (paths in annotations are relative)."""
    before = Path.cwd()
    os.chdir(ROOT)
    try:
        yield
    finally:
        os.chdir(before)


def case_settings(case: Path) -> tuple[list[str], str | None, dt.date]:
    """Inputs, environment and date of a case, from its ``case.yaml``."""
    settings = yaml.safe_load((case / "case.yaml").read_text()) or {}
    relative = case.relative_to(ROOT)
    inputs = settings.get("inputs") or [str(relative / "input")]
    now = settings.get("now")
    today = now if isinstance(now, dt.date) else dt.date.fromisoformat(str(now))
    return inputs, settings.get("environment"), today


def case_manifests(case: Path) -> list[str] | None:
    """The workload manifests a case compiles with (``None``: none, as without --manifests)."""
    settings = yaml.safe_load((case / "case.yaml").read_text()) or {}
    found = settings.get("manifests")
    return list(found) if found else None


def compile_case(case: Path) -> Compilation[CompileResult]:
    """Compile one case as its ``case.yaml`` says, into objects (the library's dict path)."""
    inputs, environment, today = case_settings(case)
    with at_root():
        return compile_paths(
            inputs,
            case.parent.name,
            environment=environment,
            today=today,
            manifests=case_manifests(case),
        )


def write_case(case: Path) -> Compilation[Rendered]:
    """Compile one case into YAML documents (the text path the CLI writes)."""
    inputs, environment, today = case_settings(case)
    with at_root():
        return render_paths(
            inputs,
            case.parent.name,
            environment=environment,
            today=today,
            manifests=case_manifests(case),
        )


def render_case(case: Path) -> dict[str, str]:
    """The expected files of a case, as the current code produces them."""
    run = write_case(case)
    files = run.result.files()
    files[DIAGNOSTICS] = render_diagnostics(run.diagnostics, "text")
    return files


def expected_files(case: Path) -> dict[str, str]:
    """The committed expected files of a case."""
    folder = case / EXPECTED
    if not folder.is_dir():
        return {}
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir()) if p.is_file()}
