"""Identity targets name callers by service account: services that share one are one caller.

Istio principals (``<trustDomain>/ns/<ns>/sa/<account>``) and Linkerd MeshTLSAuthentication
identities are the service account, so a rule that admits one service admits every service of
its namespace running as the same account. ``validate`` warns about it once (TM209); each
identity target says so again when it compiles (TM320), where the widening happens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trustmap.model import Service

if TYPE_CHECKING:
    from trustmap.dialects.base import Compiler

__all__ = ["shared_identities"]


def shared_identities(compiler: Compiler, services: list[Service]) -> None:
    """TM320 for each service of one namespace that shares its service account with another."""
    sharing: dict[str, list[Service]] = {}
    for service in services:
        account = service.workload.service_account
        if account is not None:
            sharing.setdefault(account, []).append(service)
    for account, group in sharing.items():
        for service in group if len(group) > 1 else ():
            others = ", ".join(str(s.ref) for s in group if s is not service)
            compiler.unsupported(
                "TM320",
                service.at("serviceAccount"),
                f"{compiler.TARGET} names callers by service account, and {service.ref} shares "
                f"'{account}' with {others}: whatever one of them may call, all of them may",
                "give each service its own service account (workload.serviceAccount)",
            )
