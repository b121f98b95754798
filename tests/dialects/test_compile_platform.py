"""Platform traffic (kubelet probes, proxy metrics) and audit modes, per target, from the platforms' rules.

Each test states the platform rule it relies on and where it is written upstream (repository path at the
commit read, or documentation URL). Linkerd: github.com/linkerd/linkerd2 at b24cd40 (2026-08-21) and
github.com/linkerd/linkerd2-proxy at 29637b6 (2026-08-21). Cilium: github.com/cilium/cilium
Documentation/security/policy/language.rst and pkg/fqdn/matchpattern/matchpattern.go.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from compile_cases import ROOT, at_root
from hypothesis import given
from hypothesis import strategies as st

from trustmap.dialects import (
    Pods,
    Probe,
    compile_graph,
    compile_paths,
    read_workloads,
    render_graph,
)
from trustmap.dialects.cilium import fqdn_pattern, path_regex
from trustmap.dialects.emit import dump
from trustmap.graph import graph_from_text
from trustmap.model import Graph, PortSpec, ServiceRef

TODAY = dt.date(2026, 11, 23)
CASE = ROOT / "tests" / "fixtures" / "compile" / "linkerd" / "platform-traffic"
BOUTIQUE = ROOT / "examples" / "online-boutique"

ORG = """\
apiVersion: trustmap.dev/v1alpha1
kind: Organization
metadata: {name: acme}
spec:
  platformConsumers:
    - {name: prometheus, namespace: monitoring, podLabels: {app: prometheus},
       serviceAccount: prometheus, interfaces: [metrics, linkerd-admin]}
  environments:
    - {name: prod, mode: enforce, namespaces: [shop]}
    - {name: staging, mode: audit, namespaces: [shop]}
