"""Otterize ClientIntents → draft declarations of both sides of every call.

Facts relied on (Otterize intents operator, ``src/operator/api/*/clientintents_types.go`` and
docs.otterize.com "ClientIntents CRD"): ``k8s.otterize.com/v1alpha2|v1alpha3|v1`` name the client
in ``spec.service.name`` and list ``spec.calls`` (``name`` — ``server`` or ``server.namespace`` —,
``type`` http|kafka|database|internet, ``HTTPResources`` of ``path`` and ``methods``, in v1alpha2
``resources``; ``kafkaTopics``/``topics``; ``databaseResources``; ``internet`` with ``domains``,
``ips``, ``ports``); ``v2alpha1|v2beta1|v2`` name it in ``spec.workload.name`` and list
``spec.targets``, each one of ``kubernetes``/``service`` (``name``, ``http`` of path and methods),
``kafka`` (``name``, ``topics``), ``sql`` (``name``, ``privileges``), ``internet``, ``aws``,
``gcp``, ``azure``. Intents name no ports, so ports are the protocol's usual one, marked for review.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trustmap.catalog.drafts import Drafts, ImportedDependency, ImportedEgress, ImportedInterface
from trustmap.catalog.reading import documents, mapping, strings, where
from trustmap.diagnostics import Diagnostic, diagnostic
from trustmap.loader import Document

__all__ = ["import_otterize"]

_DEFAULTS = {
    "http": ("http", 80, "http"),
    "kafka": ("kafka", 9092, "kafka"),
    "database": ("sql", 5432, "tcp"),
}
"""Call type → interface name, usual port, appProtocol."""


def import_otterize(
    paths: Sequence[str], namespace: str = "default"
) -> tuple[Drafts, list[Diagnostic]]:
    """Drafts from every ClientIntents under ``paths``, and the file problems."""
    drafts, problems = Drafts("Otterize ClientIntents"), list[Diagnostic]()
    for document in documents(paths, problems):
        data = mapping(document.data)
        if data.get("kind") != "ClientIntents" or not str(data.get("apiVersion", "")).startswith(
            "k8s.otterize.com/"
        ):
            problems.append(_not_intents(document, data))
            continue
        _intents(drafts, document, data, namespace)
    return drafts, problems


def _not_intents(document: Document, data: dict[str, Any]) -> Diagnostic:
    return diagnostic(
        "TM532",
        where(document),
        f"skipped {data.get('apiVersion', '?')} {data.get('kind', '?')}: not an Otterize ClientIntents",
        "pass only ClientIntents files (k8s.otterize.com)",
    )


def _intents(drafts: Drafts, document: Document, data: dict[str, Any], default_ns: str) -> None:
    metadata, spec = mapping(data.get("metadata")), mapping(data.get("spec"))
    namespace = str(metadata.get("namespace") or default_ns)
    v2 = "workload" in spec or "targets" in spec
    client_name = mapping(spec.get("workload" if v2 else "service")).get("name")
    if not client_name:
        drafts.skip(where(document, "spec"), "ClientIntents", "names no client workload")
        return
    client = drafts.service(namespace, str(client_name), namespace)
    source = f"ClientIntents {namespace}/{metadata.get('name', client_name)} ({where(document)})"
    calls = spec.get("targets" if v2 else "calls")
    for index, call in enumerate(calls if isinstance(calls, list) else []):
        key = "targets" if v2 else "calls"
        at = (document, ("spec", key, index))
        target = _target_v2(mapping(call)) if v2 else _target_v1(mapping(call))
        _call(drafts, client, target, source, at)


def _target_v1(call: dict[str, Any]) -> dict[str, Any]:
    kind = str(call.get("type") or "http").lower()
    http = call.get("HTTPResources") or call.get("resources") or []
    return {
        "type": kind,
        "name": call.get("name"),
        "http": http,
        "topics": call.get("kafkaTopics") or call.get("topics"),
        "database": call.get("databaseResources"),
        "internet": mapping(call.get("internet")),
    }


def _target_v2(target: dict[str, Any]) -> dict[str, Any]:
    for key in ("kubernetes", "service"):
        if key in target:
            body = mapping(target[key])
            return {"type": "http", "name": body.get("name"), "http": body.get("http") or []}
    if "kafka" in target:
        body = mapping(target["kafka"])
        return {"type": "kafka", "name": body.get("name"), "topics": body.get("topics")}
    if "sql" in target:
        body = mapping(target["sql"])
        return {"type": "database", "name": body.get("name"), "database": body.get("privileges")}
    if "internet" in target:
        return {"type": "internet", "internet": mapping(target["internet"])}
    return {"type": next(iter(target), "empty"), "name": None}


def _call(
    drafts: Drafts,
    client: Any,
    target: dict[str, Any],
    source: str,
    at: tuple[Document, tuple[str | int, ...]],
) -> None:
    kind = target["type"]
    span = where(at[0], *at[1])
    if kind == "internet":
        _internet(client, target["internet"], source)
        return
    if kind not in _DEFAULTS or not target.get("name"):
        drafts.skip(span, f"{kind} target", "not a call between workloads trustmap can declare")
        return
    name, _, namespace = str(target["name"]).partition(".")
    provider = drafts.service(namespace or client.namespace, name, namespace or client.namespace)
    interface, methods = _offer(provider, kind, target, source)
    client.depend(ImportedDependency(provider.ref, interface, methods, source))
    drafts.consent(provider, interface, client.ref)
    _unmapped_details(drafts, span, kind, target)


def _offer(provider: Any, kind: str, target: dict[str, Any], source: str) -> tuple[str, list[str]]:
    name, port, protocol = _DEFAULTS[kind]
    methods = _routes(target.get("http")) if kind == "http" else []
    if name not in provider.interfaces:
        note = f"the intents name no port: {port} is the usual {kind} port, set the container port"
        provider.interfaces[name] = ImportedInterface(name, port, protocol, [], [], [note], source)
    provider.interfaces[name].offer(methods)
    return name, methods


def _routes(resources: Any) -> list[str]:
    routes = []
    for resource in resources if isinstance(resources, list) else []:
        body = mapping(resource)
        path = str(body.get("path") or "/*")
        methods = [m.upper() for m in strings(body.get("methods"))] or ["*"]
        routes += [f"{m} {path}" if m != "*" else path for m in methods]
    return sorted(set(routes))


def _internet(client: Any, internet: dict[str, Any], source: str) -> None:
    ports = [int(p) for p in strings(internet.get("ports")) if str(p).isdigit()]
    for domain in strings(internet.get("domains")):
        client.egress.append(ImportedEgress(domain, None, ports, source))
    for ip in strings(internet.get("ips")):
        cidr = ip if "/" in ip else (f"{ip}/128" if ":" in ip else f"{ip}/32")
        client.egress.append(ImportedEgress(None, cidr, ports, source))


def _unmapped_details(drafts: Drafts, span: Any, kind: str, target: dict[str, Any]) -> None:
    if kind == "kafka" and target.get("topics"):
        topics = ", ".join(str(mapping(t).get("name")) for t in target["topics"] if mapping(t))
        drafts.skip(span, f"Kafka topics {topics}", "trustmap allows the broker port, not topics")
    if kind == "database" and target.get("database"):
        drafts.skip(
            span, "database privileges", "trustmap allows the port, not tables or operations"
        )
