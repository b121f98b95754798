"""The quick path for plain dependencies builds exactly what the full checks build, and
``new_edge`` an ordinary edge."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark_orgs import generate_organisation
from trustmap.diagnostics import Span
from trustmap.graph import build, graph_from_text, load_graph
from trustmap.graph.dependencies import Context, plain_edge, resolve_dependency
from trustmap.model import (
    Dependency,
    Edge,
    EdgeKind,
    Endpoint,
    Exposure,
    Interface,
    Rules,
    Service,
    ServiceRef,
    Team,
    Workload,
    new_edge,
)

ROOT = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 11, 23)

# Each value is mostly the plain one, so that all but one condition hold in many examples.
reasons = st.sampled_from(
    ["reads prices"] * 6 + [None, "", "TODO ask", "todo", "ToDo: x", "toDO", "ß", "to do"]
)
expiries = st.sampled_from([None] * 4 + [-1, 0, 1, 29, 30, 31, 99, 100, 101, 364, 365, 366]).map(
    lambda days: None if days is None else TODAY + dt.timedelta(days=days)
)
asked_methods = st.sampled_from([("A",)] * 6 + [(), ("B",), ("A", "B"), ("A", "A"), ("D",)])
offered_methods = st.sampled_from([("A", "B"), ("A", "B"), (), ("B",), ("A",)])
consumers = st.sampled_from(
    [("a/caller",)] * 4
    + [(), ("*",), ("team:payments",), ("team:x",), ("namespace:a",), ("namespace:b",)]
)
rules = st.builds(
    Rules,
    require_reason=st.booleans(),
    require_provider_consent=st.booleans(),
    max_expiry_days=st.sampled_from([None, None, 0, 30, 100, 365]),
)


def _service(
    ref: ServiceRef, interfaces: tuple[Interface, ...], deps: tuple[Dependency, ...]
) -> Service:
    workload = Workload(ref.name, (("app", ref.name),))
    return Service(ref, "payments", workload, interfaces, deps, (), Span("f.yaml", 1, 1))


@settings(max_examples=600, deadline=None)
@given(
    target=st.sampled_from(["b/target"] * 4 + ["b/other", "c:b/target", "b/target/x"]),
    interface=st.sampled_from(["grpc", "grpc", None, "http"]),
    two_interfaces=st.booleans(),
    exposure=st.sampled_from(["internal", "internal", "ingress", "world"]),
    offered=offered_methods,
    admitted=consumers,
    asked=asked_methods,
    reason=reasons,
    expires=expiries,
    org_rules=rules,
)
def test_a_quick_edge_is_the_edge_the_full_checks_build_with_no_finding(
    target: str,
    interface: str | None,
    two_interfaces: bool,
    exposure: Exposure,
    offered: tuple[str, ...],
    admitted: tuple[str, ...],
    asked: tuple[str, ...],
    reason: str | None,
    expires: dt.date | None,
    org_rules: Rules,
) -> None:
    grpc = Interface("grpc", 8080, 8080, "TCP", "grpc", exposure, admitted, offered, Span("t", 3))
    http = Interface("http", 80, 80, "TCP", "http", "internal", (), (), Span("t", 9, 5))
    provider = _service(ServiceRef("b", "target"), (grpc, http) if two_interfaces else (grpc,), ())
    dep = Dependency(target, interface, asked, reason, expires, None, Span("c", 7, 7))
    caller = _service(ServiceRef("a", "caller"), (), (dep,))
    services = {s.ref: s for s in (provider, caller)}
    teams = {"payments": Team("payments", ("lead@example.com",), ("a", "b"))}
    ctx = Context.of(services, teams, org_rules, TODAY)
    quick = plain_edge(*ctx.caller(caller), dep, ctx)
    full = resolve_dependency(caller, dep, ctx)
    if quick is not None:
        assert quick == full.edge
        assert list(full.diagnostics) == []


def test_a_plain_dependency_takes_the_quick_path() -> None:
    grpc = Interface("grpc", 8080, 8080, "TCP", "grpc", "internal", ("a/caller",), ("A",))
    provider = _service(ServiceRef("b", "target"), (grpc,), ())
    dep = Dependency("b/target", None, ("A",), "reads prices", None, None, Span("c", 7, 7))
    caller = _service(ServiceRef("a", "caller"), (), (dep,))
    ctx = Context.of({s.ref: s for s in (provider, caller)}, {}, Rules(), TODAY)
    edge = plain_edge(*ctx.caller(caller), dep, ctx)
    assert edge is not None
    assert edge == resolve_dependency(caller, dep, ctx).edge


@pytest.fixture(scope="module")
def organisation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_organisation(tmp_path_factory.mktemp("org"), 300, 1500)


def test_the_generated_organisation_builds_the_same_graph_without_the_quick_path(
    organisation: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRUSTMAP_CACHE_DIR", str(tmp_path / "cache"))
    quick = load_graph([organisation], TODAY)
    monkeypatch.setattr(build, "plain_edge", lambda *args: None)
    full = load_graph([organisation], TODAY)
    assert quick == full
    assert {d.code for d in full.diagnostics} >= {"TM203", "TM210", "TM211", "TM212"}


DECLARATIONS = """\
apiVersion: trustmap.dev/v1alpha1
kind: Organization
metadata: {name: org}
spec:
  rules: {maxExpiryDays: 100}
