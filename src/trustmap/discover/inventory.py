"""The Kubernetes objects that discovery drafts from: workloads with their container
configuration, Services and ConfigMaps, each value with the ``file:line:col`` it was written at.

Objects are read by :func:`trustmap.kube.load_kube` (the same walker, validation and diagnostics
as ``trustmap analyze``); what only discovery needs — environment variables, ``envFrom``,
arguments, ConfigMap volumes and ConfigMap data — is read here from the objects' raw values and
positions. An object defined twice (same kind, namespace and name) is reported (TM524) and the
first one is used.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trustmap.diagnostics import Diagnostic, Span, diagnostic, sort_diagnostics
from trustmap.kube import KubeContainer, KubeObject, KubeService, KubeWorkload, load_kube

__all__ = [
    "ConfigMapEntry",
    "ContainerConfig",
    "EnvEntry",
    "Inventory",
    "container_configs",
    "read_manifests",
    "written_account",
]


@dataclass(frozen=True, slots=True)
class EnvEntry:
    """One ``env`` entry: a literal value, or a reference to a ConfigMap key."""

    name: str
    value: str | None
    at: Span
    config_map: tuple[str, str] | None = None
    """``(ConfigMap name, key)`` of a ``valueFrom.configMapKeyRef``."""


@dataclass(frozen=True, slots=True)
class ContainerConfig:
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


def read_manifests(paths: Sequence[Path]) -> Inventory:
    """Read Kubernetes manifests (the :mod:`trustmap.kube.files` walker).

    Returns:
        The inventory; its ``diagnostics`` hold every problem (unreadable files, YAML errors,
        invalid ports, duplicate objects), sorted by file, line and column.
    """
    kset, problems = load_kube(paths)
    inventory = Inventory(files=list(kset.files))
    seen: dict[tuple[str, str, str], Span] = {}
    for workload in kset.workloads:
        if _first(workload.obj, workload.namespace, seen, problems):
            inventory.workloads.append(workload)
    for service in kset.services:
        if _first(service.obj, service.namespace, seen, problems):
            inventory.services.append(service)
    for obj in kset.of_kind("ConfigMap"):
        namespace = obj.namespace or "default"
        if _named_config_map(obj, problems) and _first(obj, namespace, seen, problems):
            inventory.config_maps[namespace, obj.name] = _config_map(obj)
    inventory.diagnostics = sort_diagnostics(problems)
    return inventory


def written_account(workload: KubeWorkload) -> str | None:
    """The service account the manifest names (``None``: the namespace's ``default``)."""
    return workload.service_account if workload.service_account_written else None


def _named_config_map(obj: KubeObject, problems: list[Diagnostic]) -> bool:
    if obj.name:
        return True
    problems.append(
        diagnostic(
            "TM600",
            obj.span_at(("metadata",)),
            "ConfigMap has no metadata.name",
            "every Kubernetes object needs metadata.name; this object is left out",
        )
    )
    return False


def _first(
    obj: KubeObject, namespace: str, seen: dict[tuple[str, str, str], Span], sink: list[Diagnostic]
) -> bool:
    """Whether ``obj`` is the first of its kind, namespace and name (TM524 when not)."""
    key = (obj.kind, namespace, obj.name)
    first = seen.get(key)
    if first is not None:
        sink.append(_duplicate(obj, namespace, first))
        return False
    seen[key] = obj.document.span(obj.path)
    return True


def _duplicate(obj: KubeObject, namespace: str, first: Span) -> Diagnostic:
    return diagnostic(
        "TM524",
        obj.span_at(("metadata", "name")),
        f"{obj.kind} {namespace}/{obj.name} is defined again (first at {first}); the first is used",
        "discover one variant at a time, or remove the duplicate from the input",
    )


def _config_map(obj: KubeObject) -> tuple[ConfigMapEntry, ...]:
    data = _dict(obj.raw, "data")
    return tuple(
        ConfigMapEntry(str(key), str(value), obj.span_at(("data", key)))
        for key, value in data.items()
        if isinstance(value, str | int | float) and not isinstance(value, bool)
    )


def container_configs(workload: KubeWorkload) -> tuple[ContainerConfig, ...]:
    """The configuration of every container of ``workload``: init containers first."""
    obj = workload.obj
    spec = _dict(_at(obj.raw, workload.template_path), "spec")
    spec_path = (*workload.template_path, "spec")
    volumes = _config_map_volumes(spec, obj, spec_path)
    return tuple(
        _container(c, obj, volumes) for c in (*workload.init_containers, *workload.app_containers)
    )


def _at(raw: Any, path: Sequence[str | int]) -> Any:
    for key in path:
        raw = raw.get(key) if isinstance(raw, dict) else None
    return raw


def _config_map_volumes(
    spec: dict[str, Any], obj: KubeObject, spec_path: tuple[str | int, ...]
) -> dict[str, tuple[str, Span]]:
    """Volume name → (ConfigMap name, where)."""
    found: dict[str, tuple[str, Span]] = {}
    for i, volume in enumerate(_list(spec, "volumes")):
        source = volume.get("configMap") if isinstance(volume, dict) else None
        if isinstance(source, dict) and isinstance(source.get("name"), str):
            where = obj.span_at((*spec_path, "volumes", i, "configMap", "name"))
            found[str(volume.get("name"))] = (source["name"], where)
    return found


def _container(
    container: KubeContainer, obj: KubeObject, volumes: dict[str, tuple[str, Span]]
) -> ContainerConfig:
    raw = container.raw
    place = _Place(obj, container.path)
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
    return ContainerConfig(container.name or "?", env, tuple(env_from), tuple(args), mounted)


@dataclass(frozen=True, slots=True)
class _Place:
    obj: KubeObject
    path: tuple[str | int, ...]

    def span(self, *parts: str | int) -> Span:
        return self.obj.span_at((*self.path, *parts))


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
