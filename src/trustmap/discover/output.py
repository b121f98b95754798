"""Writing drafts to a folder, never over a file unless asked. (The machine summary of a
discovery is a report: :mod:`trustmap.report.discover`.)"""

from __future__ import annotations

from pathlib import Path

from trustmap.discover.draft import Discovery
from trustmap.discover.render import render_drafts
from trustmap.errors import InputError, UsageError

__all__ = ["write_drafts"]


def write_drafts(discovery: Discovery, out: Path, *, force: bool = False) -> list[Path]:
    """Write one YAML file per team into ``out`` (created when missing).

    Returns:
        The files written, sorted.

    Raises:
        UsageError: when a file exists already and ``force`` is false (nothing is written).
        InputError: when the folder or a file cannot be written.
    """
    files = render_drafts(discovery)
    targets = [out / name for name in files]
    existing = [str(p) for p in targets if p.exists()]
    if existing and not force:
        raise UsageError(
            f"{', '.join(existing)} already exist; pass --force to overwrite, or choose --out"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
        for path, text in zip(targets, files.values(), strict=True):
            path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise InputError(f"{out}: cannot write the drafts: {err.strerror or err}") from err
    return targets