---
apiVersion: trustmap.dev/v1alpha1
kind: Team
metadata: {name: shop}
spec: {owners: [a@example.com], namespaces: [shop]}
"""


def service(name: str, body: str) -> str:
    """A Service document in namespace shop whose spec continues with ``body``."""
    return (
        f"---\napiVersion: trustmap.dev/v1alpha1\nkind: Service\n"
        f"metadata: {{name: {name}, namespace: shop}}\nspec:\n  team: shop\n"
        f"  workload: {{serviceAccount: {name}, podLabels: {{app: {name}}}}}\n{body}"
    )


SHOP = (
    ORG
    + service(
        "web",
        "  dependsOn:\n"
        "    - {service: shop/api, interface: grpc, methods: [shop.Api/Get], reason: read}\n"
        "    - {service: shop/cache, interface: http, methods: ['PURGE /cache/*'], reason: x}\n"
        "    - {service: shop/plain, interface: grpc, reason: no methods}\n"
        "    - {service: shop/plain, interface: web, reason: pages}\n",
    )
    + service(
        "api",
        "  interfaces:\n"
        "    - {name: grpc, port: 50051, appProtocol: grpc, consumers: [shop/web],"
        " methods: [shop.Api/Get, shop.Api/Put]}\n",
    )
    + service(
        "cache",
        "  interfaces:\n"
        "    - {name: http, port: 8081, appProtocol: http, consumers: [shop/web],"
        " methods: ['PURGE /cache/*', 'GET /cache/*']}\n",
    )
    + service(
        "plain",
        "  interfaces:\n"
        "    - {name: grpc, port: 7000, appProtocol: grpc, consumers: [shop/web]}\n"
        "    - {name: web, port: 8080, appProtocol: http, consumers: [shop/web]}\n",
    )
)


def graph(text: str = SHOP) -> Graph:
    """A graph from the declarations above."""
    return graph_from_text(text, "shop.yaml", TODAY)


def pods(*probes: Probe) -> Pods:
    """Pods with these probes."""
    return Pods(("Deployment shop/x",), tuple(sorted(probes)), (PortSpec(8080),))


WORKLOADS = {
    ServiceRef("shop", "api"): pods(Probe(50051, "grpc", kind="readiness")),
    ServiceRef("shop", "cache"): pods(Probe(8081, "httpGet", "/ready?deep=1")),
    ServiceRef("shop", "plain"): pods(
        Probe(7000, "grpc"), Probe(8080, "httpGet", "/healthz"), Probe(7001, "grpc")
    ),
}


def objects(target: str, environment: str | None = "prod", workloads: Any = WORKLOADS) -> list[Any]:
    """The objects compiled for ``target``, checking the text path writes the same bytes."""
    found = compile_graph(graph(), target, environment, workloads)
    written = render_graph(graph(), target, environment, workloads)
    assert [text for _, text in written.documents] == [dump(m) for _, m in found.objects]
    return [m for _, m in found.objects]


def named(found: list[Any], kind: str) -> dict[str, Any]:
    """Objects of ``kind`` by name."""
    return {m["metadata"]["name"]: m for m in found if m["kind"] == kind}


def routes_to(found: list[Any], server: str) -> list[Any]:
    """HTTPRoutes whose parent is the Server ``server``."""
    return [
        m
        for m in found
        if m["kind"] == "HTTPRoute" and m["spec"]["parentRefs"][0]["name"] == server
    ]


def matches(route: Any) -> list[tuple[str | None, str, str]]:
    """``(method, path type, path)`` of every match of an HTTPRoute."""
    return [
        (m.get("method"), m["path"]["type"], m["path"]["value"])
        for rule in route["spec"]["rules"]
        for m in rule["matches"]
    ]


def authorized(found: list[Any], route: str) -> list[tuple[str, str]]:
    """``(kind, name)`` of the authentications the policies on ``route`` require."""
    return sorted(
        (ref["kind"], ref["name"])
        for m in found
        if m["kind"] == "AuthorizationPolicy" and m["spec"]["targetRef"]["name"] == route
        for ref in m["spec"]["requiredAuthenticationRefs"]
    )


def probe_route(found: list[Any], server: str, match: tuple[str | None, str, str]) -> str:
    """The name of the one route of ``server`` holding ``match``."""
    (name,) = [r["metadata"]["name"] for r in routes_to(found, server) if match in matches(r)]
    return name


# --- Linkerd ----------------------------------------------------------------------------------


def test_linkerd_routes_probes_itself_once_a_server_has_routes() -> None:
    """Rule: once a Server has HTTPRoutes, the policy controller serves only those routes, and
    its automatic probe route (``GET`` on each probe path, authorised for the probe networks) is
    created only when the Server has none. Source: linkerd2 policy-controller/k8s/index/src/
    inbound/index.rs, ``http_routes`` (returns the Server's routes when there are any, else
    ``default_inbound_http_routes(probe_paths)``) and ``default_inbound_http_routes`` (Exact
    ``GET`` per probe path, unauthenticated, ``probe_networks``); the default networks are
    ``0.0.0.0/0`` and ``::/0`` (charts/linkerd-control-plane/values.yaml ``probeNetworks``).
    The kubelet's probe path is matched without its query (Gateway API path match)."""
    found = objects("linkerd")
    route = probe_route(found, "cache-http", ("GET", "Exact", "/ready"))
    assert authorized(found, route) == [("NetworkAuthentication", "kubelet-probes")]
    (network,) = named(found, "NetworkAuthentication").values()
    assert network["spec"]["networks"] == [{"cidr": "0.0.0.0/0"}, {"cidr": "::/0"}]


def test_linkerd_routes_grpc_health_checks_which_it_never_authorises_by_itself() -> None:
    """Rule: Linkerd's automatic probe authorisation covers ``httpGet`` probes only: the pod's
    probe paths come from ``pod_http_probes`` (linkerd2 policy-controller/k8s/index/src/inbound/
    workload.rs, which reads ``http_get`` of liveness/readiness/startup and nothing else). A kubelet
    gRPC probe is an HTTP/2 ``POST /grpc.health.v1.Health/Check`` (kubernetes.io: "Configure
    Liveness, Readiness and Startup Probes", gRPC health checking protocol), so it needs a route
    and an authorisation of its own, on a Server with routes or without."""
    found = objects("linkerd")
    health = ("POST", "Exact", "/grpc.health.v1.Health/Check")
    kubelet = ("NetworkAuthentication", "kubelet-probes")
    assert authorized(found, probe_route(found, "api-grpc", health)) == [kubelet]
    # web may call every method of plain's grpc interface: the health check route admits it too
    plain = authorized(found, probe_route(found, "plain-grpc", health))
    assert plain == [("MeshTLSAuthentication", "plain-grpc"), kubelet]
    everything = probe_route(found, "plain-grpc", (None, "PathPrefix", "/"))
    assert authorized(found, everything) == [("MeshTLSAuthentication", "plain-grpc")]


