"""Writing a batch: the staged rows collapsed into ``flows``, as SQL text.

Observations with the same key (:data:`trustmap.observe.schema.KEY`, plus the peer's identity
when it has no address) in the same window bucket ``epoch_us(time) // $window`` become one row
whose ``count`` says how many they were. Buckets make this a hash aggregation over narrow rows
(peers are hashes, see :mod:`trustmap.observe.schema`), fast on tens of millions of records; two
observations that straddle a bucket boundary stay two rows.

When the observations of one flow describe a peer differently (one node knew less about a
remote pod than the node hosting it), the row keeps the most complete description: the one with
the most known fields, ties broken by the description's hash, so the same input always gives
the same row (:func:`trustmap.observe.schema.endpoint_rank`).
"""

from __future__ import annotations

from typing import Final

from trustmap.observe.formats.hubble_sql import labelset_select
from trustmap.observe.schema import (
    ENDPOINT_COLUMNS,
    FLOW_COLUMNS,
    KEY,
    LIST_SEP,
    PEER_COLUMNS,
    endpoint_rank,
)

__all__ = ["COLLAPSED_FLOWS_SQL", "ENDPOINTS_SQL", "ENDPOINTS_UNIQUE_SQL", "FLOWS_SQL"]

_RAW_LABELS: Final = """from_json(raw, '["VARCHAR"]')"""
_SEP: Final = f"chr({ord(LIST_SEP)})"


def _nz(expr: str) -> str:
    return f"nullif({expr}, '')"


def _endpoints() -> str:
    derived = {
        "cluster": f"coalesce({_nz('d.ep_cluster')}, ls.cluster)",
        "namespace": f"coalesce({_nz('d.ep_namespace')}, ls.namespace)",
        "service_account": f"coalesce({_nz('d.ep_service_account')}, ls.service_account)",
        "labels": f"coalesce(string_split({_nz('d.ep_labels')}, {_SEP}), ls.labels)",
        "entity": f"coalesce({_nz('d.ep_entity')}, ls.entity)",
        "names": f"string_split({_nz('d.ep_names')}, {_SEP})",
        "service_port": "d.ep_service_port",
    }
    columns = [
        f"{derived.get(name, _nz(f'd.ep_{name}'))} AS {name}"
        for name, _ in ENDPOINT_COLUMNS
        if name != "labels_raw"
    ]
    described = ", ".join(f"ep_{name}" for name, _ in ENDPOINT_COLUMNS)
    return f"""
    CREATE OR REPLACE TEMP TABLE _endpoints AS
    WITH described AS (SELECT DISTINCT ep, {described} FROM _stage WHERE part = 'endpoint'),
    labelsets AS (
        SELECT raw, {labelset_select(_RAW_LABELS)} FROM (
            SELECT DISTINCT ep_labels_raw AS raw FROM described WHERE ep_labels_raw IS NOT NULL)
    ),
    final AS (
        SELECT d.ep, {endpoint_rank("d.ep_", "d.ep")} AS rank, {", ".join(columns)}
        FROM described AS d LEFT JOIN labelsets AS ls ON d.ep_labels_raw = ls.raw
    )
    SELECT *, concat_ws('/', cluster, namespace, pod, workload, service_account) AS who
    FROM final
    """


ENDPOINTS_SQL: Final = _endpoints()
"""``_endpoints``: each staged peer description once, with its ``rank`` (what staged flows
point at), the ``flows`` columns derived from it (Cilium labels split) and its identity
``who`` (for peers without an address)."""

ENDPOINTS_UNIQUE_SQL: Final = "SELECT count(*) = count(DISTINCT ep) FROM _endpoints"
"""Whether no two different descriptions share a hash (else the batch cannot be written)."""

_NORMALISED: Final = {
    "src_ip": _nz("s.src_ip"),
    "dst_ip": _nz("s.dst_ip"),
    "verdict": f"nullif({_nz('s.verdict')}, 'VERDICT_UNKNOWN')",
    "drop_reason": _nz("s.drop_reason"),
    "l7_method": _nz("s.l7_method"),
    "l7_path": _nz("s.l7_path"),
}


def _insert(source: str) -> str:
    """``INSERT INTO flows`` the rows of ``source`` (the flow columns, ``src_pick`` and
    ``dst_pick``), their peers' columns taken from ``_endpoints``."""
    output = {"batch_id": "$batch", "source_format": "$fmt"}
    for prefix, alias in (("src", "es"), ("dst", "ed")):
        output.update({f"{prefix}_{name}": f"{alias}.{name}" for name in PEER_COLUMNS})
        output.update({f"{prefix}_ip": f"g.{prefix}_ip", f"{prefix}_port": f"g.{prefix}_port"})
    output.update(
        dst_names="ed.names",
        dst_service_namespace="ed.service_namespace",
        dst_service_name="ed.service_name",
        dst_service_port="ed.service_port",
    )
    select = [f"{output.get(name, f'g.{name}')} AS {name}" for name, _ in FLOW_COLUMNS]
    return f"""
    INSERT INTO flows BY NAME
    WITH g AS ({source})
    SELECT {", ".join(select)}
    FROM g
    JOIN _endpoints AS es ON es.rank = g.src_pick
    JOIN _endpoints AS ed ON ed.rank = g.dst_pick
    """


def _collapsed() -> str:
    rows = [
        *(f"{_NORMALISED.get(name, f's.{name}')} AS {name}" for name in KEY),
        "s.time", "s.last_time", "s.count", "s.mtls", f"{_nz('s.reporter')} AS reporter",
        "s.src_pick", "s.dst_pick",
        f"CASE WHEN {_NORMALISED['src_ip']} IS NULL THEN es.who END AS src_who",
        f"CASE WHEN {_NORMALISED['dst_ip']} IS NULL THEN ed.who END AS dst_who",
    ]  # fmt: skip
    grouped = [
        *KEY, "min(time) AS time", "max(last_time) AS last_time", "sum(count) AS count",
        "max(reporter) AS reporter", "max(mtls) AS mtls",
        "max(src_pick) AS src_pick", "max(dst_pick) AS dst_pick",
    ]  # fmt: skip
    return f"""
    SELECT {", ".join(grouped)} FROM (
        SELECT {", ".join(rows)}
        FROM _stage AS s
        JOIN _endpoints AS es ON es.rank = s.src_pick
        JOIN _endpoints AS ed ON ed.rank = s.dst_pick
        WHERE s.part = 'flow'
    )
    GROUP BY {", ".join(KEY)}, src_who, dst_who, epoch_us(time) // $window
    """


FLOWS_SQL: Final = _insert(_collapsed())
"""``INSERT INTO flows`` the staged flows collapsed; parameters ``$batch``, ``$fmt`` and
``$window`` (microseconds). Needs ``_endpoints`` (:data:`ENDPOINTS_SQL`)."""

COLLAPSED_FLOWS_SQL: Final = _insert("SELECT * FROM _stage WHERE part = 'flow'")
"""``INSERT INTO flows`` the staged flows as they are, when one statement staged them all
already collapsed (the Hubble SQL path over every file of the run); parameters ``$batch`` and
``$fmt``."""
