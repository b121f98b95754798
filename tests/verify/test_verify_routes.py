"""L7 on compiled output: a route Istio cannot express exactly is widened by the compiler (TM303),
and verify reports the widening as a request allowed beyond the declarations."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from trustmap.graph import load_graph  # noqa: E402
from trustmap.verify import verify  # noqa: E402
from verify_bench import manifests  # noqa: E402

METHODS = ROOT / "tests" / "fixtures" / "compile" / "istio" / "methods" / "input"


def test_istio_prefix_widening_of_a_route_is_wider_than_declared(tmp_path: Path) -> None:
    """Istio paths are exact, prefix `abc*` or suffix `*abc` only
    (https://istio.io/latest/docs/reference/config/security/authorization-policy/), so
    `GET /items/*/reviews` compiles to `/items/*`, which also admits `GET /items/x`."""
    graph = load_graph([METHODS], dt.date(2026, 11, 23))
    workloads = manifests(graph, tmp_path / "workloads.json")
    report = verify(graph, [workloads], target="istio")
    wider = [d.message for d in report.findings if d.code == "TM405"]
    assert any(
        "shop/web[Deployment] → shop/catalog[Deployment] on 8080/TCP" in m
        and "GET /items/sample" in m
        for m in wider
    )
    assert json.loads(workloads.read_text())["kind"] == "List"


def test_cilium_keeps_the_route_exact(tmp_path: Path) -> None:
    """Cilium paths are regular expressions: `/items/.*/reviews` keeps the declared route."""
    graph = load_graph([METHODS], dt.date(2026, 11, 23))
    report = verify(graph, [manifests(graph, tmp_path / "workloads.json")], target="cilium")
    assert not [d for d in report.findings if d.code in ("TM405", "TM406")]