def test_linkerd_gives_a_port_only_a_grpc_probe_uses_a_server_of_its_own() -> None:
    """Rule: with ``config.linkerd.io/default-inbound-policy: deny`` a port no Server selects gets
    the default server, which has no authorisation for a gRPC probe (linkerd2 policy-controller/
    k8s/index/src/defaults.rs ``default_authzs``: none for ``deny``; probe routes only for
    ``httpGet`` paths, see above). So the port of a gRPC probe gets a Server with the probe route."""
    found = objects("linkerd")
    server = named(found, "Server")["plain-probe-7001"]
    assert server["spec"]["port"] == 7001
    assert server["spec"]["proxyProtocol"] == "HTTP/2"
    (route,) = routes_to(found, "plain-probe-7001")
    assert matches(route) == [("POST", "Exact", "/grpc.health.v1.Health/Check")]


def test_linkerd_leaves_http_probes_on_servers_without_routes_to_linkerd() -> None:
    """Rule: a Server without HTTPRoutes keeps Linkerd's own probe route (linkerd2 policy-controller
    /k8s/index/src/inbound/index.rs ``http_routes`` falls back to ``default_inbound_http_routes``
    with the pod's probe paths), so no route is added there: the Server stays route-free."""
    found = objects("linkerd")
    assert routes_to(found, "plain-web") == []
    assert "plain-web" in named(found, "Server")


def test_linkerd_says_once_that_it_needs_the_manifests_for_probes() -> None:
    """Rule: as above, Linkerd output blocks gRPC probes and the probes of Servers with routes
    unless they are authorised, which needs the workloads' probes: without them, one TM307."""
    found = compile_graph(graph(), "linkerd", "prod")
    assert [d.code for d in found.diagnostics].count("TM307") == 1
    given = compile_graph(graph(), "linkerd", "prod", WORKLOADS)
    assert "TM307" not in [d.code for d in given.diagnostics]


def test_linkerd_audit_servers_with_routes_get_a_catch_all_so_nothing_404s() -> None:
    """Rule: the proxy looks a request's route up before it authorises it, and answers a request
    no route matches with HttpRouteNotFound (404) whatever the policy (linkerd2-proxy linkerd/app/
    inbound/src/policy/http.rs ``authorize``: ``route::find(...).ok_or_else(mk_route_not_found)``).
    ``accessPolicy: audit`` adds an audit authorisation to the Server (linkerd2 policy-controller/
    k8s/index/src/inbound/index.rs ``client_authzs``, defaults.rs ``default_authzs``) and the proxy
    appends Server authorisations to every route's (linkerd2-proxy linkerd/proxy/server-policy/
    src/lib.rs ``mk_authorizations(authorizations, ...)`` into ``mk_routes!``). So an audit Server
    with routes needs a catch-all route: there an undeclared request is allowed and logged."""
    found = objects("linkerd", "staging")
    for server, spec in named(found, "Server").items():
        assert spec["spec"]["accessPolicy"] == "audit"
        if routes_to(found, server):
            catch_all = probe_route(found, server, (None, "PathPrefix", "/"))
            assert catch_all
    cache_catch_all = probe_route(found, "cache-http", (None, "PathPrefix", "/"))
    assert authorized(found, cache_catch_all) == []
    enforce = objects("linkerd", "prod")
    assert [
        r for r in routes_to(enforce, "cache-http") if (None, "PathPrefix", "/") in matches(r)
    ] == []


