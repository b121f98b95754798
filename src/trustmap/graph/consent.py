"""Who may call an interface: the provider's ``consumers`` list and its exposure."""

from __future__ import annotations

from trustmap.model import Interface, Service

__all__ = ["consents", "consumer_entries"]


def consents(interface: Interface, caller: Service) -> bool:
    """Whether ``interface`` lets ``caller`` in.

    ``exposure: world`` is public, so every caller is consented; otherwise one entry of
    ``consumers`` must match: ``*``, the caller's ``namespace/name``, ``team:<its team>`` or
    ``namespace:<its namespace>``.
    """
    if interface.exposure == "world":
        return True
    return not frozenset(interface.consumers).isdisjoint(consumer_entries(caller))


def consumer_entries(caller: Service) -> tuple[str, ...]:
    """The ``consumers`` entries any one of which admits ``caller``."""
    ref = caller.ref
    return ("*", f"{ref.namespace}/{ref.name}", f"team:{caller.team}", f"namespace:{ref.namespace}")
