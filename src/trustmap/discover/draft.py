"""What discovery found, as values: draft teams, services, interfaces and dependencies, each
with the evidence that produced it, plus the references it could not resolve.

Drafts are never trusted: every dependency's reason is a ``TODO`` that ``trustmap validate``
flags (TM212) until a person writes the real one, and team owners are a placeholder.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from trustmap.diagnostics import Diagnostic
from trustmap.names import PLACEHOLDER_OWNER

__all__ = [
    "PLACEHOLDER_OWNER",
    "Discovery",
    "DraftDependency",
    "DraftInterface",
    "DraftService",
    "DraftTeam",
    "Evidence",
    "FlowStats",
    "Labels",
    "Mode",
    "Unresolved",
]

Labels = tuple[tuple[str, str], ...]
"""Sorted ``(key, value)`` pairs."""
Mode = Literal["manifests", "flows"]


@dataclass(frozen=True, slots=True)
class FlowStats:
    """Observed requests behind a draft dependency."""

    count: int
    """Observations (flow rows times their ``count``)."""
    first_seen: dt.datetime | None
    """Earliest observation (UTC)."""
    last_seen: dt.datetime | None
    """Latest observation (UTC)."""
    verdicts: tuple[tuple[str, int], ...]
    """Observations per verdict, sorted by verdict name."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """One observation that supports a draft entry."""

    text: str
    """What was seen, e.g. ``env CART_SERVICE_ADDR=cartservice:7070 in Deployment default/frontend``."""
    at: str | None = None
    """``file:line:col`` where it is written; ``None`` for flows."""
    flows: FlowStats | None = None
    """Counts and times, for evidence from the flow database."""


@dataclass(frozen=True, slots=True)
class DraftInterface:
    """An interface of a draft service."""

    name: str
    port: int
    """Container (target) port: what enforcement names."""
    protocol: str
    service_port: int | None
    """Port clients dial on the Service, when it differs from ``port``."""
    app_protocol: str | None
    consumers: tuple[str, ...]
    """Discovered callers (``namespace/name``), sorted: the provider's draft consent."""
    evidence: tuple[Evidence, ...]
    review: tuple[str, ...] = ()
    """Things a person must decide (exposure of a LoadBalancer port, ...)."""


@dataclass(frozen=True, slots=True)
class DraftDependency:
    """A call a draft service makes."""

    service: str
    """Target as ``namespace/name``."""
    interface: str
    port: int
    protocol: str
    evidence: tuple[Evidence, ...]

    @property
    def reason(self) -> str:
        """The placeholder reason: ``TODO: discovered from …`` (flagged by validate)."""
        first = self.evidence[0]
        if first.flows is not None:
            return f"TODO: discovered from {_flows_phrase(first.flows)}"
        more = f" (+{len(self.evidence) - 1} more)" if len(self.evidence) > 1 else ""
        return f"TODO: discovered from {first.text}{more}"


@dataclass(frozen=True, slots=True)
class DraftService:
    """A draft ``kind: Service`` declaration."""

    namespace: str
    name: str
    team: str
    pod_labels: Labels
    service_account: str | None
    interfaces: tuple[DraftInterface, ...]
    dependencies: tuple[DraftDependency, ...]
    evidence: tuple[Evidence, ...]
    """The workloads and Services (or observed endpoints) it was drafted from."""
    review: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        """``namespace/name``."""
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class DraftTeam:
    """A draft ``kind: Team``: one per namespace, named after it."""

    name: str
    namespaces: tuple[str, ...]
    owners: tuple[str, ...] = (PLACEHOLDER_OWNER,)
    review: tuple[str, ...] = ("owners are a placeholder: write the team's real owners",)


@dataclass(frozen=True, slots=True)
class Unresolved:
    """A reference to another service that matched no Service (never turned into a draft)."""

    caller: str
    """``namespace/name`` of the draft service that holds the reference."""
    reference: str
    """The text that names the other side, e.g. ``shoppingassistantservice:80``."""
    evidence: Evidence
    why: str
    """Why it was not resolved."""


@dataclass(frozen=True, slots=True)
class Discovery:
    """Everything one discovery run found."""

    mode: Mode
    inputs: tuple[str, ...]
    """Manifest paths or the flow database, as given."""
    teams: tuple[DraftTeam, ...]
    services: tuple[DraftService, ...]
    unresolved: tuple[Unresolved, ...]
    skipped: tuple[tuple[str, int], ...] = ()
    """Observations left out on purpose, by kind (``dns``, ``non-workload peer``, ...)."""
    diagnostics: tuple[Diagnostic, ...] = ()
    review_first: tuple[str, ...] = ()
    """What a reviewer should check first, most consequential first."""

    @property
    def dependencies(self) -> int:
        """How many draft dependencies there are."""
        return sum(len(s.dependencies) for s in self.services)

    @property
    def interfaces(self) -> int:
        """How many draft interfaces there are."""
        return sum(len(s.interfaces) for s in self.services)


def _flows_phrase(stats: FlowStats) -> str:
    when = ""
    first, last = stats.first_seen, stats.last_seen
    if first and last:
        same = f"{first:%Y-%m-%d}" == f"{last:%Y-%m-%d}"
        when = f" on {first:%Y-%m-%d}" if same else f" between {first:%Y-%m-%d} and {last:%Y-%m-%d}"
    plural = "s" if stats.count != 1 else ""
    return f"{stats.count:,} observed request{plural}{when}"