def test_linkerd_reports_a_method_httproute_cannot_name_at_the_declaring_line() -> None:
    """Rule: policy.linkerd.io HTTPRoute ``matches[].method`` is an enum of GET, HEAD, POST, PUT,
    DELETE, CONNECT, OPTIONS, TRACE, PATCH (linkerd2 policy-controller/k8s/api/src/policy/
    httproute.rs, Gateway API HTTPMethod), so ``PURGE /cache/*`` becomes a path match allowing
    every method: a TM311 finding names the dependency's line."""
    result = compile_graph(graph(), "linkerd", "prod", WORKLOADS)
    (finding,) = [d for d in result.diagnostics if d.code == "TM311"]
    assert finding.span is not None
    line = SHOP.splitlines().index(
        "    - {service: shop/cache, interface: http, methods: ['PURGE /cache/*'], reason: x}"
    )
    assert (finding.span.file, finding.span.line) == ("shop.yaml", line + 1)
    assert "PURGE" in finding.message
    found = [m for _, m in result.objects]
    route = probe_route(found, "cache-http", (None, "RegularExpression", "/cache/.*"))
    assert authorized(found, route) == [("MeshTLSAuthentication", "cache-http")]


def test_linkerd_lets_declared_scrapers_read_proxy_metrics_under_default_deny() -> None:
    """Rule: with the default inbound policy ``deny`` Prometheus cannot scrape the proxies' admin
    port unless a Server on ``linkerd-admin`` authorises it; ``linkerd viz allow-scrapes`` writes
    that Server (pods with ``linkerd.io/control-plane-ns``, ``HTTP/1``), an HTTPRoute for
    ``/metrics`` authorised for Prometheus' service account, and one for ``/live`` and ``/ready``
    authorised for the kubelet's networks, since a Server with routes loses the automatic probe
    route (linkerd2 viz/cmd/allow-scrapes.go, viz/charts/linkerd-viz/templates/admin-policy.yaml)."""
    found = objects("linkerd")
    server = named(found, "Server")["linkerd-proxy-admin"]["spec"]
    assert server["port"] == "linkerd-admin"
    assert server["podSelector"] == {
        "matchExpressions": [{"key": "linkerd.io/control-plane-ns", "operator": "Exists"}]
    }
    metrics = probe_route(found, "linkerd-proxy-admin", ("GET", "Exact", "/metrics"))
    assert authorized(found, metrics) == [("MeshTLSAuthentication", "linkerd-proxy-scrapers")]
    scrapers = named(found, "MeshTLSAuthentication")["linkerd-proxy-scrapers"]
    assert scrapers["spec"]["identityRefs"] == [
        {"kind": "ServiceAccount", "name": "prometheus", "namespace": "monitoring"}
    ]
    live = probe_route(found, "linkerd-proxy-admin", ("GET", "Exact", "/live"))
    assert authorized(found, live) == [("NetworkAuthentication", "kubelet-probes")]


def test_linkerd_summary_says_the_default_policy_needs_a_restart(tmp_path: Path) -> None:
    """Rule: the proxy injector writes the default inbound policy into the proxy's environment
    (``LINKERD2_PROXY_INBOUND_DEFAULT_POLICY``) when the pod is created (linkerd2 pkg/inject/
    inject.go reads ``config.linkerd.io/default-inbound-policy``; charts/partials/templates/
    _proxy.tpl sets the variable), so a changed namespace default applies to restarted pods only."""
    from click.testing import CliRunner

    from trustmap.cli import cli

    args = ["compile", str(CASE / "input"), "-t", "linkerd", "--now", "2026-11-23"]
    with at_root():
        result = CliRunner().invoke(
            cli, [*args, "--manifests", str(CASE / "workloads"), "--out", str(tmp_path)]
        )
    assert result.exit_code == 1  # TM309, TM310, TM311 in this case
    assert "pod's proxy starts" in result.stderr
    assert "rollout restart" in result.stderr


