"""Draft declarations built from another tool's catalog, written for a person to review.

Imports read many documents that each add a little to a service (an API here, a consumer there),
so drafts accumulate in a builder and are frozen into text once, at the end. Nothing is trusted:
every dependency's reason is a ``TODO`` (``trustmap validate`` flags it, TM212), guessed values
carry a ``# review:`` comment, and what could not be mapped is listed with where and why.

These builders are not ``trustmap.discover``'s draft values: those are frozen, carry evidence
from manifests or flows and render as block YAML; these are filled document by document, carry
egress, methods and catalog sources, and render in the compact flow style the import fixtures
pin. Both share the label rule and the placeholder owner of ``trustmap.names``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from trustmap.diagnostics import Diagnostic, Span, diagnostic
from trustmap.names import PLACEHOLDER_OWNER, label_name

__all__ = [
    "Drafts",
    "ImportedDependency",
    "ImportedEgress",
    "ImportedInterface",
    "ImportedService",
    "label",
]


def label(text: str) -> str:
    """``text`` as a DNS-1123 label: lower case, ``[a-z0-9-]``, at most 63 characters."""
    return label_name(text, "unnamed")


@dataclass(slots=True)
class ImportedInterface:
    """An interface being drafted (a builder: consumers arrive from other documents)."""

    name: str
    port: int
    app_protocol: str | None = None
    methods: list[str] = field(default_factory=list)
    consumers: list[str] = field(default_factory=list)
    review: list[str] = field(default_factory=list)
    source: str = ""
    every: bool = False
    """Some caller needs every method, so none is listed."""

    def offer(self, methods: list[str]) -> None:
        """Offer ``methods`` too (none = every method, for good)."""
        if not methods:
            self.every = True
            self.methods.clear()
        elif not self.every:
            self.methods.extend(m for m in methods if m not in self.methods)


@dataclass(slots=True)
class ImportedDependency:
    """A dependency being drafted."""

    service: str
    interface: str | None
    methods: list[str]
    source: str


@dataclass(slots=True)
class ImportedEgress:
    """A call out of the cluster being drafted."""

    host: str | None
    cidr: str | None
    ports: list[int]
    source: str


@dataclass(slots=True)
class ImportedService:
    """A service being drafted."""

    namespace: str
    name: str
    team: str
    pod_labels: dict[str, str]
    service_account: str | None = None
    interfaces: dict[str, ImportedInterface] = field(default_factory=dict)
    depends_on: list[ImportedDependency] = field(default_factory=list)
    egress: list[ImportedEgress] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ref(self) -> str:
        """``namespace/name``."""
        return f"{self.namespace}/{self.name}"

    def depend(self, dependency: ImportedDependency) -> None:
        """Add ``dependency`` unless the same one is there; methods merge."""
        for known in self.depends_on:
            if (known.service, known.interface) == (dependency.service, dependency.interface):
                known.methods = _merged(known.methods, dependency.methods)
                return
        self.depends_on.append(dependency)


def _merged(old: list[str], new: list[str]) -> list[str]:
    if not old or not new:
        return []
    return sorted(set(old) | set(new))


@dataclass(slots=True)
class Drafts:
    """Teams, services and what could not be mapped, accumulated over every input document."""

    origin: str
    """What the drafts come from, e.g. ``Backstage catalog``."""
    teams: dict[str, list[str]] = field(default_factory=dict)
    handles: dict[str, str] = field(default_factory=dict)
    services: dict[str, ImportedService] = field(default_factory=dict)
    unmapped: list[Diagnostic] = field(default_factory=list)

    def team(self, name: str, owners: Iterable[str] = ()) -> str:
        """Declare (or extend) team ``name``; returns its label."""
        key = label(name)
        known = self.teams.setdefault(key, [])
        known.extend(o for o in owners if o not in known)
        return key

    def service(
        self, namespace: str, name: str, team: str, pod_labels: dict[str, str] | None = None
    ) -> ImportedService:
        """The draft of ``namespace/name``, created on first use."""
        ref = f"{label(namespace)}/{label(name)}"
        if ref not in self.services:
            self.team(team)
            labels = pod_labels or {"app": label(name)}
            self.services[ref] = ImportedService(label(namespace), label(name), label(team), labels)
        return self.services[ref]

    def consent(self, provider: ImportedService, interface: str, caller: str) -> None:
        """The provider's draft consent: ``caller`` in the interface's consumers."""
        found = provider.interfaces.get(interface)
        if found is not None and caller not in found.consumers:
            found.consumers.append(caller)

    def skip(self, where: Span | None, what: str, why: str) -> None:
        """Record something that could not be mapped (TM531)."""
        self.unmapped.append(diagnostic("TM531", where, f"{what}: {why}", _HINT))

    def files(self) -> dict[str, str]:
        """One YAML file per namespace: its teams, then its services, sorted."""
        by_namespace: dict[str, list[ImportedService]] = {}
        for ref in sorted(self.services):
            service = self.services[ref]
            by_namespace.setdefault(service.namespace, []).append(service)
        return {f"{ns}.yaml": self._file(ns, services) for ns, services in by_namespace.items()}

    def _file(self, namespace: str, services: list[ImportedService]) -> str:
        head = f"# Drafted by trustmap from {self.origin}: review every entry, then replace each TODO.\n"
        teams = sorted({s.team for s in services})
        documents = [self._team(t) for t in teams] + [_service(s) for s in services]
        return head + "---\n".join(documents)

    def _team(self, name: str) -> str:
        namespaces = sorted({s.namespace for s in self.services.values() if s.team == name})
        owners = self.teams.get(name) or [PLACEHOLDER_OWNER]
        lines = [
            "apiVersion: trustmap.dev/v1alpha1",
            "kind: Team",
            f"metadata: {{name: {name}}}",
            "spec:",
        ]
        if self.handles.get(name):
            lines.append(f"  github: {_q(self.handles[name])}")
        note = "  # review: owners not in the catalog" if owners == [PLACEHOLDER_OWNER] else ""
        lines.append(f"  owners: {_list(owners)}{note}")
        lines.append(f"  namespaces: {_list(namespaces)}")
        return "\n".join(lines) + "\n"


_HINT = "declare it by hand, or extend the catalog entry so that it says what is missing"


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _list(items: Iterable[str | int]) -> str:
    return "[" + ", ".join(_q(i) if isinstance(i, str) else str(i) for i in items) + "]"


def _service(service: ImportedService) -> str:
    lines = [f"# {note}" for note in service.notes]
    lines += [
        "apiVersion: trustmap.dev/v1alpha1",
        "kind: Service",
        f"metadata: {{name: {service.name}, namespace: {service.namespace}}}",
        "spec:",
        f"  team: {service.team}",
        "  workload:",
    ]
    if service.service_account:
        lines.append(f"    serviceAccount: {_q(service.service_account)}")
    labels = ", ".join(f"{_q(k)}: {_q(v)}" for k, v in sorted(service.pod_labels.items()))
    lines.append(f"    podLabels: {{{labels}}}")
    if service.interfaces:
        lines.append("  interfaces:")
        for interface in service.interfaces.values():
            lines += _interface(interface)
    if service.depends_on:
        lines.append("  dependsOn:")
        for dependency in service.depends_on:
            lines += _dependency(dependency)
    if service.egress:
        lines.append("  egress:")
        for egress in service.egress:
            lines += _egress(egress)
    return "\n".join(lines) + "\n"


def _interface(interface: ImportedInterface) -> list[str]:
    lines = [f"    # from {interface.source}"] if interface.source else []
    lines += [f"    # review: {note}" for note in interface.review]
    lines += [f"    - name: {interface.name}", f"      port: {interface.port}"]
    if interface.app_protocol:
        lines.append(f"      appProtocol: {interface.app_protocol}")
    if interface.consumers:
        lines.append(f"      consumers: {_list(sorted(interface.consumers))}  # draft consent")
    if interface.methods:
        lines.append(f"      methods: {_list(sorted(set(interface.methods)))}")
    return lines


def _dependency(dependency: ImportedDependency) -> list[str]:
    lines = [f"    - service: {dependency.service}"]
    if dependency.interface:
        lines.append(f"      interface: {dependency.interface}")
    if dependency.methods:
        lines.append(f"      methods: {_list(dependency.methods)}")
    lines.append(f"      reason: {_q('TODO: imported from ' + dependency.source)}")
    return lines


def _egress(egress: ImportedEgress) -> list[str]:
    key, value = ("host", egress.host) if egress.host else ("cidr", egress.cidr)
    lines = [f"    - {key}: {_q(value or '')}"]
    if egress.ports:
        lines.append("      ports: [" + ", ".join(f"{{port: {p}}}" for p in egress.ports) + "]")
    lines.append(f"      reason: {_q('TODO: imported from ' + egress.source)}")
    return lines
