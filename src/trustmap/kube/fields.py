"""Typed reads of raw (untrusted) manifest values, with problems reported where they occur.

Manifests arrive as plain ``dict``/``list`` trees with a position table (a loader
:class:`~trustmap.loader.Document`); :class:`Here` names one place in a document, and the helpers
check a field's type, report TM610 at the field when it is wrong, and hand back a typed value (or
``None``) so reading goes on and every problem of a file is reported in one run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from trustmap.diagnostics import Diagnostic, Span, diagnostic
from trustmap.loader import Document
from trustmap.names import did_you_mean

__all__ = [
    "FieldPath",
    "Here",
    "Place",
    "mapping",
    "not_a",
    "sequence",
    "string",
    "suggest",
    "type_name",
    "unknown_fields",
]

FieldPath = tuple[str | int, ...]
"""Keys and list indexes from a document's root (or an object's root) to a value."""

_TYPE_NAMES = {
    "NoneType": "null",
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "list": "list",
    "dict": "mapping",
}


@dataclass(frozen=True, slots=True, eq=False)
class Place:
    """Where a value is written: its document and key path; the span is computed when asked."""

    document: Document
    path: FieldPath

    @property
    def span(self) -> Span:
        """``file:line:col`` of the value (of its closest written ancestor when absent); just the
        file for a document built in memory without positions (compiled objects)."""
        positions = self.document.positions
        if isinstance(positions, dict) and not positions:
            return Span(self.document.file)
        return self.document.span(self.path)


@dataclass(frozen=True, slots=True)
class Here:
    """A place inside one document, and the list its problems go to."""

    document: Document
    path: FieldPath
    sink: list[Diagnostic]

    def at(self, *parts: str | int) -> Here:
        """The place of a value below this one."""
        return Here(self.document, self.path + parts, self.sink)

    @property
    def place(self) -> Place:
        """Where this value is written, for typed objects to locate themselves later."""
        return Place(self.document, self.path)

    @property
    def span(self) -> Span:
        """``file:line:col`` of the value (see :attr:`Place.span`)."""
        return self.place.span

    def mark(self) -> int:
        """A position in the problem list, for :meth:`errors_since`."""
        return len(self.sink)

    def errors_since(self, mark: int) -> bool:
        """Whether an error-level problem was reported after ``mark``."""
        return any(d.severity == "error" for d in self.sink[mark:])

    def report(self, code: str, message: str, hint: str) -> None:
        """Record a problem at this place."""
        self.sink.append(diagnostic(code, self.span, message, hint))

    @property
    def where(self) -> str:
        """Dotted field path for messages, e.g. ``spec.template.spec.containers[0]``."""
        text = ""
        for part in self.path:
            text += f"[{part}]" if isinstance(part, int) else f".{part}"
        return text.lstrip(".")


def type_name(value: Any) -> str:
    """The YAML-ish name of a value's type for messages."""
    return _TYPE_NAMES.get(type(value).__name__, type(value).__name__)


def mapping(raw: Any, key: str, here: Here) -> dict[str, Any] | None:
    """``raw[key]`` when it is a mapping; ``None`` when absent or (reported) of another type."""
    value = raw.get(key) if isinstance(raw, dict) else None
    if value is None or isinstance(value, dict):
        return value
    not_a(here.at(key), "mapping", value)
    return None


def sequence(raw: Any, key: str, here: Here) -> list[Any] | None:
    """``raw[key]`` when it is a list; ``None`` when absent or (reported) of another type."""
    value = raw.get(key) if isinstance(raw, dict) else None
    if value is None or isinstance(value, list):
        return value
    not_a(here.at(key), "list", value)
    return None


def string(raw: Any, key: str, here: Here) -> str | None:
    """``raw[key]`` when it is a string; ``None`` when absent or (reported) of another type."""
    value = raw.get(key) if isinstance(raw, dict) else None
    if value is None or isinstance(value, str):
        return value
    not_a(here.at(key), "string", value)
    return None


def unknown_fields(raw: dict[str, Any], known: Sequence[str], here: Here) -> None:
    """Warn (TM613) about keys that Kubernetes would silently ignore."""
    for key in raw:
        if key not in known:
            here.at(str(key)).report(
                "TM613",
                f"unknown field {key!r} in {here.where or 'object'}{suggest(key, known)}",
                "Kubernetes ignores unknown fields, so this part has no effect",
            )


def not_a(here: Here, expected: str, value: Any) -> None:
    """Report (TM610) that the value at ``here`` is not of the expected shape."""
    article = "an" if expected[0] in "aeiou" else "a"
    here.report(
        "TM610",
        f"{here.where or 'document'} must be {article} {expected}, got {type_name(value)}",
        f"write {article} {expected} here, as the Kubernetes API reference describes the field",
    )


def suggest(value: object, options: Sequence[str]) -> str:
    """`` (did you mean 'X'?)``, trying a case-insensitive match before a fuzzy one."""
    text = str(value)
    for option in options:
        if option.lower() == text.lower():
            return f" (did you mean '{option}'?)"
    return did_you_mean(text, options)
