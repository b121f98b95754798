"""Writing drafts to a folder (never over a file unless asked), and the machine summary of a
discovery: what was found, with its evidence, and what needs a person's review."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from trustmap.discover.draft import (
    Discovery,
    DraftDependency,
    DraftInterface,
    DraftService,
    DraftTeam,
    Evidence,
)
from trustmap.discover.render import render_drafts
from trustmap.errors import InputError, UsageError

__all__ = ["summary", "write_drafts"]


def write_drafts(discovery: Discovery, out: Path, *, force: bool = False) -> list[Path]:
    """Write one YAML file per team into ``out`` (created when missing).

    Returns:
        The files written, sorted.

    Raises:
        UsageError: when a file exists already and ``force`` is false (nothing is written).
        InputError: when the folder or a file cannot be written.
    """
    files = render_drafts(discovery)
    targets = [out / name for name in files]
    existing = [str(p) for p in targets if p.exists()]
    if existing and not force:
        raise UsageError(
            f"{', '.join(existing)} already exist; pass --force to overwrite, or choose --out"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
        for path, text in zip(targets, files.values(), strict=True):
            path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise InputError(f"{out}: cannot write the drafts: {err.strerror or err}") from err
    return targets


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
