"""The Hubble mapping of :mod:`trustmap.observe.formats.hubble`, done by DuckDB's JSON reader.

Parsing JSON in DuckDB runs in parallel and without a Python object per line, several times
faster than the Python parser on large captures. One statement reads every Hubble file of a run
(plain files split across cores, gzip files one core each) and, in one pass of grouping sets,
collapses the lines into flows, lists each peer description once (flows point at it by hash, see
:mod:`trustmap.observe.schema`) and counts each file's lines by kind, so only collapsed rows are
ever held. Cilium label lists stay JSON text until they are split once per distinct list.

It is optimistic: every line must be a strict ``{"flow": ...}`` envelope (or node status / lost
events) with RFC 3339 ``Z`` times. When DuckDB rejects a line, or the classification finds a line
it cannot vouch for, the caller drops what the statement staged, reads the other files again
without that file and leaves it to the Python parser, which reports bad lines with their
numbers. Tests check that both give the same rows on every sample.
"""

from __future__ import annotations

from typing import Final

from trustmap.observe.formats.hubble import DROP_REASONS
from trustmap.observe.formats.hubble_native import DIRECTIONS, L7_PROTOCOLS, PROTOCOLS
from trustmap.observe.schema import ENDPOINT_COLUMNS, LIST_SEP, endpoint_hash, endpoint_rank

__all__ = [
    "COLUMNS",
    "COUNTS_SQL",
    "NATIVE_ENDPOINTS_SQL",
    "NATIVE_PEERS_CREATE_SQL",
    "NATIVE_PEERS_SQL",
    "NATIVE_PEERS_TABLE",
    "NATIVE_STAGE_SQL",
    "NATIVE_UNSTAGE_SQL",
    "PRUNE_SQL",
    "UNSTAGE_SQL",
    "labelset_select",
    "stage_sql",
    "url_path",
]

