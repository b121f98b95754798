"""Regenerate golden files from the current output (``make golden``); review the result as a diff.

Usage: ``python tests/regen_golden.py [--force] [CASE...]`` — every validate case by default.
Prints the unified diff of each changed case, then a summary. Cases listed in
``validate_golden.KNOWN_WRONG`` hold hand-corrected output and are left alone unless ``--force``.
Exit status 0 unless a case name is unknown: a changed golden file is for a person to review.
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from validate_golden import (
    CASES,
    EXPECTED,
    KNOWN_WRONG,
    case_names,
    expected_of,
    render_case,
)


def regenerate(names: list[str], *, force: bool) -> dict[str, list[str]]:
    """Rewrite ``expected.txt`` of each case; return case names by outcome."""
    outcome: dict[str, list[str]] = {"new": [], "changed": [], "unchanged": [], "kept": []}
    for name in names:
        case = CASES / name
        before, after = expected_of(case), render_case(case)
        exists = (case / EXPECTED).exists()
        if before == after and exists:
            outcome["unchanged"].append(name)
            continue
        _show_diff(name, before, after)
        if name in KNOWN_WRONG and exists and not force:
            print(f"   kept: known wrong output ({KNOWN_WRONG[name]}); --force overwrites it")
            outcome["kept"].append(name)
            continue
        outcome["changed" if exists else "new"].append(name)
        (case / EXPECTED).write_text(after)
    return outcome


def _show_diff(name: str, before: str, after: str) -> None:
    print(f"== {name}")
    diff = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        f"{name}/{EXPECTED} (committed)",
        f"{name}/{EXPECTED} (current output)",
    )
    sys.stdout.writelines(diff)


def main(argv: list[str]) -> int:
    """Regenerate the named cases (all by default) and print a summary."""
    force = "--force" in argv
    names = [a for a in argv if a != "--force"] or case_names()
    unknown = [n for n in names if not (CASES / n).is_dir()]
    if unknown:
        print(f"unknown case(s): {', '.join(unknown)}; cases live in {CASES}", file=sys.stderr)
        return 2
    outcome = regenerate(names, force=force)
    counts = ", ".join(f"{len(found)} {what}" for what, found in outcome.items())
    print(f"validate goldens: {counts} ({len(names)} cases)")
    if outcome["new"] or outcome["changed"]:
        print("review with `git diff tests/fixtures/validate` before committing")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
