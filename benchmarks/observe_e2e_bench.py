"""End-to-end observe benchmark: seeded Hubble capture → ``trustmap observe ingest`` → ``trustmap drift``.

The issue 6 target: ingest + drift of 10 million Hubble flows in under 60 s with memory under
2 GiB on one 2-core machine. The organisation is ``generate.py``'s (2,000 services, 10,000
dependencies by default); the capture is ``observe_bench.py``'s ``hubble observe -o jsonpb``
lines of that organisation (every packet at two observation points on two nodes, L7 HTTP/2 and
DNS records, Prometheus scrapes, undeclared calls, policy drops), split into ``--parts``
consecutive files the way the Hubble exporter rotates its file. Captures are written once per
(flows, parts, seed, compression) under ``--work`` and reused.

Each stage is the real command in a fresh process; wall time, CPU time (user + system) and
that process's peak RSS are printed per stage, with the load average before and after.
The 10 M capture takes 13.6 GiB of disk plain (0.4 GiB with ``--gzip``) and ~5 minutes to
write on two cores; ``--delete`` removes it afterwards.

    python benchmarks/observe_e2e_bench.py --flows 10000000
    python benchmarks/observe_e2e_bench.py --flows 10000000 --gzip
    python benchmarks/observe_e2e_bench.py --flows 1000000 --parts 2 --work /tmp/e2e-small
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import generate
from observe_bench import write_parts

NOW = "2026-03-02"
"""The capture's day (``observe_bench.EPOCH``): drift judges expiry as of this date."""


def run_stage(name: str, command: list[str], work: Path) -> dict[str, Any]:
    """Run one command; its wall and CPU seconds, peak RSS and exit status."""
    load = os.getloadavg()[0]
    out, err = work / f"{name}.stdout", work / f"{name}.stderr"
    started = time.perf_counter()
    with out.open("wb") as stdout, err.open("wb") as stderr:
        child = subprocess.Popen(command, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        sys.exit(f"{name} failed ({code}): {' '.join(command)}\n{err.read_text()[-2000:]}")
    return {
        "stage": name,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "rss_mib": round(usage.ru_maxrss / 1024),
        "exit": code,
        "load_before": round(load, 2),
        "stdout": out.read_text(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=10_000_000)
    parser.add_argument("--parts", type=int, default=10, help="capture files (rotated)")
    parser.add_argument("--services", type=int, default=2_000)
    parser.add_argument("--edges", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--gzip", action="store_true", help="gzip-compressed capture files")
    parser.add_argument("--work", type=Path, default=Path("/tmp/trustmap-e2e-bench"))
    parser.add_argument("--delete", action="store_true", help="delete the capture afterwards")
    args = parser.parse_args()
    trustmap = [sys.executable, "-m", "trustmap"]
    org = args.work / f"org-{args.services}-{args.edges}-{args.seed}"
    if not org.exists():
        generate(args.services, args.edges, org, args.seed)
    name = f"capture-{args.flows}-{args.parts}-{args.seed}{'-gz' if args.gzip else ''}"
    started = time.perf_counter()
    parts = write_parts(
        args.work / name, args.flows, args.services, args.edges, args.seed, args.parts, args.gzip
    )
    size = sum(p.stat().st_size for p in parts)
    print(f"capture: {len(parts)} files, {size / 2**30:.2f} GiB, {size / args.flows:.0f} bytes "
          f"per flow (ready in {time.perf_counter() - started:.0f} s)", file=sys.stderr)  # fmt: skip
    db = args.work / "flows.duckdb"
    for stale in (db, db.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    ingest = run_stage(
        "ingest",
        [*trustmap, "observe", "ingest", *map(str, parts), "--format", "hubble",
         "--db", str(db), "-o", "json"],
        args.work,
    )  # fmt: skip
    drift = run_stage(
        "drift",
        [*trustmap, "drift", str(org), "--db", str(db), "--since", "7d", "--now", NOW,
         "--format", "json", "-o", str(args.work / "drift.json")],
        args.work,
    )  # fmt: skip
    report(args, size, ingest, drift, db)
    if args.delete:
        shutil.rmtree(args.work / name)


def report(
    args: argparse.Namespace, size: int, ingest: dict[str, Any], drift: dict[str, Any], db: Path
) -> None:
    """Print the stages as JSON lines and as a Markdown table."""
    counts = json.loads(ingest.pop("stdout"))
    drift.pop("stdout")
    findings = json.loads((args.work / "drift.json").read_text())
    entries = {k: len(v) for k, v in findings.items() if isinstance(v, list)}
    total = ingest["seconds"] + drift["seconds"]
    summary = {
        "flows": args.flows, "files": args.parts, "gzip": args.gzip,
        "capture_gib": round(size / 2**30, 2), "bytes_per_flow": round(size / args.flows),
        "read": counts["read"], "stored": counts["stored"], "malformed": counts["malformed"],
        "db_mib": round(db.stat().st_size / 2**20), "drift_entries": entries,
        "total_seconds": round(total, 2), "peak_rss_mib": max(ingest["rss_mib"], drift["rss_mib"]),
        "load_after": round(os.getloadavg()[0], 2),
    }  # fmt: skip
    for line in (ingest, drift, summary):
        print(json.dumps(line))
    print("\n| stage | seconds | CPU s | peak RSS MiB | load before |")
    print("|---|---|---|---|---|")
    for stage in (ingest, drift):
        print(f"| {stage['stage']} | {stage['seconds']:.1f} | {stage['cpu_seconds']:.1f} "
              f"| {stage['rss_mib']} | {stage['load_before']} |")  # fmt: skip
    print(f"| **total** | **{total:.1f}** | {ingest['cpu_seconds'] + drift['cpu_seconds']:.1f} "
          f"| {summary['peak_rss_mib']} | |")  # fmt: skip


if __name__ == "__main__":
    main()
