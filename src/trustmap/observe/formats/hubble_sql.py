"""The Hubble mapping of :mod:`trustmap.observe.formats.hubble`, done by DuckDB's JSON reader.

Parsing JSON in DuckDB runs in parallel and without a Python object per line, several times
faster than the Python parser on large captures. It is optimistic: every line must be a strict
``{"flow": ...}`` envelope (or node status / lost events) with RFC 3339 ``Z`` times. When DuckDB
rejects a line, or the classification finds a line it cannot vouch for, the caller drops what
was staged for the file and runs the Python parser, which reports bad lines with their numbers.
Tests check that both give the same rows on every sample.
"""

from __future__ import annotations

from typing import Final

from trustmap.observe.formats.hubble import DROP_REASONS
from trustmap.observe.schema import LIST_SEP, collapse_sql

__all__ = ["COLUMNS", "COUNTS_SQL", "PRUNE_SQL", "labelset_select", "stage_sql"]

_ENDPOINT: Final = (
    "STRUCT(cluster_name VARCHAR, namespace VARCHAR, labels VARCHAR[], pod_name VARCHAR, "
    "workloads STRUCT(name VARCHAR, kind VARCHAR)[])"
)
_PORTS: Final = "STRUCT(source_port BIGINT, destination_port BIGINT)"
_SERVICE: Final = "STRUCT(name VARCHAR, namespace VARCHAR)"
_FLOW: Final = f"""STRUCT(
    time VARCHAR, verdict VARCHAR, drop_reason_desc VARCHAR, drop_reason BIGINT,
    IP STRUCT(source VARCHAR, destination VARCHAR),
    l4 STRUCT(
        TCP STRUCT(source_port BIGINT, destination_port BIGINT,
                   flags STRUCT(SYN BOOLEAN, ACK BOOLEAN)),
        UDP {_PORTS}, SCTP {_PORTS}, ICMPv4 JSON, ICMPv6 JSON, VRRP JSON, IGMP JSON),
    source {_ENDPOINT}, destination {_ENDPOINT},
    node_name VARCHAR, source_names VARCHAR[], destination_names VARCHAR[],
    l7 STRUCT(
        type VARCHAR,
        http STRUCT(code BIGINT, method VARCHAR, url VARCHAR),
        dns STRUCT(query VARCHAR, rcode BIGINT, qtypes VARCHAR[]),
        kafka STRUCT(error_code BIGINT, api_key VARCHAR, topic VARCHAR)),
    reply BOOLEAN, is_reply BOOLEAN,
    source_service {_SERVICE}, destination_service {_SERVICE},
    aggregate STRUCT(ingress_flow_count BIGINT, egress_flow_count BIGINT,
                     unknown_direction_flow_count BIGINT)
)"""
COLUMNS: Final = {
    "flow": _FLOW,
    "node_name": "VARCHAR",
    "time": "VARCHAR",
    "lost_events": "STRUCT(num_events_lost BIGINT)",
    "node_status": "JSON",
    "agent_event": "JSON",
    "debug_event": "JSON",
}
"""What DuckDB reads of each line; every other field is ignored."""

_SEP: Final = f"chr({ord(LIST_SEP)})"
_STRICT_TIME: Final = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z"

COUNTS_SQL: Final = """
SELECT coalesce(sum(records) FILTER (WHERE kind = 'flow'), 0),
       coalesce(sum(records) FILTER (WHERE kind = 'skip'), 0),
       coalesce(sum(records) FILTER (WHERE kind = 'bad'), 0),
       coalesce(sum(count) FILTER (WHERE kind = 'lost'), 0),
       coalesce(sum(records) FILTER (WHERE kind = 'lost'), 0)
FROM _stage WHERE file_no = ?
"""
"""(flows, skipped, bad, lost events, lost-event lines) staged for one file."""

PRUNE_SQL: Final = "DELETE FROM _stage WHERE file_no = ? AND kind <> 'flow'"


def _nz(expr: str) -> str:
    return f"nullif({expr}, '')"


