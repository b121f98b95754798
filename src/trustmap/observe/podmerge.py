"""Merging observed groups across the pods and addresses of endpoints identified without them.

Groups come per pod and address, but what drift says of an endpoint that resolves to a declared
service depends on its description alone (namespace, labels, service account, workload, entity).
Such groups merge: counts summed, first and last seen widened, and the pod and address of the
earliest row (in :func:`~trustmap.observe.group.group_order`) kept for the example, so a report
is the same as judging each pod pair. Rows without a time are left as they are.

:func:`merge_records` merges the rows of any engine in Python (Spark's path);
:func:`merged_groups` does the same in one DuckDB statement over a ``_groups`` table and hands
back groups whose endpoint descriptions are read once, not once per row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

import duckdb
import pyarrow as pa

from trustmap.observe.group import ObservedGroup, group_order, strings, utc
from trustmap.observe.identity import ObservedEndpoint

__all__ = ["Identified", "merge_records", "merged_groups"]

Identified = Callable[[ObservedEndpoint], bool]
"""Tells whether an endpoint, described without its pod and address, is identified by that
description alone (it resolves to a declared service)."""

_VARYING: Final = ("count", "first_seen", "last_seen")
"""Group columns that merging sums or widens rather than matches."""

_DESCRIBED: Final = ("namespace", "workload", "service_account", "labels", "entity")
"""What identifies an endpoint without its pod and address."""

_SIDES: Final = ("src", "dst")


def merge_records(
    records: Iterable[Mapping[str, Any]], identified: Identified
) -> list[Mapping[str, Any]]:
    """Rows merged across the pods and addresses of identified endpoints."""
    known: dict[tuple[object, ...], bool] = {}
    merged: dict[tuple[object, ...], dict[str, Any]] = {}
    kept: list[Mapping[str, Any]] = []
    for record in records:
        sides = [side for side in ("src", "dst") if _is_identified(record, side, identified, known)]
        if not sides or record["first_seen"] is None:
            kept.append(record)
            continue
        blank = {f"{side}_{field}" for side in sides for field in ("pod", "ip")}
        key = tuple(
            _hashable(value)
            for name, value in record.items()
            if name not in blank and name not in _VARYING
        )
        group = merged.get(key)
        if group is None:
            merged[key] = dict(record)
        else:
            _absorb(group, record)
    return [*kept, *merged.values()]


def _is_identified(
    record: Mapping[str, Any],
    side: str,
    identified: Identified,
    known: dict[tuple[object, ...], bool],
) -> bool:
    labels = strings(record[f"{side}_labels"])
    description = (
        record[f"{side}_namespace"], record[f"{side}_workload"],
        record[f"{side}_service_account"], labels, record[f"{side}_entity"],
    )  # fmt: skip
    found = known.get(description)
    if found is None:
        namespace, workload, account, _, entity = description
        endpoint = ObservedEndpoint(namespace, workload, account, labels, entity, None, None)
        found = known[description] = identified(endpoint)
    return found


def _absorb(group: dict[str, Any], record: Mapping[str, Any]) -> None:
    """Add ``record`` to the merged row ``group`` (both with a first time): its count, its
    time span, and its pod and address when it comes first in the stable order."""
    count = int(group["count"] or 0) + int(record["count"] or 0)
    lasts = [utc(row["last_seen"]) or utc(row["first_seen"]) for row in (group, record)]
    last = max(t for t in lasts if t is not None)
    if _earliest(record) < _earliest(group):
        group.update(record)
    group["count"], group["last_seen"] = count, last


def _earliest(record: Mapping[str, Any]) -> tuple[str, ...]:
    """The part of :func:`~trustmap.observe.group.group_order` that differs between rows merged together."""
    return tuple(
        "" if value is None else str(value)
        for value in (
            utc(record["first_seen"]), record["src_pod"], record["src_ip"],
            record["dst_pod"], record["dst_ip"],
        )
    )  # fmt: skip


def _hashable(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


def merged_groups(
    con: duckdb.DuckDBPyConnection, identified: Identified, *, windowed: bool
) -> list[ObservedGroup]:
    """The rows of the ``_groups`` table (the groups query's result, ``window`` column when
    ``windowed``) merged in SQL, as groups in the stable order: the same as
    :func:`merge_records` then :func:`~trustmap.observe.group.group_from_record`."""
    con.execute(_DESCRIBED_SQL)
    templates = {
        row[0]: ObservedEndpoint(row[1], row[2], row[3], strings(row[4]), row[5], None, None)
        for row in con.execute("SELECT * FROM _described").fetchall()
    }
    merge = [number for number, endpoint in templates.items() if identified(endpoint)]
    con.register("_merge", pa.table({"id": pa.array(merge, pa.int64())}))
    endpoints = _Endpoints(templates)
    rows = con.execute(_merged_sql(windowed)).fetchall()
    return sorted((endpoints.group(row) for row in rows), key=group_order)


class _Endpoints:
    """Endpoints of merged rows, built once per description, pod and address."""

    def __init__(self, templates: dict[int, ObservedEndpoint]) -> None:
        self.templates = templates
        self.built: dict[tuple[int, str | None, str | None], ObservedEndpoint] = {}

    def get(self, number: int, pod: str | None, ip: str | None) -> ObservedEndpoint:
        found = self.built.get((number, pod, ip))
        if found is None:
            t = self.templates[number]
            found = ObservedEndpoint(
                t.namespace, t.workload, t.service_account, t.labels, t.entity, pod, ip
            )
            self.built[number, pod, ip] = found
        return found

    def group(self, row: tuple[Any, ...]) -> ObservedGroup:
        """One row of :func:`_merged_sql` (DuckDB gives naive UTC times and Python ints)."""
        src, src_pod, src_ip, dst, dst_pod, dst_ip, names, port, protocol, verdict = row[:10]
        reason, window, count, first, last = row[10:]
        return ObservedGroup(
            self.get(src, src_pod, src_ip), self.get(dst, dst_pod, dst_ip), strings(names),
            port, protocol or "", verdict or "", reason, int(count or 0), first, last or first,
            None if window is None else str(window),
        )  # fmt: skip


_DESCRIBED_SQL: Final = f"""
CREATE OR REPLACE TEMP TABLE _described AS
SELECT row_number() OVER () AS id, * FROM ({
    " UNION ".join(
        f"SELECT DISTINCT {', '.join(f'{side}_{name} AS {name}' for name in _DESCRIBED)} "
        "FROM _groups"
        for side in _SIDES
    )
})"""
"""Every endpoint description of ``_groups``, numbered."""


def _merged_sql(windowed: bool) -> str:
    """``_groups`` merged across the pods and addresses of the descriptions in ``_merge``,
    endpoints named by their ``_described`` number; ``window`` NULL unless ``windowed``."""
    joins = " ".join(
        f"JOIN _described {side} ON "
        + " AND ".join(f"g.{side}_{name} IS NOT DISTINCT FROM {side}.{name}" for name in _DESCRIBED)
        for side in _SIDES
    )
    merged = ", ".join(
        f"g.first_seen IS NOT NULL AND {side}.id IN (SELECT id FROM _merge) AS {side}_merged"
        for side in _SIDES
    )
    keys = ["src_id", "dst_id", "dst_names", "dst_port", "protocol", "verdict", "drop_reason",
            *(['"window"'] if windowed else [])]  # fmt: skip
    varying = [f"{side}_{field}" for side in _SIDES for field in ("pod", "ip")]
    blanked = [f"CASE WHEN {field[:3]}_merged THEN NULL ELSE {field} END" for field in varying]
    order = ", ".join(["first_seen", *(f"coalesce({field}, '')" for field in varying)])
    window = "" if windowed else ', NULL AS "window"'
    return f"""
    SELECT src_id, example.src_pod, example.src_ip, dst_id, example.dst_pod, example.dst_ip,
        dst_names, dst_port, protocol, verdict, drop_reason, "window", count, first_seen, last_seen
    FROM (
        SELECT {", ".join(keys)}{window}, sum(count) AS count, min(first_seen) AS first_seen,
            max(coalesce(last_seen, first_seen)) AS last_seen,
            arg_min(struct_pack({", ".join(varying)}), row({order})) AS example
        FROM (SELECT g.*, {merged}, src.id AS src_id, dst.id AS dst_id FROM _groups g {joins})
        GROUP BY {", ".join([*keys, *blanked])})
    """
