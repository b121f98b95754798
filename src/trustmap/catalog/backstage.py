"""Backstage catalog → draft declarations: teams from owner groups, services from components,
interfaces from the APIs they provide, dependencies from the APIs they consume and ``dependsOn``.

Where the catalog says where a component runs, that is used: the Backstage Kubernetes plugin's
annotations ``backstage.io/kubernetes-namespace``, ``backstage.io/kubernetes-label-selector``
(``key=value,…``) and ``backstage.io/kubernetes-id`` (pods labelled ``backstage.io/kubernetes-id``)
(backstage.io/docs/features/kubernetes/configuration, "Surfacing your Kubernetes components as part
of an entity"); else the entity's catalog namespace and an ``app: <name>`` label, marked for review.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from trustmap.catalog.apidefs import Offer, openapi_offer, proto_offer
from trustmap.catalog.drafts import (
    Drafts,
    ImportedDependency,
    ImportedInterface,
    ImportedService,
    label,
)
from trustmap.catalog.entities import Entity, Ref, read_catalog, ref
from trustmap.catalog.reading import mapping, strings, where
from trustmap.diagnostics import Diagnostic

__all__ = [
    "INTERFACE_ANNOTATION",
    "KUBERNETES_ID",
    "NAMESPACE",
    "OWNERS_ANNOTATION",
    "PORT_ANNOTATION",
    "PROTOCOL_ANNOTATION",
    "SELECTOR",
    "SERVICE_ACCOUNT",
    "import_backstage",
]

PORT_ANNOTATION = "trustmap.dev/port"
"""An API entity's port, when its definition names none (written by ``export backstage``)."""
INTERFACE_ANNOTATION = "trustmap.dev/interface"
"""The trustmap interface an API entity stands for (written by ``export backstage``)."""
PROTOCOL_ANNOTATION = "trustmap.dev/app-protocol"
"""Its appProtocol (written by ``export backstage``)."""
OWNERS_ANNOTATION = "trustmap.dev/owners"
"""A Group's owners, comma-separated (written by ``export backstage``)."""
SERVICE_ACCOUNT = "trustmap.dev/service-account"
"""A Component's service account (written by ``export backstage``)."""
NAMESPACE = "backstage.io/kubernetes-namespace"
SELECTOR = "backstage.io/kubernetes-label-selector"
KUBERNETES_ID = "backstage.io/kubernetes-id"
_PROTOCOLS = {"openapi": "http", "graphql": "http", "grpc": "grpc", "trpc": "http"}
_NO_WORKLOAD = {"library", "documentation", "template"}


def import_backstage(paths: Sequence[str]) -> tuple[Drafts, list[Diagnostic]]:
    """Drafts from the entities under ``paths`` (Locations followed), and the file problems."""
    drafts = Drafts("a Backstage catalog")
    catalog, problems = read_catalog(paths, drafts)
    _teams(drafts, catalog)
    services = {e.key: s for e in catalog.values() if (s := _service(drafts, e)) is not None}
    providers = _interfaces(drafts, catalog, services)
    for api in (e for e in catalog.values() if e.kind == "API" and e.key not in providers):
        drafts.skip(where(api.document), f"API {api.name}", "no Component read provides it")
    for entity in catalog.values():
        if entity.key in services:
            _needs(drafts, entity, services, providers, catalog)
        elif entity.kind in ("System", "Domain", "Resource"):
            _context(drafts, entity)
    return drafts, problems


def _teams(drafts: Drafts, catalog: dict[Ref, Entity]) -> None:
    """Groups become teams; their owners are the group's and its members' e-mail addresses."""
    members: dict[str, list[str]] = {}
    for user in (e for e in catalog.values() if e.kind == "User"):
        email = mapping(user.spec.get("profile")).get("email")
        for parent in strings(user.spec.get("memberOf")):
            members.setdefault(ref(parent, "group", user.namespace)[2], []).extend(strings(email))
    for group in (e for e in catalog.values() if e.kind == "Group"):
        email = strings(mapping(group.spec.get("profile")).get("email"))
        listed = [o for o in group.annotations.get(OWNERS_ANNOTATION, "").split(",") if o]
        drafts.team(group.name, [*listed, *email, *members.get(group.name.lower(), [])])
        handle = group.annotations.get("github.com/team-slug")
        if handle:
            drafts.handles[label(group.name)] = f"@{handle}"


def _service(drafts: Drafts, entity: Entity) -> ImportedService | None:
    if entity.kind != "Component":
        return None
    kind = str(entity.spec.get("type", "service"))
    if kind in _NO_WORKLOAD:
        drafts.skip(
            where(entity.document), f"Component {entity.name}", f"a {kind} is not a workload"
        )
        return None
    owner = ref(str(entity.spec.get("owner", "")), "group", entity.namespace)
    namespace = entity.annotations.get(NAMESPACE) or entity.namespace
    service = drafts.service(namespace, entity.name, owner[2] or "unowned", _labels(entity))
    service.service_account = entity.annotations.get(SERVICE_ACCOUNT)
    service.notes.append(f"from Backstage Component {entity.name} ({where(entity.document)})")
    if not (SELECTOR in entity.annotations or KUBERNETES_ID in entity.annotations):
        service.notes.append(f"review: podLabels guessed; annotate the Component with {SELECTOR}")
    if owner[0] == "user":
        drafts.skip(
            where(entity.document, "spec", "owner"),
            f"owner {owner[2]}",
            "a user, not a group: drafted as a one-person team",
        )
    for key in ("subcomponentOf", "system"):
        if entity.spec.get(key):
            service.notes.append(f"Backstage {key}: {entity.spec[key]}")
    return service


