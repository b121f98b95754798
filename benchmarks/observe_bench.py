"""Flow ingestion benchmark: seeded Hubble captures of a synthetic organisation, then ``ingest``.

The organisation is the one ``generate.py`` plans (services ``svc-N`` in ``ns-T-K``, two pods
each, labelled ``app=svc-N`` with service account ``svc-N``). Each connection is written the way
Hubble prints a real capture (compare ``../shared/samples/hubble``): the SYN, SYN-ACK, data and
FIN packets each seen at two observation points on two nodes, L7 HTTP/2 request and response
records with headers for gRPC calls, DNS lookups to kube-dns, Prometheus scrapes, some
undeclared calls, some policy drops with SYN retransmits, and a few REDIRECTED verdicts.
Endpoints carry what Cilium 1.15+ prints (``cluster_name``, ``workloads``), and the local
endpoint ``ID`` only on the node hosting the pod, as real captures do. Lines average ~1.46 KB,
like the real captures in ``../shared/samples/hubble`` (1.27-1.71 KB by flow type).
``write_parts`` splits a capture into consecutive files (a rotated exporter file) written on
every core; ``observe_e2e_bench.py`` uses it.

    python benchmarks/observe_bench.py --flows 1000000 --work /tmp/flows
    python benchmarks/observe_bench.py --flows 200000 --engines duckdb python --work /tmp/flows

Each engine runs in a fresh process; wall time, records/s and that process's peak RSS are
printed as a JSON line per run and as a Markdown table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import multiprocessing
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from generate import plan

NODES = 8
EPOCH = dt.datetime(2026, 3, 2, 9, 0, 0, tzinfo=dt.UTC)

Event = tuple[float, dict[str, Any]]


class Pod:
    """One pod of the synthetic cluster and its Hubble endpoint objects.

    Hubble prints the local endpoint ``ID`` only on the node that hosts the pod; the other
    node's observation of the same packet carries the endpoint without it.
    """

    def __init__(self, number: int, namespace: str, app: str, replica: int, node: int) -> None:
        self.ip = f"10.{(number >> 16) & 255}.{(number >> 8) & 255}.{number & 255}"
        self.node = f"worker-{node:02d}"
        self.name = f"{app}-7d9f{number % 997:03d}c5b-{replica:02d}x{number % 89:02d}"
        self.remote: dict[str, Any] = {
            "identity": 20000 + number // 2,
            "cluster_name": "prod-eu-1",
            "namespace": namespace,
            "labels": [
                f"k8s:app={app}",
                "k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=" + namespace,
                "k8s:io.cilium.k8s.policy.cluster=prod-eu-1",
                f"k8s:io.cilium.k8s.policy.serviceaccount={app}",
                f"k8s:io.kubernetes.pod.namespace={namespace}",
                "k8s:version=v1",
            ],
            "pod_name": self.name,
            "workloads": [{"name": app, "kind": "Deployment"}],
        }
        self.local = {"ID": 100 + number % 4000, **self.remote}

    def endpoint(self, node: str) -> dict[str, Any]:
        """The endpoint as the Cilium agent on ``node`` prints it."""
        return self.local if node == self.node else self.remote


def cluster(services: int, edges: int, seed: int) -> tuple[list[list[Pod]], dict[int, list[int]]]:
    """Two pods per service, plus monitoring/prometheus and kube-system/kube-dns at the end."""
    names, deps = plan(services, edges, seed)
    names = [
        *names,
        ("platform", "monitoring", "prometheus"),
        ("platform", "kube-system", "kube-dns"),
    ]
    pods = [
        [Pod(2 * n + r + 1, ns, app, r, (2 * n + r) % NODES) for r in range(2)]
        for n, (_, ns, app) in enumerate(names)
    ]
    for pod in pods[-1]:
        pod.remote["labels"][0] = "k8s:k8s-app=kube-dns"
    return pods, deps


def _flow(
    t: float, src: Pod, dst: Pod, sport: int, dport: int, node: str, **extra: Any
) -> dict[str, Any]:
    return {
        "time": (EPOCH + dt.timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%S.%f000Z"),
        "verdict": "FORWARDED",
        "ethernet": {"source": "46:e5:ea:1f:95:ff", "destination": "d6:ec:b0:4a:ff:46"},
        "IP": {"source": src.ip, "destination": dst.ip, "ipVersion": "IPv4"},
        "l4": {"TCP": {"source_port": sport, "destination_port": dport}},
        "source": src.endpoint(node),
        "destination": dst.endpoint(node),
        "Type": "L3_L4",
        **extra,
    }


def _packet(
    t: float,
    src: Pod,
    dst: Pod,
    ports: tuple[int, int],
    flags: list[str],
    reply: bool,
    at_dst: bool,
) -> Event:
    node = dst.node if at_dst else src.node
    flow = _flow(t, src, dst, *ports, node)
    flow["l4"]["TCP"]["flags"] = dict.fromkeys(flags, True)
    flow.update(
        node_name=node,
        event_type={"type": 4, "sub_type": 0 if at_dst else 3},
        traffic_direction="INGRESS" if at_dst else "EGRESS",
        trace_observation_point="TO_ENDPOINT" if at_dst else "TO_STACK",
        is_reply=reply,
        Summary="TCP Flags: " + ", ".join(flags),
    )
    return t, flow


def _twice(
    t: float, src: Pod, dst: Pod, ports: tuple[int, int], flags: list[str], reply: bool
) -> list[Event]:
    """One packet as Hubble sees it: leaving the sender's node, then entering the receiver."""
    return [
        _packet(t, src, dst, ports, flags, reply, at_dst=False),
        _packet(t + 0.00004, src, dst, ports, flags, reply, at_dst=True),
    ]