# --- Cilium -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("declared", "request_path", "allowed"),
    [
        ("/cart", "/cart", True),
        ("/cart", "/cart?x=1", True),
        ("/cart", "/cart/", False),
        ("/cart", "/carts", False),
        ("/static/*", "/static/a/b.css", True),
        ("/static/*", "/static/a.css?v=2", True),
        ("/static/*", "/static", False),
        ("/items/*/reviews", "/items/1/reviews?page=2", True),
        ("/items/*/reviews", "/items/1?x=/reviews", False),
        ("/pkg.Svc/Get", "/pkgXSvc/Get", False),
    ],
)
def test_cilium_paths_match_the_path_alone_with_any_query(
    declared: str, request_path: str, allowed: bool
) -> None:
    """Rule: Cilium's HTTP ``path`` is an extended POSIX regex matched against the request's path
    (cilium Documentation/security/policy/language.rst, "Layer 7 Examples", HTTP ``Path``); Cilium
    hands it to Envoy as a regex on the ``:path`` header, which holds the query string too. A
    declared path matches the path alone, query ignored (docs/format.md): ``*`` must stop at ``?``
    and any query must be allowed after the path."""
    assert (re.fullmatch(path_regex(declared), request_path) is not None) is allowed


def test_cilium_host_wildcards_match_one_or_more_labels() -> None:
    """Rule: in ``matchPattern`` ``*`` matches DNS characters within one label (``*.cilium.io``
    matches ``sub.cilium.io``, not deeper; language.rst "DNS Policy and IP Discovery"), while a
    leading ``**.`` matches one or more labels (cilium pkg/fqdn/matchpattern/matchpattern.go
    ``dnsWildcardREGroup``; cilium PR #43420, Cilium 1.19). trustmap's ``*.example.com`` means one
    or more labels (docs/format.md), so Cilium gets ``**.example.com``."""
    assert fqdn_pattern("*.example.com") == "**.example.com"
    assert fqdn_pattern("api.example.com") == "api.example.com"
    text = SHOP.replace(
        "    - {service: shop/plain, interface: web, reason: pages}\n",
        "    - {service: shop/plain, interface: web, reason: pages}\n"
        "  egress:\n    - {host: '*.example.com', ports: [443], reason: images}\n",
    )
    found = [m for _, m in compile_graph(graph(text), "cilium", "prod").objects]
    fqdns = [f for m in found for r in m["spec"].get("egress", []) for f in r.get("toFQDNs", [])]
    assert fqdns == [{"matchPattern": "**.example.com"}]


def test_cilium_refuses_audit_namespaces_instead_of_allowing_everything_silently() -> None:
    """Rule: Cilium's audit mode is an agent option (``policy-audit-mode``) or an endpoint option
    (``PolicyAuditMode``), not a policy field (cilium Documentation/security/policy-creation.rst,
    "Policy Audit Mode"); ``enableDefaultDeny: false`` only stops a policy from putting its
    endpoints into default deny (language.rst), so such a policy allows and never reports an AUDIT
    verdict. No policy is written for an audit namespace, and TM312 says how to get would-be drops."""
    result = compile_graph(graph(), "cilium", "staging", WORKLOADS)
    assert result.objects == ()
    (finding,) = result.diagnostics
    assert finding.code == "TM312"
    assert finding.hint is not None
    assert "policyAuditMode=true" in finding.hint
    assert "PolicyAuditMode=Enabled" in finding.hint
    assert objects("cilium", "prod")


