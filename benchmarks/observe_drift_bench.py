"""Drift benchmark: N collapsed flow rows of the ``generate.py`` organisation, then ``drift``.

The organisation (services ``svc-N`` labelled ``app=svc-N``, two pods each) is written with
``generate.py`` and loaded; the ``flows`` table is filled by DuckDB SQL from the effective edges
(97 % of rows, 2 % of them dropped), undeclared service pairs (3 %) and egress to public
addresses, spread over 7 days. Ingestion is measured by ``observe_bench.py``; this measures
only the drift query, identity resolution and classification.

    python benchmarks/observe_drift_bench.py --rows 10000000 --work /tmp/dbench
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import generate
from trustmap.graph import load_graph
from trustmap.model import Graph
from trustmap.observe.drift import drift
from trustmap.observe.store import FlowStore

NOW = dt.datetime(2026, 11, 23)


def pairs(graph: Graph, seed: int) -> pa.Table:
    """Client/server pairs to draw rows from: declared edges, undeclared pairs, egress."""
    rng = random.Random(seed)
    services = sorted(graph.services)
    rows: list[tuple[str, str, str, str, int, float]] = []
    for edge in graph.edges:
        if edge.source.ref is not None:
            src, dst = edge.source.ref, edge.target
            rows.append((src.namespace, src.name, dst.namespace, dst.name, edge.port, 0.97))
    for _ in range(max(1, len(rows) // 30)):
        src, dst = rng.sample(services, 2)
        rows.append((src.namespace, src.name, dst.namespace, dst.name, 8080, 0.03))
    for ref in services[: max(1, len(services) // 10)]:
        rows.append((ref.namespace, ref.name, "", "", 443, 0.01))
    names = ["src_ns", "src_app", "dst_ns", "dst_app", "port", "weight"]
    return pa.Table.from_arrays([pa.array(column) for column in zip(*rows, strict=True)], names)


_FILL = """
INSERT INTO flows BY NAME
WITH p AS (SELECT *, row_number() OVER () - 1 AS i FROM pair_table),
r AS (SELECT g, (hash(g) % $pairs)::BIGINT AS i FROM range($rows) AS t(g))
SELECT 1 AS batch_id,
    TIMESTAMP '2026-11-16' + to_microseconds((g * 7919 % 604800000000)::BIGINT) AS time,
    TIMESTAMP '2026-11-16' + to_microseconds((g * 7919 % 604800000000)::BIGINT) AS last_time,
    p.src_ns AS src_namespace, p.src_app || '-pod-' || (g % 2) AS src_pod,
    ['app=' || p.src_app, 'version=v1'] AS src_labels, p.src_app AS src_service_account,
    '10.1.' || (p.i // 250) || '.' || (p.i % 250) AS src_ip, 40000 + g % 20000 AS src_port,
    nullif(p.dst_ns, '') AS dst_namespace,
    CASE WHEN p.dst_ns <> '' THEN p.dst_app || '-pod-' || (g % 2 + 1) END AS dst_pod,
    CASE WHEN p.dst_ns <> '' THEN ['app=' || p.dst_app, 'version=v1'] END AS dst_labels,
    CASE WHEN p.dst_ns = '' THEN 'world' END AS dst_entity,
    CASE WHEN p.dst_ns = '' THEN '93.184.216.' || (g % 200) ELSE '10.2.0.' || (p.i % 250)
    END AS dst_ip,
    CASE WHEN p.dst_ns = '' THEN ['api.example.com'] END AS dst_names,
    p.port AS dst_port, 'TCP' AS protocol,
    CASE WHEN g % 50 = 0 THEN 'DROPPED' ELSE 'FORWARDED' END AS verdict,
    CASE WHEN g % 50 = 0 THEN 'POLICY_DENIED' END AS drop_reason,
    CASE WHEN g % 3 = 0 THEN 'reply' ELSE 'request' END AS direction,
    'csv' AS source_format, 1 + g % 4 AS count
FROM r JOIN p ON p.i = r.i
"""


def fill(db: Path, pair_table: pa.Table, rows: int) -> None:
    """Write ``rows`` flow rows drawn uniformly from the pairs."""
    FlowStore(db).close()  # creates the schema
    con = duckdb.connect(str(db))
    con.register("pair_table", pair_table)
    con.execute(_FILL, {"rows": rows, "pairs": pair_table.num_rows})
    con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--services", type=int, default=2_000)
    parser.add_argument("--edges", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=Path, default=Path("/tmp/trustmap-drift-bench"))
    args = parser.parse_args()
    org = args.work / "org"
    generate(args.services, args.edges, org, args.seed)
    graph = load_graph([org], NOW.date())
    db = args.work / f"flows-{args.rows}.duckdb"
    if not db.exists():
        fill(db, pairs(graph, args.seed), args.rows)
    started = time.perf_counter()
    report = drift(graph, db, since=dt.timedelta(days=7), now=NOW)
    seconds = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    counts = {name: len(report.category(name)) for name in ("undeclared", "unused", "dropped")}
    counts["undeclaredEgress"] = len(report.category("undeclaredEgress"))
    print(json.dumps({"rows": args.rows, "seconds": round(seconds, 2), "rss_mib": round(rss)}))
    print(json.dumps({**counts, "flows": report.coverage.total.flows}))


if __name__ == "__main__":
    main()
