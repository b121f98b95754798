"""Benchmark ``trustmap analyze`` against IBM's network-config-analyzer (NCA) on the same input.

For every case of ``../shared/cases/netpol`` and for a generated 10,000-pod / 2,000-policy
cluster (``benchmarks/analyze_cluster.py``) it measures, in child processes:

* engine time: after imports, load manifests + compute connectivity + print it (best of
  ``--repeat`` runs); trustmap via its library, NCA via ``nca_main(["--connectivity", ...])``;
* process time: the whole command (``trustmap analyze DIR`` / ``nca --connectivity ...``),
  interpreter start and imports included;
* peak memory: ``ru_maxrss`` of the engine child.

NCA pins old dependencies, so it lives in its own virtualenv, which ``make nca`` installs:

    make nca
    .venv/bin/python benchmarks/analyze_bench.py --markdown /tmp/analyze.md
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / ".." / "shared" / "cases" / "netpol"

_TRUSTMAP_ENGINE = """
import json, resource, sys, time
from pathlib import Path
from trustmap.analysis import analyze, load_manifests
from trustmap.report.analysis import render_connlist
best, lines = float("inf"), 0
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    cluster, _ = load_manifests([Path(sys.argv[1])])
    text = render_connlist(analyze(cluster))
    best = min(best, time.perf_counter() - start)
    lines = text.count("\\n")
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": best, "lines": lines, "maxrss_mb": rss}))
"""

_NCA_ENGINE = """
import contextlib, io, json, resource, sys, time
from nca.nca_cli import nca_main
best, lines = float("inf"), 0
for _ in range(int(sys.argv[2])):
    out = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        nca_main(["--connectivity", "--resource_list", sys.argv[1], "-o", "txt_no_fw_rules"])
    best = min(best, time.perf_counter() - start)
    lines = sum(1 for line in out.getvalue().splitlines() if " => " in line)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": best, "lines": lines, "maxrss_mb": rss}))
"""


def _child(python: Path, code: str, folder: Path, repeat: int, timeout: float) -> dict[str, Any]:
    try:
        done = subprocess.run(
            [str(python), "-c", code, str(folder), str(repeat)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"timeout": timeout}
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _process(command: list[str], timeout: float) -> float | None:
    start = time.perf_counter()
    try:
        subprocess.run(command, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None
    return time.perf_counter() - start


def measure(folder: Path, args: argparse.Namespace, repeat: int) -> dict[str, Any]:
    """Engine and process timings of both tools on one folder of manifests."""
    tm_python, nca_python = Path(args.python), Path(args.nca_python)
    row: dict[str, Any] = {
        "trustmap": _child(tm_python, _TRUSTMAP_ENGINE, folder, repeat, args.timeout),
        "trustmap_process": _process(
            [str(tm_python.parent / "trustmap"), "analyze", str(folder)], args.timeout
        ),
    }
    if nca_python.exists():
        row["nca"] = _child(nca_python, _NCA_ENGINE, folder, repeat, args.timeout)
        nca_cli = [str(nca_python.parent / "nca"), "--connectivity", "--resource_list", str(folder)]
        if "timeout" not in row["nca"]:  # a whole process would only time out again
            row["nca_process"] = _process([*nca_cli, "-o", "txt_no_fw_rules"], args.timeout)
    return row


def _cell(result: dict[str, Any] | None, key: str = "seconds", fmt: str = ".3f") -> str:
    if not result:
        return "–"
    if "timeout" in result:
        return f"> {result['timeout']:.0f} (timeout)"
    if "error" in result:
        return "error"
    return f"{result[key]:{fmt}}"


def _seconds(value: float | None, engine: dict[str, Any] | None) -> str:
    if value is not None:
        return f"{value:.2f}"
    return "timeout" if engine else "–"


def _ratio(row: dict[str, Any]) -> str:
    tm, nca = row.get("trustmap", {}), row.get("nca") or {}
    if "seconds" not in tm:
        return "–"
    if "timeout" in nca:
        return f"> {nca['timeout'] / tm['seconds']:.0f}×"
    if "seconds" not in nca:
        return "–"
    return f"{nca['seconds'] / tm['seconds']:.1f}×"


def markdown(rows: dict[str, dict[str, Any]]) -> str:
    """A results table: engine seconds, speed-up, process seconds, peak memory."""
    lines = [
        "| case | lines | trustmap engine s | NCA engine s | NCA / trustmap | "
        "trustmap process s | NCA process s | trustmap MiB | NCA MiB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, row in rows.items():
        tm, nca = row.get("trustmap", {}), row.get("nca")
        lines.append(
            f"| {name} | {tm.get('lines', '–')} | {_cell(tm)} | {_cell(nca)} | {_ratio(row)} | "
            f"{_seconds(row.get('trustmap_process'), tm)} | "
            f"{_seconds(row.get('nca_process'), nca)} | "
            f"{_cell(tm, 'maxrss_mb', '.0f')} | {_cell(nca, 'maxrss_mb', '.0f')} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--python", default=str(ROOT / ".venv" / "bin" / "python"))
    parser.add_argument("--nca-python", default=str(ROOT / ".venv-nca" / "bin" / "python"))
    parser.add_argument("--repeat", type=int, default=3, help="engine runs per case (best kept)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per tool and input")
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--policies", type=int, default=2_000)
    parser.add_argument("--skip-cases", action="store_true")
    parser.add_argument("--skip-cluster", action="store_true")
    parser.add_argument("--json", type=Path, help="write raw results here")
    parser.add_argument("--markdown", type=Path, help="write the results table here")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from analyze_cluster import generate

    rows: dict[str, dict[str, Any]] = {}
    if not args.skip_cases:
        index = json.loads((CASES / "index.json").read_text())
        for case in index["cases"]:
            if case["kind"] == "connlist":
                rows[case["name"]] = measure(CASES / case["name"] / "manifests", args, args.repeat)
                print(case["name"], json.dumps(rows[case["name"]]), flush=True)
    if not args.skip_cluster:
        with tempfile.TemporaryDirectory() as tmp:
            counts = generate(args.pods, args.policies, Path(tmp))
            name = f"generated {counts['pods']} pods / {counts['policies']} policies"
            rows[name] = measure(Path(tmp), args, 1)
            print(name, json.dumps(rows[name]), flush=True)
    table = markdown(rows)
    print(table)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, sort_keys=True))
    if args.markdown:
        args.markdown.write_text(table)


if __name__ == "__main__":
    main()