def _l7(
    t: float, client: Pod, server: Pod, ports: tuple[int, int], path: str, code: int | None
) -> Event:
    response = code is not None
    src, dst = (server, client) if response else (client, server)
    sport, dport = (ports[1], ports[0]) if response else ports
    http: dict[str, Any] = {
        "method": "POST" if path.startswith("/pkg") else "GET",
        "url": f"http://{server.remote['workloads'][0]['name']}:{ports[1]}{path}",
        "protocol": "HTTP/2",
        "headers": [
            {"key": ":authority", "value": f"{server.remote['workloads'][0]['name']}:{ports[1]}"},
            {"key": "content-type", "value": "application/grpc"},
            {"key": "user-agent", "value": "grpc-go/1.62.1"},
            {"key": "x-request-id", "value": f"{int(t * 1e6) % 999983:06d}-4b1e-9c6a-0242ac120002"},
        ],
    }
    if response:
        http["code"] = code
    flow = _flow(t, src, dst, sport, dport, client.node)
    flow.update(
        Type="L7",
        node_name=client.node,
        l7={"type": "RESPONSE" if response else "REQUEST", "latency_ns": "1200000", "http": http},
        event_type={"type": 129},
        traffic_direction="EGRESS",
        is_reply=response,
        Summary=f"HTTP/2 {f'{code} ' if response else ''}POST {http['url']}",
    )
    return t, flow


def connection(
    rng: random.Random, t: float, client: Pod, server: Pod, port: int, path: str | None
) -> list[Event]:
    """The events of one TCP connection: handshake, data, optional L7 call, close."""
    ports = (rng.randrange(32768, 60999), port)
    back = (port, ports[0])
    events = [*_twice(t, client, server, ports, ["SYN"], False)]
    events += _twice(t + 0.0002, server, client, back, ["SYN", "ACK"], True)
    events += _twice(t + 0.0004, client, server, ports, ["ACK"], False)
    if path is not None:
        events.append(_l7(t + 0.0006, client, server, ports, path, None))
    events += _twice(t + 0.0008, client, server, ports, ["ACK", "PSH"], False)
    events += _twice(t + 0.0020, server, client, back, ["ACK", "PSH"], True)
    if path is not None:
        events.append(_l7(t + 0.0022, client, server, ports, path, 200))
    events += _twice(t + 0.0030, client, server, ports, ["ACK", "FIN"], False)
    events += _twice(t + 0.0032, server, client, back, ["ACK", "FIN"], True)
    return events


