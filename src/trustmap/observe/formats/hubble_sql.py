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

__all__ = ["COUNTS_SQL", "PRUNE_SQL", "stage_sql"]

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

_STRICT_TIME: Final = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z"

COUNTS_SQL: Final = """
SELECT count(*) FILTER (WHERE kind = 'flow'), count(*) FILTER (WHERE kind = 'skip'),
       count(*) FILTER (WHERE kind = 'bad'), coalesce(sum(count) FILTER (WHERE kind = 'lost'), 0),
       count(*) FILTER (WHERE kind = 'lost')
FROM _stage WHERE file_no = ?
"""
"""(flows, skipped, bad, lost events, lost-event lines) staged for one file."""

PRUNE_SQL: Final = "DELETE FROM _stage WHERE file_no = ? AND kind <> 'flow'"


def _nz(expr: str) -> str:
    return f"nullif({expr}, '')"


def _labels_sql(ep: str) -> dict[str, str]:
    """Mirror of :func:`hubble.split_labels` for endpoint struct ``ep``."""
    bodies = (
        f"list_filter(list_transform(list_filter({ep}.labels, x -> NOT starts_with(x, "
        "'reserved:')), x -> CASE WHEN starts_with(x, 'k8s:') THEN x[5:] ELSE x END), "
        "b -> NOT contains(split_part(b, '=', 1), ':'))"
    )
    kept = (
        f"list_sort(list_filter({bodies}, b -> NOT starts_with(b, 'io.cilium.k8s.') "
        "AND NOT starts_with(b, 'io.kubernetes.pod.namespace=')))"
    )

    def meta(name: str) -> str:
        prefix = f"{name}="
        last = f"list_filter({bodies}, b -> starts_with(b, '{prefix}'))[-1]"
        return _nz(f"{last}[{len(prefix) + 1}:]")

    reserved = (
        f"list_sort(list_transform(list_filter({ep}.labels, x -> starts_with(x, 'reserved:')), "
        "x -> x[10:]))"
    )
    return {
        "labels": f"CASE WHEN len({kept}) = 0 THEN NULL ELSE {kept} END",
        "service_account": meta("io.cilium.k8s.policy.serviceaccount"),
        "cluster": meta("io.cilium.k8s.policy.cluster"),
        "namespace": meta("io.kubernetes.pod.namespace"),
        "entity": _nz(f"array_to_string({reserved}, ',')"),
    }


def _peer_sql(side: str) -> list[str]:
    ep, ip, port = f"{side}_ep", f"{side}_ip_raw", f"{side}_port_raw"
    labels = _labels_sql(ep)
    return [
        f"coalesce({_nz(f'{ep}.cluster_name')}, {labels['cluster']}) AS {side}_cluster",
        f"coalesce({_nz(f'{ep}.namespace')}, {labels['namespace']}) AS {side}_namespace",
        f"{_nz(f'{ep}.pod_name')} AS {side}_pod",
        f"{_nz(f'{ep}.workloads[1].name')} AS {side}_workload",
        f"{_nz(f'{ep}.workloads[1].kind')} AS {side}_workload_kind",
        f"{labels['service_account']} AS {side}_service_account",
        f"{labels['labels']} AS {side}_labels",
        f"{_nz(ip)} AS {side}_ip",
        f"CAST(nullif({port}, 0) AS INTEGER) AS {side}_port",
        f"{labels['entity']} AS {side}_entity",
    ]


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


def _classified(path_param: str, compression: str) -> str:
    stamp = _nz("coalesce(nullif(flow.time, ''), \"time\")")
    return f"""
    SELECT flow AS f, node_name AS env_node, {stamp} AS stamp, lost_events,
        CASE
            WHEN flow IS NOT NULL AND (stamp IS NULL OR NOT regexp_full_match(stamp,
                '{_STRICT_TIME}')) THEN 'bad'
            WHEN flow IS NOT NULL THEN 'flow'
            WHEN lost_events IS NOT NULL THEN 'lost'
            WHEN node_status IS NOT NULL OR agent_event IS NOT NULL OR debug_event IS NOT NULL
                THEN 'skip'
            ELSE 'bad' END AS kind
    FROM read_json({path_param}, format = 'newline_delimited', columns = $columns,
                   compression = '{compression}', maximum_object_size = 67108864)
    """


