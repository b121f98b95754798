"""NetworkPolicy semantics on small inline manifests: one behaviour per test."""

from __future__ import annotations

from pathlib import Path

from analysis_helpers import deployment, lines, run

from trustmap.analysis import ConnSet

WEB = deployment("web", "app: web")
DB = deployment("db", "app: db", ports="- name: sql\n  containerPort: 5432")
EVERYWHERE = "0.0.0.0-255.255.255.255[External]"


def _policy(name: str, spec: str, namespace: str = "default") -> str:
    indented = "\n".join("  " + line for line in spec.strip("\n").splitlines())
    return (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        f"metadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n{indented}\n"
    )


def test_without_policies_everything_is_allowed_both_ways(tmp_path: Path) -> None:
    assert lines(tmp_path, WEB, DB) == [
        f"{EVERYWHERE} => default/db[Deployment] : All Connections",
        f"{EVERYWHERE} => default/web[Deployment] : All Connections",
        f"default/db[Deployment] => {EVERYWHERE} : All Connections",
        "default/db[Deployment] => default/web[Deployment] : All Connections",
        f"default/web[Deployment] => {EVERYWHERE} : All Connections",
        "default/web[Deployment] => default/db[Deployment] : All Connections",
    ]


def test_an_ingress_rule_limits_sources_and_ports(tmp_path: Path) -> None:
    policy = _policy(
        "db-in",
        """
podSelector: {matchLabels: {app: db}}
ingress:
- from: [{podSelector: {matchLabels: {app: web}}}]
  ports: [{port: 5432}]
""",
    )
    out = lines(tmp_path, WEB, DB, policy)
    assert "default/web[Deployment] => default/db[Deployment] : TCP 5432" in out
    assert not [
        line for line in out if line.endswith("=> default/db[Deployment] : All Connections")
    ]


def test_omitted_policy_types_add_egress_only_when_egress_rules_exist(tmp_path: Path) -> None:
    only_egress = _policy(
        "web-out",
        "podSelector: {matchLabels: {app: web}}\negress:\n- ports: [{port: 53, protocol: UDP}]",
    )
    conn, _ = run(tmp_path, WEB, DB, only_egress)
    assert conn.is_isolated("default/web[Deployment]", "egress")
    assert conn.is_isolated("default/web[Deployment]", "ingress"), "Ingress is always implied"
    assert conn.allowed("default/web[Deployment]", "default/db[Deployment]") == ConnSet.of(
        "UDP", 53, 53
    )
    assert not conn.allowed("default/db[Deployment]", "default/web[Deployment]")


def test_policy_types_egress_alone_leaves_ingress_open(tmp_path: Path) -> None:
    policy = _policy("web-out", "podSelector: {matchLabels: {app: web}}\npolicyTypes: [Egress]")
    conn, _ = run(tmp_path, WEB, DB, policy)
    assert not conn.allowed("default/web[Deployment]", "default/db[Deployment]")
    assert conn.allowed("default/db[Deployment]", "default/web[Deployment]").is_all()


def test_namespace_and_pod_selector_in_one_peer_must_both_match(tmp_path: Path) -> None:
    other_web = deployment("web", "app: web", namespace="other")
    ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: other\n  labels: {team: x}"
    both = _policy(
        "db-in",
        """
podSelector: {matchLabels: {app: db}}
ingress:
- from: [{namespaceSelector: {matchLabels: {team: x}}, podSelector: {matchLabels: {app: web}}}]
""",
    )
    conn, _ = run(tmp_path, WEB, DB, other_web, ns, both)
    assert conn.allowed("other/web[Deployment]", "default/db[Deployment]").is_all()
    assert not conn.allowed("default/web[Deployment]", "default/db[Deployment]")


