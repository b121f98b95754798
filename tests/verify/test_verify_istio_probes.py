"""Istio probes of a workload that turns the probe rewrite off, end to end: compile, verify, mutate.

The istio output relies on the injector rewriting kubelet probes to the pilot-agent (on by
default, https://istio.io/latest/docs/ops/configuration/mesh/app-health-check/). A pod template
annotated ``sidecar.istio.io/rewriteAppHTTPProbers: "false"`` keeps its probes as written: the
kubelet sends them in plain text, without a mesh identity, to the app port, where the sidecar's
inbound listener captures them. So the output leaves each probe port PERMISSIVE and admits exactly
the probe requests with a rule without ``from`` (see ``trustmap.dialects.istio_probes``), and
verify's evaluator, written apart from the compiler, judges the probe through the listener (mTLS
mode of the port, then authorization without a principal). Dropping either half of what the
output opens is a blocked probe (TM409) naming it.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from shop_org import shop_declarations, shop_manifests
from trustmap.cli import cli
from trustmap.dialects import compile_graph
from trustmap.dialects.workloads import read_workloads
from trustmap.graph import load_graph
from trustmap.verify import verify

TODAY = dt.date(2026, 11, 1)
DECLARATIONS = shop_declarations(
    '{name: http, port: 8080, appProtocol: http, methods: ["GET /items"], consumers: [shop/web]}',
    "  environments:\n"
    "    - {name: prod, mode: enforce, namespaces: [shop]}\n"
    "    - {name: staging, mode: audit, namespaces: [shop]}\n",
)
MANIFESTS = shop_manifests(
    """\
    metadata:
      labels: {app: api}
      annotations: {sidecar.istio.io/rewriteAppHTTPProbers: "false"}
    spec:
      serviceAccountName: api
      containers:
        - name: api
          image: api
          ports: [{containerPort: 8080}, {containerPort: 9090}]
          readinessProbe: {httpGet: {path: "/ready?full=1", port: 8080}}
          livenessProbe: {grpc: {port: 9090}}
          startupProbe: {tcpSocket: {port: 8080}}