def _labels(entity: Entity) -> dict[str, str] | None:
    selector = entity.annotations.get(SELECTOR)
    if selector:
        pairs = (part.split("=", 1) for part in selector.split(",") if "=" in part)
        return {k.strip(): v.strip() for k, v in pairs}
    if KUBERNETES_ID in entity.annotations:
        return {KUBERNETES_ID: entity.annotations[KUBERNETES_ID]}
    return None


def _interfaces(
    drafts: Drafts, catalog: dict[Ref, Entity], services: dict[Ref, ImportedService]
) -> dict[Ref, list[tuple[ImportedService, str]]]:
    """Each provided API as an interface; returns the providers of every API."""
    providers: dict[Ref, list[tuple[ImportedService, str]]] = {}
    for key, service in services.items():
        component = catalog[key]
        for index, text in enumerate(strings(component.spec.get("providesApis"))):
            api_ref = ref(text, "api", component.namespace)
            api = catalog.get(api_ref)
            span = where(component.document, "spec", "providesApis", index)
            if api is None:
                drafts.skip(
                    span, f"API {text}", "not in the catalog files read: no port or methods"
                )
                continue
            name = _interface(drafts, service, api)
            if name:
                providers.setdefault(api_ref, []).append((service, name))
    return providers


def _interface(drafts: Drafts, service: ImportedService, api: Entity) -> str | None:
    kind = str(api.spec.get("type", "")).lower()
    if kind not in _PROTOCOLS and PORT_ANNOTATION not in api.annotations:
        drafts.skip(
            where(api.document, "spec", "type"),
            f"API {api.name}",
            f"type {kind or '?'} is not a request/response API trustmap can declare",
        )
        return None
    offer = _offer(drafts, api, kind)
    name = label(api.annotations.get(INTERFACE_ANNOTATION) or api.name)
    port = _port(api, offer, kind)
    protocol = api.annotations.get(PROTOCOL_ANNOTATION) or _PROTOCOLS.get(kind, "tcp")
    review = (
        []
        if (offer.port or PORT_ANNOTATION in api.annotations)
        else [f"the definition names no port: {port} assumed, set the container port"]
    )
    source = f"Backstage API {api.name} ({where(api.document)})"
    service.interfaces[name] = ImportedInterface(
        name, port, protocol, list(offer.methods), [], review, source
    )
    return name


def _offer(drafts: Drafts, api: Entity, kind: str) -> Offer:
    definition = api.spec.get("definition")
    text = _definition_text(api, definition)
    if text is None:
        drafts.skip(
            where(api.document, "spec", "definition"),
            f"API {api.name} definition",
            "not readable here (remote or missing $text): any method allowed, no port",
        )
        return Offer(None, ())
    offer = (
        proto_offer(text)
        if kind == "grpc"
        else openapi_offer(text)
        if kind == "openapi"
        else Offer(None, ())
    )
    if offer.problem:
        drafts.skip(
            where(api.document, "spec", "definition"), f"API {api.name} definition", offer.problem
        )
    return offer


def _definition_text(api: Entity, definition: object) -> str | None:
    if isinstance(definition, str):
        return definition
    target = mapping(definition).get("$text")
    if not isinstance(target, str) or "://" in target:
        return None
    path = os.path.join(os.path.dirname(api.document.file), target)
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return None


def _port(api: Entity, offer: Offer, kind: str) -> int:
    given = api.annotations.get(PORT_ANNOTATION, "")
    if given.isdigit():
        return int(given)
    return offer.port or (50051 if kind == "grpc" else 80)


def _needs(
    drafts: Drafts,
    component: Entity,
    services: dict[Ref, ImportedService],
    providers: dict[Ref, list[tuple[ImportedService, str]]],
    catalog: dict[Ref, Entity],
) -> None:
    caller = services[component.key]
    source = f"Backstage Component {component.name} ({where(component.document)})"
    for index, text in enumerate(strings(component.spec.get("consumesApis"))):
        span = where(component.document, "spec", "consumesApis", index)
        found = providers.get(ref(text, "api", component.namespace))
        if not found:
            drafts.skip(span, f"consumed API {text}", "no Component read provides it")
        for provider, interface in found or []:
            caller.depend(ImportedDependency(provider.ref, interface, [], source))
            drafts.consent(provider, interface, caller.ref)
    for index, text in enumerate(strings(component.spec.get("dependsOn"))):
        _depends(
            drafts,
            caller,
            ref(text, "component", component.namespace),
            services,
            catalog,
            (component, index, source),
        )


def _depends(
    drafts: Drafts,
    caller: ImportedService,
    target: Ref,
    services: dict[Ref, ImportedService],
    catalog: dict[Ref, Entity],
    at: tuple[Entity, int, str],
) -> None:
    component, index, source = at
    span = where(component.document, "spec", "dependsOn", index)
    provider = services.get(target)
    if provider is None:
        kind = catalog[target].spec.get("type", target[0]) if target in catalog else target[0]
        drafts.skip(
            span,
            f"dependsOn {target[0]}:{target[2]}",
            f"a {kind} with no Kubernetes workload or address: declare a Service or an egress host for it",
        )
        return
    interfaces = list(provider.interfaces)
    interface = interfaces[0] if len(interfaces) == 1 else None
    caller.depend(ImportedDependency(provider.ref, interface, [], source))
    if interface:
        drafts.consent(provider, interface, caller.ref)
    else:
        drafts.skip(
            span,
            f"dependsOn {target[2]}",
            "the provider offers no single interface: name one in the draft",
        )


def _context(drafts: Drafts, entity: Entity) -> None:
    why = {
        "System": "a system groups components; kept as a comment on its services",
        "Domain": "a domain groups systems; no network meaning",
        "Resource": "a resource has no Kubernetes workload or address here",
    }[entity.kind]
    drafts.skip(where(entity.document), f"{entity.kind} {entity.name}", why)