def dropped(rng: random.Random, t: float, client: Pod, server: Pod, port: int) -> list[Event]:
    """A connection denied by policy at the server: the SYN and its two retransmits."""
    ports = (rng.randrange(32768, 60999), port)
    events: list[Event] = []
    for retry in (0.0, 1.0, 3.0):
        events.append(_packet(t + retry, client, server, ports, ["SYN"], False, at_dst=False))
        when, flow = _packet(t + retry + 0.00004, client, server, ports, ["SYN"], False, True)
        flow.update(verdict="DROPPED", drop_reason=133, drop_reason_desc="POLICY_DENIED",
                    event_type={"type": 1, "sub_type": 133})  # fmt: skip
        flow.pop("trace_observation_point")
        events.append((when, flow))
    return events


def dns(rng: random.Random, t: float, client: Pod, resolver: Pod, target: str) -> list[Event]:
    """A DNS lookup through the proxy: query and answer."""
    sport = rng.randrange(32768, 60999)
    out = []
    for response in (False, True):
        src, dst = (resolver, client) if response else (client, resolver)
        ports = (53, sport) if response else (sport, 53)
        flow = _flow(t + (0.0005 if response else 0), src, dst, *ports, client.node)
        flow["l4"] = {"UDP": flow["l4"]["TCP"]}
        query = {
            "query": f"{target}.svc.cluster.local.",
            "observation_source": "proxy",
            "qtypes": ["A"],
        }
        if response:
            query.update(ips=["10.96.0.10"], ttl=30, rrtypes=["A"])
        flow.update(Type="L7", node_name=client.node, event_type={"type": 129},
                    l7={"type": "RESPONSE" if response else "REQUEST", "dns": query},
                    traffic_direction="EGRESS", is_reply=response,
                    Summary=f"DNS {'Answer' if response else 'Query'} {query['query']} A")  # fmt: skip
        out.append((t, flow))
    return out


LINES_PER_SECOND = 29_000
"""About how many lines the traffic mix below makes per second of capture (2,000 connections/s)."""


def events(
    flows: int, services: int, edges: int, seed: int, part: int = 0
) -> Iterator[dict[str, Any]]:
    """About ``flows`` Hubble flow objects, in the order a capture would print them.

    ``part`` numbers consecutive stretches of one capture (rotated files): each has its own
    random stream and starts where the previous one ends on average.
    """
    rng = random.Random(seed * 1_000_003 + part)
    pods, deps = cluster(services, edges, seed)
    prometheus, resolver = pods[-2][0], pods[-1][0]
    callers = [n for n in range(services) if deps[n]]
    t, written = part * flows / LINES_PER_SECOND, 0
    while written < flows:
        t += rng.expovariate(2000.0)
        roll = rng.random()
        source = rng.choice(callers)
        client = rng.choice(pods[source])
        if roll < 0.05:
            batch = dns(rng, t, client, resolver, f"svc-{rng.choice(deps[source])}")
        elif roll < 0.10:
            server = rng.choice(pods[rng.randrange(services)])
            batch = connection(rng, t, prometheus, server, 9090, "/metrics")
        elif roll < 0.12:
            batch = dropped(rng, t, client, rng.choice(pods[rng.randrange(services)]), 8080)
        else:
            target = rng.choice(deps[source]) if roll < 0.97 else rng.randrange(services)
            path = f"/pkg{target}.Api/Get" if rng.random() < 0.7 else None
            batch = connection(rng, t, client, rng.choice(pods[target]), 8080, path)
            if roll > 0.995:
                batch[0][1]["verdict"] = "REDIRECTED"
        for _, flow in batch:
            yield flow
        written += len(batch)


