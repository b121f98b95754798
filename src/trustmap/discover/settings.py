"""The configuration values of a workload's containers that may name other services, each with
the evidence of where it is written: literal ``env`` values, ConfigMap keys read through
``valueFrom`` or ``envFrom``, ConfigMaps mounted as files, and ``command``/``args``.

``$(VAR)`` and ``${VAR}`` are expanded with the container's literal variables first, so
``http://${FRONTEND_ADDR}`` in a shell script reads as the address it dials.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from trustmap.diagnostics import Diagnostic, Span, diagnostic
from trustmap.discover.inventory import (
    ConfigMapEntry,
    ContainerConfig,
    EnvEntry,
    container_configs,
)
from trustmap.discover.references import expand, redact
from trustmap.kube import KubeWorkload

__all__ = ["Setting", "settings_of"]

_SHOWN = 80
"""Longest value quoted whole in evidence; longer ones (JAVA_OPTS, scripts) show the match."""


@dataclass(frozen=True, slots=True)
class Setting:
    """One value a container runs with."""

    name: str | None
    """Variable name; ``None`` for arguments and mounted files (no bare host names there)."""
    value: str
    """The value, with variables expanded."""
    source: str
    """How it reaches the container: ``env``, ``envFrom ConfigMap app-config``, ``args[1]``, …"""
    where: str
    """``in Deployment default/frontend container server``."""
    at: Span
    env: Mapping[str, str]
    """The container's literal variables (for ``X_HOST`` + ``X_PORT``)."""

    def describe(self, matched: str) -> str:
        """Evidence text for a reference ``matched`` in this value."""
        shown = redact(self.value) if len(self.value) <= _SHOWN else f"…{matched}…"
        if self.name is None:
            return f"{self.source} {shown!r} {self.where}"
        return f"{self.source} {self.name}={shown} {self.where}"


ConfigMaps = Mapping[tuple[str, str], tuple[ConfigMapEntry, ...]]


def settings_of(
    workload: KubeWorkload, config_maps: ConfigMaps, problems: list[Diagnostic]
) -> Iterator[Setting]:
    """Every setting of every container of ``workload`` (init containers first)."""
    for container in container_configs(workload):
        yield from _container(workload, container, config_maps, problems)


def _container(
    workload: KubeWorkload,
    container: ContainerConfig,
    config_maps: ConfigMaps,
    problems: list[Diagnostic],
) -> Iterator[Setting]:
    env: dict[str, str] = {}
    found: list[_Found] = []
    for cm_name, prefix, at in container.env_from:
        for entry in _config_map(workload.namespace, cm_name, at, config_maps, problems) or ():
            env[prefix + entry.key] = entry.value
            found.append(
                (prefix + entry.key, entry.value, f"envFrom ConfigMap {cm_name}", entry.at)
            )
    for var in container.env:
        value = _env_value(workload.namespace, var, config_maps, problems)
        if value is not None:
            env[var.name] = value[0]
            found.append((var.name, *value))
    for cm_name, at in container.config_maps:
        for entry in _config_map(workload.namespace, cm_name, at, config_maps, problems) or ():
            found.append((None, entry.value, f"ConfigMap {cm_name} file {entry.key}", entry.at))
    found.extend((None, text, field, at) for field, text, at in container.args)
    where = f"in {workload.title} container {container.name}"
    for name, text, source, at in found:
        yield Setting(name, expand(text, env), source, where, at, env)


_Found = tuple[str | None, str, str, Span]
"""(variable name, value, how it reaches the container, where it is written)."""


def _env_value(
    namespace: str, var: EnvEntry, config_maps: ConfigMaps, problems: list[Diagnostic]
) -> tuple[str, str, Span] | None:
    """``(value, source, where)`` of an ``env`` entry, reading ConfigMap keys it refers to."""
    if var.config_map is None:
        return var.value or "", "env", var.at
    cm_name, key = var.config_map
    entries = _config_map(namespace, cm_name, var.at, config_maps, problems)
    entry = next((e for e in entries or () if e.key == key), None)
    if entry is None:
        if entries is not None:
            problems.append(_missing(f"key '{key}' of ConfigMap {cm_name}", var.at))
        return None
    return entry.value, f"env from ConfigMap {cm_name}/{key}", entry.at


def _config_map(
    namespace: str, name: str, at: Span, config_maps: ConfigMaps, problems: list[Diagnostic]
) -> tuple[ConfigMapEntry, ...] | None:
    entries = config_maps.get((namespace, name))
    if entries is None:
        problems.append(_missing(f"ConfigMap {namespace}/{name}", at))
    return entries


def _missing(what: str, at: Span) -> Diagnostic:
    return diagnostic(
        "TM521",
        at,
        f"{what} is not in the manifests, so the addresses it may hold were not read",
        "add the ConfigMap manifest to the input to discover the services it names",
    )
