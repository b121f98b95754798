"""The machine summary of a discovery (``trustmap discover --format json``): what was found, with
its evidence, and what needs a person's review."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from trustmap.discover import (
    Discovery,
    DraftDependency,
    DraftInterface,
    DraftService,
    DraftTeam,
    Evidence,
    render_evidence,
)

__all__ = ["render_evidence", "summary"]
# render_evidence (one line per evidence, for the discover tables) is defined beside the
# drafts it annotates; the CLI takes it from here, with the other renderers.


def summary(discovery: Discovery, files: list[Path] | None = None) -> dict[str, Any]:
    """JSON-ready summary: services, interfaces, dependencies with evidence, unresolved
    references, items to review and diagnostics."""
    return {
        "mode": discovery.mode,
        "inputs": list(discovery.inputs),
        "files": [str(f) for f in files or []],
        "counts": {
            "services": len(discovery.services),
            "interfaces": discovery.interfaces,
            "dependencies": discovery.dependencies,
            "unresolved": len(discovery.unresolved),
        },
        "teams": [_team(t) for t in discovery.teams],
        "services": [_service(s) for s in discovery.services],
        "unresolved": [
            {"from": u.caller, "reference": u.reference, "why": u.why, **_evidence(u.evidence)}
            for u in discovery.unresolved
        ],
        "skipped": dict(discovery.skipped),
        "reviewFirst": list(discovery.review_first),
        "diagnostics": [
            {
                "code": d.code,
                "severity": d.severity.value,
                "at": str(d.span) if d.span else None,
                "message": d.message,
                "hint": d.hint,
            }
            for d in discovery.diagnostics
        ],
    }


def _team(team: DraftTeam) -> dict[str, Any]:
    return {
        "name": team.name,
        "namespaces": list(team.namespaces),
        "owners": list(team.owners),
        "review": list(team.review),
    }


def _service(service: DraftService) -> dict[str, Any]:
    return {
        "ref": service.ref,
        "team": service.team,
        "workload": {
            "serviceAccount": service.service_account,
            "podLabels": dict(service.pod_labels),
        },
        "from": [_evidence(e) for e in service.evidence],
        "review": list(service.review),
        "interfaces": [_interface(i) for i in service.interfaces],
        "dependencies": [_dependency(d) for d in service.dependencies],
    }


def _interface(iface: DraftInterface) -> dict[str, Any]:
    return {
        "name": iface.name,
        "port": iface.port,
        "servicePort": iface.service_port,
        "protocol": iface.protocol,
        "appProtocol": iface.app_protocol,
        "consumers": list(iface.consumers),
        "evidence": [_evidence(e) for e in iface.evidence],
        "review": list(iface.review),
    }


def _dependency(dep: DraftDependency) -> dict[str, Any]:
    return {
        "service": dep.service,
        "interface": dep.interface,
        "port": dep.port,
        "protocol": dep.protocol,
        "reason": dep.reason,
        "evidence": [_evidence(e) for e in dep.evidence],
    }


def _evidence(evidence: Evidence) -> dict[str, Any]:
    found: dict[str, Any] = {"evidence": evidence.text, "at": evidence.at}
    if evidence.flows is not None:
        stats = evidence.flows
        found["flows"] = {
            "count": stats.count,
            "firstSeen": _time(stats.first_seen),
            "lastSeen": _time(stats.last_seen),
            "verdicts": dict(stats.verdicts),
        }
    return found


def _time(value: dt.datetime | None) -> str | None:
    return None if value is None else value.replace(tzinfo=None).isoformat() + "Z"
