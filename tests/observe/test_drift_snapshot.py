"""Identity by address: a pod/Service snapshot resolves flows recorded with IPs only."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from observe_helpers import SAMPLES

from trustmap.cli import cli
from trustmap.graph import load_graph
from trustmap.model import Graph
from trustmap.observe import ingest
from trustmap.observe.drift import drift
from trustmap.observe.enrich import Enricher
from trustmap.observe.identity import ObservedEndpoint, Resolver
from trustmap.observe.snapshot import load_snapshot, parse_snapshot

TODAY = dt.date(2026, 11, 23)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "observe" / "snapshot"
KUBECTL = FIXTURES / "pods-svc.json"
MANIFESTS = FIXTURES / "manifests.yaml"
DECLARATIONS = FIXTURES / "declarations.yaml"
ISTIO = SAMPLES / "istio"
ISTIO_LOGS = [
    ISTIO / "istio-text-access.httpbin-server-side.log",
    ISTIO / "istio-text-access.rbac-denied.synthetic.log",
    ISTIO / "istio-text-access.sleep-client-side.log",
]
ENVOY_LOG = SAMPLES / "envoy" / "envoy-default-example.log"


def declarations() -> Graph:
    return load_graph([str(DECLARATIONS)], TODAY)


def address(ip: str, namespace: str | None = None, pod: str | None = None) -> ObservedEndpoint:
    return ObservedEndpoint(namespace, None, None, (), None, pod, ip)


@pytest.fixture
def istio_db(db: Path) -> Path:
    report = ingest([str(p) for p in ISTIO_LOGS], "istio", db)
    assert report.malformed == 0
    ingest([str(ENVOY_LOG)], "envoy", db)
    return db


# reading the snapshot ------------------------------------------------------------------------


def test_kubectl_list_json_gives_pods_and_services_with_ips_labels_and_owners() -> None:
    snapshot, problems = load_snapshot([KUBECTL])
    assert problems == []
    assert (len(snapshot.pods), len(snapshot.services), snapshot.ignored) == (6, 3, 0)
    sleep = snapshot.at("10.44.1.23")
    assert sleep is not None
    assert sleep.name == "sleep-854565cb79-mcmnb"  # the live pod, not the completed job's
    assert sleep.labels == (
        ("app", "sleep"),
        ("pod-template-hash", "854565cb79"),
        ("security.istio.io/tlsMode", "istio"),
    )
    assert (sleep.service_account, sleep.workload) == ("sleep", "sleep")  # ReplicaSet → Deployment
    httpbin = snapshot.at("10.0.45.184")
    assert httpbin is not None
    assert (httpbin.namespace, httpbin.name) == ("foo", "httpbin")
    assert snapshot.at("10.128.0.12") is None  # host network: the node's address, not the pod's
    assert snapshot.at("10.9.9.9") is None


def test_manifests_in_yaml_give_the_same_pods_and_services_and_ignore_other_kinds() -> None:
    snapshot, problems = load_snapshot([MANIFESTS])
    assert problems == []
    assert (len(snapshot.pods), len(snapshot.services), snapshot.ignored) == (2, 1, 1)
    json_snapshot, _ = load_snapshot([KUBECTL])
    for ip in ("10.44.1.23", "10.44.1.27", "10.0.45.184"):
        yaml_owner, json_owner = snapshot.at(ip), json_snapshot.at(ip)
        assert yaml_owner is not None
        assert json_owner is not None
        assert (yaml_owner.namespace, yaml_owner.name) == (json_owner.namespace, json_owner.name)


def test_a_service_port_resolves_to_its_numeric_or_named_target_port() -> None:
    snapshot, _ = load_snapshot([KUBECTL])
    httpbin, locations = snapshot.at("10.0.45.184"), snapshot.at("10.0.2.1")
    assert httpbin is not None
    assert locations is not None
    assert snapshot.target_port(httpbin, 8000, "TCP") == 80  # type: ignore[arg-type]
    assert snapshot.target_port(locations, 80, "TCP") == 8080  # type: ignore[arg-type]
    assert snapshot.target_port(locations, 81, "TCP") is None  # type: ignore[arg-type]


def test_an_address_shared_by_two_live_pods_is_never_mapped() -> None:
    pods = [
        {
            "kind": "Pod",
            "metadata": {"name": name, "namespace": "a"},
            "status": {"podIP": "10.1.1.1"},
        }
        for name in ("one", "two")
    ]
    snapshot, problems = parse_snapshot([("s.json", json.dumps({"kind": "List", "items": pods}))])
    assert problems == []
    assert snapshot.at("10.1.1.1") is None
    assert snapshot.ambiguous == frozenset({"10.1.1.1"})


# resolution ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("observed", "label"),
    [
        (address("10.44.1.23"), "foo/sleep"),  # pod IP → labels app=sleep
        (address("10.0.45.184"), "foo/httpbin"),  # ClusterIP → selector app=httpbin
        (address("::ffff:10.44.1.27"), "foo/httpbin"),  # IPv4-mapped IPv6
        (address("10.44.1.27", namespace="foo", pod="httpbin-779c54bf49-6zmq4"), "foo/httpbin"),
        (address("", namespace="foo", pod="sleep-854565cb79-mcmnb"), "foo/sleep"),  # by name
        (address("10.0.0.1"), "unknown service default/kubernetes"),  # no selector
        (address("10.128.0.12"), "unknown ip 10.128.0.12"),  # host network
        (address("10.9.9.9"), "unknown ip 10.9.9.9"),  # not in the snapshot
        (address("10.44.1.23", namespace="bar"), "unknown pod bar/10.44.1.23"),  # disagrees
        (address("93.184.216.34"), "world"),
    ],
)
def test_address_only_endpoints_resolve_through_the_snapshot_and_are_never_guessed(
    observed: ObservedEndpoint, label: str
) -> None:
    snapshot, _ = load_snapshot([KUBECTL])
    completed, _ = Enricher(snapshot).endpoint(observed)
    assert Resolver(declarations()).resolve(completed).label == label


def test_an_endpoint_with_recorded_labels_is_left_as_recorded() -> None:
    snapshot, _ = load_snapshot([KUBECTL])
    recorded = ObservedEndpoint("foo", None, None, ("app=other",), None, None, "10.44.1.23")
    assert Enricher(snapshot).endpoint(recorded) == (recorded, None)


def test_istio_logs_resolve_by_ip_to_a_dropped_declared_edge(istio_db: Path) -> None:
    snapshot, _ = load_snapshot([KUBECTL])
    report = drift(declarations(), istio_db, snapshot=snapshot)
    (dropped,) = report.category("dropped")
    assert (dropped.source, dropped.destination, dropped.port) == ("foo/sleep", "foo/httpbin", 80)
    assert dropped.count == 2  # the two RBAC denials; the 418 was allowed
    assert dropped.detail is not None
    assert "rbac_access_denied_matched_policy" in dropped.detail
    assert report.category("unused") == ()
    (foo,) = [row for row in report.coverage.namespaces if row.name == "foo"]
    assert (foo.covered_workloads, foo.workloads) == (2, 2)


def test_an_envoy_request_to_a_cluster_ip_is_judged_on_the_target_port(istio_db: Path) -> None:
    snapshot, _ = load_snapshot([KUBECTL])
    (undeclared,) = drift(declarations(), istio_db, snapshot=snapshot).category("undeclared")
    assert (undeclared.source, undeclared.destination, undeclared.port) == (
        "geo/nsq2http",
        "geo/locations",
        8080,  # Service port 80 → targetPort "http" → the pod's container port 8080
    )
    assert undeclared.example is not None
    assert "service geo/locations (10.0.2.1)" in undeclared.example


def test_without_a_snapshot_address_only_flows_resolve_to_nothing(istio_db: Path) -> None:
    report = drift(declarations(), istio_db)
    assert report.category("dropped") == ()
    assert report.coverage.total.covered_flows == 0
    assert report.coverage.total.workloads == 0


def test_manifests_resolve_the_istio_sample_like_the_kubectl_list(istio_db: Path) -> None:
    by_json = drift(declarations(), istio_db, snapshot=load_snapshot([KUBECTL])[0])
    by_yaml = drift(declarations(), istio_db, snapshot=load_snapshot([MANIFESTS])[0])
    assert by_json.category("dropped") == by_yaml.category("dropped")


# bad snapshots -------------------------------------------------------------------------------


def run_drift(tmp_path: Path, snapshot: Path) -> tuple[int, str]:
    db = tmp_path / "flows.duckdb"
    if not db.exists():
        ingest([str(ENVOY_LOG)], "envoy", db)
    args = ["drift", str(DECLARATIONS), "--db", str(db), "--snapshot", str(snapshot)]
    result = CliRunner().invoke(cli, args)
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (
            '{"kind": "List", "items": [\n  {"kind": "Pod", "metadata": {"name": "a"},\n'
            '   "status": {"podIP": "10.1.2"}}]}\n',
            ":3:",
            "items[0].status.podIP: '10.1.2' is not an IP address",
        ),
        ('{"kind": "List", "items": [\n  {"kind": "Pod",}\n]}\n', ":2:18:", "invalid JSON"),
        (
            "kind: Service\nmetadata: {name: web}\nspec:\n  ports:\n    - {port: http}\n",
            ":5:14:",
            "spec.ports[0].port: expected a port number, got a string",
        ),
        (
            "kind: Pod\nmetadata:\n  name: web\n  labels: {tier: 1}\n",
            ":4:",
            "metadata.labels.tier: label value must be a string, got a number",
        ),
        ("kind: Pod\nmetadata: {namespace: a}\n", ":2:", "metadata.name: missing"),
        ("apiVersion: v1\nmetadata: {name: a}\n", ":1:1:", "kind: missing"),
        ("kind: ConfigMap\nmetadata: {name: a}\n", "", "holds no Pod and no Service"),
        ("kind: Pod\nmetadata: {name: [a\n", ":", "YAML syntax error"),
    ],
)
def test_a_bad_snapshot_names_file_line_and_field_and_exits_2(
    tmp_path: Path, text: str, where: str, message: str
) -> None:
    bad = tmp_path / "snapshot.json"
    bad.write_text(text)
    code, output = run_drift(tmp_path, bad)
    assert code == 2, output
    assert f"{bad}{where}" in output
    assert message in output
    assert "Traceback" not in output


def test_a_missing_snapshot_file_exits_2(tmp_path: Path) -> None:
    code, output = run_drift(tmp_path, tmp_path / "nope.json")
    assert code == 2
    assert "no such file or directory" in output