def test_separate_peers_are_alternatives(tmp_path: Path) -> None:
    other_web = deployment("web", "app: web", namespace="other")
    either = _policy(
        "db-in",
        """
podSelector: {matchLabels: {app: db}}
ingress:
- from:
  - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: other}}
  - podSelector: {matchLabels: {app: web}}
""",
    )
    conn, _ = run(tmp_path, WEB, DB, other_web, either)
    assert conn.allowed("other/web[Deployment]", "default/db[Deployment]").is_all()
    assert conn.allowed("default/web[Deployment]", "default/db[Deployment]").is_all()


def test_ip_block_except_cuts_the_external_ranges_and_never_matches_pods(tmp_path: Path) -> None:
    policy = _policy(
        "db-in",
        """
podSelector: {matchLabels: {app: db}}
ingress:
- from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}]
  ports: [{port: 5432}]
""",
    )
    out = [line for line in lines(tmp_path, WEB, DB, policy) if "=> default/db" in line]
    assert out == [
        "10.0.0.0-10.0.255.255[External] => default/db[Deployment] : TCP 5432",
        "10.2.0.0-10.255.255.255[External] => default/db[Deployment] : TCP 5432",
    ]


def test_named_ports_resolve_on_each_destination_pod(tmp_path: Path) -> None:
    db2 = deployment("db2", "app: db", ports="- name: sql\n  containerPort: 3306")
    web_out = _policy(
        "web-out",
        """
podSelector: {matchLabels: {app: web}}
policyTypes: [Egress]
egress:
- ports: [{port: sql}, {port: 53, protocol: UDP}]
""",
    )
    conn, _ = run(tmp_path, WEB, DB, db2, web_out)
    web = "default/web[Deployment]"
    assert conn.allowed(web, "default/db[Deployment]") == ConnSet.of(
        "TCP", 5432, 5432
    ) | ConnSet.of("UDP", 53, 53)
    assert conn.allowed(web, "default/db2[Deployment]") == ConnSet.of(
        "TCP", 3306, 3306
    ) | ConnSet.of("UDP", 53, 53)
    [external] = [f for f in conn.ip_flows if f.workload == web and f.direction == "egress"]
    assert external.conns == ConnSet.of("UDP", 53, 53), "a port name means nothing for an IP"


def test_a_named_port_of_another_protocol_allows_nothing(tmp_path: Path) -> None:
    policy = _policy(
        "db-in",
        "podSelector: {matchLabels: {app: db}}\ningress:\n- ports: [{port: sql, protocol: UDP}]",
    )
    conn, _ = run(tmp_path, WEB, DB, policy)
    assert not conn.allowed("default/web[Deployment]", "default/db[Deployment]")
    assert conn.is_isolated("default/db[Deployment]", "ingress")


def test_end_port_gives_an_inclusive_range(tmp_path: Path) -> None:
    policy = _policy(
        "db-in",
        "podSelector: {}\ningress:\n- ports: [{port: 8000, endPort: 8010, protocol: SCTP}]",
    )
    conn, _ = run(tmp_path, WEB, DB, policy)
    assert (
        str(conn.allowed("default/web[Deployment]", "default/db[Deployment]")) == "SCTP 8000-8010"
    )


def test_flows_name_the_policies_that_allow_each_side(tmp_path: Path) -> None:
    db_in = _policy(
        "db-in", "podSelector: {matchLabels: {app: db}}\ningress:\n- ports: [{port: 5432}]"
    )
    also = _policy("db-wide", "podSelector: {}\ningress:\n- ports: [{port: 9000}]")
    conn, _ = run(tmp_path, WEB, DB, db_in, also)
    flow = conn.flows["default/web[Deployment]", "default/db[Deployment]"]
    assert str(flow.conns) == "TCP 5432,9000"
    assert flow.ingress_policies == ("default/db-in", "default/db-wide")
    assert flow.egress_policies == (), "web is not isolated for egress"
    assert conn.ingress_policies["default/db[Deployment]"] == ("default/db-in", "default/db-wide")


