"""The declarations as Backstage catalog entities, so the graph shows in Backstage's catalog graph.

Each team becomes a ``Group``, each service a ``Component`` (``providesApis`` its interfaces,
``consumesApis`` what it depends on), each interface an ``API`` whose ``definition`` is an OpenAPI
document (HTTP routes), a protobuf service (gRPC methods) or a line of text. Catalog namespaces are
the Kubernetes namespaces; the Kubernetes plugin's annotations say where each component runs, and
``trustmap.dev/*`` annotations keep what Backstage has no field for, so that ``trustmap import
backstage`` reads the export back into the same services, interfaces and dependencies.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from trustmap.catalog.backstage import (
    INTERFACE_ANNOTATION as INTERFACE,
)
from trustmap.catalog.backstage import (
    KUBERNETES_ID,
    NAMESPACE,
    PORT_ANNOTATION,
    SELECTOR,
    SERVICE_ACCOUNT,
)
from trustmap.catalog.backstage import (
    OWNERS_ANNOTATION as OWNERS,
)
from trustmap.catalog.backstage import (
    PROTOCOL_ANNOTATION as APP_PROTOCOL,
)
from trustmap.model import Graph, Interface, Service, Team

__all__ = ["APP_PROTOCOL", "INTERFACE", "OWNERS", "export_backstage"]

API_VERSION = "backstage.io/v1alpha1"


def export_backstage(graph: Graph) -> str:
    """Every team, service and interface of ``graph`` as a multi-document catalog file."""
    entities = [_group(t) for t in sorted(graph.teams.values(), key=lambda t: t.name)]
    for service in graph.services.values():
        entities.append(_component(service, _consumed(graph, service)))
        entities += [_api(service, i) for i in service.interfaces]
    return "".join(
        "---\n" + yaml.dump(e, Dumper=_Dumper, sort_keys=False, allow_unicode=True)
        for e in entities
    )


class _Dumper(yaml.SafeDumper):
    """Safe YAML with multi-line strings (API definitions) as literal blocks."""


def _string(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _string)


def _group(team: Team) -> dict[str, Any]:
    emails = [o for o in team.owners if "@" in o and not o.startswith("@")]
    spec: dict[str, Any] = {"type": "team", "children": []}
    if emails:
        spec["profile"] = {"email": emails[0]}
    annotations = {OWNERS: ",".join(team.owners)}
    if team.github:
        annotations["github.com/team-slug"] = team.github.removeprefix("@")
    return _entity("Group", team.name, "default", annotations, spec)


def _entity(
    kind: str, name: str, namespace: str, annotations: dict[str, str], spec: dict[str, Any]
) -> dict[str, Any]:
    metadata = {"name": name, "namespace": namespace, "annotations": annotations}
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}


def _api_name(service: Service, interface: str) -> str:
    return f"{service.ref.name}-{interface}"


def _consumed(graph: Graph, service: Service) -> list[str]:
    refs = []
    for dependency in service.depends_on:
        namespace, _, name = dependency.service.rpartition(":")[2].partition("/")
        target = next(
            (
                s
                for s in graph.services.values()
                if (s.ref.namespace, s.ref.name) == (namespace, name)
            ),
            None,
        )
        interface = dependency.interface or (
            target.interfaces[0].name if target and len(target.interfaces) == 1 else None
        )
        if target is not None and interface is not None:
            refs.append(f"api:{namespace}/{_api_name(target, interface)}")
    return sorted(set(refs))


def _component(service: Service, consumes: list[str]) -> dict[str, Any]:
    labels = dict(service.workload.pod_labels)
    annotations = {NAMESPACE: service.ref.namespace}
    if list(labels) == [KUBERNETES_ID]:
        annotations[KUBERNETES_ID] = labels[KUBERNETES_ID]
    else:
        annotations[SELECTOR] = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    if service.workload.service_account:
        annotations[SERVICE_ACCOUNT] = service.workload.service_account
    spec: dict[str, Any] = {
        "type": "service",
        "lifecycle": "production",
        "owner": f"group:default/{service.team}",
        "providesApis": [_api_name(service, i.name) for i in service.interfaces],
    }
    if consumes:
        spec["consumesApis"] = consumes
    return _entity("Component", service.ref.name, service.ref.namespace, annotations, spec)


def _api(service: Service, interface: Interface) -> dict[str, Any]:
    kind, definition = _definition(interface)
    annotations = {
        INTERFACE: interface.name,
        PORT_ANNOTATION: str(interface.port),
        APP_PROTOCOL: interface.app_protocol or "tcp",
    }
    spec = {
        "type": kind,
        "lifecycle": "production",
        "owner": f"group:default/{service.team}",
        "definition": definition,
    }
    name = _api_name(service, interface.name)
    return _entity("API", name, service.ref.namespace, annotations, spec)


def _definition(interface: Interface) -> tuple[str, str]:
    protocol = (interface.app_protocol or "").lower()
    if protocol == "grpc" and interface.methods:
        return "grpc", _proto(interface.methods)
    if protocol in ("http", "http2", "https") and interface.methods:
        return "openapi", _openapi(interface)
    methods = ", ".join(interface.methods) or "every method"
    return (
        "other",
        f"{protocol or 'tcp'} on port {interface.port}/{interface.protocol}: {methods}\n",
    )


def _openapi(interface: Interface) -> str:
    paths: dict[str, dict[str, Any]] = {}
    for route in interface.methods:
        verb, _, path = route.partition(" ")
        if path:
            paths.setdefault(path, {})[verb.lower()] = {
                "responses": {"default": {"description": "any"}}
            }
    document = {
        "openapi": "3.0.3",
        "info": {"title": interface.name, "version": "trustmap"},
        "servers": [{"url": f"http://localhost:{interface.port}"}],
        "paths": paths,
    }
    return yaml.safe_dump(document, sort_keys=False)


def _proto(methods: Iterable[str]) -> str:
    services: dict[str, list[str]] = {}
    for method in methods:
        qualified, _, rpc = method.partition("/")
        services.setdefault(qualified, []).append(rpc)
    lines = ['syntax = "proto3";', 'import "google/protobuf/empty.proto";']
    for qualified, rpcs in sorted(services.items()):
        package, _, name = qualified.rpartition(".")
        lines += [f"package {package};"] if package else []
        lines.append(f"service {name} {{")
        lines += [
            f"  rpc {rpc} (google.protobuf.Empty) returns (google.protobuf.Empty);"
            for rpc in sorted(rpcs)
        ]
        lines.append("}")
    return "\n".join(lines) + "\n"
