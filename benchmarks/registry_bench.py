"""Registry benchmark: 10,000 services and ~50,000 dependencies stored; read latency and push time.

    python benchmarks/registry_bench.py                       # SQLite under a temporary folder
    python benchmarks/registry_bench.py --database-url postgresql://postgres@127.0.0.1:5432/bench

The registry runs as a separate process (``trustmap serve``), the client here talks to it over
loopback. Targets (issue 7): p99 of reading a service page and its callers under 100 ms; a full
push of a 200-service team under 2 s.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import registry_org
from registry_load import percentile

ADMIN = "bench-admin-token-for-benchmarks-Zr9LwT4n"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    env = {**os.environ, "TRUSTMAP_ADMIN_TOKEN": ADMIN}
    trustmap = Path(sys.executable).with_name("trustmap")
    process = subprocess.Popen(
        [str(trustmap), "serve", "--database-url", url, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/api/v1/health").status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the registry did not start")


def _put(
    http: httpx.Client, team: str, content: str, name: str = "services.yaml"
) -> httpx.Response:
    answer = http.put(
        f"/api/v1/teams/{team}/declarations",
        json={"files": [{"path": name, "content": content}]},
        headers={"Authorization": f"Bearer {ADMIN}", "If-Match": "*"},
    )
    if answer.status_code != 200:
        raise SystemExit(f"push of {team} failed: {answer.status_code} {answer.text[:300]}")
    return answer


def populate(http: httpx.Client, org: registry_org.Org) -> float:
    """Platform files, then every team without and with dependencies; returns seconds."""
    start = time.perf_counter()
    platform = [{"path": p, "content": c} for p, c in org.platform.items()]
    answer = http.put(
        "/api/v1/teams/platform/declarations",
        json={"files": platform},
        headers={"Authorization": f"Bearer {ADMIN}", "If-Match": "*"},
    )
    answer.raise_for_status()
    for contents in (org.bare, org.full):
        for team, content in contents.items():
            _put(http, team, content)
    return time.perf_counter() - start


def reads(http: httpx.Client, org: registry_org.Org, count: int, seed: int) -> list[float]:
    """Milliseconds of ``count`` service-page and callers reads of random services."""
    rng = random.Random(seed)
    times = []
    for n in range(count):
        _, namespace, name = rng.choice(org.refs)
        path = f"/api/v1/services/{namespace}/{name}" + ("/callers" if n % 2 else "")
        start = time.perf_counter()
        answer = http.get(path)
        times.append((time.perf_counter() - start) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"read {path} failed: {answer.status_code}")
    return times


def pushes(http: httpx.Client, org: registry_org.Org, team: str, count: int) -> list[float]:
    """Seconds of ``count`` full pushes of ``team`` (each changes one reason, so nothing is skipped)."""
    times = []
    for n in range(count):
        content = org.full[team].replace("reads what it needs", f"reads what it needs (rev {n})", 1)
        start = time.perf_counter()
        _put(http, team, content)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--edges", type=int, default=50_000)
    parser.add_argument("--team-size", type=int, default=200)
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="trustmap-bench-")
    url = args.database_url or f"sqlite:///{folder}/registry.db"
    org = registry_org.build(args.services, args.edges, args.team_size)
    process, base = _start(url)
    try:
        with httpx.Client(base_url=base, timeout=600) as http:
            loaded = populate(http, org)
            start = time.perf_counter()
            graph = http.get("/api/v1/coverage").json()["totals"]
            first = time.perf_counter() - start
            read_ms = reads(http, org, args.reads, seed=1)
            push_s = pushes(http, org, "team-7", 5)
            start = time.perf_counter()
            http.get(f"/api/v1/services/{org.refs[0][1]}/{org.refs[0][2]}")
            rebuild = time.perf_counter() - start
            after_ms = reads(http, org, args.reads // 2, seed=2)
    finally:
        process.terminate()
        process.wait(timeout=30)
    backend = url.split(":")[0].split("+")[0]
    print(
        f"registry on {backend}: {graph['services']} services, {graph['dependencies']} dependencies, "
        f"{graph['edges']} allowed flows, {graph['errors']} errors"
    )
    print(f"  populate ({1 + 2 * len(org.full)} pushes over HTTP): {loaded:.1f} s")
    print(f"  first read after populating (merged graph built): {first:.1f} s")
    print(
        f"  service page + callers, {len(read_ms)} reads: p50 {statistics.median(read_ms):.1f} ms, "
        f"p99 {percentile(read_ms, 0.99):.1f} ms, max {max(read_ms):.1f} ms"
    )
    print(
        f"  full push of a {args.team_size}-service team (5 pushes): median {statistics.median(push_s):.2f} s, "
        f"max {max(push_s):.2f} s"
    )
    print(
        f"  first read after a push (graph rebuilt): {rebuild:.1f} s; then p99 {percentile(after_ms, 0.99):.1f} ms"
    )


if __name__ == "__main__":
    main()
