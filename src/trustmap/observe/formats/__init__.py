"""Flow record formats: one parser module per tool, all yielding :class:`FlowRecord` values.

``FORMATS`` maps the ``--format`` names to parsers; :func:`sniff` guesses the format of a first
line so that a run with the wrong ``--format`` can say which one to use.
"""

from __future__ import annotations

import re
from typing import Final

import orjson

from trustmap.observe.formats import access, csv, envoy, hubble, hubble_compact, istio, linkerd
from trustmap.observe.formats.base import Bad, Parser

__all__ = ["FORMATS", "sniff"]

FORMATS: Final[dict[str, Parser]] = {
    "hubble": hubble.parse,
    "hubble-compact": hubble_compact.parse,
    "envoy": envoy.parse,
    "istio": istio.parse_text,
    "istio-json": istio.parse_json,
    "linkerd": linkerd.parse,
    "csv": csv.parse,
}
"""``--format`` name → parser."""

_COMPACT: Final = re.compile(
    r"^([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\S+)\S*(?: \[[^\]]+\])?: "
)


def sniff(first_line: bytes) -> str | None:
    """The format a first non-blank line most likely belongs to, or ``None``."""
    text = first_line.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        try:
            obj = orjson.loads(text)
        except orjson.JSONDecodeError:
            return "linkerd"
        if isinstance(obj, dict):
            if "flow" in obj or "node_status" in obj or "verdict" in obj:
                return "hubble"
            if "start_time" in obj or "upstream_cluster" in obj:
                return "istio-json"
        return None
    if text.startswith("["):
        if text == "[":
            return "linkerd"
        try:
            fields = len(access.tokens(text))
        except Bad:
            return None
        return {len(istio.ISTIO_FIELDS): "istio", len(envoy.ENVOY_FIELDS): "envoy"}.get(fields)
    if text.split(" ")[0] in ("req", "rsp", "end") or text.split()[:2] == ["SRC", "DST"]:
        return "linkerd"
    if _COMPACT.match(text):
        return "hubble-compact"
    if "," in text and "time" in text.lower().split(",")[0]:
        return "csv"
    return None
