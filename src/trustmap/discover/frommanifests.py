"""``discover_manifests``: draft declarations from Kubernetes manifests.

Services come from workloads (grouped by the Kubernetes Services that select them), interfaces
from Service and container ports, dependencies from configuration values that name another
Service of the manifests. A name that matches no Service is listed as unresolved with where it
is written; it never becomes a service.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from trustmap.diagnostics import Diagnostic, Span, diagnostic, sort_diagnostics
from trustmap.discover.assemble import ServiceBuilder, finish
from trustmap.discover.draft import Discovery, Evidence, Unresolved
from trustmap.discover.grouping import Group, group_objects
from trustmap.discover.interfaces import InterfaceBuilder, Interfaces, build_interfaces
from trustmap.discover.inventory import Inventory, read_manifests, written_account
from trustmap.discover.references import (
    SCHEME_PORTS,
    Reference,
    is_ip,
    references_in,
    service_names,
)
from trustmap.discover.refine import (
    TEAM_KEYS,
    minimal_labels,
    shared_accounts,
    shared_env_from,
    team_of,
)
from trustmap.discover.settings import Setting, settings_of
from trustmap.kube import KubeService, KubeWorkload
from trustmap.names import did_you_mean

__all__ = ["discover_manifests"]


@dataclass(slots=True)
class _Index:
    """Kubernetes Services by ``(namespace, name)`` and the draft each belongs to."""

    services: dict[tuple[str, str], KubeService] = field(default_factory=dict)
    drafts: dict[tuple[str, str], tuple[ServiceBuilder, Interfaces]] = field(default_factory=dict)
    shared_env_from: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    """ConfigMaps loaded whole by several drafts: what they name is weak evidence."""
    weak: dict[tuple[str, str, str], str] = field(default_factory=dict)
    """``(caller, target, interface)`` → the review note, for references only such a
    ConfigMap makes."""


@dataclass(frozen=True, slots=True)
class _Refine:
    """What every draft is refined with (see :mod:`trustmap.discover.refine`)."""

    team_keys: Sequence[str]
    accounts: dict[str, str]
    workloads: list[KubeWorkload]


def discover_manifests(paths: Sequence[Path], team_keys: Sequence[str] = TEAM_KEYS) -> Discovery:
    """Draft declarations from the manifests under ``paths`` (files or directories); the team of
    a draft is the first of ``team_keys`` its workloads' labels or annotations carry.

    Returns:
        The discovery; its diagnostics hold manifest problems (TM1xx, TM6xx) and discovery
        findings (TM52x). Nothing is written: see :func:`trustmap.discover.write_drafts`.
    """
    inventory = read_manifests(paths)
    problems: list[Diagnostic] = list(inventory.diagnostics)
    workloads = _unowned(inventory.workloads)
    groups = group_objects(workloads, inventory.services)
    index = _Index({(s.namespace, s.name): s for s in inventory.services})
    index.shared_env_from = shared_env_from(groups)
    refine = _Refine(team_keys, shared_accounts(groups), workloads)
    builders: list[ServiceBuilder] = []
    for group in groups:
        builder = _builder(group, problems, refine)
        if builder is None:
            continue
        builders.append(builder)
        for service in group.services:
            index.drafts[service.namespace, service.name] = (builder, builder.interfaces)
    unresolved: list[Unresolved] = []
    by_ref = {b.ref: b for b in builders}
    for group in groups:
        if group.ref in by_ref:
            _dependencies(group, by_ref[group.ref], inventory, index, unresolved, problems)
    _note_weak(index, by_ref)
    if not builders:
        problems.append(_nothing(paths))
    inputs = tuple(str(p) for p in paths)
    return finish("manifests", inputs, builders, unresolved, (), sort_diagnostics(problems))


def _unowned(workloads: list[KubeWorkload]) -> list[KubeWorkload]:
    """Workloads whose controlling owner is not in the input too (exported pods, ReplicaSets)."""
    present = {(w.namespace, w.kind, w.name) for w in workloads}
    return [w for w in workloads if w.owner is None or (w.namespace, *w.owner) not in present]


def _builder(group: Group, problems: list[Diagnostic], refine: _Refine) -> ServiceBuilder | None:
    interfaces, found = build_interfaces(group)
    problems.extend(found)
    neighbours = [w for w in refine.workloads if w.namespace == group.namespace]
    labels, label_note = minimal_labels(group, neighbours)
    team, owners, team_note = team_of(group, refine.team_keys)
    evidence = [Evidence(w.title, str(w.span)) for w in group.workloads]
    evidence += [Evidence(s.title, str(s.span)) for s in group.services]
    builder = ServiceBuilder(
        namespace=group.namespace,
        name=group.name,
        pod_labels=labels,
        service_account=group.service_account,
        interfaces=interfaces,
        evidence=evidence,
        team=team,
        owners=owners,
    )
    notes = (label_note, team_note, refine.accounts.get(group.ref))
    builder.review.extend(n for n in notes if n)
    if not group.workloads:
        builder.review.append("no workload in the manifests is selected by its Service")
    accounts = {written_account(w) for w in group.workloads}
    if len(accounts) > 1:
        builder.review.append(
            f"its workloads run as different service accounts ({_accounts(accounts)}); "
            "give them one, or split the service"
        )
    if not group.pod_labels:
        first = group.workloads[0] if group.workloads else None
        where = first.span if first else group.services[0].span
        problems.append(_unlabelled(group, where))
        return None
    return builder


def _accounts(accounts: set[str | None]) -> str:
    return ", ".join(sorted(a or "default" for a in accounts))


def _unlabelled(group: Group, where: Span) -> Diagnostic:
    return diagnostic(
        "TM523",
        where,
        f"{group.ref} has no pod labels to select it by, so no draft is written for it",
        "label the pod template (app: <name>) and discover again",
    )


def _nothing(paths: Sequence[Path]) -> Diagnostic:
    return diagnostic(
        "TM523",
        Span(", ".join(str(p) for p in paths)),
        "no workloads or Services found, so there is nothing to draft",
        "pass the files or directories holding Deployments, StatefulSets, Pods and Services",
    )


def _dependencies(
    group: Group,
    caller: ServiceBuilder,
    inventory: Inventory,
    index: _Index,
    unresolved: list[Unresolved],
    problems: list[Diagnostic],
) -> None:
    for workload in sorted(group.workloads, key=lambda w: (w.kind, w.name)):
        for setting in settings_of(workload, inventory.config_maps, problems):
            for ref in references_in(setting.value, name=setting.name, env=setting.env):
                _resolve(ref, setting, caller, index, unresolved)


def _resolve(
    ref: Reference,
    setting: Setting,
    caller: ServiceBuilder,
    index: _Index,
    unresolved: list[Unresolved],
) -> None:
    evidence = Evidence(setting.describe(ref.text), str(setting.at))
    found = _target(ref, caller.namespace, index)
    if isinstance(found, str):
        unresolved.append(Unresolved(caller.ref, ref.text, evidence, found))
        return
    target, iface = found
    if target is caller:
        why = "names the service itself; no dependency is needed"
        unresolved.append(Unresolved(caller.ref, ref.text, evidence, why))
        return
    loaders = index.shared_env_from.get((caller.namespace, _env_from(setting.source)))
    if loaders:
        index.weak.setdefault(
            (caller.ref, target.ref, iface.name),
            f"weak evidence: envFrom ConfigMap {_env_from(setting.source)}, loaded whole by "
            f"{', '.join(loaders)}, names {target.ref}:{iface.port} ({evidence.at}); it is not "
            "drafted as a dependency: add it only if this service calls it",
        )
        return
    caller.depend(target.ref, iface, evidence)
    iface.consumers.add(caller.ref)


def _env_from(source: str) -> str:
    """The ConfigMap of an ``envFrom ConfigMap <name>`` setting source ('' for others)."""
    prefix = "envFrom ConfigMap "
    return source.removeprefix(prefix) if source.startswith(prefix) else ""


def _note_weak(index: _Index, by_ref: dict[str, ServiceBuilder]) -> None:
    """A review note for each weak reference no stronger evidence made a dependency."""
    for (caller, target, interface), note in sorted(index.weak.items()):
        builder = by_ref[caller]
        if (target, interface) not in builder.dependencies:
            builder.review.append(note)


def _target(
    ref: Reference, namespace: str, index: _Index
) -> tuple[ServiceBuilder, InterfaceBuilder] | str:
    """The draft and interface ``ref`` reaches, or why there is none."""
    if is_ip(ref.host):
        return "an IP address, not a Service name: use the Service's DNS name, or declare egress"
    candidates = service_names(ref.host, namespace)
    if not candidates:
        return "not a Kubernetes Service name (an external host?): declare egress if it is called"
    names = next((c for c in candidates if c in index.services), candidates[0])
    service = index.services.get(names)
    if service is None:
        known = [name for ns, name in index.services if ns == names[0]]
        return (
            f"no Service {names[1]} in namespace {names[0]} in the manifests"
            f"{did_you_mean(names[1], known)}"
        )
    draft = index.drafts.get(names)
    if draft is None:
        return (
            f"{service.title} selects no pods (type {service.type}"
            + (f", externalName {service.external_name}" if service.external_name else "")
            + "): declare its real backend, or an egress"
        )
    builder, interfaces = draft
    iface = _interface(ref, service, interfaces)
    return (builder, iface) if isinstance(iface, InterfaceBuilder) else iface


def _interface(
    ref: Reference, service: KubeService, interfaces: Interfaces
) -> InterfaceBuilder | str:
    ports = sorted({p.port for p in service.ports})
    listed = ", ".join(map(str, ports)) or "none"
    if ref.port is not None:
        found = interfaces.for_port(service.name, ref.port)
        return found or f"{service.title} has no port {ref.port} (ports: {listed})"
    default = SCHEME_PORTS.get(ref.scheme or "")
    if default is not None and default in ports:
        found = interfaces.for_port(service.name, default)
        if found is not None:
            return found
    if len(ports) == 1:
        found = interfaces.for_port(service.name, ports[0])
        if found is not None:
            return found
    return (
        f"names no port, and {service.title} has "
        + (f"several ({listed})" if len(ports) > 1 else "no usable port")
        + ": write host:port so the interface is known"
    )