def labelset_select(raw: str) -> str:
    """Columns ``labels, service_account, cluster, namespace, entity`` derived from a raw
    Cilium label list expression ``raw``: the SQL mirror of :func:`hubble.split_labels`."""
    bodies = (
        f"list_filter(list_transform(list_filter({raw}, lambda x: NOT starts_with(x, "
        "'reserved:')), lambda x: CASE WHEN starts_with(x, 'k8s:') THEN x[5:] ELSE x END), "
        "lambda b: NOT contains(split_part(b, '=', 1), ':'))"
    )
    kept = (
        f"list_sort(list_filter({bodies}, lambda b: NOT starts_with(b, 'io.cilium.k8s.') "
        "AND NOT starts_with(b, 'io.kubernetes.pod.namespace=')))"
    )

    def meta(name: str) -> str:
        prefix = f"{name}="
        last = f"list_filter({bodies}, lambda b: starts_with(b, '{prefix}'))[-1]"
        return _nz(f"{last}[{len(prefix) + 1}:]")

    reserved = (
        f"list_sort(list_transform(list_filter({raw}, lambda x: starts_with(x, 'reserved:')), "
        "lambda x: x[10:]))"
    )
    return ", ".join(
        [
            f"CASE WHEN len({kept}) = 0 THEN NULL ELSE {kept} END AS labels",
            f"{meta('io.cilium.k8s.policy.serviceaccount')} AS service_account",
            f"{meta('io.cilium.k8s.policy.cluster')} AS cluster",
            f"{meta('io.kubernetes.pod.namespace')} AS namespace",
            f"{_nz(f'array_to_string({reserved}, {chr(39)},{chr(39)})')} AS entity",
        ]
    )


def _drop_reason_sql() -> str:
    cases = " ".join(f"WHEN {number} THEN '{name}'" for number, name in DROP_REASONS.items())
    desc = _nz("f.drop_reason_desc")
    return (
        f"CASE WHEN {desc} IS NOT NULL THEN nullif({desc}, 'DROP_REASON_UNKNOWN') "
        "WHEN coalesce(f.drop_reason, 0) = 0 THEN NULL "
        f"ELSE CASE f.drop_reason {cases} ELSE CAST(f.drop_reason AS VARCHAR) END END"
    )


_DIRECTION: Final = """CASE
    WHEN f.l7.type = 'RESPONSE' THEN 'reply' WHEN f.l7.type = 'REQUEST' THEN 'request'
    WHEN f.is_reply IS NOT NULL THEN CASE WHEN f.is_reply THEN 'reply' ELSE 'request' END
    WHEN f.reply THEN 'reply'
    WHEN coalesce(f.l4.TCP.flags.SYN, false)
        THEN CASE WHEN coalesce(f.l4.TCP.flags.ACK, false) THEN 'reply' ELSE 'request' END
    ELSE 'unknown' END"""

_PROTOCOL: Final = """CASE
    WHEN f.l4.TCP IS NOT NULL THEN 'TCP' WHEN f.l4.UDP IS NOT NULL THEN 'UDP'
    WHEN f.l4.SCTP IS NOT NULL THEN 'SCTP' WHEN f.l4.ICMPv4 IS NOT NULL THEN 'ICMPv4'
    WHEN f.l4.ICMPv6 IS NOT NULL THEN 'ICMPv6' WHEN f.l4.VRRP IS NOT NULL THEN 'VRRP'
    WHEN f.l4.IGMP IS NOT NULL THEN 'IGMP' END"""

_L7_PROTOCOL: Final = """CASE
    WHEN f.l7.http IS NOT NULL THEN 'http' WHEN f.l7.dns IS NOT NULL THEN 'dns'
    WHEN f.l7.kafka IS NOT NULL THEN 'kafka' END"""

_URL_PATH: Final = r"""CASE WHEN nullif(f.l7.http.url, '') IS NULL THEN NULL ELSE coalesce(nullif(
    regexp_extract(CASE WHEN regexp_matches(f.l7.http.url, '^[^/]+://')
        THEN regexp_extract(f.l7.http.url, '^[^/]+://[^/]*(.*)$', 1) ELSE f.l7.http.url END,
        '^([^?#]*)', 1), ''), '/') END"""


_PEER_FIELDS: Final = ("cluster", "namespace", "pod", "workload", "workload_kind", "labels_raw",
                       "ip", "port", "names", "svc_namespace", "svc_name")  # fmt: skip


def _side(name: str, prefix: str) -> list[str]:
    """Scalars of one side of the flow as observed (``source`` or ``destination``)."""
    ep, port = f"f.{name}", f"f.l4.TCP.{name}_port"
    ports = f"coalesce({port}, f.l4.UDP.{name}_port, f.l4.SCTP.{name}_port)"
    values = (
        _nz(f"{ep}.cluster_name"),
        _nz(f"{ep}.namespace"),
        _nz(f"{ep}.pod_name"),
        _nz(f"{ep}.workloads[1].name"),
        _nz(f"{ep}.workloads[1].kind"),
        _nz(f"array_to_string({ep}.labels, {_SEP})"),
        _nz(f"f.IP.{name}"),
        f"CAST(nullif({ports}, 0) AS INTEGER)",
        _nz(f"array_to_string(f.{name}_names, {_SEP})"),
        _nz(f"f.{name}_service.namespace"),
        _nz(f"f.{name}_service.name"),
    )
    return [f"{v} AS {prefix}_{field}" for v, field in zip(values, _PEER_FIELDS, strict=True)]


