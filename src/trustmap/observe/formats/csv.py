"""A plain CSV of flows, for anything the other formats do not cover (exports, scripts, tests).

The first row is a header naming the columns, in any order. These ten must be present (cells
may be empty): ``time, src_namespace, src_workload, src_ip, dst_namespace, dst_workload, dst_ip,
dst_port, protocol, verdict``. The others are optional; ``docs/observe.md`` lists them all.
Empty cells are ``NULL``; labels are ``key=value`` pairs separated by ``;``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from typing import Final

from trustmap.names import did_you_mean
from trustmap.observe.formats.base import Bad, Lines, ParseContext, decode
from trustmap.observe.record import DIRECTIONS, VERDICTS, Direction, FlowRecord, Peer, parse_time

__all__ = ["OPTIONAL", "REQUIRED", "HeaderError", "parse"]

REQUIRED: Final = (
    "time",
    "src_namespace",
    "src_workload",
    "src_ip",
    "dst_namespace",
    "dst_workload",
    "dst_ip",
    "dst_port",
    "protocol",
    "verdict",
)
OPTIONAL: Final = (
    "src_cluster",
    "src_pod",
    "src_workload_kind",
    "src_service_account",
    "src_labels",
    "src_port",
    "dst_cluster",
    "dst_pod",
    "dst_workload_kind",
    "dst_service_account",
    "dst_labels",
    "dst_names",
    "dst_service_namespace",
    "dst_service_name",
    "dst_service_port",
    "drop_reason",
    "direction",
    "l7_protocol",
    "l7_method",
    "l7_path",
    "l7_status",
    "mtls",
    "reporter",
    "count",
)
_PROTOCOLS: Final = ("TCP", "UDP", "SCTP", "ICMPv4", "ICMPv6")


class HeaderError(Bad):
    """The header row is missing columns or names unknown ones; the file cannot be read."""


def parse(lines: Lines, ctx: ParseContext) -> Iterator[FlowRecord]:
    """CSV rows → records; a bad header makes the whole file a TM505 finding.

    Raises:
        HeaderError: when the header is missing a required column or names an unknown one.
    """
    numbers: list[int] = []
    reader = csv.reader(_text_lines(lines, ctx, numbers))
    header: list[str] | None = None
    for row in reader:
        line = numbers[-1] if numbers else 0
        if not row or not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = _header(row)
            continue
        if len(row) != len(header):
            ctx.malformed(line, f"expected {len(header)} cells, found {len(row)}")
            continue
        try:
            yield _record(dict(zip(header, row, strict=True)))
        except Bad as err:
            ctx.malformed(line, str(err))


def _text_lines(lines: Lines, ctx: ParseContext, numbers: list[int]) -> Iterator[str]:
    for number, raw in lines:
        numbers.append(number)
        if len(numbers) > 1:
            del numbers[0]
        try:
            yield decode(raw)
        except Bad as err:
            ctx.malformed(number, str(err))
            yield ""


def _header(row: list[str]) -> list[str]:
    names = [cell.strip().lower() for cell in row]
    known = (*REQUIRED, *OPTIONAL)
    unknown = [name for name in names if name not in known]
    if unknown:
        name = unknown[0]
        raise HeaderError(f"unknown CSV column '{name}'{did_you_mean(name, known)}")
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise HeaderError(f"CSV header lacks required column(s): {', '.join(missing)}")
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise HeaderError(f"CSV column '{duplicated[0]}' appears more than once")
    return names


def _record(cells: dict[str, str]) -> FlowRecord:
    get = _getter(cells)
    stamp = get("time")
    try:
        time = parse_time(stamp) if stamp else None
    except ValueError as err:
        raise Bad(f"time {stamp!r} is not an ISO 8601 timestamp") from err
    return FlowRecord(
        time=time,
        src=_peer(get, "src"),
        dst=_peer(get, "dst"),
        protocol=_choice(get("protocol"), _PROTOCOLS, "protocol"),
        verdict=_choice(get("verdict"), VERDICTS, "verdict"),
        direction=_direction(get("direction")),
        drop_reason=get("drop_reason"),
        l7_protocol=(get("l7_protocol") or "").lower() or None,
        l7_method=get("l7_method"),
        l7_path=get("l7_path"),
        l7_status=_int(get("l7_status"), "l7_status", 0, 2**31 - 1),
        dst_names=tuple(sorted(n for n in (get("dst_names") or "").split(";") if n)),
        dst_service_namespace=get("dst_service_namespace"),
        dst_service_name=get("dst_service_name"),
        dst_service_port=_int(get("dst_service_port"), "dst_service_port", 1, 65535),
        mtls=_bool(get("mtls")),
        reporter=get("reporter"),
        count=_int(get("count"), "count", 1, 2**62) or 1,
    )


def _getter(cells: dict[str, str]) -> Callable[[str], str | None]:
    def get(name: str) -> str | None:
        return cells.get(name, "").strip() or None

    return get


def _peer(get: Callable[[str], str | None], side: str) -> Peer:
    labels = get(f"{side}_labels") or ""
    pairs = tuple(sorted(p.strip() for p in labels.split(";") if p.strip()))
    bad = [p for p in pairs if "=" not in p]
    if bad:
        raise Bad(f"{side}_labels entry {bad[0]!r} is not key=value")
    return Peer(
        ip=get(f"{side}_ip"),
        port=_int(get(f"{side}_port"), f"{side}_port", 1, 65535),
        cluster=get(f"{side}_cluster"),
        namespace=get(f"{side}_namespace"),
        pod=get(f"{side}_pod"),
        workload=get(f"{side}_workload"),
        workload_kind=get(f"{side}_workload_kind"),
        service_account=get(f"{side}_service_account"),
        labels=pairs,
    )


def _int(text: str | None, what: str, low: int, high: int) -> int | None:
    if text is None:
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        raise Bad(f"{what} must be a whole number in {low}-{high}, got {text!r}")
    return int(text)


def _choice(text: str | None, allowed: tuple[str, ...], what: str) -> str | None:
    if text is None:
        return None
    for value in allowed:
        if value.lower() == text.lower():
            return value
    raise Bad(f"unknown {what} {text!r}{did_you_mean(text.upper(), allowed)}")


def _direction(text: str | None) -> Direction:
    if text is None:
        return "request"
    for value in DIRECTIONS:
        if value == text.lower():
            return value
    raise Bad(f"direction must be request, reply or unknown, got {text!r}")


def _bool(text: str | None) -> bool | None:
    if text is None:
        return None
    if text.lower() in ("true", "yes", "1"):
        return True
    if text.lower() in ("false", "no", "0"):
        return False
    raise Bad(f"mtls must be true or false, got {text!r}")
