"""Graph checks that do not decide edges: one small function per rule, each returning diagnostics."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Container, Iterable, Mapping, Sequence

from trustmap.diagnostics import Diagnostic, Span, diagnostic
from trustmap.graph.cycles import adjacency, first_cycle, strongly_connected
from trustmap.model import Organization, Service, ServiceRef, Team
from trustmap.names import closest, did_you_mean

__all__ = [
    "PROXY_ADMIN",
    "check_consumers",
    "check_cycles",
    "check_egress",
    "check_interfaces",
    "check_platform_consumers",
    "check_selector_overlap",
    "check_service_accounts",
    "check_team",
]


def check_team(
    service: Service, teams: Mapping[str, Team], failed: Mapping[str, Span] | None = None
) -> list[Diagnostic]:
    """TM202 unknown team; TM205 service outside the team's namespaces; TM118 when the team's
    own document failed (its namespaces are unknown, so nothing is checked)."""
    team = teams.get(service.team)
    broken = (failed or {}).get(service.team)
    if team is None and broken is not None:
        return [
            diagnostic(
                "TM118",
                service.at("team"),
                f"team '{service.team}' of {service.ref} not checked: its declaration at "
                f"{broken} has an error",
                "fix the error reported for that document first",
            )
        ]
    if team is None:
        return [
            diagnostic(
                "TM202",
                service.at("team"),
                f"service {service.ref} names unknown team '{service.team}'"
                f"{did_you_mean(service.team, teams)}",
                "declare the Team, or fix spec.team",
            )
        ]
    if service.ref.namespace not in team.namespaces:
        return [
            diagnostic(
                "TM205",
                service.at("namespace"),
                f"team '{team.name}' may not declare services in namespace "
                f"'{service.ref.namespace}' (its namespaces: {', '.join(team.namespaces)})",
                f"add '{service.ref.namespace}' to the namespaces of team {team.name} at "
                f"{team.span}, or move the service",
            )
        ]
    return []


def check_interfaces(service: Service) -> list[Diagnostic]:
    """TM217 duplicate interface names or ports within one service."""
    found: list[Diagnostic] = []
    names: dict[str, Service] = {}
    ports: dict[tuple[int, str], str] = {}
    for interface in service.interfaces:
        if interface.name in names:
            found.append(
                diagnostic(
                    "TM217",
                    interface.span,
                    f"interface '{interface.name}' is declared twice in {service.ref}",
                    "give each interface its own name",
                )
            )
        key = (interface.port, interface.protocol)
        if key in ports:
            found.append(
                diagnostic(
                    "TM217",
                    interface.span,
                    f"interfaces '{ports[key]}' and '{interface.name}' of {service.ref} both use "
                    f"port {interface.port}/{interface.protocol}",
                    "merge them into one interface; enforcement cannot tell them apart",
                )
            )
        names[interface.name] = service
        ports[key] = interface.name
    return found


def check_consumers(
    service: Service,
    known: Mapping[ServiceRef, Service],
    teams: Mapping[str, Team],
    names: Container[str] | None = None,
) -> list[Diagnostic]:
    """TM215 wildcard on an internal interface; TM223 consumers that name nothing declared.

    ``names`` may hold every ``namespace/name`` of ``known``, computed once for many calls.
    """
    found: list[Diagnostic] = []
    for interface in service.interfaces:
        span = interface.consumers_span or interface.span
        for entry in interface.consumers:
            if entry == "*":
                if interface.exposure == "internal":
                    found.append(_wildcard(service, interface.name, span))
            elif entry.startswith("team:"):
                if entry[5:] not in teams:
                    team = closest(entry[5:], teams)
                    found.append(_unknown_consumer(entry, span, [f"team:{team}"] if team else []))
            elif entry.startswith("namespace:"):
                continue
            elif not (entry in names if names is not None else _known(entry, known)):
                found.append(_unknown_consumer(entry, span, _nearby(entry, known)))
    return found


def _nearby(entry: str, known: Mapping[ServiceRef, Service]) -> list[str]:
    """Candidates for "did you mean", compared on the part that differs: a close name in the
    same namespace, else the same name in a close namespace (never a shared prefix alone)."""
    namespace, _, name = entry.partition("/")
    same = [r.name for r in known if r.namespace == namespace]
    if same:
        match = closest(name, same)
        return [f"{namespace}/{match}"] if match else []
    homes = [r.namespace for r in known if r.name == name]
    match = closest(namespace, homes)
    return [f"{match}/{name}"] if match else []


def _known(entry: str, known: Mapping[ServiceRef, Service]) -> bool:
    namespace, _, name = entry.partition("/")
    return ServiceRef(namespace, name) in known


def _wildcard(service: Service, interface: str, span: object) -> Diagnostic:
    return diagnostic(
        "TM215",
        span,  # type: ignore[arg-type]
        f"interface '{interface}' of {service.ref} lets every workload call it (consumers: '*') "
        "although its exposure is internal",
        "list the consumers, use 'namespace:<ns>' or 'team:<t>', or declare exposure: world",
    )


def _unknown_consumer(entry: str, span: object, candidates: Iterable[str]) -> Diagnostic:
    return diagnostic(
        "TM223",
        span,  # type: ignore[arg-type]
        f"consumer '{entry}' is not declared{_suggestion(candidates)}",
        "use namespace/name of a declared service, team:<name>, namespace:<name> or '*'",
    )


def _suggestion(candidates: Iterable[str]) -> str:
    found = next(iter(candidates), None)
    return f" (did you mean '{found}'?)" if found else ""


def check_selector_overlap(services: Sequence[Service]) -> list[Diagnostic]:
    """TM208: two services in one namespace whose pod selectors can match the same pod."""
    found: list[Diagnostic] = []
    for group in _by_namespace(services).values():
        for first, second in _overlapping_pairs(group):
            found.append(
                diagnostic(
                    "TM208",
                    second.at("podLabels"),
                    f"pod selector of {second.ref} ({_labels(second)}) overlaps {first.ref} "
                    f"({_labels(first)}, declared at {first.at('podLabels')})",
                    "give each service a pod label the other lacks, so policies can tell them apart",
                    (first.at("podLabels"),),
                )
            )
    return found


def _by_namespace(services: Sequence[Service]) -> dict[str, list[Service]]:
    groups: dict[str, list[Service]] = defaultdict(list)
    for service in services:
        groups[service.ref.namespace].append(service)
    return groups


def _overlapping_pairs(group: list[Service]) -> list[tuple[Service, Service]]:
    """Pairs (earlier, later) whose label selectors agree on every key both name."""
    index: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for n, service in enumerate(group):
        for key, value in service.workload.pod_labels:
            index[key][value].add(n)
    everyone = set(range(len(group)))
    lacking = {key: everyone - set().union(*values.values()) for key, values in index.items()}
    pairs: list[tuple[Service, Service]] = []
    for n, service in enumerate(group):
        compatible = set(everyone)
        for key, value in service.workload.pod_labels:
            compatible &= lacking[key] | index[key][value]
        pairs.extend((group[m], service) for m in sorted(compatible) if m < n)
    return pairs


def _labels(service: Service) -> str:
    return ",".join(f"{k}={v}" for k, v in service.workload.pod_labels)


def check_service_accounts(services: Sequence[Service]) -> list[Diagnostic]:
    """TM209: services of one namespace sharing a service account (meshes cannot tell them apart)."""
    first: dict[tuple[str, str], Service] = {}
    found = []
    for service in services:
        account = service.workload.service_account
        if account is None:
            continue
        key = (service.ref.namespace, account)
        if key in first:
            found.append(
                diagnostic(
                    "TM209",
                    service.at("serviceAccount"),
                    f"{service.ref} shares service account '{account}' with {first[key].ref} "
                    f"(at {first[key].at('serviceAccount')})",
                    "give each service its own service account; Istio and Linkerd authorise by it",
                    (first[key].at("serviceAccount"),),
                )
            )
        else:
            first[key] = service
    return found


def check_cycles(
    calls: Iterable[tuple[int, int]], services: Mapping[ServiceRef, Service]
) -> list[Diagnostic]:
    """TM216 (info): strongly connected groups of services in the effective dependency graph.

    ``calls`` holds the caller → target pair of each effective dependency, services given by
    their place in ``services``, without self-calls; the order it iterates in decides which
    example cycle a finding shows.
    """
    refs = list(services)
    succ = adjacency(calls)
    found = []
    for component in strongly_connected(succ):
        if len(component) < 2:
            continue
        cycle = [refs[n] for n in first_cycle(succ, component)]
        loop = " → ".join(str(r) for r in [*cycle, cycle[0]])
        found.append(
            diagnostic(
                "TM216",
                services[cycle[0]].span,
                f"dependency cycle: {loop}"
                if len(component) <= 12
                else f"{len(component)} services depend on each other in cycles, e.g. "
                + " → ".join(str(r) for r in cycle[:8])
                + f" → … ({len(cycle)} hops back to the start)",
                "cycles are allowed, but an outage anywhere on the loop reaches every member",
            )
        )
    return found


PROXY_ADMIN = "linkerd-admin"
"""The Linkerd proxy's admin port: a platform consumer granted it scrapes every meshed pod's
proxy metrics (the linkerd target authorises it), though no declared service offers it."""


def check_platform_consumers(
    organization: Organization | None, services: Iterable[Service]
) -> list[Diagnostic]:
    """TM221: a platform consumer granted an interface name that no service offers."""
    if organization is None:
        return []
    offered = {i.name for s in services for i in s.interfaces} | {PROXY_ADMIN}
    found = []
    for consumer in organization.platform_consumers:
        for name in consumer.interfaces:
            if name not in offered:
                found.append(
                    diagnostic(
                        "TM221",
                        organization.span,
                        f"platform consumer '{consumer.name}' is granted interface '{name}', "
                        f"which no service offers{did_you_mean(name, offered)}",
                        "fix the interface name, or remove it from platformConsumers",
                    )
                )
    return found


def check_egress(service: Service, organization: Organization | None) -> list[Diagnostic]:
    """TM225: apiServer egress with no API server address in the Organization."""
    has_address = organization is not None and organization.api_server is not None
    return [
        diagnostic(
            "TM225",
            egress.span,
            f"{service.ref} declares apiServer egress but the Organization has no spec.apiServer",
            "add spec.apiServer.cidrs to the Organization so NetworkPolicy can allow it",
        )
        for egress in service.egress
        if egress.api_server and not has_address
    ]
