"""Reading the Kubernetes objects that discovery drafts from: workloads with their container
configuration, Services and ConfigMaps, each value with the ``file:line:col`` it was written at.

Pod shapes, container ports and Service ports are parsed by :mod:`trustmap.analysis.workloads`
(the same validation and diagnostics as ``trustmap analyze``); what only discovery needs — the
service account, environment variables, ``envFrom``, arguments, ConfigMap volumes and every
value's position — is read here from :mod:`trustmap.loader` documents, which record positions.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trustmap.analysis.objects import ContainerPort, ServicePort
from trustmap.analysis.source import Cursor, Issues, manifest_files
from trustmap.analysis.workloads import CONTROLLER_KINDS, parse_pod, parse_service
from trustmap.diagnostics import Diagnostic, Span, diagnostic, sort_diagnostics
from trustmap.discover.draft import Labels
from trustmap.loader import Document, compose_documents

__all__ = [
    "ConfigMapEntry",
    "EnvEntry",
    "Inventory",
    "KubeContainer",
    "KubeService",
    "KubeServicePort",
    "KubeWorkload",
    "read_manifests",
]

_TEMPLATES: dict[str, tuple[str, ...]] = {"Pod": (), **CONTROLLER_KINDS}


@dataclass(frozen=True, slots=True)
class EnvEntry:
    """One ``env`` entry: a literal value, or a reference to a ConfigMap key."""

    name: str
    value: str | None
    at: Span
    config_map: tuple[str, str] | None = None
    """``(ConfigMap name, key)`` of a ``valueFrom.configMapKeyRef``."""


@dataclass(frozen=True, slots=True)
class KubeContainer:
    """What a container is configured with."""

    name: str
    env: tuple[EnvEntry, ...]
    env_from: tuple[tuple[str, str, Span], ...]
    """``envFrom`` ConfigMaps: ``(name, prefix, where)``."""
    args: tuple[tuple[str, str, Span], ...]
    """``command`` and ``args`` strings: ``(field, text, where)``, e.g. ``("args[1]", …)``."""
    config_maps: tuple[tuple[str, Span], ...]
    """ConfigMaps mounted as volumes into this container: ``(name, where the volume names it)``."""


@dataclass(frozen=True, slots=True)
class KubeWorkload:
    """A pod-producing object (or a bare pod) and its pod template."""

    namespace: str
    name: str
    kind: str
    labels: Labels
    service_account: str | None
    """``serviceAccountName`` when set (``None`` means the namespace's ``default``)."""
    ports: tuple[ContainerPort, ...]
    containers: tuple[KubeContainer, ...]
    """Init containers first, then containers."""
    owner: tuple[str, str] | None
    """``(kind, name)`` of the controlling owner, for exported pods and ReplicaSets."""
    at: Span
    port_spans: tuple[tuple[int, str, Span], ...] = ()
    """``(containerPort, protocol, where)`` of each container port entry."""

    def port_at(self, port: ContainerPort) -> Span:
        """Where ``port`` is declared (the workload's name when it cannot be told)."""
        return next(
            (at for n, proto, at in self.port_spans if (n, proto) == (port.port, port.protocol)),
            self.at,
        )

    @property
    def title(self) -> str:
        """``Deployment default/frontend``."""
        return f"{self.kind} {self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class KubeServicePort:
    """One Service port, with its ``appProtocol`` and position."""

    port: ServicePort
    app_protocol: str | None
    at: Span


@dataclass(frozen=True, slots=True)
class KubeService:
    """A Service."""

    namespace: str
    name: str
    type: str
    selector: Labels | None
    ports: tuple[KubeServicePort, ...]
    external_name: str | None
    at: Span

    @property
    def title(self) -> str:
        """``Service default/frontend``."""
        return f"Service {self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class ConfigMapEntry:
    """One ``data`` value of a ConfigMap."""

    key: str
    value: str
    at: Span


@dataclass(slots=True)
class Inventory:
    """The objects read, by kind, in file order (duplicates reported and left out)."""

    workloads: list[KubeWorkload] = field(default_factory=list)
    services: list[KubeService] = field(default_factory=list)
    config_maps: dict[tuple[str, str], tuple[ConfigMapEntry, ...]] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Place:
    """A value's document and key path, for positions and for problem cursors."""

    doc: Document
    path: tuple[str | int, ...]
    issues: Issues

    def at(self, *parts: str | int) -> _Place:
        return _Place(self.doc, self.path + parts, self.issues)

    def span(self, *parts: str | int) -> Span:
        return self.doc.span(self.path + parts)

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.doc.file, self.doc.index, self.path, self.issues)