def test_cilium_output_leaves_kubelet_probes_and_scrapers_reachable() -> None:
    """Rule: Cilium always allows the local host (where the kubelet runs) to reach the node's
    endpoints, unless the agent runs with ``--allow-localhost=policy`` (language.rst, "Access
    to/from local host"): in Kubernetes mode ``allow-localhost: auto`` becomes ``always`` (cilium
    daemon start-up: "k8s mode: Allowing localhost to reach local endpoints"), which inserts an
    L3 allow for the host identity into every endpoint's policy map (pkg/policy/mapstate.go
    ``determineAllowLocalhostIngress``) and turns L7 rules that would match the host into
    allow-all (pkg/policy/rule.go ``hostWildcardL7``), so L7 rules never refuse a probe. The same
    insert yields to a deny entry (``DenyPreferredInsert``), and deny rules win over allows
    (language.rst "Deny Policies"): no compiled policy may hold one. Platform consumers reach the
    interfaces they are granted."""
    found = objects("cilium")
    assert not [m for m in found if {"ingressDeny", "egressDeny"} & set(m["spec"])]
    text = SHOP.replace(
        "    - {name: web, port: 8080, appProtocol: http, consumers: [shop/web]}\n",
        "    - {name: web, port: 8080, appProtocol: http, consumers: [shop/web]}\n"
        "    - {name: metrics, port: 9102, appProtocol: http}\n",
    )
    policies = [m for _, m in compile_graph(graph(text), "cilium", "prod").objects]
    ingress = named(policies, "CiliumNetworkPolicy")["plain-ingress"]["spec"]["ingress"]
    scrape = [
        r for r in ingress if r["toPorts"][0]["ports"] == [{"port": "9102", "protocol": "TCP"}]
    ]
    assert scrape[0]["fromEndpoints"] == [
        {"matchLabels": {"k8s:io.kubernetes.pod.namespace": "monitoring", "app": "prometheus"}}
    ]


# --- manifests -> pods ------------------------------------------------------------------------


def test_the_online_boutique_manifests_give_every_declared_service_its_probes() -> None:
    """Rule: probes are read as the kubelet runs them (kubernetes.io "Configure Liveness,
    Readiness and Startup Probes"): ``httpGet`` path and port, ``grpc`` port, ``tcpSocket`` port;
    ``exec`` runs inside the container. The upstream manifests (release/kubernetes-manifests.yaml
    v0.10.6) probe frontend with ``GET /_healthz`` on 8080, redis-cart by TCP on 6379 and the
    gRPC services with the gRPC health check on their serving port."""
    from trustmap.graph import load_graph

    with at_root():
        found = load_graph([str(BOUTIQUE)], TODAY)
        workloads, problems = read_workloads(found, [str(BOUTIQUE / "manifests")])
    assert problems == []
    assert len(workloads) == len(found.services) == 12
    frontend = workloads[ServiceRef("default", "frontend")]
    assert {(p.action, p.port, p.path) for p in frontend.probes} == {("httpGet", 8080, "/_healthz")}
    assert {p.kind for p in frontend.probes} == {"liveness", "readiness"}
    redis = workloads[ServiceRef("default", "redis-cart")]
    assert {(p.action, p.port) for p in redis.probes} == {("tcpSocket", 6379)}
    cart = workloads[ServiceRef("default", "cartservice")]
    assert {(p.action, p.port) for p in cart.probes} == {("grpc", 7070)}
    assert PortSpec(7070) in cart.ports


def test_manifest_mismatches_are_located_findings() -> None:
    """Rule: a pod that omits ``serviceAccountName`` runs as ``default`` (kubernetes.io "Configure
    Service Accounts for Pods"); meshes name callers by that account, so a workload running as
    another account than declared is TM310 at the workload, and a declared service no workload
    runs is TM309 at its podLabels."""
    with at_root():
        run = compile_paths(
            [str(CASE / "input")], "linkerd", today=TODAY, manifests=[str(CASE / "workloads")]
        )
    codes = {d.code: d for d in run.manifest_diagnostics}
    assert set(codes) == {"TM309", "TM310"}
    assert codes["TM310"].span is not None
    assert codes["TM310"].span.file.endswith("workloads/deployments.yaml")
    assert "'default'" in codes["TM310"].message
    assert codes["TM309"].span is not None
    assert codes["TM309"].span.file.endswith("input/declarations.yaml")
    assert set(codes.values()) <= set(run.findings)