def _oriented() -> str:
    swap = f"({_DIRECTION}) = 'reply'"
    return f"""
    SELECT *,
        CASE WHEN rep THEN f.destination ELSE f.source END AS src_ep,
        CASE WHEN rep THEN f.source ELSE f.destination END AS dst_ep,
        CASE WHEN rep THEN f.IP.destination ELSE f.IP.source END AS src_ip_raw,
        CASE WHEN rep THEN f.IP.source ELSE f.IP.destination END AS dst_ip_raw,
        CASE WHEN rep THEN dport ELSE sport END AS src_port_raw,
        CASE WHEN rep THEN sport ELSE dport END AS dst_port_raw,
        CASE WHEN rep THEN f.source_names ELSE f.destination_names END AS names,
        CASE WHEN rep THEN f.source_service ELSE f.destination_service END AS svc
    FROM (
        SELECT *, {swap} AS rep,
            coalesce(f.l4.TCP.source_port, f.l4.UDP.source_port, f.l4.SCTP.source_port)
                AS sport,
            coalesce(f.l4.TCP.destination_port, f.l4.UDP.destination_port,
                     f.l4.SCTP.destination_port) AS dport
        FROM classified)
    """


def stage_sql(file_no: int, compression: str) -> str:
    """``INSERT INTO _stage`` for one Hubble file; parameters ``$path`` and ``$columns``.

    ``compression`` is ``gzip`` or ``none`` (sniffed from the magic bytes by the caller).
    """
    agg = "f.aggregate"
    total = (
        f"coalesce({agg}.ingress_flow_count, 0) + coalesce({agg}.egress_flow_count, 0) "
        f"+ coalesce({agg}.unknown_direction_flow_count, 0)"
    )
    columns = [
        "CAST(stamp AS TIMESTAMP) AS time",
        *_peer_sql("src"),
        *_peer_sql("dst"),
        "CASE WHEN len(names) = 0 THEN NULL ELSE names END AS dst_names",
        f"{_nz('svc.namespace')} AS dst_service_namespace",
        f"{_nz('svc.name')} AS dst_service_name",
        "CAST(NULL AS INTEGER) AS dst_service_port",
        f"{_PROTOCOL} AS protocol",
        f"nullif({_nz('f.verdict')}, 'VERDICT_UNKNOWN') AS verdict",
        f"{_drop_reason_sql()} AS drop_reason",
        f"{_DIRECTION} AS direction",
        f"{_L7_PROTOCOL} AS l7_protocol",
        f"""CASE {_L7_PROTOCOL} WHEN 'http' THEN {_nz('f.l7.http.method')}
            WHEN 'dns' THEN {_nz("array_to_string(f.l7.dns.qtypes, ',')")}
            WHEN 'kafka' THEN {_nz('f.l7.kafka.api_key')} END AS l7_method""",
        f"""CASE {_L7_PROTOCOL} WHEN 'http' THEN {_URL_PATH}
            WHEN 'dns' THEN {_nz('f.l7.dns.query')}
            WHEN 'kafka' THEN {_nz('f.l7.kafka.topic')} END AS l7_path""",
        f"""CAST(CASE {_L7_PROTOCOL} WHEN 'http' THEN nullif(f.l7.http.code, 0)
            WHEN 'dns' THEN f.l7.dns.rcode WHEN 'kafka' THEN f.l7.kafka.error_code END
            AS INTEGER) AS l7_status""",
        "CAST(NULL AS BOOLEAN) AS mtls",
        f"coalesce({_nz('f.node_name')}, {_nz('env_node')}) AS reporter",
        f"CASE WHEN kind = 'lost' THEN coalesce(lost_events.num_events_lost, 0) "
        f"WHEN ({total}) > 0 THEN ({total}) ELSE 1 END AS count",
        f"{int(file_no)} AS file_no",
        "kind",
    ]
    select = ",\n        ".join(columns)
    return f"""
    INSERT INTO _stage
    WITH classified AS ({_classified("$path", compression)})
    SELECT {select}
    FROM ({_oriented()})
    """