def _read(compression: str) -> str:
    """Each line as scalars, before the reply swap; ``kind`` classifies the line."""
    stamp = _nz("coalesce(nullif(flow.time, ''), \"time\")")
    agg = "f.aggregate"
    total = (
        f"coalesce({agg}.ingress_flow_count, 0) + coalesce({agg}.egress_flow_count, 0) "
        f"+ coalesce({agg}.unknown_direction_flow_count, 0)"
    )
    columns = [
        "CAST(stamp AS TIMESTAMP) AS time",
        *_side("source", "s"),
        *_side("destination", "d"),
        f"{_PROTOCOL} AS protocol",
        f"nullif({_nz('f.verdict')}, 'VERDICT_UNKNOWN') AS verdict",
        f"{_drop_reason_sql()} AS drop_reason",
        f"{_DIRECTION} AS direction",
        f"{_L7_PROTOCOL} AS l7_protocol",
        f"""CASE {_L7_PROTOCOL} WHEN 'http' THEN {_nz("f.l7.http.method")}
            WHEN 'dns' THEN {_nz("array_to_string(f.l7.dns.qtypes, ',')")}
            WHEN 'kafka' THEN {_nz("f.l7.kafka.api_key")} END AS l7_method""",
        f"""CASE {_L7_PROTOCOL} WHEN 'http' THEN {_URL_PATH}
            WHEN 'dns' THEN {_nz("f.l7.dns.query")}
            WHEN 'kafka' THEN {_nz("f.l7.kafka.topic")} END AS l7_path""",
        f"""CAST(CASE {_L7_PROTOCOL} WHEN 'http' THEN nullif(f.l7.http.code, 0)
            WHEN 'dns' THEN f.l7.dns.rcode WHEN 'kafka' THEN f.l7.kafka.error_code END
            AS INTEGER) AS l7_status""",
        f"coalesce({_nz('f.node_name')}, {_nz('env_node')}) AS reporter",
        "CASE WHEN kind = 'lost' THEN coalesce(lost_events.num_events_lost, 0) "
        f"WHEN ({total}) > 0 THEN ({total}) ELSE 1 END AS count",
        "kind",
    ]
    return f"""
    SELECT {", ".join(columns)} FROM (
        SELECT flow AS f, node_name AS env_node, {stamp} AS stamp, lost_events,
            CASE
                WHEN flow IS NOT NULL AND (stamp IS NULL OR NOT regexp_full_match(stamp,
                    '{_STRICT_TIME}')) THEN 'bad'
                WHEN flow IS NOT NULL THEN 'flow'
                WHEN lost_events IS NOT NULL THEN 'lost'
                WHEN node_status IS NOT NULL OR agent_event IS NOT NULL
                    OR debug_event IS NOT NULL THEN 'skip'
                ELSE 'bad' END AS kind
        FROM read_json($path, format = 'newline_delimited', columns = $columns,
                       compression = '{compression}', maximum_object_size = 67108864))
    """


def _oriented(file_no: int) -> str:
    """Client → server: a reply's sides are swapped back; peer columns get their names."""
    columns = ["time"]
    for side, (mine, other) in (("src", ("s", "d")), ("dst", ("d", "s"))):
        for field in _PEER_FIELDS:
            if field in ("names", "svc_namespace", "svc_name") and side == "src":
                continue
            target = {
                "names": "dst_names",
                "svc_namespace": "dst_service_namespace",
                "svc_name": "dst_service_name",
            }.get(field, f"{side}_{field}")
            columns.append(
                f"CASE WHEN direction = 'reply' THEN {other}_{field} ELSE {mine}_{field} END "
                f"AS {target}"
            )
    null = "CAST(NULL AS VARCHAR)"
    columns += [
        *(f"{null} AS {side}_{c}" for side in ("src", "dst")
          for c in ("service_account", "labels", "entity")),
        "CAST(NULL AS INTEGER) AS dst_service_port",
        "protocol", "verdict", "drop_reason", "direction", "l7_protocol", "l7_method",
        "l7_path", "l7_status", "CAST(NULL AS BOOLEAN) AS mtls", "reporter", "count",
        "time AS last_time", "1 AS records", f"{int(file_no)} AS file_no", "kind",
    ]  # fmt: skip
    return f"SELECT {', '.join(columns)} FROM read"


def stage_sql(file_no: int, compression: str) -> str:
    """``INSERT INTO _stage`` for one Hubble file, collapsed as it is read; parameters
    ``$path``, ``$columns`` and ``$window`` (microseconds).

    ``compression`` is ``gzip`` or ``none`` (sniffed from the magic bytes by the caller).
    """
    return f"""
    INSERT INTO _stage BY NAME
    WITH read AS ({_read(compression)}),
    projected AS ({_oriented(file_no)})
    {collapse_sql("projected", by_kind=True)}
    """
