"""One group of observed requests: what drift judges, whichever engine aggregated it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from trustmap.observe.identity import ObservedEndpoint

__all__ = [
    "ObservedGroup",
    "endpoint_from_record",
    "group_from_record",
    "group_order",
    "strings",
    "utc",
]


@dataclass(frozen=True, slots=True)
class ObservedGroup:
    """Requests between two endpoints on one port, protocol and verdict."""

    src: ObservedEndpoint
    """Client."""
    dst: ObservedEndpoint
    """Server."""
    dst_names: tuple[str, ...]
    """DNS names of the server."""
    port: int | None
    """Destination port."""
    protocol: str
    """Transport protocol."""
    verdict: str
    """Hubble verdict name."""
    drop_reason: str | None
    """Why it was dropped (smallest reason name when several)."""
    count: int
    """Observations."""
    first_seen: dt.datetime | None
    """Earliest observation (UTC)."""
    last_seen: dt.datetime | None
    """Latest observation (UTC)."""
    window: str | None = None
    """The window the requests fall in when grouped by one (:data:`WINDOWS`): a batch id, or
    a UTC day ``YYYY-MM-DD``; ``None`` when not grouped by window or the row has no time."""


def endpoint_from_record(record: Mapping[str, Any], side: str) -> ObservedEndpoint:
    """One side (``src`` or ``dst``) of a group row."""
    return ObservedEndpoint(
        namespace=record[f"{side}_namespace"],
        workload=record[f"{side}_workload"],
        service_account=record[f"{side}_service_account"],
        labels=strings(record[f"{side}_labels"]),
        entity=record[f"{side}_entity"],
        pod=record[f"{side}_pod"],
        ip=record[f"{side}_ip"],
    )


def group_from_record(record: Mapping[str, Any]) -> ObservedGroup:
    """A row of the groups query (one mapping by column name) as a group, normalised so that
    engines agree (see :func:`trustmap.observe.observed.groups_from_records`)."""
    first_seen = utc(record["first_seen"])
    return ObservedGroup(
        src=endpoint_from_record(record, "src"),
        dst=endpoint_from_record(record, "dst"),
        dst_names=strings(record["dst_names"]),
        port=None if record["dst_port"] is None else int(record["dst_port"]),
        protocol=record["protocol"] or "",
        verdict=record["verdict"] or "",
        drop_reason=record["drop_reason"],
        count=int(record["count"] or 0),
        first_seen=first_seen,
        last_seen=utc(record["last_seen"]) or first_seen,
        window=None if record.get("window") is None else str(record["window"]),
    )


def strings(values: Iterable[Any] | None) -> tuple[str, ...]:
    """A list column as a tuple of strings (NULL: empty)."""
    return () if values is None else tuple(str(value) for value in values)


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """Naive UTC, as the ``flows`` table stores time."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def group_order(group: ObservedGroup) -> tuple[str, ...]:
    """The stable order of groups (sort key)."""
    return tuple(
        "" if value is None else str(value)
        for value in (
            group.first_seen, group.src.namespace, group.src.pod, group.src.ip,
            group.dst.namespace, group.dst.pod, group.dst.ip, group.port, group.protocol,
            group.verdict, group.dst_names, group.src.labels, group.dst.labels,
            group.src.entity, group.dst.entity, group.src.service_account,
            group.dst.service_account, group.src.workload, group.dst.workload, group.window,
        )
    )  # fmt: skip
