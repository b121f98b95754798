"""A parsed YAML document that remembers where every value came from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from trustmap.diagnostics import Span

__all__ = ["Document", "Path", "Position"]

Path = tuple[str | int, ...]
"""Keys and list indexes from the document root to a value."""
Position = tuple[int, int, int, int]
"""(key line, key column, value line, value column), 1-based; key part 0 when not a mapping entry."""


@dataclass(frozen=True, slots=True)
class Document:
    """One YAML document of one file, as plain Python data plus a position table."""

    file: str
    """Path of the file as the user named it."""
    index: int
    """0-based document number within the file."""
    data: Any
    """The document's value (usually a dict)."""
    positions: Mapping[Path, Position] = field(default_factory=dict)
    """Where each value (and its key) starts; values reached through aliases are absent."""

    def span(self, path: Path = (), *, key: bool = False) -> Span:
        """Span of the value at ``path`` (or of its key), falling back to the closest ancestor."""
        for end in range(len(path), -1, -1):
            found = self.positions.get(path[:end])
            if found is None:
                continue
            key_line, key_col, line, col = found
            if key and end == len(path) and key_line:
                return Span(self.file, key_line, key_col)
            return Span(self.file, line, col)
        return Span(self.file, 1, 1)