def read_manifests(paths: Sequence[Path]) -> Inventory:
    """Read Kubernetes manifests (files, or directories walked for ``*.yaml|*.yml|*.json``).

    Returns:
        The inventory; its ``diagnostics`` hold every problem (unreadable files, YAML errors,
        invalid ports, duplicate objects), sorted by file, line and column.
    """
    issues = Issues()
    inventory = Inventory()
    seen: dict[tuple[str, str, str], Span] = {}
    for path in manifest_files(paths, issues):
        text = _read(path, issues)
        if text is None:
            continue
        inventory.files.append(str(path))
        issues.texts[str(path)] = text
        documents, problems = compose_documents(text, str(path))
        issues.diagnostics.extend(problems)
        for doc in documents:
            for kind, raw, place in _objects(doc, issues):
                _read_object(kind, raw, place, inventory, seen)
    inventory.diagnostics = sort_diagnostics([*issues.resolve(), *inventory.diagnostics])
    return inventory


def _read(path: Path, issues: Issues) -> str | None:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        message, hint, code = "file is not UTF-8 text", "save manifests as UTF-8", "TM106"
    except OSError as exc:
        message, hint, code = f"cannot read file: {exc.strerror or exc}", "check it", "TM100"
    issues.diagnostics.append(diagnostic(code, Span(str(path)), message, hint))
    return None


def _objects(doc: Document, issues: Issues) -> Iterator[tuple[str, dict[str, Any], _Place]]:
    if isinstance(doc.data, dict) and isinstance(doc.data.get("kind"), str):
        yield from _flatten(doc.data["kind"], doc.data, _Place(doc, (), issues))


def _flatten(
    kind: str, value: dict[str, Any], place: _Place
) -> Iterator[tuple[str, dict[str, Any], _Place]]:
    """The object itself, or the items of a ``List``/``*List`` (``kubectl get -o yaml``)."""
    items = value.get("items")
    if not (kind.endswith("List") and isinstance(items, list)):
        yield kind, value, place
        return
    for i, item in enumerate(items):
        if isinstance(item, dict):
            own = item.get("kind")
            yield from _flatten(
                own if isinstance(own, str) else kind[: -len("List")], item, place.at("items", i)
            )


def _read_object(
    kind: str,
    raw: dict[str, Any],
    place: _Place,
    inventory: Inventory,
    seen: dict[tuple[str, str, str], Span],
) -> None:
    if kind not in _TEMPLATES and kind not in ("Service", "ConfigMap"):
        return
    meta = _dict(raw, "metadata")
    name, namespace = meta.get("name"), meta.get("namespace") or "default"
    if not isinstance(name, str) or not name or not isinstance(namespace, str):
        place.cursor.at("metadata").report(
            "TM600",
            f"{kind} has no metadata.name (or a namespace that is not a string)",
            "every Kubernetes object needs metadata.name; this object is left out",
        )
        return
    key = (kind, namespace, name)
    if key in seen:
        inventory.diagnostics.append(_duplicate(kind, namespace, name, place, seen[key]))
        return
    seen[key] = place.span()
    if kind == "Service":
        inventory.services.append(_service(raw, name, namespace, place))
    elif kind == "ConfigMap":
        inventory.config_maps[namespace, name] = _config_map(raw, place)
    else:
        inventory.workloads.append(_workload(raw, kind, name, namespace, place))


def _duplicate(kind: str, namespace: str, name: str, place: _Place, first: Span) -> Diagnostic:
    return diagnostic(
        "TM524",
        place.span("metadata", "name"),
        f"{kind} {namespace}/{name} is defined again (first at {first}); the first is used",
        "discover one variant at a time, or remove the duplicate from the input",
    )


def _service(raw: dict[str, Any], name: str, namespace: str, place: _Place) -> KubeService:
    parsed = parse_service(raw, name, namespace, place.cursor)
    spec = _dict(raw, "spec")
    raw_ports = _list(spec, "ports")
    extra: dict[tuple[int, str], tuple[str | None, Span]] = {}
    for i, entry in enumerate(raw_ports):
        if isinstance(entry, dict) and isinstance(entry.get("port"), int):
            app = entry.get("appProtocol")
            key = (entry["port"], str(entry.get("protocol", "TCP")))
            extra.setdefault(
                key, (app if isinstance(app, str) else None, place.span("spec", "ports", i))
            )
    ports = tuple(
        KubeServicePort(p, *extra.get((p.port, p.protocol), (None, place.span("spec"))))
        for p in parsed.ports
    )
    kind = _str(spec, "type") or "ClusterIP"
    external = _str(spec, "externalName")
    return KubeService(
        namespace, name, kind, parsed.selector, ports, external, place.span("metadata", "name")
    )


def _config_map(raw: dict[str, Any], place: _Place) -> tuple[ConfigMapEntry, ...]:
    data = _dict(raw, "data")
    return tuple(
        ConfigMapEntry(str(key), str(value), place.span("data", key))
        for key, value in data.items()
        if isinstance(value, str | int | float) and not isinstance(value, bool)
    )


