"""Regenerate the compile golden files (``make golden``); review the result with ``git diff``.

Usage: ``python tests/dialects/regen.py [TARGET/CASE ...]`` — every case by default. Rewrites
``expected/`` of each case from the current output (stale files are removed), prints which cases
changed, and exits 0 unless a named case does not exist.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compile_cases import EXPECTED, case_dirs, case_id, expected_files, render_case


def regenerate(case: Path) -> str:
    """Rewrite one case; return ``new``, ``changed`` or ``unchanged``."""
    before, after = expected_files(case), render_case(case)
    if before == after:
        return "unchanged"
    folder = case / EXPECTED
    folder.mkdir(exist_ok=True)
    for stale in set(before) - set(after):
        (folder / stale).unlink()
    for name, text in after.items():
        (folder / name).write_text(text, encoding="utf-8")
    return "changed" if before else "new"


def main(argv: list[str]) -> int:
    """Regenerate the named cases (all by default) and print a summary."""
    cases = {case_id(c): c for c in case_dirs()}
    unknown = [name for name in argv if name not in cases]
    if unknown:
        print(f"unknown case(s): {', '.join(unknown)}; known: {', '.join(cases)}", file=sys.stderr)
        return 2
    counts: dict[str, int] = {}
    for name in argv or list(cases):
        outcome = regenerate(cases[name])
        counts[outcome] = counts.get(outcome, 0) + 1
        if outcome != "unchanged":
            print(f"{outcome:>9}  {name}")
    print(", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no cases")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
