"""Output that can be rolled out without breaking production: each rule cites the platform source
it relies on (issue 13: Istio egress and plain-text callers, Kyverno autogen, pruning, identities,
expiry after compile time)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.dialects.kyverno_eval import admitted, as_admitted_pod
from tests.dialects.manifest_schemas import errors, shared_available

from trustmap.dialects import compile_graph, compile_paths, render_graph
from trustmap.graph import graph_from_text, load_graph
from trustmap.verify.expiry import check_compiled

TODAY = dt.date(2026, 11, 23)
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "online-boutique"
BOUTIQUE = ROOT / ".." / "shared" / "apps" / "online-boutique" / "manifests"

ORG = """\
apiVersion: trustmap.dev/v1alpha1
kind: Organization
metadata: {name: acme}
spec:
  ingressControllers:
    - {namespace: ingress-nginx, podLabels: {app: ingress}, serviceAccount: ingress-nginx}
  platformConsumers:
    - {name: prometheus, namespace: monitoring, podLabels: {app: prometheus},
       serviceAccount: prometheus, interfaces: [metrics]}
---
apiVersion: trustmap.dev/v1alpha1
kind: Team
metadata: {name: shop}
spec: {owners: [alice@example.com], namespaces: [shop]}
---
apiVersion: trustmap.dev/v1alpha1
kind: Team
metadata: {name: pay}
spec: {owners: [bob@example.com], namespaces: [pay]}
"""


def service(name: str, namespace: str, body: str, account: str | None = None) -> str:
    """A Service document of team ``namespace`` whose spec continues with ``body``."""
    return (
        f"---\napiVersion: trustmap.dev/v1alpha1\nkind: Service\n"
        f"metadata: {{name: {name}, namespace: {namespace}}}\nspec:\n  team: {namespace}\n"
        f"  workload: {{serviceAccount: {account or name}, podLabels: {{app: {name}}}}}\n{body}"
    )


def compiled(target: str, text: str) -> tuple[list[Any], list[Any]]:
    """Objects and diagnostics compiled for ``target`` from in-memory declarations."""
    result = compile_graph(graph_from_text(ORG + text, "decl.yaml", TODAY), target)
    return [m for _, m in result.objects], list(result.diagnostics)


def codes(diagnostics: list[Any]) -> list[str]:
    """The codes of ``diagnostics``, in order."""
    return [d.code for d in diagnostics]


def of_kind(objects: list[Any], kind: str) -> list[Any]:
    """The objects of one kind."""
    return [m for m in objects if m["kind"] == kind]


# --- Istio: calls out of the cluster ------------------------------------------------------------


def test_istio_cidr_egress_is_matched_by_address_on_every_port() -> None:
    """A declared CIDR must be reachable on its declared ports under REGISTRY_ONLY.

    Istio identifies HTTP traffic by Host header and TLS traffic by SNI against ``hosts``;
    only opaque TCP is identified by destination address against ``addresses`` (istio/api
    networking/v1alpha3/service_entry.proto, field ``hosts``;
    https://istio.io/latest/docs/reference/config/networking/service-entry/). A CIDR's host is a
    placeholder no client names, so a ``TLS`` port 443 would never match and the sidecar would
    black-hole the call: every port of a CIDR entry must be ``TCP``.
    """
    text = service(
        "web",
        "shop",
        "  egress:\n    - {cidr: 203.0.113.0/24, ports: [443, 80, 5432], reason: bank}\n",
    )
    objects, diagnostics = compiled("istio", text)
    (entry,) = of_kind(objects, "ServiceEntry")
    assert entry["spec"]["addresses"] == ["203.0.113.0/24"]
    assert entry["spec"]["resolution"] == "NONE"
    assert {p["protocol"] for p in entry["spec"]["ports"]} == {"TCP"}
    assert "TM321" not in codes(diagnostics)


def test_istio_host_egress_on_an_opaque_port_reports_that_any_address_passes() -> None:
    """Without ``addresses``, Istio matches opaque TCP by port alone: "If addresses is not set,
    all traffic on the port defined in the ServiceEntry is matched, regardless of the host"
    (https://istio.io/latest/docs/reference/config/analysis/ist0134/). Host names keep TLS on 443
    (SNI) and HTTP on 80 (Host); any other port widens, and says so (TM321)."""
    text = service(
        "web",
        "shop",
        "  egress:\n    - {host: db.example.com, ports: [443, 5432], reason: managed db}\n",
    )
    objects, diagnostics = compiled("istio", text)
    (entry,) = of_kind(objects, "ServiceEntry")
    protocols = {p["number"]: p["protocol"] for p in entry["spec"]["ports"]}
    assert protocols == {443: "TLS", 5432: "TCP"}
    (widened,) = [d for d in diagnostics if d.code == "TM321"]
    assert "5432" in widened.message
    assert "any address" in widened.message
    assert widened.span is not None
    assert widened.span.line > 0


# --- Istio: callers outside the mesh -----------------------------------------------------------


def test_istio_world_port_accepts_plain_text_on_exactly_that_port() -> None:
    """``exposure: world`` callers have no mesh identity; under the namespace's STRICT mTLS they
    could not connect. A PeerAuthentication with a workload selector may override the mode per
    container port (``portLevelMtls``, which only applies with a selector; the key is the
    workload's port, not the Service's:
    https://istio.io/latest/docs/reference/config/security/peer_authentication/)."""
    text = service(
        "web",
        "shop",
        "  interfaces:\n"
        "    - {name: http, port: 8080, exposure: world}\n"
        "    - {name: admin, port: 9090, consumers: [shop/ops]}\n",
    ) + service(
        "ops", "shop", "  dependsOn:\n    - {service: shop/web, interface: admin, reason: x}\n"
    )
    objects, _ = compiled("istio", text)
    peers = {m["metadata"]["name"]: m for m in of_kind(objects, "PeerAuthentication")}
    assert peers["default"]["spec"] == {"mtls": {"mode": "STRICT"}}
    plain = peers["web-plaintext"]
    assert plain["spec"] == {
        "selector": {"matchLabels": {"app": "web"}},
        "portLevelMtls": {"8080": {"mode": "PERMISSIVE"}},
    }
    assert "decl.yaml" in plain["metadata"]["annotations"]["trustmap.dev/declared-at"]
    if shared_available():
        assert errors(plain) == []


def test_istio_says_per_interface_that_ingress_and_platform_callers_must_be_in_the_mesh() -> None:
    """Ingress controllers and platform consumers are admitted by principal; a principal exists
    only for a caller with an Istio sidecar (mTLS identity), so opening the port to plain text
    would not admit them: each such interface reports it (TM322) instead of silently refusing."""
    text = service(
        "web",
        "shop",
        "  interfaces:\n"
        "    - {name: http, port: 8080, exposure: ingress}\n"
        "    - {name: metrics, port: 9090}\n",
    )
    _, diagnostics = compiled("istio", text)
    found = sorted(d.message for d in diagnostics if d.code == "TM322")
    assert len(found) == 2
    assert "ingress-controller:ingress-nginx/ingress" in found[0] + found[1]
    assert "platform:monitoring/prometheus" in found[0] + found[1]


def test_istio_output_leaves_kubelet_probes_to_the_sidecar_probe_rewrite() -> None:
    """Kubelet probes carry no mesh identity. Istio's sidecar injector rewrites httpGet, tcpSocket
    and gRPC probes to the pilot-agent's port 15020, which is not redirected through the inbound
    listener, so neither STRICT mTLS nor an AuthorizationPolicy sees them; the rewrite is on by
    default in every built-in profile
    (https://istio.io/latest/docs/ops/configuration/mesh/app-health-check/). The output relies on
    it: no compiled object names port 15020 or turns the rewrite off
    (``sidecar.istio.io/rewriteAppHTTPProbers``)."""
    text = service(
        "web", "shop", "  interfaces:\n    - {name: http, port: 8080, exposure: world}\n"
    )
    dumped = yaml.safe_dump_all(compiled("istio", text)[0])
    assert "15020" not in dumped
    assert "rewriteAppHTTPProbers" not in dumped


def rewrite_off_deployment(probes: dict[str, Any], rewrite: str = "false") -> dict[str, Any]:
    """Deployment shop/web (port 8080, then 9090) whose pods carry the probe-rewrite annotation."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {
                    "labels": {"app": "web"},
                    "annotations": {"sidecar.istio.io/rewriteAppHTTPProbers": rewrite},
                },
                "spec": {
                    "serviceAccountName": "web",
                    "containers": [
                        {
                            "name": "web",
                            "image": "web",
                            "ports": [{"containerPort": 8080}, {"containerPort": 9090}],
                            **probes,
                        }
                    ],
                },
            },
        },
    }


HTTP_AND_GRPC_PROBES = {
    "readinessProbe": {"httpGet": {"path": "/ready?full=1", "port": 9090}},
    "livenessProbe": {"grpc": {"port": 8080}},
    "startupProbe": {"tcpSocket": {"port": 8080}},
}
WORLD_WEB = "  interfaces:\n    - {name: http, port: 8080, exposure: world}\n"


def compile_with_pods(
    tmp_path: Path, deployment: dict[str, Any], body: str, environment: str | None = None
) -> tuple[dict[tuple[str, str], Any], list[Any]]:
    """Istio objects (by kind and name) and diagnostics of service shop/web with ``body``, given
    ``deployment`` as its workload manifest."""
    (tmp_path / "decl.yaml").write_text(ORG + service("web", "shop", body))
    (tmp_path / "web.yaml").write_text(yaml.safe_dump(deployment))
    run = compile_paths(
        [tmp_path / "decl.yaml"],
        "istio",
        environment=environment,
        today=TODAY,
        manifests=[tmp_path / "web.yaml"],
    )
    objects = {(m["kind"], m["metadata"]["name"]): m for _, m in run.result.objects}
    return objects, list(run.diagnostics)


def test_istio_opens_exactly_the_probe_requests_of_a_workload_that_turns_the_rewrite_off(
    tmp_path: Path,
) -> None:
    """With ``sidecar.istio.io/rewriteAppHTTPProbers: "false"`` on the pod template the injector
    keeps the probes as written (istio/istio ``pkg/kube/inject/app_probe.go``
    ``ShouldRewriteAppHTTPProbers``): the kubelet sends them in plain text, without a mesh
    identity, to the app port, where the sidecar's inbound listener captures them; STRICT mTLS
    refuses them and an AuthorizationPolicy rule with ``from`` principals never matches them
    (https://istio.io/latest/docs/ops/configuration/mesh/app-health-check/). So each port of a
    plain-text HTTP or gRPC probe is left PERMISSIVE (``portLevelMtls``, keyed by container port
    and applied also to ports no Service exposes: istio/istio pull 28601, merged with the
    ``exposure: world`` port into one PeerAuthentication, ports sorted) and one ALLOW rule per
    port, without ``from``, names exactly the probe requests: ``GET`` and the path without its
    query (Istio matches paths without the query,
    https://istio.io/latest/docs/reference/config/security/normalization/), gRPC as
    ``POST /grpc.health.v1.Health/Check``. A TCP probe only connects and needs nothing."""
    objects, diagnostics = compile_with_pods(
        tmp_path, rewrite_off_deployment(HTTP_AND_GRPC_PROBES), WORLD_WEB
    )
    plain = objects[("PeerAuthentication", "web-plaintext")]
    assert plain["spec"] == {
        "selector": {"matchLabels": {"app": "web"}},
        "portLevelMtls": {"8080": {"mode": "PERMISSIVE"}, "9090": {"mode": "PERMISSIVE"}},
    }
    rules = objects[("AuthorizationPolicy", "web")]["spec"]["rules"]
    assert rules[1:] == [
        {
            "to": [
                {
                    "operation": {
                        "ports": ["8080"],
                        "methods": ["POST"],
                        "paths": ["/grpc.health.v1.Health/Check"],
                    }
                }
            ]
        },
        {"to": [{"operation": {"ports": ["9090"], "methods": ["GET"], "paths": ["/ready"]}}]},
    ]
    (opened,) = [d for d in diagnostics if d.code == "TM326"]
    assert "GET /ready on 9090" in opened.message
    assert "POST /grpc.health.v1.Health/Check on 8080" in opened.message
    assert "plain-text caller" in opened.message
    assert opened.span is not None
    assert opened.span.file.endswith("web.yaml")


def test_istio_probe_rules_say_which_probe_of_which_manifest_they_admit(tmp_path: Path) -> None:
    """Output is traceable: the PeerAuthentication and the AuthorizationPolicy name the probes'
    manifest lines in ``trustmap.dev/declared-at`` and the probe in ``trustmap.dev/reason``,
    beside the declarations of the rules they share the object with."""
    objects, _ = compile_with_pods(
        tmp_path, rewrite_off_deployment(HTTP_AND_GRPC_PROBES), WORLD_WEB
    )
    for key in (("PeerAuthentication", "web-plaintext"), ("AuthorizationPolicy", "web")):
        notes = objects[key]["metadata"]["annotations"]
        assert "web.yaml:" in notes["trustmap.dev/declared-at"]
        assert "decl.yaml:" in notes["trustmap.dev/declared-at"]
        assert "kubelet readiness probe (GET /ready)" in notes["trustmap.dev/reason"]


def test_istio_writes_a_policy_for_the_probes_of_a_service_nobody_calls(tmp_path: Path) -> None:
    """Without an ALLOW policy of its own the namespace's allow-nothing policy refuses every
    request (https://istio.io/latest/docs/reference/config/security/authorization-policy/), so a
    service without callers whose probes need a rule gets a policy holding only that rule."""
    probes = {"readinessProbe": {"httpGet": {"path": "/ready", "port": 9090}}}
    objects, _ = compile_with_pods(tmp_path, rewrite_off_deployment(probes), "")
    assert objects[("AuthorizationPolicy", "web")]["spec"]["rules"] == [
        {"to": [{"operation": {"ports": ["9090"], "methods": ["GET"], "paths": ["/ready"]}}]}
    ]
    assert objects[("PeerAuthentication", "web-plaintext")]["spec"]["portLevelMtls"] == {
        "9090": {"mode": "PERMISSIVE"}
    }


def test_istio_opens_nothing_while_the_probe_rewrite_is_on(tmp_path: Path) -> None:
    """The annotation is read as Go's ``strconv.ParseBool`` reads it (istio/istio
    ``pkg/kube/inject/app_probe.go``); ``"true"`` (or no annotation: the rewrite is on by
    default) keeps probes behind the agent, so nothing is opened and nothing reported."""
    objects, diagnostics = compile_with_pods(
        tmp_path, rewrite_off_deployment(HTTP_AND_GRPC_PROBES, "true"), ""
    )
    assert ("AuthorizationPolicy", "web") not in objects
    assert ("PeerAuthentication", "web-plaintext") not in objects
    assert not {"TM326", "TM327"} & set(codes(diagnostics))


def test_istio_says_an_https_probe_with_the_rewrite_off_is_refused(tmp_path: Path) -> None:
    """An HTTPS probe is one-way TLS without an Istio ALPN: under PERMISSIVE the inbound
    listener's TLS filter chain without ALPN treats it as opaque TCP (istio/istio
    ``pilot/pkg/networking/core/filterchain_options.go``), where an ALLOW rule with methods or
    paths never matches (https://istio.io/latest/docs/tasks/security/authorization/authz-tcp/),
    and STRICT refuses it. Only a rule opening the whole port would admit it, so nothing is
    opened and TM327, located at the probe, says the probe is refused."""
    probes = {"livenessProbe": {"httpGet": {"path": "/live", "port": 9090, "scheme": "HTTPS"}}}
    objects, diagnostics = compile_with_pods(tmp_path, rewrite_off_deployment(probes), "")
    assert ("AuthorizationPolicy", "web") not in objects
    assert ("PeerAuthentication", "web-plaintext") not in objects
    (refused,) = [d for d in diagnostics if d.code == "TM327"]
    assert "HTTPS liveness probe on port 9090" in refused.message
    assert refused.span is not None
    assert refused.span.file.endswith("web.yaml")
    assert refused.span.line > 1


def test_istio_audit_namespaces_get_the_probe_rules_dry_run_and_no_port_level_mtls(
    tmp_path: Path,
) -> None:
    """Audit: the namespace is PERMISSIVE already and policies carry ``istio.io/dry-run``
    (https://istio.io/latest/docs/tasks/security/authorization/authz-dry-run/), which still logs
    a request the allow-nothing policy would deny. The probe rule is in the dry-run policy, so
    the probes are not reported as would-deny, and no per-port PERMISSIVE is written."""
    (tmp_path / "decl.yaml").write_text(
        ORG.replace(
            "metadata: {name: acme}\nspec:\n",
            "metadata: {name: acme}\nspec:\n  environments:\n    - {name: staging, mode: audit, namespaces: [shop]}\n",
        )
        + service("web", "shop", "")
    )
    (tmp_path / "web.yaml").write_text(yaml.safe_dump(rewrite_off_deployment(HTTP_AND_GRPC_PROBES)))
    run = compile_paths(
        [tmp_path / "decl.yaml"],
        "istio",
        environment="staging",
        today=TODAY,
        manifests=[tmp_path / "web.yaml"],
    )
    objects = {(m["kind"], m["metadata"]["name"]): m for _, m in run.result.objects}
    policy = objects[("AuthorizationPolicy", "web")]
    assert policy["metadata"]["annotations"]["istio.io/dry-run"] == "true"
    assert len(policy["spec"]["rules"]) == 2
    assert ("PeerAuthentication", "web-plaintext") not in objects


def test_istio_paths_match_without_the_query_string() -> None:
    """Istio compares ``paths`` with the request path after removing everything from ``?`` on
    ("Path with query", https://istio.io/latest/docs/reference/config/security/normalization/),
    so the exact route ``GET /cart`` also admits ``/cart?x=1`` as docs/format.md defines it: the
    compiled path is the declared one, with no query handling of its own."""
    text = service(
        "cart",
        "shop",
        "  interfaces:\n    - {name: http, port: 8080, appProtocol: http, consumers: [shop/web],"
        " methods: ['GET /cart', 'GET /items/*']}\n",
    ) + service("web", "shop", "  dependsOn:\n    - {service: shop/cart, reason: x}\n")
    objects, _ = compiled("istio", text)
    policy = next(m for m in of_kind(objects, "AuthorizationPolicy") if m["spec"])
    (rule,) = policy["spec"]["rules"]
    assert rule["to"][0]["operation"]["paths"] == ["/cart", "/items/*"]


def test_istio_compiles_routes_in_the_normal_form_its_requests_are_matched_in() -> None:
    """Istio's default path normalisation (BASE) decodes percent-encoded unreserved characters,
    turns backslashes into slashes and resolves dot segments before AuthorizationPolicy paths are
    compared ("Authorization Policy Normalization",
    https://istio.io/latest/docs/reference/config/security/normalization/): a route declared as
    ``/a%2Db`` would never match, so it is compiled as ``/a-b`` and reported (TM325), since that
    also admits requests spelled ``/a-b``. An encoded slash stays encoded (not decoded by BASE)."""
    text = service(
        "cart",
        "shop",
        "  interfaces:\n    - {name: http, port: 8080, appProtocol: http, consumers: [shop/web],"
        " methods: ['GET /a%2Db', 'GET /x/./y', 'GET /p%2Fq', 'GET /plain']}\n",
    ) + service("web", "shop", "  dependsOn:\n    - {service: shop/cart, reason: x}\n")
    objects, diagnostics = compiled("istio", text)
    policy = next(m for m in of_kind(objects, "AuthorizationPolicy") if m["spec"])
    (rule,) = policy["spec"]["rules"]
    assert rule["to"][0]["operation"]["paths"] == ["/a-b", "/p%2Fq", "/plain", "/x/y"]
    normalised = sorted(d.message for d in diagnostics if d.code == "TM325")
    assert len(normalised) == 2
    assert "'/a%2Db'" in normalised[0]
    assert "'/x/./y'" in normalised[1]


# --- identity targets: shared service accounts -------------------------------------------------


@pytest.mark.parametrize("target", ["istio", "linkerd"])
def test_identity_targets_report_services_that_share_a_service_account(target: str) -> None:
    """Istio principals and Linkerd MeshTLSAuthentication identities are the service account
    (https://istio.io/latest/docs/reference/config/security/authorization-policy/ ``principals``;
    https://linkerd.io/2/reference/authorization-policy/ ``identityRefs``): two services sharing
    one are a single caller, so the compile says so for each (TM320), not only ``validate``."""
    text = service("a", "shop", "", account="shared") + service("b", "shop", "", account="shared")
    _, diagnostics = compiled(target, text)
    shared = [d for d in diagnostics if d.code == "TM320"]
    assert len(shared) == 2
    assert all("'shared'" in d.message for d in shared)


def test_label_targets_do_not_report_shared_service_accounts() -> None:
    text = service("a", "shop", "", account="shared") + service("b", "shop", "", account="shared")
    assert "TM320" not in codes(compiled("kubernetes", text)[1])


# --- Kyverno: workloads admitted as they are really written -------------------------------------


def boutique_workloads() -> list[dict[str, Any]]:
    """The pod controllers of Online Boutique's release manifests, as written upstream."""
    docs = yaml.safe_load_all((BOUTIQUE / "kubernetes-manifests.yaml").read_text())
    return [d for d in docs if d and d.get("kind") == "Deployment"]


@pytest.mark.skipif(not BOUTIQUE.is_dir(), reason="needs ../shared/apps beside the checkout")
def test_admission_admits_every_declared_boutique_deployment_as_written_and_its_pods() -> None:
    """Kyverno auto-gen applies a Pod rule to pod controllers with the pattern under
    ``spec.template`` (https://kyverno.io/docs/policy-types/cluster-policy/autogen/), where the
    API server has defaulted nothing: ``redis-cart`` omits ``serviceAccountName`` and its Pods
    get ``default`` only when created. The pattern for account ``default`` uses the equality
    anchor ``=(serviceAccountName)`` ("if the field is present, it must match":
    https://kyverno.io/docs/policy-types/cluster-policy/validate/#anchors), so the Deployment
    passes as its Pods do. Evaluated by tests/dialects/kyverno_eval.py: the ``kyverno`` CLI is a
    Go binary not available from PyPI, npm or Debian."""
    (policy,) = [m for _, m in compile_graph(load_graph([EXAMPLE], TODAY), "admission").objects]
    workloads = boutique_workloads()
    assert {w["metadata"]["name"] for w in workloads} >= {"redis-cart", "frontend"}
    for workload in workloads:
        name = workload["metadata"]["name"]
        assert admitted(policy, workload, "default") is True, name
        assert admitted(policy, as_admitted_pod(workload), "default") is True, name


@pytest.mark.skipif(not BOUTIQUE.is_dir(), reason="needs ../shared/apps beside the checkout")
def test_admission_denies_undeclared_labels_and_other_service_accounts() -> None:
    """The other half: what no declaration describes is denied, as written and as a Pod."""
    (policy,) = [m for _, m in compile_graph(load_graph([EXAMPLE], TODAY), "admission").objects]
    redis = next(w for w in boutique_workloads() if w["metadata"]["name"] == "redis-cart")
    frontend = next(w for w in boutique_workloads() if w["metadata"]["name"] == "frontend")
    impostor = yaml.safe_load(yaml.safe_dump(redis))
    impostor["spec"]["template"]["metadata"]["labels"] = {"app": "miner"}
    stolen = yaml.safe_load(yaml.safe_dump(frontend))
    stolen["spec"]["template"]["spec"]["serviceAccountName"] = "cartservice"
    borrowed = yaml.safe_load(yaml.safe_dump(redis))
    borrowed["spec"]["template"]["spec"]["serviceAccountName"] = "frontend"
    for workload in (impostor, stolen, borrowed):
        assert admitted(policy, workload, "default") is False
        assert admitted(policy, as_admitted_pod(workload), "default") is False


def test_admission_requires_a_non_default_service_account_to_be_written() -> None:
    """A Pod that names no account runs as ``default``, so a service declared with another one
    must write it: the plain key fails on a template that lacks it (Kyverno validate patterns:
    a missing field fails unless anchored)."""
    objects, _ = compiled("admission", service("web", "shop", ""))
    workload = {
        "kind": "Deployment",
        "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": {}}},
    }
    assert admitted(objects[0], workload, "shop") is False
    written = yaml.safe_load(yaml.safe_dump(workload))
    written["spec"]["template"]["spec"]["serviceAccountName"] = "web"
    assert admitted(objects[0], written, "shop") is True


# --- operations: pruning ------------------------------------------------------------------------


def test_namespace_objects_are_never_pruned_by_argo_cd_or_flux() -> None:
    """Pruning a Namespace deletes every workload in it. Argo CD skips pruning an object
    annotated ``argocd.argoproj.io/sync-options: Prune=false``
    (https://argo-cd.readthedocs.io/en/stable/user-guide/sync-options/#no-prune-resources) and
    Flux one annotated ``kustomize.toolkit.fluxcd.io/prune: disabled``
    (https://fluxcd.io/flux/components/kustomize/kustomizations/#prune); neither carries Argo
    CD's tracking label ``app.kubernetes.io/instance``."""
    objects, _ = compiled("linkerd", service("web", "shop", ""))
    (namespace,) = of_kind(objects, "Namespace")
    meta = namespace["metadata"]
    assert meta["annotations"]["argocd.argoproj.io/sync-options"] == "Prune=false"
    assert meta["annotations"]["kustomize.toolkit.fluxcd.io/prune"] == "disabled"
    assert "app.kubernetes.io/instance" not in meta["labels"]


@pytest.mark.parametrize("target", ["kubernetes", "cilium", "istio", "linkerd", "admission"])
def test_no_target_emits_the_label_argo_cd_tracks_and_prunes_by(target: str) -> None:
    """Argo CD's default tracking label is ``app.kubernetes.io/instance``
    (https://argo-cd.readthedocs.io/en/stable/user-guide/resource_tracking/): trustmap labels its
    objects ``app.kubernetes.io/managed-by`` only, so none is mistaken for an app's resource."""
    text = service(
        "web", "shop", "  interfaces:\n    - {name: http, port: 8080, exposure: world}\n"
    )
    for manifest in compiled(target, text)[0]:
        assert manifest["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "trustmap"}


# --- expiry after compile time ------------------------------------------------------------------

EXPIRING = service(
    "ledger", "pay", "  interfaces:\n    - {name: grpc, port: 7000, consumers: [shop/web]}\n"
) + service(
    "web",
    "shop",
    "  dependsOn:\n    - {service: pay/ledger, reason: month-end report, expires: 2026-12-01}\n",
)


@pytest.mark.parametrize("target", ["kubernetes", "cilium", "istio", "linkerd"])
def test_compiled_objects_record_the_earliest_expiry_of_what_they_allow(target: str) -> None:
    graph = graph_from_text(ORG + EXPIRING, "decl.yaml", TODAY)
    objects = [m for _, m in compile_graph(graph, target).objects]
    dated = [m for m in objects if "trustmap.dev/expires" in m["metadata"].get("annotations", {})]
    assert dated
    assert {m["metadata"]["annotations"]["trustmap.dev/expires"] for m in dated} == {"2026-12-01"}
    written = [d for d in yaml.safe_load_all(render_graph(graph, target).yaml) if d]
    assert written == objects  # the text path writes the same annotation, as a string


def test_validate_compiled_flags_expired_and_soon_expiring_grants_naming_owners(
    tmp_path: Path,
) -> None:
    graph = graph_from_text(ORG + EXPIRING, "decl.yaml", TODAY)
    (tmp_path / "out.yaml").write_text(render_graph(graph, "kubernetes").yaml)
    soon = check_compiled([tmp_path], dt.date(2026, 11, 25), graph=graph)
    assert codes(soon) == ["TM441"] * len(soon)
    assert soon
    assert "alice@example.com" in soon[0].message
    assert "bob@example.com" in soon[0].message
    assert soon[0].span is not None
    assert soon[0].span.line > 0
    late = check_compiled([tmp_path], dt.date(2026, 12, 2))
    assert late
    assert set(codes(late)) == {"TM440"}
    assert check_compiled([tmp_path], dt.date(2026, 10, 1)) == []


def test_an_edited_expiry_annotation_is_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(
        "kind: NetworkPolicy\nmetadata:\n  name: a\n  annotations:\n"
        "    trustmap.dev/expires: soon\n"
    )
    assert codes(check_compiled([tmp_path], TODAY)) == ["TM442"]


def test_validate_compiled_on_the_command_line_exits_1_for_an_expired_grant(
    tmp_path: Path,
) -> None:
    from click.testing import CliRunner

    from trustmap.cli import cli

    (tmp_path / "decl.yaml").write_text(ORG + EXPIRING)
    graph = load_graph([tmp_path / "decl.yaml"], TODAY)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "shop.yaml").write_text(render_graph(graph, "istio").yaml)
    args = ["validate", str(tmp_path / "decl.yaml"), "--compiled", str(tmp_path / "out")]
    early = CliRunner().invoke(cli, [*args, "--now", "2026-11-23"])
    assert early.exit_code == 0, early.output
    late = CliRunner().invoke(cli, [*args, "--now", "2026-12-05"])
    assert late.exit_code == 1
    assert "TM440" in late.stdout


@pytest.mark.skipif(not BOUTIQUE.is_dir(), reason="needs ../shared/apps beside the checkout")
def test_verify_flags_deployed_policies_that_outlive_their_grant(tmp_path: Path) -> None:
    from trustmap.verify import verify

    compiled_on = dt.date(2026, 11, 23)
    (tmp_path / "policies.yaml").write_text(
        render_graph(load_graph([EXAMPLE], compiled_on), "kubernetes").yaml
    )
    later = load_graph([EXAMPLE], dt.date(2027, 10, 5))
    report = verify(later, [BOUTIQUE], policies_paths=[tmp_path])
    expired = [d for d in report.findings if d.code == "TM440"]
    assert expired
    assert all("2027-09-30" in d.message for d in expired)


APPS = ROOT / ".." / "shared" / "apps"
APP_MANIFESTS = {
    "online-boutique": "online-boutique/manifests/kubernetes-manifests.yaml",
    "sock-shop": "sock-shop/manifests/complete-demo.yaml",
    "bookinfo": "bookinfo/manifests/bookinfo.yaml",
    "hotel-reservation": "deathstarbench-hotelreservation/manifests/**/*-deployment.yaml",
    "train-ticket": "train-ticket/manifests/quickstart-ts-deployment-part*.yml",
}
CONTROLLERS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")


def app_workloads(pattern: str) -> list[dict[str, Any]]:
    """The pod controllers of an app's upstream manifests, as written."""
    found = []
    for path in sorted(APPS.glob(pattern)):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") in CONTROLLERS:
                found.append(doc)
    return found


def declared(workloads: list[dict[str, Any]]) -> str:
    """One declared service per workload: its selector's labels and the account it runs as."""
    namespaces = sorted({w["metadata"].get("namespace", "default") for w in workloads})
    text = (
        "---\napiVersion: trustmap.dev/v1alpha1\nkind: Team\nmetadata: {name: app}\n"
        f"spec: {{owners: [a@example.com], namespaces: {namespaces}}}\n"
    )
    for workload in workloads:
        pod = as_admitted_pod(workload)
        labels = (
            workload["spec"].get("selector", {}).get("matchLabels") or pod["metadata"]["labels"]
        )
        text += (
            f"---\napiVersion: trustmap.dev/v1alpha1\nkind: Service\nmetadata: "
            f"{{name: {workload['metadata']['name']}, "
            f"namespace: {workload['metadata'].get('namespace', 'default')}}}\n"
            f"spec:\n  team: app\n  workload: {{serviceAccount: {pod['spec']['serviceAccountName']}, "
            f"podLabels: {yaml.safe_dump(labels, default_flow_style=True).strip()}}}\n"
        )
    return text


@pytest.mark.skipif(not APPS.is_dir(), reason="needs ../shared/apps beside the checkout")
@pytest.mark.parametrize("app", sorted(APP_MANIFESTS))
def test_admission_admits_each_real_app_workload_as_written_and_denies_a_relabelled_one(
    app: str,
) -> None:
    """Five upstream apps (sock-shop and hotel-reservation write no serviceAccountName at all):
    declared as they run, every workload passes Kyverno's auto-generated controller rule as
    written and the Pod rule as the API server sends its Pods (see kyverno_eval.py for the
    sources); relabelled, it is denied both ways."""
    workloads = app_workloads(APP_MANIFESTS[app])
    assert len(workloads) >= 4
    graph = graph_from_text(ORG + declared(workloads), "decl.yaml", TODAY)
    (policy,) = [m for _, m in compile_graph(graph, "admission").objects]
    for workload in workloads:
        namespace = workload["metadata"].get("namespace", "default")
        name = workload["metadata"]["name"]
        assert admitted(policy, workload, namespace) is True, name
        assert admitted(policy, as_admitted_pod(workload), namespace) is True, name
        relabelled = yaml.safe_load(yaml.safe_dump(workload))
        relabelled["spec"]["template"]["metadata"]["labels"] = {"app": "not-declared-anywhere"}
        assert admitted(policy, relabelled, namespace) is False, name
        assert admitted(policy, as_admitted_pod(relabelled), namespace) is False, name


@pytest.mark.skipif(not BOUTIQUE.is_dir(), reason="needs ../shared/apps beside the checkout")
def test_verify_warns_at_the_declaration_when_what_it_compiles_expires_soon() -> None:
    from trustmap.verify import verify

    graph = load_graph([EXAMPLE], dt.date(2027, 9, 23))
    soon = [d for d in verify(graph, [BOUTIQUE]).findings if d.code == "TM441"]
    assert soon
    assert all(d.span is not None and d.span.file.endswith("qa.yaml") for d in soon)
    assert all("qa-lead@example.com" in d.message for d in soon)
