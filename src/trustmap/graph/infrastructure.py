"""Edges the Organization implies: ingress controllers, the world, and platform consumers."""

from __future__ import annotations

from collections.abc import Iterable

from trustmap.diagnostics import Diagnostic, Span, diagnostic
from trustmap.model import Edge, EdgeKind, Endpoint, Interface, Organization, Service, new_edge

__all__ = ["infrastructure_edges"]


def infrastructure_edges(
    organization: Organization | None, services: Iterable[Service]
) -> tuple[list[Edge], list[Diagnostic]]:
    """Edges into ``exposure: ingress|world`` interfaces and from platform consumers."""
    edges: list[Edge] = []
    problems: list[Diagnostic] = []
    controllers = organization.ingress_controllers if organization else ()
    consumers = [
        (
            consumer,
            Endpoint(
                consumer.namespace,
                consumer.name,
                consumer.pod_labels,
                consumer.service_account,
                "platform",
            ),
            f"platform consumer {consumer.name} (Organization)",
        )
        for consumer in (organization.platform_consumers if organization else ())
    ]
    for service in services:
        for interface in service.interfaces:
            if interface.exposure == "ingress":
                if not controllers:
                    problems.append(_no_controller(service, interface))
                edges.extend(_ingress(service, interface, organization))
            elif interface.exposure == "world":
                world = Endpoint("", "world", (), None, "world")
                edges.append(_edge(world, service, interface, EdgeKind.WORLD, "exposure: world"))
            for consumer, caller, reason in consumers:
                if interface.name in consumer.interfaces:
                    at = _declared(consumer.span, organization)
                    edges.append(_edge(caller, service, interface, EdgeKind.PLATFORM, reason, at))
    return edges, problems


def _ingress(
    service: Service, interface: Interface, organization: Organization | None
) -> list[Edge]:
    found = []
    for controller in organization.ingress_controllers if organization else ():
        caller = Endpoint(
            controller.namespace,
            controller.name,
            controller.pod_labels,
            controller.service_account,
            "ingress-controller",
        )
        at = _declared(controller.span, organization)
        found.append(_edge(caller, service, interface, EdgeKind.INGRESS, "exposure: ingress", at))
    return found


def _edge(
    caller: Endpoint,
    service: Service,
    interface: Interface,
    kind: EdgeKind,
    reason: str,
    declared_at: Span | None = None,
) -> Edge:
    """An edge the Organization implies; ``declared_at`` is the Organization entry that lets the
    caller in (the interface itself for ``exposure: world``, which no entry names)."""
    return new_edge(  # one edge per platform consumer and service
        caller,  # source
        service.ref,  # target
        interface.name,  # interface
        interface.port,  # port
        interface.protocol,  # protocol
        interface.methods if kind is not EdgeKind.PLATFORM else (),  # methods
        kind,  # kind
        reason,  # reason
        declared_at or interface.span,  # declared_at
        interface.span,  # offered_at
    )


def _declared(entry: Span, organization: Organization | None) -> Span | None:
    """The controller's or consumer's entry in the Organization, else the Organization."""
    if entry.file:
        return entry
    return organization.span if organization else None


def _no_controller(service: Service, interface: Interface) -> Diagnostic:
    return diagnostic(
        "TM224",
        interface.span,
        f"interface '{interface.name}' of {service.ref} has exposure: ingress but the "
        "Organization declares no ingress controller",
        "add spec.ingressControllers to the Organization; until then nothing can reach it from outside",
    )