---
apiVersion: trustmap.dev/v1alpha1
kind: Team
metadata: {name: t}
spec: {owners: [lead@example.com], namespaces: [a]}
---
apiVersion: trustmap.dev/v1alpha1
kind: Service
metadata: {name: api, namespace: a}
spec:
  team: t
  workload: {serviceAccount: api, podLabels: {app: api}}
  interfaces:
    - {name: grpc, port: 8080, consumers: [a/web], methods: [pkg.Api/Get, pkg.Api/List]}
    - {name: http, port: 80, consumers: ["*"], exposure: world}
---
apiVersion: trustmap.dev/v1alpha1
kind: Service
metadata: {name: web, namespace: a}
spec:
  team: t
  workload: {serviceAccount: web, podLabels: {app: web}}
  dependsOn:
    - {service: a/api, interface: grpc, methods: [pkg.Api/Get], reason: reads}
    - {service: a/api, interface: grpc, methods: [pkg.Api/List], reason: lists}
    - {service: a/api, interface: http, reason: TODO find out}
    - {service: a/api, interface: http, reason: pages, expires: 2026-12-01}
    - {service: a/api, interface: http, reason: pages, expires: 2027-12-01}
    - {service: a/web, interface: grpc, reason: self}
    - {service: a/apx, interface: grpc, reason: typo}
"""


def test_duplicates_self_calls_and_every_finding_are_the_same_without_the_quick_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    quick = graph_from_text(DECLARATIONS, "org.yaml", TODAY)
    monkeypatch.setattr(build, "plain_edge", lambda *args: None)
    full = graph_from_text(DECLARATIONS, "org.yaml", TODAY)
    assert quick == full
    assert {d.code for d in full.diagnostics} >= {"TM203", "TM212", "TM213", "TM219", "TM220"}


def test_new_edge_builds_an_ordinary_equal_frozen_edge() -> None:
    caller = Endpoint("a", "caller", (("app", "caller"),), "caller")
    values = (
        caller,
        ServiceRef("b", "t"),
        "grpc",
        8080,
        "TCP",
        ("A",),
        EdgeKind.DEPENDENCY,
        "why",
        Span("c", 7, 7),
        Span("t", 3),
        "lead",
        TODAY,
    )
    edge = new_edge(*values)
    assert edge == Edge(*values)
    assert hash(edge) == hash(Edge(*values))
    assert new_edge(*values[:10]) == Edge(*values[:10])  # approved_by and expires default to None
    with pytest.raises(AttributeError):
        edge.reason = "changed"  # type: ignore[misc]
