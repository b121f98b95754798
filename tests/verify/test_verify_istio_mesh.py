"""Istio installed with the probe rewrite off, and ports the sidecar does not capture, end to end.

Sources of the rules these tests rely on:

* The injector rewrites a pod's probes when its ``sidecar.istio.io/rewriteAppHTTPProbers``
  annotation says so as Go's ``strconv.ParseBool`` reads it, and otherwise as the install says:
  ``values.sidecarInjectorWebhook.rewriteAppHTTPProbe``, true by default (istio/istio
  ``pkg/kube/inject/app_probe.go`` ``ShouldRewriteAppHTTPProbers``;
  ``manifests/charts/istio-control/istio-discovery/values.yaml``). The Organization declares the
  install as ``spec.istio.rewriteAppProbers``.
* The injection template hands ``traffic.sidecar.istio.io/includeInboundPorts`` (default ``*``)
  and ``traffic.sidecar.istio.io/excludeInboundPorts`` to istio-iptables, which redirects every
  inbound port but the excluded ones (or only the included ones) to the sidecar
  (``tools/istio-iptables/pkg/capture/run.go`` ``handleInboundPortsInclude``): a connection to
  an excluded port reaches the app directly, past mTLS and every AuthorizationPolicy.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
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
    "  istio: {rewriteAppProbers: false}\n"
    "  environments:\n"
    "    - {name: prod, mode: enforce, namespaces: [shop]}\n",
)
TEMPLATE = """\
    metadata:
      labels: {app: api}
      annotations: {ANNOTATIONS}
    spec:
      serviceAccountName: api
      containers:
        - name: api
          image: api
          ports: [{containerPort: 8080}, {containerPort: 9090}]
          readinessProbe: {httpGet: {path: /ready, port: 8080}}
          livenessProbe: {grpc: {port: 9090}}
"""
API = "shop/api[Deployment]"
Objects = list[dict[str, Any]]


def write_tree(tmp_path: Path, annotations: str = "{}") -> Path:
    """``decl.yaml`` (mesh installed with the rewrite off) and the manifests, the api pod
    template carrying ``annotations`` (a flow mapping)."""
    (tmp_path / "decl.yaml").write_text(DECLARATIONS)
    (tmp_path / "manifests").mkdir()
    template = TEMPLATE.replace("{ANNOTATIONS}", annotations)
    (tmp_path / "manifests" / "shop.yaml").write_text(shop_manifests(template))
    return tmp_path


def run_verify(tree: Path) -> tuple[int, list[dict[str, Any]]]:
    args = ["verify", str(tree / "decl.yaml"), "--manifests", str(tree / "manifests")]
    args += ["--target", "istio", "--now", TODAY.isoformat(), "--environment", "prod"]
    result = CliRunner().invoke(cli, [*args, "--format", "json"])
    return result.exit_code, json.loads(result.stdout or "[]")


def compiled(tree: Path) -> Objects:
    graph = load_graph([tree / "decl.yaml"], TODAY)
    workloads, _ = read_workloads(graph, [tree / "manifests"])
    out = []
    for namespace, obj in compile_graph(graph, "istio", "prod", workloads).objects:
        raw = copy.deepcopy(dict(obj))
        raw["metadata"].setdefault("namespace", namespace)
        out.append(raw)
    return out


def findings(tree: Path, objects: Objects, code: str) -> list[str]:
    """The ``code`` messages of verify on ``objects`` written as a policy folder."""
    folder = tree / "policies"
    folder.mkdir(exist_ok=True)
    (folder / "policies.yaml").write_text(yaml.safe_dump_all(objects, sort_keys=False))
    graph = load_graph([tree / "decl.yaml"], TODAY)
    report = verify(
        graph, [tree / "manifests"], target="istio", policies_paths=[folder], environment="prod"
    )
    return [d.message for d in report.findings if d.code == code]


def test_on_a_mesh_without_the_rewrite_compiled_output_lets_every_probe_through_exactly(
    tmp_path: Path,
) -> None:
    """No annotation on the pods: the install's default (off) holds, so the probes reach the app
    ports in plain text; the output opens exactly them and verify finds nothing."""
    tree = write_tree(tmp_path)
    code, found = run_verify(tree)
    assert (code, found) == (0, [])
    permissive = [o for o in compiled(tree) if o["metadata"]["name"] == "api-plaintext"]
    assert permissive[0]["spec"]["portLevelMtls"] == {
        "8080": {"mode": "PERMISSIVE"},
        "9090": {"mode": "PERMISSIVE"},
    }


def test_dropping_the_probe_rule_on_such_a_mesh_blocks_the_probe(tmp_path: Path) -> None:
    """The evaluator reads the mesh default from the Organization too: without the rule the
    plain-text probe meets the allow-list and is refused (TM409 naming it)."""
    tree = write_tree(tmp_path)
    objects = compiled(tree)
    policy = next(o for o in objects if o["metadata"]["name"] == "api" and "rules" in o["spec"])
    policy["spec"]["rules"] = [r for r in policy["spec"]["rules"] if "/ready" not in json.dumps(r)]
    (blocked,) = findings(tree, objects, "TM409")
    assert f"kubelet probe of {API}" in blocked
    assert "on 8080/TCP (httpGet /ready)" in blocked


def test_a_pod_that_annotates_the_rewrite_on_needs_nothing_on_such_a_mesh(tmp_path: Path) -> None:
    """The annotation, parsed as ``strconv.ParseBool`` reads it (``"1"`` is true), wins over the
    install's default: the probes go to the agent and nothing is opened."""
    tree = write_tree(tmp_path, '{sidecar.istio.io/rewriteAppHTTPProbers: "1"}')
    objects = compiled(tree)
    assert not [o for o in objects if o["metadata"]["name"] == "api-plaintext"]
    assert findings(tree, objects, "TM409") == []


@pytest.mark.parametrize(
    "annotation",
    [
        'traffic.sidecar.istio.io/excludeInboundPorts: "8080"',
        'traffic.sidecar.istio.io/includeInboundPorts: "9090"',
    ],
)
def test_a_port_the_sidecar_does_not_capture_is_wider_than_declared_naming_the_annotation(
    tmp_path: Path, annotation: str
) -> None:
    """Traffic to an uncaptured port never meets mTLS or authorization: the probe there needs no
    rule (only 9090's is written), and undeclared callers of 8080 are reported wider than declared
    (TM405 for a meshed pod, TM413 for a client without a mesh identity) with the annotation."""
    tree = write_tree(tmp_path, "{" + annotation + "}")
    objects = compiled(tree)
    plain = next(o for o in objects if o["metadata"]["name"] == "api-plaintext")
    assert plain["spec"]["portLevelMtls"] == {"9090": {"mode": "PERMISSIVE"}}
    assert "/ready" not in json.dumps(objects)
    code, found = run_verify(tree)
    wider = [d for d in found if d["code"] in ("TM405", "TM413")]
    assert code == 1
    assert {d["code"] for d in wider} == {"TM405", "TM413"}
    name = annotation.split(":")[0]
    assert all(f"does not capture inbound port 8080 ({name}" in d["message"] for d in wider)
    assert not [d for d in found if d["code"] == "TM409"]
