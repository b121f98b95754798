"""Run every benchmark in turn, as recorded in benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/run.py                 # all
    .venv/bin/python benchmarks/run.py core compile    # some

The analyze benchmark compares with network-config-analyzer, which needs its own venv
(``python3 -m venv .venv-nca && .venv-nca/bin/pip install network-config-analyzer==2.1.0``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = {
    "core": ["core_bench.py"],
    "compile": ["compile_bench.py"],
    "analyze": ["analyze_bench.py"],
    "observe": ["observe_bench.py"],
    "observe-e2e": ["observe_e2e_bench.py"],
    "registry": ["registry_bench.py"],
}


def main() -> int:
    chosen = sys.argv[1:] or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
        return 2
    failed = []
    for name in chosen:
        script = HERE / BENCHMARKS[name][0]
        if not script.exists():
            print(f"== {name}: {script.name} is missing")
            failed.append(name)
            continue
        print(
            f"== {name}: {' '.join([sys.executable, str(script), *BENCHMARKS[name][1:]])}",
            flush=True,
        )
        if subprocess.call([sys.executable, str(script), *BENCHMARKS[name][1:]]) != 0:
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