def test_replicas_and_self_are_never_listed_but_twins_are(tmp_path: Path) -> None:
    twin = deployment("web-twin", "app: web")
    out = lines(tmp_path, WEB, twin)
    assert "default/web[Deployment] => default/web-twin[Deployment] : All Connections" in out
    assert not [line for line in out if line.startswith("default/web[Deployment] => default/web[")]


def test_owned_pods_are_reported_as_their_owner(tmp_path: Path) -> None:
    pods = [
        f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: api-{i}\n  labels: {{app: api}}\n"
        "  ownerReferences: [{kind: ReplicaSet, name: api-5d9c, controller: true}]\n"
        "spec: {containers: [{name: c, image: i}]}"
        for i in range(3)
    ]
    bare = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: solo, namespace: ns1}\nspec: {containers: []}"
    )
    conn, _ = run(tmp_path, *pods, bare)
    assert sorted(conn.workloads) == ["default/api-5d9c[ReplicaSet]", "ns1/solo[Pod]"]


def test_ingress_controller_reaches_service_target_ports_within_policy(tmp_path: Path) -> None:
    svc = (
        "apiVersion: v1\nkind: Service\nmetadata: {name: db-svc}\n"
        "spec: {selector: {app: db}, ports: [{name: main, port: 80, targetPort: sql}, {port: 81}]}"
    )
    ingress = (
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: ing}\n"
        "spec: {defaultBackend: {service: {name: db-svc, port: {name: main}}}}"
    )
    assert "{ingress-controller} => default/db[Deployment] : TCP 5432" in lines(
        tmp_path, DB, svc, ingress
    )
    deny = _policy("db-in", "podSelector: {}\ningress:\n- ports: [{port: 80}]")
    conn, _ = run(tmp_path, DB, svc, ingress, deny)
    assert ("{ingress-controller}", "default/db[Deployment]") not in conn.flows


def test_an_ingress_backend_port_may_name_the_service_port_by_its_target_port(
    tmp_path: Path,
) -> None:
    """ingress-nginx matches an Ingress backend's port against each Service port's number, its
    ``targetPort`` and its name, compared as text (kubernetes/ingress-nginx,
    internal/ingress/controller/controller.go, ``serviceEndpoints``), and np-guard resolves
    Ingress backends the same way; so ``port: {number: 5432}`` reaches a Service port
    ``80 → 5432`` and ``port: {name: sql}`` one whose targetPort is the name ``sql``."""
    svc = (
        "apiVersion: v1\nkind: Service\nmetadata: {name: db-svc}\n"
        "spec: {selector: {app: db}, ports: [{port: 80, targetPort: 5432}, {port: 81}]}"
    )
    by_number = (
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: ing}\n"
        "spec: {defaultBackend: {service: {name: db-svc, port: {number: 5432}}}}"
    )
    found = lines(tmp_path, DB, svc, by_number)
    assert "{ingress-controller} => default/db[Deployment] : TCP 5432" in found
    named = svc.replace("targetPort: 5432", "targetPort: sql")
    by_name = by_number.replace("{number: 5432}", "{name: sql}")
    assert "{ingress-controller} => default/db[Deployment] : TCP 5432" in lines(
        tmp_path, DB, named, by_name
    )


def test_a_selector_that_splits_the_pods_of_one_owner_is_an_error(tmp_path: Path) -> None:
    pods = [
        f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p{i}\n  labels: {{app: a{i}}}\n"
        "  ownerReferences: [{name: owner, controller: true}]\nspec: {containers: []}"
        for i in range(2)
    ]
    policy = _policy("p", "podSelector: {matchLabels: {app: a0}}\npolicyTypes: [Ingress]")
    _, diagnostics = run(tmp_path, *pods, policy)
    [error] = [d for d in diagnostics if d.code == "TM618"]
    assert "default/owner[Pod]" in error.message
    assert error.span is not None
    assert error.span.line > 0
