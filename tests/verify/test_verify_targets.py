"""``trustmap verify --target cilium|istio|linkerd|admission`` on Online Boutique, end to end.

Verify compiles with the manifests' workloads (as ``compile --manifests`` does), so Linkerd's probe
routes and authorisations are in the compiled output, and Kyverno's pattern admits a Deployment
that names no service account; every target's compiled output is then exact.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from verify_helpers import OB, OB_DECLARATIONS, OB_MANIFESTS, TODAY

from trustmap.cli import cli

pytestmark = pytest.mark.skipif(not OB_MANIFESTS.exists(), reason="shared/ is not beside the repo")
HELM_ISTIO = OB / "upstream-policies" / "helm-rendered"


def run(*args: str) -> tuple[int, str, str]:
    base = [
        "verify",
        str(OB_DECLARATIONS),
        "--manifests",
        str(OB_MANIFESTS),
        "--now",
        TODAY.isoformat(),
    ]
    result = CliRunner().invoke(cli, [*base, *args])
    return result.exit_code, result.stdout, result.stderr


def codes(out: str) -> set[str]:
    return {d["code"] for d in json.loads(out)}


@pytest.mark.parametrize("target", ["cilium", "istio", "linkerd"])
def test_compiled_mesh_and_cilium_objects_allow_exactly_the_declared_calls(target: str) -> None:
    code, out, err = run("--target", target)
    assert code == 0, out + err
    assert "verify: exact match: 16 declared flows allowed" in err


def test_compiled_linkerd_lets_every_kubelet_probe_through() -> None:
    """Probe routes and the kubelet's unauthenticated authorisation are compiled from the
    manifests' probes (linkerd2 policy-controller: no default probe authorisation once a Server
    has routes); no probe is reported blocked (TM409) and the probe paths open to plaintext
    callers are platform traffic, not a widening (TM413)."""
    code, out, _ = run("--target", "linkerd", "--format", "json")
    assert code == 0
    assert not {"TM409", "TM413", "TM405"} & codes(out)


def test_compiled_admission_admits_every_declared_workload_as_written() -> None:
    """The release Deployment of redis-cart names no serviceAccountName; Kyverno's auto-generated
    controller rule must still admit it (its Pods run as ``default``)."""
    code, out, _ = run("--target", "admission", "--format", "json")
    assert code == 0, out
    assert "TM410" not in codes(out)


def test_upstream_istio_policies_are_wider_and_name_their_file_and_line() -> None:
    code, out, _ = run("--target", "istio", "--policies", str(HELM_ISTIO), "--format", "json")
    wider = [d for d in json.loads(out) if d["code"] == "TM405"]
    assert code == 1
    assert wider
    assert any(d["file"].endswith("authorizationpolicies.yaml") and d["line"] > 0 for d in wider)
    assert any("wider than declared" in d["message"] for d in wider)


def test_no_policies_at_all_is_wide_open_on_every_mesh(tmp_path: Path) -> None:
    for target in ("cilium", "istio", "linkerd"):
        code, out, _ = run("--target", target, "--policies", str(tmp_path), "--format", "json")
        assert code == 1
        assert "TM405" in codes(out)


@pytest.mark.parametrize("fmt", ["github", "sarif"])
def test_findings_print_in_every_format(fmt: str, tmp_path: Path) -> None:
    code, out, _ = run("--target", "linkerd", "--policies", str(tmp_path), "--format", fmt)
    assert code == 1
    assert "TM405" in out


def test_unreadable_policies_exit_two(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: [unclosed\n")
    code, out, err = run("--target", "istio", "--policies", str(bad))
    assert code == 2
    assert "TM101" in err
    assert not out


def test_help_lists_every_target() -> None:
    result = CliRunner().invoke(cli, ["verify", "--help"])
    for target in ("kubernetes", "cilium", "istio", "linkerd", "admission"):
        assert target in result.stdout


KUBE_DNS = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system}
spec:
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec: {serviceAccountName: coredns, containers: [{name: coredns, image: coredns}]}
---
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system}
spec:
  selector: {k8s-app: kube-dns}
  ports: [{name: dns, port: 53, protocol: UDP}, {name: dns-tcp, port: 53, protocol: TCP}]
"""


@pytest.mark.parametrize("target", ["cilium", "istio"])
def test_with_the_resolver_deployed_dns_over_udp_and_tcp_reaches_it(
    tmp_path: Path, target: str
) -> None:
    """DNS is platform traffic declared by the Organization. Cilium's compiled egress allows
    53/UDP and 53/TCP to kube-dns. Istio's sidecar does not intercept UDP but captures TCP
    (istio/istio tools/istio-iptables/pkg/capture/run.go redirects UDP 53 only with DNS
    proxying on), so DNS over TCP (truncated answers) needs the Sidecar to import kube-dns under
    REGISTRY_ONLY (https://istio.io/latest/docs/reference/config/networking/sidecar/): every
    compiled Sidecar lists ``kube-system/*``, and no DNS request is reported narrower."""
    dns = tmp_path / "kube-dns.yaml"
    dns.write_text(KUBE_DNS)
    code, out, err = run("--target", target, "--manifests", str(dns), "--format", "json")
    assert code == 0, out + err
    assert not [d for d in json.loads(out) if d["code"] in ("TM406", "TM409")]


def test_objects_the_evaluator_cannot_judge_are_reported_at_their_line(tmp_path: Path) -> None:
    """A CUSTOM action delegates to an external authorizer: verify says so instead of guessing."""
    custom = tmp_path / "custom.yaml"
    custom.write_text(
        "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
        "metadata: {name: ext, namespace: default}\n"
        "spec: {action: CUSTOM, provider: {name: opa}, rules: [{}]}\n"
    )
    _, out, _ = run("--target", "istio", "--policies", str(custom), "--format", "json")
    found = [d for d in json.loads(out) if d["code"] == "TM414"]
    assert [(d["file"], d["line"]) for d in found] == [(str(custom), 1)]
    assert "CUSTOM" in found[0]["message"]


def test_a_malformed_object_is_reported_at_its_line_not_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "sidecar.yaml"
    bad.write_text(
        "apiVersion: networking.istio.io/v1\nkind: Sidecar\n"
        "metadata: {name: bad, namespace: default}\n"
        "spec: {egress: [{hosts: 5}], outboundTrafficPolicy: {mode: REGISTRY_ONLY}}\n"
    )
    code, out, _ = run("--target", "istio", "--policies", str(bad), "--format", "json")
    found = [d for d in json.loads(out) if d["code"] == "TM414"]
    assert code == 1
    assert [(d["file"], d["line"]) for d in found] == [(str(bad), 1)]
    assert "Sidecar default/bad has a field of an unexpected shape" in found[0]["message"]