"""
)
API = "shop/api[Deployment]"

Objects = list[dict[str, Any]]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """``decl.yaml`` and ``manifests/shop.yaml`` of the org above, under ``tmp_path``."""
    (tmp_path / "decl.yaml").write_text(DECLARATIONS)
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "shop.yaml").write_text(MANIFESTS)
    return tmp_path


def run_verify(tree: Path, *args: str) -> tuple[int, list[dict[str, Any]]]:
    result = CliRunner().invoke(
        cli,
        [
            "verify",
            str(tree / "decl.yaml"),
            "--manifests",
            str(tree / "manifests"),
            "--target",
            "istio",
            "--now",
            TODAY.isoformat(),
            "--format",
            "json",
            *args,
        ],
    )
    return result.exit_code, json.loads(result.stdout or "[]")


def test_compiled_istio_output_lets_the_probes_through_and_allows_exactly_the_declared_calls(
    tree: Path,
) -> None:
    """Enforce: verify compiles with the manifests' workloads and finds nothing: the probes pass
    (no TM409), and the probe routes open to plain-text callers are platform traffic, not a
    widening (no TM413/TM405), also when the probe path carries a query string (paths match
    without it: https://istio.io/latest/docs/reference/config/security/normalization/)."""
    code, found = run_verify(tree, "--environment", "prod")
    assert code == 0, found
    assert found == []


def test_in_an_audit_namespace_the_probes_are_not_would_deny(tree: Path) -> None:
    """Audit: PERMISSIVE mTLS and dry-run policies; the dry-run allow-nothing policy would deny
    a probe the service's dry-run policy did not name, so the probe rule is compiled there too and
    no probe is reported would-deny (TM409 with "audit")."""
    _, found = run_verify(tree, "--environment", "staging")
    assert not [d for d in found if d["code"] in ("TM409", "TM407")]


def compiled(tree: Path) -> Objects:
    graph = load_graph([tree / "decl.yaml"], TODAY)
    workloads, _ = read_workloads(graph, [tree / "manifests"])
    out = []
    for namespace, obj in compile_graph(graph, "istio", "prod", workloads).objects:
        raw = copy.deepcopy(dict(obj))
        raw["metadata"].setdefault("namespace", namespace)
        out.append(raw)
    return out


def blocked_probes(tree: Path, objects: Objects, name: str) -> list[str]:
    """The TM409 messages of verify on ``objects`` written as a policy folder."""
    folder = tree / name
    folder.mkdir()
    (folder / "policies.yaml").write_text(yaml.safe_dump_all(objects, sort_keys=False))
    graph = load_graph([tree / "decl.yaml"], TODAY)
    report = verify(
        graph, [tree / "manifests"], target="istio", policies_paths=[folder], environment="prod"
    )
    return [d.message for d in report.findings if d.code == "TM409"]


def named(objects: Objects, kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def drop_probe_rule(objects: Objects) -> None:
    """The rule without ``from`` that names GET /ready on 8080 goes."""
    rules = named(objects, "AuthorizationPolicy", "api")["spec"]["rules"]
    rules[:] = [r for r in rules if "/ready" not in json.dumps(r)]


def drop_port_level_permissive(objects: Objects) -> None:
    """The probe ports fall back to the namespace's STRICT mTLS."""
    objects.remove(named(objects, "PeerAuthentication", "api-plaintext"))


@pytest.mark.parametrize(
    ("mutate", "probe", "why"),
    [
        (drop_probe_rule, "on 8080/TCP (httpGet /ready?full=1)", "no ALLOW policy matches"),
        (drop_port_level_permissive, "on 8080/TCP (httpGet /ready?full=1)", "STRICT mTLS"),
        (drop_port_level_permissive, "on 9090/TCP (grpc /grpc.health.v1.Health/Check)", "STRICT"),
    ],
)
def test_dropping_what_the_probes_need_blocks_them_and_names_the_probe(
    tree: Path, mutate: Callable[[Objects], None], probe: str, why: str
) -> None:
    objects = compiled(tree)
    assert blocked_probes(tree, objects, "exact") == []
    mutate(objects)
    found = [m for m in blocked_probes(tree, objects, "mutated") if probe in m]
    assert len(found) == 1
    assert f"kubelet probe of {API}" in found[0]
    assert why in found[0]


def test_with_the_rewrite_on_nothing_is_opened_and_every_probe_passes(tree: Path) -> None:
    """The annotation ``"true"`` (or none) keeps the default: probes go to the agent, the output
    opens nothing, and verify finds the probes unblocked under STRICT mTLS."""
    manifests = tree / "manifests" / "shop.yaml"
    manifests.write_text(MANIFESTS.replace('Probers: "false"', 'Probers: "true"'))
    objects = compiled(tree)
    assert not [o for o in objects if o["metadata"]["name"] == "api-plaintext"]
    assert blocked_probes(tree, objects, "rewritten") == []


def test_an_https_probe_with_the_rewrite_off_is_reported_blocked_at_its_line(tree: Path) -> None:
    """Compile cannot admit an HTTPS probe without opening its whole port (TM327), and verify's
    evaluator, on its own reading (one-way TLS meets STRICT mTLS on that port), finds it refused:
    TM409 located at the probe in the manifest."""
    https = "livenessProbe: {httpGet: {path: /live, port: 9090, scheme: HTTPS}}"
    (tree / "manifests" / "shop.yaml").write_text(
        MANIFESTS.replace("livenessProbe: {grpc: {port: 9090}}", https)
    )
    code, found = run_verify(tree, "--environment", "prod")
    (blocked,) = [d for d in found if d["code"] == "TM409"]
    assert code == 1
    assert "on 9090/TCP (httpGet HTTPS /live)" in blocked["message"]
    assert blocked["file"].endswith("shop.yaml")
    assert (
        blocked["line"]
        == MANIFESTS.splitlines().index("          livenessProbe: {grpc: {port: 9090}}") + 1
    )