def write_capture(
    path: Path, flows: int, services: int, edges: int, seed: int, part: int = 0, gz: bool = False
) -> None:
    """``hubble observe -o json`` lines (gzip -6 when ``gz`` or the name ends in .gz)."""
    with gzip.open(path, "wb", 6) if gz or path.suffix == ".gz" else path.open("wb") as out:
        handle: IO[bytes] = out
        for count, flow in enumerate(events(flows, services, edges, seed, part)):
            if count >= flows:
                break
            line = {"flow": flow, "node_name": flow["node_name"], "time": flow["time"]}
            handle.write(orjson.dumps(line) + b"\n")


def _write_part(job: tuple[Path, int, int, int, int, int]) -> Path:
    path, flows, services, edges, seed, part = job
    tmp = path.with_name(path.name + ".partial")
    write_capture(tmp, flows, services, edges, seed, part, gz=path.suffix == ".gz")
    tmp.rename(path)
    return path


def write_parts(
    folder: Path, flows: int, services: int, edges: int, seed: int, parts: int, compress: bool
) -> list[Path]:
    """A capture of ``flows`` lines split into ``parts`` consecutive files (the way the Hubble
    exporter rotates its file), written on every core; files already there are kept."""
    folder.mkdir(parents=True, exist_ok=True)
    sizes = [flows // parts + (1 if k < flows % parts else 0) for k in range(parts)]
    suffix = ".jsonl.gz" if compress else ".jsonl"
    paths = [folder / f"hubble-{k:03d}-of-{parts:03d}{suffix}" for k in range(parts)]
    jobs = [
        (path, size, services, edges, seed, k)
        for k, (path, size) in enumerate(zip(paths, sizes, strict=True))
        if not path.exists()
    ]
    if jobs:
        with multiprocessing.Pool(min(len(jobs), os.cpu_count() or 1)) as pool:
            pool.map(_write_part, jobs, chunksize=1)
    return paths


_CHILD = """
import json, resource, sys, time
from trustmap.observe import ingest
start = time.perf_counter()
report = ingest([sys.argv[1]], "hubble", sys.argv[2], engine=sys.argv[3])
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "read": report.read, "stored": report.stored,
                  "duplicates": report.duplicates, "malformed": report.malformed,
                  "engines": sorted({f.engine for f in report.files}),
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(capture: Path, engine: str, work: Path) -> dict[str, Any]:
    """Ingest ``capture`` into a fresh database in a child process."""
    db = work / f"bench-{engine}.duckdb"
    for stale in (db, db.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(capture), str(db), engine],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result.update(engine=engine, records_per_s=result["read"] / result["seconds"])
    result["db_mb"] = db.stat().st_size / 2**20
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=1_000_000)
    parser.add_argument("--services", type=int, default=2_000)
    parser.add_argument("--edges", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--gzip", action="store_true", help="write and ingest a .gz capture")
    parser.add_argument("--engines", nargs="+", default=["duckdb"], choices=["duckdb", "python"])
    parser.add_argument("--work", type=Path, default=Path("/tmp/trustmap-observe-bench"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    name = f"hubble-{args.flows}-{args.services}-{args.edges}-{args.seed}.jsonl"
    capture = args.work / (name + (".gz" if args.gzip else ""))
    if not capture.exists():
        start = time.perf_counter()
        write_capture(capture, args.flows, args.services, args.edges, args.seed)
        print(f"wrote {capture} ({capture.stat().st_size / 2**20:.0f} MiB) "
              f"in {time.perf_counter() - start:.1f} s", file=sys.stderr)  # fmt: skip
    rows = []
    for engine in args.engines:
        result = measure(capture, engine, args.work)
        print(json.dumps(result))
        rows.append(result)
    print("\n| engine | records | seconds | records/s | peak RSS MiB | rows stored | db MiB |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['engine']} | {r['read']:,} | {r['seconds']:.1f} | {r['records_per_s']:,.0f} "
              f"| {r['maxrss_mb']:.0f} | {r['stored']:,} | {r['db_mb']:.0f} |")  # fmt: skip


if __name__ == "__main__":
    main()