def _workload(
    raw: dict[str, Any], kind: str, name: str, namespace: str, place: _Place
) -> KubeWorkload:
    pod = parse_pod(raw, kind, name, namespace, place.cursor)
    tpath = _TEMPLATES[kind]
    template: Any = raw
    for key in tpath:
        template = template.get(key) if isinstance(template, dict) else None
    spec = _dict(template, "spec")
    splace = place.at(*tpath, "spec")
    account = _str(spec, "serviceAccountName") or _str(spec, "serviceAccount")
    volumes = _config_map_volumes(spec, splace)
    containers = tuple(
        _container(container, splace.at(group, i), volumes)
        for group in ("initContainers", "containers")
        for i, container in enumerate(_list(spec, group))
        if isinstance(container, dict)
    )
    return KubeWorkload(
        namespace=namespace,
        name=name,
        kind=kind,
        labels=pod.labels,
        service_account=account,
        ports=pod.ports,
        containers=containers,
        owner=_owner(raw),
        at=place.span("metadata", "name"),
        port_spans=tuple(_port_spans(spec, splace)),
    )


def _port_spans(spec: dict[str, Any], place: _Place) -> Iterator[tuple[int, str, Span]]:
    for i, container in enumerate(_list(spec, "containers")):
        for j, port in enumerate(_list(container, "ports")):
            if isinstance(port, dict) and isinstance(port.get("containerPort"), int):
                protocol = _str(port, "protocol") or "TCP"
                where = place.span("containers", i, "ports", j)
                yield port["containerPort"], protocol, where


def _owner(raw: dict[str, Any]) -> tuple[str, str] | None:
    for ref in _list(_dict(raw, "metadata"), "ownerReferences"):
        if isinstance(ref, dict) and ref.get("controller") is True:
            kind, name = ref.get("kind"), ref.get("name")
            if isinstance(kind, str) and isinstance(name, str):
                return kind, name
    return None


def _config_map_volumes(spec: dict[str, Any], place: _Place) -> dict[str, tuple[str, Span]]:
    """Volume name → (ConfigMap name, where)."""
    found: dict[str, tuple[str, Span]] = {}
    for i, volume in enumerate(_list(spec, "volumes")):
        source = volume.get("configMap") if isinstance(volume, dict) else None
        if isinstance(source, dict) and isinstance(source.get("name"), str):
            where = place.span("volumes", i, "configMap", "name")
            found[str(volume.get("name"))] = (source["name"], where)
    return found


def _container(
    raw: dict[str, Any], place: _Place, volumes: dict[str, tuple[str, Span]]
) -> KubeContainer:
    name = _str(raw, "name") or "?"
    env = tuple(_env(raw, place))
    env_from = []
    for i, entry in enumerate(_list(raw, "envFrom")):
        ref = entry.get("configMapRef") if isinstance(entry, dict) else None
        if isinstance(ref, dict) and isinstance(ref.get("name"), str):
            prefix = entry.get("prefix") if isinstance(entry.get("prefix"), str) else ""
            env_from.append((ref["name"], prefix, place.span("envFrom", i, "configMapRef", "name")))
    args = []
    for group in ("command", "args"):
        for i, value in enumerate(_list(raw, group)):
            if isinstance(value, str):
                args.append((f"{group}[{i}]", value, place.span(group, i)))
    mounts = _list(raw, "volumeMounts")
    mounted = tuple(
        volumes[m["name"]]
        for m in mounts
        if isinstance(m, dict) and isinstance(m.get("name"), str) and m["name"] in volumes
    )
    return KubeContainer(name, env, tuple(env_from), tuple(args), mounted)


def _env(raw: dict[str, Any], place: _Place) -> Iterator[EnvEntry]:
    for i, entry in enumerate(_list(raw, "env")):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        value = entry.get("value")
        if value is not None and not isinstance(value, bool):
            yield EnvEntry(entry["name"], str(value), place.span("env", i, "value"))
            continue
        source = entry.get("valueFrom")
        ref = source.get("configMapKeyRef") if isinstance(source, dict) else None
        if isinstance(ref, dict) and isinstance(ref.get("name"), str):
            key = ref.get("key")
            where = place.span("env", i, "valueFrom", "configMapKeyRef")
            yield EnvEntry(entry["name"], None, where, (ref["name"], str(key)))


def _dict(raw: Any, key: str) -> dict[str, Any]:
    """``raw[key]`` when it is a mapping, else empty (the analysis parsers report wrong types)."""
    value = raw.get(key) if isinstance(raw, dict) else None
    return value if isinstance(value, dict) else {}


def _list(raw: Any, key: str) -> list[Any]:
    """``raw[key]`` when it is a list, else empty."""
    value = raw.get(key) if isinstance(raw, dict) else None
    return value if isinstance(value, list) else []


def _str(raw: Any, key: str) -> str | None:
    """``raw[key]`` when it is a non-empty string."""
    value = raw.get(key) if isinstance(raw, dict) else None
    return value if isinstance(value, str) and value else None