_ENDPOINT: Final = (
    "STRUCT(cluster_name VARCHAR, namespace VARCHAR, labels JSON, pod_name VARCHAR, "
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
"""What DuckDB reads of each line; every other field is ignored. Cilium label lists are kept as
their JSON text: they are only split once per distinct list (see :func:`labelset_select`)."""

_SEP: Final = f"chr({ord(LIST_SEP)})"
_STRICT_TIME: Final = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z"

COUNTS_SQL: Final = """
SELECT file_no,
       coalesce(sum(records) FILTER (WHERE kind = 'flow'), 0),
       coalesce(sum(records) FILTER (WHERE kind = 'skip'), 0),
       coalesce(sum(records) FILTER (WHERE kind = 'bad'), 0),
       coalesce(sum(count) FILTER (WHERE kind = 'lost'), 0),
       coalesce(sum(records) FILTER (WHERE kind = 'lost'), 0),
       coalesce(sum(anonymous), 0)
FROM _stage WHERE part = 'count' AND list_contains($files, file_no) GROUP BY file_no
"""
"""Per file of ``$files``: (file, flows, skipped, bad, lost events, lost-event lines, flows
without an address) read."""

PRUNE_SQL: Final = "DELETE FROM _stage WHERE part = 'count' OR (part = 'flow' AND kind <> 'flow')"
"""Drop the line counts and what lines that hold no flow left behind."""

UNSTAGE_SQL: Final = "DELETE FROM _stage WHERE file_no = $round OR (part = 'count' AND list_contains($files, file_no))"
"""Forget everything one statement (``$round``, reading ``$files``) staged."""


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


def _drop_reason_sql(desc_column: str = "f.drop_reason_desc", number: str = "f.drop_reason") -> str:
    """The drop reason: its description, else the name of its (deprecated) number."""
    cases = " ".join(f"WHEN {code} THEN '{name}'" for code, name in DROP_REASONS.items())
    desc = _nz(desc_column)
    return (
        f"CASE WHEN {desc} IS NOT NULL THEN nullif({desc}, 'DROP_REASON_UNKNOWN') "
        f"WHEN coalesce({number}, 0) = 0 THEN NULL "
        f"ELSE CASE {number} {cases} ELSE CAST({number} AS VARCHAR) END END"
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


def url_path(url: str) -> str:
    """SQL taking the path of the HTTP URL expression ``url``: the mirror of
    :func:`hubble.split_url` (no scheme and host, query or fragment; ``/`` when empty; NULL for
    no URL). String functions, not regular expressions: it runs on every HTTP line."""
    at = f"strpos({url}, '://')"
    rest = f"substr({url}, {at} + 3)"
    local = (
        f"CASE WHEN {at} > 1 AND NOT contains(left({url}, {at} - 1), '/') THEN "
        f"CASE WHEN strpos({rest}, '/') > 0 THEN substr({rest}, strpos({rest}, '/')) ELSE '' END "
        f"ELSE {url} END"
    )
    path = f"split_part(split_part({local}, '?', 1), '#', 1)"
    return (
        f"CASE WHEN nullif({url}, '') IS NULL THEN NULL ELSE coalesce(nullif({path}, ''), '/') END"
    )


_SIDE: Final = (*(name for name, _ in ENDPOINT_COLUMNS), "ip", "port")
_KEY: Final = ("src_ip", "src_port", "dst_ip", "dst_port", "protocol", "direction", "verdict",
               "drop_reason", "l7_protocol", "l7_method", "l7_path", "l7_status")  # fmt: skip
""":data:`trustmap.observe.schema.KEY`, of each line as printed (before a reply's sides are
swapped back: with ``direction`` in the key, grouping either way gives the same groups)."""


def _side(name: str, prefix: str) -> list[str]:
    """One side of the flow as printed (``source`` or ``destination``): its description
    (:data:`ENDPOINT_COLUMNS`, NULL where Hubble has no such field), address and port."""
    ep = f"f.{name}"
    ports = f"coalesce(f.l4.TCP.{name}_port, f.l4.UDP.{name}_port, f.l4.SCTP.{name}_port)"
    values = {
        "cluster": _nz(f"{ep}.cluster_name"),
        "namespace": _nz(f"{ep}.namespace"),
        "pod": _nz(f"{ep}.pod_name"),
        "workload": _nz(f"{ep}.workloads[1].name"),
        "workload_kind": _nz(f"{ep}.workloads[1].kind"),
        "labels_raw": f"nullif(CAST({ep}.labels AS VARCHAR), '[]')",
        "names": _nz(f"array_to_string(f.{name}_names, {_SEP})"),
        "service_namespace": _nz(f"f.{name}_service.namespace"),
        "service_name": _nz(f"f.{name}_service.name"),
    }
    kinds = dict(ENDPOINT_COLUMNS)
    short = "src" if prefix == "s" else "dst"
    return [
        *(f"{values.get(field, f'CAST(NULL AS {kinds[field]})')} AS {prefix}_{field}"
          for field, _ in ENDPOINT_COLUMNS),
        f"{_nz(f'f.IP.{name}')} AS {short}_ip",
        f"CAST(nullif({ports}, 0) AS INTEGER) AS {short}_port",
    ]  # fmt: skip


def _read(compression: str) -> str:
    """Each line as values, before the reply swap; ``kind`` classifies the line."""
    agg = "f.aggregate"
    total = (
        f"coalesce({agg}.ingress_flow_count, 0) + coalesce({agg}.egress_flow_count, 0) "
        f"+ coalesce({agg}.unknown_direction_flow_count, 0)"
    )
    l7 = _L7_PROTOCOL
    columns = [
        "when_ AS time",
        "epoch_us(when_) // $window AS bucket",
        *_side("source", "s"),
        *_side("destination", "d"),
        f"{_PROTOCOL} AS protocol",
        f"nullif({_nz('f.verdict')}, 'VERDICT_UNKNOWN') AS verdict",
        f"{_drop_reason_sql()} AS drop_reason",
        f"{_DIRECTION} AS direction",
        f"{l7} AS l7_protocol",
        f"""{
            _nz(
                f"CASE {l7} WHEN 'http' THEN f.l7.http.method "
                "WHEN 'dns' THEN array_to_string(f.l7.dns.qtypes, ',') "
                "WHEN 'kafka' THEN f.l7.kafka.api_key END"
            )
        } AS l7_method""",
        f"""CASE {l7} WHEN 'http' THEN {url_path("f.l7.http.url")}
            WHEN 'dns' THEN {_nz("f.l7.dns.query")} WHEN 'kafka' THEN {_nz("f.l7.kafka.topic")}
            END AS l7_path""",
        f"""CAST(CASE {l7} WHEN 'http' THEN nullif(f.l7.http.code, 0)
            WHEN 'dns' THEN f.l7.dns.rcode WHEN 'kafka' THEN f.l7.kafka.error_code END
            AS INTEGER) AS l7_status""",
        f"coalesce({_nz('f.node_name')}, {_nz('env_node')}) AS reporter",
        "CASE WHEN kind = 'lost' THEN coalesce(lost_events.num_events_lost, 0) "
        f"WHEN ({total}) > 0 THEN ({total}) ELSE 1 END AS count",
        "kind",
        "filename",
    ]
    labels_ok = " AND ".join(
        f"(flow.{side}.labels IS NULL OR starts_with(CAST(flow.{side}.labels AS VARCHAR), '['))"
        for side in ("source", "destination")
    )
    stamp = _nz("coalesce(nullif(flow.time, ''), \"time\")")
    return f"""
    SELECT *, {endpoint_hash("s_")} AS sh, {endpoint_hash("d_")} AS dh,
        {endpoint_rank("s_", "sh")} AS s_pick, {endpoint_rank("d_", "dh")} AS d_pick
    FROM (SELECT {", ".join(columns)} FROM (
        SELECT flow AS f, node_name AS env_node, lost_events, filename,
            CASE WHEN regexp_full_match(stamp, '{_STRICT_TIME}')
                THEN CAST(stamp AS TIMESTAMP) END AS when_,
            CASE
                WHEN flow IS NOT NULL AND (when_ IS NULL OR NOT ({labels_ok})) THEN 'bad'
                WHEN flow IS NOT NULL THEN 'flow'
                WHEN lost_events IS NOT NULL THEN 'lost'
                WHEN node_status IS NOT NULL OR agent_event IS NOT NULL
                    OR debug_event IS NOT NULL THEN 'skip'
                ELSE 'bad' END AS kind
        FROM (SELECT *, {stamp} AS stamp FROM read_json(
            $paths, format = 'newline_delimited', columns = $columns, filename = true,
            compression = '{compression}'))))
    """


_FLOWS, _SOURCES, _DESTINATIONS, _COUNTS = 7, 3, 5, 6
"""``GROUPING(sh, dh, filename)`` of each grouping set: a bit is set for a column left out."""


def _grouped() -> str:
    """In one pass: the flows collapsed, both peers' descriptions per hash, lines per file."""
    described = [name for name, _ in ENDPOINT_COLUMNS]
    who = "CASE WHEN {0}_ip IS NULL THEN {1} END"
    sets = (
        f"({', '.join(_KEY)}, src_who, dst_who, bucket, kind)",
        f"(sh, {', '.join(f's_{name}' for name in described)})",
        f"(dh, {', '.join(f'd_{name}' for name in described)})",
        "(filename, kind)",
    )
    return f"""
    SELECT {", ".join(_KEY)}, sh, dh, kind, filename,
        {", ".join(f"s_{name}, d_{name}" for name in described)},
        GROUPING(sh, dh, filename) AS grouping_set,
        min(time) AS time, max(time) AS last_time, sum(count) AS count, count(*) AS records,
        max(reporter) AS reporter, max(s_pick) AS s_pick, max(d_pick) AS d_pick,
        count(*) FILTER (WHERE kind = 'flow' AND (src_ip IS NULL OR dst_ip IS NULL))
            AS anonymous
    FROM (SELECT *, {who.format("src", "sh")} AS src_who, {who.format("dst", "dh")} AS dst_who
          FROM read)
    GROUP BY GROUPING SETS ({", ".join(sets)})
    """


def _oriented(reply: str) -> list[str]:
    """Addresses and ports oriented client → server: a reply's sides swapped back."""
    return [
        f"CASE WHEN {reply} THEN {b}_{field} ELSE {a}_{field} END AS {a}_{field}"
        for a, b in (("src", "dst"), ("dst", "src"))
        for field in ("ip", "port")
    ]


_OBSERVED: Final = ("protocol", "verdict", "drop_reason", "direction", "l7_protocol",
                    "l7_method", "l7_path", "l7_status", "reporter", "count", "records")  # fmt: skip


def _staged() -> str:
    """The groups as staged rows: flows oriented client → server, then peers and counts."""
    reply = "direction = 'reply'"
    columns = [
        f"CASE grouping_set WHEN {_FLOWS} THEN 'flow' WHEN {_COUNTS} THEN 'count' "
        "ELSE 'endpoint' END AS part",
        "kind",
        f"CASE grouping_set WHEN {_COUNTS} THEN $files[list_position($paths, filename)] "
        "ELSE $round END AS file_no",
        "time", "last_time", *_oriented(reply), *_OBSERVED, "anonymous",
        f"CASE WHEN grouping_set = {_FLOWS} THEN CASE WHEN {reply} THEN d_pick ELSE s_pick END"
        " END AS src_pick",
        f"CASE WHEN grouping_set = {_FLOWS} THEN CASE WHEN {reply} THEN s_pick ELSE d_pick END"
        " END AS dst_pick",
        f"CASE grouping_set WHEN {_SOURCES} THEN sh WHEN {_DESTINATIONS} THEN dh END AS ep",
        *(f"CASE grouping_set WHEN {_SOURCES} THEN s_{name} WHEN {_DESTINATIONS} "
          f"THEN d_{name} END AS ep_{name}" for name, _ in ENDPOINT_COLUMNS),
    ]  # fmt: skip
    return f"SELECT {', '.join(columns)} FROM grouped"


def stage_sql(compression: str) -> str:
    """``INSERT INTO _stage`` for Hubble files, collapsed as they are read; parameters
    ``$paths`` (the files), ``$files`` (their file numbers, in the same order), ``$round``
    (a negative number marking what this statement stages), ``$columns`` (:data:`COLUMNS`) and
    ``$window`` (microseconds).

    ``compression`` is ``gzip`` or ``none`` (sniffed from the magic bytes by the caller).
    """
    return f"""
    INSERT INTO _stage BY NAME
    WITH read AS ({_read(compression)}),
    grouped AS ({_grouped()})
    {_staged()}
    """


# The compiled reader's path (:mod:`hubble_native`) --------------------------------------------

NATIVE_PEERS_TABLE: Final = "_native_peers"
"""Peers the compiled reader interned: ``id``, ``role`` (``c`` described as a client, ``s`` as a
server, as the Python parser stages them), hash ``ep``, rank ``pick`` and ``ep_*``."""

NATIVE_PEERS_CREATE_SQL: Final = (
    f"CREATE OR REPLACE TEMP TABLE {NATIVE_PEERS_TABLE} (id INTEGER, role VARCHAR, ep UBIGINT, "
    "pick HUGEINT, " + ", ".join(f"ep_{name} {kind}" for name, kind in ENDPOINT_COLUMNS) + ")"
)

NATIVE_PEERS_SQL: Final = f"""
INSERT INTO {NATIVE_PEERS_TABLE}
SELECT id, role, {endpoint_hash("")} AS ep, {endpoint_rank("", endpoint_hash(""))} AS pick,
    {", ".join(name for name, _ in ENDPOINT_COLUMNS)}
FROM _native_new_peers
"""
"""Add the peers of the Arrow table ``_native_new_peers`` (``id``, ``role`` and
:data:`ENDPOINT_COLUMNS`)."""

NATIVE_ENDPOINTS_SQL: Final = f"""
INSERT INTO _stage BY NAME
SELECT DISTINCT 'endpoint' AS part, $round AS file_no, ep,
    {", ".join(f"ep_{name}" for name, _ in ENDPOINT_COLUMNS)}
FROM {NATIVE_PEERS_TABLE}
"""
"""Stage each interned peer's description once (``$round`` marks the rows)."""

NATIVE_UNSTAGE_SQL: Final = "DELETE FROM _stage WHERE file_no = $round"
"""Forget what the compiled reader staged (``$round``)."""


def _native_read() -> str:
    """Each line of the Arrow table ``_native_lines`` (:data:`hubble_native.LINE_COLUMNS`) as
    the values :func:`_read` gives, its peers' hashes and ranks joined from ``peers``
    (:data:`_NATIVE_PEERS`)."""
    protocols = " ".join(f"WHEN {i} THEN '{name}'" for i, name in enumerate(PROTOCOLS) if name)
    l7 = " ".join(f"WHEN {i} THEN '{name}'" for i, name in enumerate(L7_PROTOCOLS) if name)
    directions = " ".join(f"WHEN {i} THEN '{name}'" for i, name in enumerate(DIRECTIONS))
    status = "nullif(l.l7_status, -9223372036854775808)"
    columns = [
        "make_timestamp(l.t) AS time",
        "make_timestamp(l.last) AS last_time",
        "l.t // $window AS bucket",
        "nullif(l.src_ip, '') AS src_ip",
        "CAST(nullif(l.sport, 0) AS INTEGER) AS src_port",
        "nullif(l.dst_ip, '') AS dst_ip",
        "CAST(nullif(l.dport, 0) AS INTEGER) AS dst_port",
        f"CASE l.proto {protocols} END AS protocol",
        "nullif(nullif(l.verdict, ''), 'VERDICT_UNKNOWN') AS verdict",
        f"{_drop_reason_sql('l.drop_desc', 'l.drop_reason')} AS drop_reason",
        f"CASE l.direction {directions} END AS direction",
        f"CASE l.l7 {l7} END AS l7_protocol",
        "nullif(l.l7_method, '') AS l7_method",
        "nullif(l.l7_path, '') AS l7_path",
        f"CAST(CASE l.l7 WHEN 1 THEN nullif({status}, 0) ELSE {status} END AS INTEGER)"
        " AS l7_status",
        "nullif(l.reporter, '') AS reporter",
        "l.count",
        "l.records",
        "s.ep AS sh",
        "d.ep AS dh",
        "s.client AS s_client",
        "s.server AS s_server",
        "d.client AS d_client",
        "d.server AS d_server",
    ]
    return f"""
    SELECT {", ".join(columns)} FROM _native_lines AS l
    JOIN peers AS s ON s.id = l.src JOIN peers AS d ON d.id = l.dst
    """


_NATIVE_PEERS: Final = f"""
SELECT id, max(ep) FILTER (WHERE role = 'c') AS ep,
    max(pick) FILTER (WHERE role = 'c') AS client, max(pick) FILTER (WHERE role = 's') AS server
FROM {NATIVE_PEERS_TABLE} GROUP BY id
"""
"""Each interned peer once: its hash as a client (its identity when it has no address) and its
ranks described as a client and as a server."""


def _native_grouped() -> str:
    """The lines collapsed into flows, as the first grouping set of :func:`_grouped`."""
    who = "CASE WHEN {0}_ip IS NULL THEN {1} END"
    return f"""
    SELECT {", ".join(_KEY)}, min(time) AS time, max(last_time) AS last_time,
        sum(count) AS count, sum(records) AS records, max(reporter) AS reporter,
        max(s_client) AS s_client, max(s_server) AS s_server, max(d_client) AS d_client,
        max(d_server) AS d_server
    FROM (SELECT *, {who.format("src", "sh")} AS src_who, {who.format("dst", "dh")} AS dst_who
          FROM read)
    GROUP BY {", ".join(_KEY)}, src_who, dst_who, bucket
    """


def _native_stage_sql() -> str:
    reply = "direction = 'reply'"
    columns = [
        "'flow' AS part", "'flow' AS kind", "$round AS file_no", "time", "last_time",
        *_oriented(reply), *_OBSERVED,
        f"CASE WHEN {reply} THEN d_client ELSE s_client END AS src_pick",
        f"CASE WHEN {reply} THEN s_server ELSE d_server END AS dst_pick",
    ]  # fmt: skip
    return f"""
    INSERT INTO _stage BY NAME
    WITH peers AS ({_NATIVE_PEERS}),
    read AS ({_native_read()}),
    grouped AS ({_native_grouped()})
    SELECT {", ".join(columns)} FROM grouped
    """


NATIVE_STAGE_SQL: Final = _native_stage_sql()
"""``INSERT INTO _stage`` the rows of the Arrow table ``_native_lines`` (each already lines of
one block collapsed), collapsed further; parameters ``$round`` (the negative number marking the
compiled reader's rows) and ``$window`` (microseconds). Needs their peers in
:data:`NATIVE_PEERS_TABLE`."""
