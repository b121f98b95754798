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
    broken: bool = False
    """The loader reported a problem inside it (a duplicate key): it is named, never validated."""

    def span(self, path: Path = (), *, key: bool = False) -> Span:
        """Span of the value at ``path`` (or of its key), falling back to the closest ancestor."""
        exact = self.positions.get(path)
        if exact is not None:
            if key and exact[0]:
                return Span(self.file, exact[0], exact[1])
            return Span(self.file, exact[2], exact[3])
        for end in range(len(path) - 1, -1, -1):
            found = self.positions.get(path[:end])
            if found is None:
                continue
            return Span(self.file, found[2], found[3])
        return Span(self.file, 1, 1)
