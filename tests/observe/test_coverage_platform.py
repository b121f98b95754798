"""Coverage counts the workloads the Organization declares (DNS resolver, ingress controllers,
platform consumers) as declared, and names the rows that belong to no team.

The DNS resolver is declared in ``spec.dns.selector`` (docs/format.md); every pod's lookups go to
it, so counting it as an undeclared workload would make every organisation look incomplete.
"""

from __future__ import annotations

import datetime as dt

from trustmap.graph import graph_from_text
from trustmap.observe.coverage import NO_TEAM, PLATFORM_TEAM, FlowVerdict, coverage
from trustmap.observe.group import ObservedGroup
from trustmap.observe.identity import ObservedEndpoint, Resolver

ORG = """\
apiVersion: trustmap.dev/v1alpha1
kind: Organization
metadata: {name: acme}
spec:
  dns:
    selector: {namespace: kube-system, podLabels: {k8s-app: kube-dns}}
---
apiVersion: trustmap.dev/v1alpha1
kind: Team
metadata: {name: shop}
spec: {owners: [a@example.com], namespaces: [shop]}
---
apiVersion: trustmap.dev/v1alpha1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  team: shop
  workload: {serviceAccount: web, podLabels: {app: web}}
"""


def _pod(namespace: str, name: str, labels: tuple[str, ...]) -> ObservedEndpoint:
    return ObservedEndpoint(namespace, name, None, labels, None, f"{name}-1", None)


def _verdict(resolver: Resolver, src: ObservedEndpoint, dst: ObservedEndpoint) -> FlowVerdict:
    group = ObservedGroup(src, dst, (), 53, "UDP", "FORWARDED", None, 3, None, None)
    return FlowVerdict(group, resolver.resolve(src), resolver.resolve(dst), True)


def test_the_declared_dns_resolver_is_not_an_undeclared_workload() -> None:
    graph = graph_from_text(ORG, "org.yaml", dt.date(2026, 11, 23))
    resolver = Resolver(graph)
    web = _pod("shop", "web", ("k8s:app=web",))
    dns = _pod("kube-system", "coredns", ("k8s:k8s-app=kube-dns",))
    stray = _pod("shop", "debug", ("app=debug",))
    cov = coverage(graph, [_verdict(resolver, web, dns), _verdict(resolver, stray, dns)])
    assert (cov.total.workloads, cov.total.covered_workloads) == (3, 2)
    teams = {row.name: row for row in cov.teams}
    assert teams[PLATFORM_TEAM].covered_workloads == 1
    assert teams[NO_TEAM].workloads == 1
    assert teams[NO_TEAM].covered_workloads == 0


def test_the_row_of_undeclared_workloads_says_what_it_is() -> None:
    assert NO_TEAM != "-"
    assert "declared" in NO_TEAM
