"""Typed reads of raw (untrusted) YAML values with problems reported where they occur.

Manifests arrive as plain ``dict``/``list`` trees; these helpers check a field's type, report a
TM610 at the field when it is wrong, and hand back a typed value (or a safe default) so parsing
goes on and every problem in a file is reported in one run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trustmap.analysis.source import Cursor
from trustmap.names import did_you_mean

__all__ = ["mapping", "not_a", "sequence", "string", "suggest", "type_name", "unknown_fields"]

_TYPE_NAMES = {
    "NoneType": "null",
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "list": "list",
    "dict": "mapping",
}


def type_name(value: Any) -> str:
    """The YAML-ish name of a value's type for messages."""
    return _TYPE_NAMES.get(type(value).__name__, type(value).__name__)


def mapping(raw: Any, key: str, cur: Cursor) -> dict[str, Any] | None:
    """``raw[key]`` when it is a mapping; ``None`` when absent or (reported) of another type."""
    value = raw.get(key) if isinstance(raw, dict) else None
    if value is None or isinstance(value, dict):
        return value
    not_a(cur.at(key), "mapping", value)
    return None


def sequence(raw: Any, key: str, cur: Cursor) -> list[Any] | None:
    """``raw[key]`` when it is a list; ``None`` when absent or (reported) of another type."""
    value = raw.get(key) if isinstance(raw, dict) else None
    if value is None or isinstance(value, list):
        return value
    not_a(cur.at(key), "list", value)
    return None


def string(raw: Any, key: str, cur: Cursor) -> str | None:
    """``raw[key]`` when it is a string; ``None`` when absent or (reported) of another type."""
    value = raw.get(key) if isinstance(raw, dict) else None
    if value is None or isinstance(value, str):
        return value
    not_a(cur.at(key), "string", value)
    return None


def unknown_fields(raw: dict[str, Any], known: Sequence[str], cur: Cursor) -> None:
    """Warn (TM613) about keys that Kubernetes would silently ignore."""
    for key in raw:
        if key not in known:
            cur.at(str(key)).report(
                "TM613",
                f"unknown field {key!r} in {cur.where or 'object'}{suggest(key, known)}",
                "Kubernetes ignores unknown fields, so this part has no effect",
            )


def not_a(cur: Cursor, expected: str, value: Any) -> None:
    """Report (TM610) that the value at ``cur`` is not of the expected shape."""
    article = "an" if expected[0] in "aeiou" else "a"
    cur.report(
        "TM610",
        f"{cur.where or 'document'} must be {article} {expected}, got {type_name(value)}",
        f"write {article} {expected} here, as the Kubernetes API reference describes the field",
    )


def suggest(value: object, options: Sequence[str]) -> str:
    """`` (did you mean 'X'?)``, trying a case-insensitive match before a fuzzy one."""
    text = str(value)
    for option in options:
        if option.lower() == text.lower():
            return f" (did you mean '{option}'?)"
    return did_you_mean(text, options)