@pytest.mark.parametrize(
    ("where", "code"), [("missing", "TM100"), ("empty", "TM308"), ("broken", "TM101")]
)
def test_unreadable_or_empty_manifests_exit_2_and_write_nothing(
    where: str, code: str, tmp_path: Path
) -> None:
    """Compiling without the probes that were asked for could block them: exit 2, nothing written,
    and the located problem is said."""
    from click.testing import CliRunner

    from trustmap.cli import cli

    manifests = tmp_path / "manifests"
    if where == "empty":
        manifests.mkdir()
        (manifests / "config.yaml").write_text(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
        )
    if where == "broken":
        manifests.mkdir()
        (manifests / "web.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {x\n")
    out = tmp_path / "out"
    args = ["compile", str(BOUTIQUE), "-t", "linkerd", "--now", "2026-11-23"]
    with at_root():
        result = CliRunner().invoke(cli, [*args, "--manifests", str(manifests), "--out", str(out)])
    assert result.exit_code == 2
    assert code in result.stderr
    if where == "broken":
        assert "web.yaml:4:1" in result.stderr
    assert not out.exists()


_SEGMENT = st.text(alphabet="abc.-_~%2F0", min_size=0, max_size=6)


@given(
    parts=st.lists(_SEGMENT, min_size=1, max_size=4),
    fills=st.lists(st.text(alphabet="ab/.-", max_size=5), min_size=3, max_size=3),
    query=st.one_of(st.none(), st.text(alphabet="a=&/?*.", max_size=8)),
)
def test_cilium_path_regex_allows_every_path_the_glob_matches_with_any_query(
    parts: list[str], fills: list[str], query: str | None
) -> None:
    """Property of the rule above: whatever the declared glob, a request whose path the glob
    matches is allowed with or without a query string, and one with a character added at the end
    of the path is not (unless the glob ends in ``*``)."""
    glob = "/" + "*".join(parts)
    path = "/" + "".join(
        p + (fills[i % 3] if i < len(parts) - 1 else "") for i, p in enumerate(parts)
    )
    regex = path_regex(glob)
    suffix = "" if query is None else "?" + query
    assert re.fullmatch(regex, path + suffix)
    if not glob.endswith("*"):
        assert not re.fullmatch(regex, path + "x" + suffix)


def test_workloads_reach_the_compilers_in_worker_processes_too() -> None:
    """Several targets compile in forked workers: they must see the same probes (same bytes)."""
    from trustmap.dialects import compile_targets

    together = compile_targets(graph(), ["linkerd", "cilium"], "prod", 2, workloads=WORKLOADS)
    for rendered in together:
        alone = render_graph(graph(), rendered.target, "prod", WORKLOADS)
        assert rendered.documents == alone.documents
        assert rendered.diagnostics == alone.diagnostics
    assert any("kubelet-probes" in text for _, text in together[0].documents)


def test_linkerd_reports_https_probes_it_cannot_authorise() -> None:
    """Rule: Linkerd's probe routes are HTTP routes (Exact path matches, linkerd2 policy-
    controller/k8s/index/src/inbound/index.rs ``default_inbound_http_routes``); a TLS connection
    is not an HTTP request to the proxy, so it is authorised only by the Server's own
    authorisations (linkerd2-proxy linkerd/proxy/server-policy/src/lib.rs: ``Tls``/``Opaque``
    protocols carry the Server's authorisations alone). Admitting the kubelet there would admit
    every client: an HTTPS probe is reported (TM313) at the probe, not silently broken."""
    https = {**WORKLOADS, ServiceRef("shop", "cache"): pods(Probe(8081, "httpGet", "/", "HTTPS"))}
    result = compile_graph(graph(), "linkerd", "prod", https)
    (finding,) = [d for d in result.diagnostics if d.code == "TM313"]
    assert "shop/cache" in finding.message
    assert finding.hint is not None
    assert "skip-inbound-ports" in finding.hint


def test_unreadable_manifests_say_only_what_is_wrong_with_them(tmp_path: Path) -> None:
    """A missing or broken manifest may hold the workloads it seems to lack: its error is said,
    not a TM309 for every service it might run."""
    graph = graph_from_text(
        (BOUTIQUE / "services" / "storefront.yaml").read_text(), "s.yaml", TODAY
    )
    _, problems = read_workloads(graph, [tmp_path / "missing"])
    assert [p.code for p in problems] == ["TM100"]
