"""Drafts as YAML a person reviews: one file per namespace with its Team and Service documents,
keys in a fixed order, and comments that say which manifest line or which flows each entry
came from. Same discovery, same bytes.

Why this lives in ``discover`` and not in ``report``: the drafts are discover's product — the
declaration files it writes (:func:`~trustmap.discover.write_drafts`), as ``dialects/emit.py``
writes compiled objects — not a report about a result; their evidence comments use
:func:`render_evidence`, which the command's table shows too. Reports about a discovery (the
summary tables) are rendered by the CLI.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import yaml

from trustmap.discover.draft import (
    Discovery,
    DraftDependency,
    DraftInterface,
    DraftService,
    DraftTeam,
    Evidence,
    FlowStats,
)

__all__ = ["render_drafts", "render_evidence"]

_API = "trustmap.dev/v1alpha1"
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./@-]*")


def render_drafts(discovery: Discovery) -> dict[str, str]:
    """``{"<namespace>.yaml": text}`` for every team of the discovery, sorted by file name."""
    files: dict[str, str] = {}
    for team in discovery.teams:
        services = [s for s in discovery.services if s.team == team.name]
        documents = [_team(team), *(_service(s) for s in services)]
        text = _header(discovery, team) + "---\n".join(documents)
        files[f"{team.name}.yaml"] = text
    return dict(sorted(files.items()))


def render_evidence(evidence: Evidence) -> str:
    """One line saying what was seen and where (or how often and when, for flows)."""
    text = evidence.text
    if evidence.flows is not None:
        text += f": {_flows(evidence.flows)}"
    if evidence.at:
        text += f" ({evidence.at})"
    return _one_line(text)


def _header(discovery: Discovery, team: DraftTeam) -> str:
    flag = "--from-flows" if discovery.mode == "flows" else "--from-manifests"
    lines = [
        f"Draft declarations of team {team.name} (namespace {', '.join(team.namespaces)}), written by "
        f"`trustmap discover {flag}` from:",
        *(f"  {source}" for source in discovery.inputs),
        "Nothing here is trusted yet. Review every entry: replace each TODO reason with why the",
        "call is needed (validate flags TODO reasons, TM212), the placeholder owners, the pod",
        "labels and the consumers; then move the file next to your team's declarations.",
    ]
    return "".join(f"# {_one_line(line)}\n" for line in lines)


def _team(team: DraftTeam) -> str:
    lines = [
        f"apiVersion: {_API}",
        "kind: Team",
        "metadata:",
        f"  name: {_scalar(team.name)}",
        "spec:",
        *(f"  # review: {_one_line(note)}" for note in team.review),
        "  owners:",
        *(f"    - {_scalar(owner)}" for owner in team.owners),
        "  namespaces:",
        *(f"    - {_scalar(ns)}" for ns in team.namespaces),
    ]
    return "\n".join(lines) + "\n"


def _service(service: DraftService) -> str:
    lines = [f"# from {render_evidence(e)}" for e in service.evidence]
    lines += [f"# review: {_one_line(note)}" for note in service.review]
    lines += [
        f"apiVersion: {_API}",
        "kind: Service",
        "metadata:",
        f"  name: {_scalar(service.name)}",
        f"  namespace: {_scalar(service.namespace)}",
        "spec:",
        f"  team: {_scalar(service.team)}",
    ]
    if service.pod_labels:  # without labels, trustmap's default (app: <name>) applies
        lines.append("  workload:")
        if service.service_account:
            lines.append(f"    serviceAccount: {_scalar(service.service_account)}")
        lines.append("    podLabels:")
        lines += [f"      {_scalar(k)}: {_scalar(v)}" for k, v in service.pod_labels]
    if service.interfaces:
        lines.append("  interfaces:")
    for iface in service.interfaces:
        lines += _interface(iface)
    if service.dependencies:
        lines.append("  dependsOn:")
    for dep in service.dependencies:
        lines += _dependency(dep)
    return "\n".join(lines) + "\n"


def _interface(iface: DraftInterface) -> list[str]:
    lines = [f"    # {render_evidence(e)}" for e in iface.evidence]
    lines += [f"    # review: {_one_line(note)}" for note in iface.review]
    lines += [f"    - name: {_scalar(iface.name)}", f"      port: {iface.port}"]
    if iface.service_port is not None:
        lines.append(f"      servicePort: {iface.service_port}")
    lines.append(f"      protocol: {iface.protocol}")
    if iface.app_protocol:
        lines.append(f"      appProtocol: {_scalar(iface.app_protocol)}")
    lines.append("      exposure: internal")
    if iface.consumers:
        lines.append("      consumers:")
        lines += [f"        - {_scalar(c)}" for c in iface.consumers]
    return lines


def _dependency(dep: DraftDependency) -> list[str]:
    lines = [f"    # {render_evidence(e)}" for e in dep.evidence]
    return [
        *lines,
        f"    - service: {_scalar(dep.service)}",
        f"      interface: {_scalar(dep.interface)}",
        f"      reason: {_scalar(dep.reason)}",
    ]


def _flows(stats: FlowStats) -> str:
    verdicts = ", ".join(f"{name} {count:,}" for name, count in stats.verdicts)
    text = f"{stats.count:,} request{'s' if stats.count != 1 else ''} ({verdicts})"
    if stats.first_seen is not None and stats.last_seen is not None:
        text += f", first {_time(stats.first_seen)}, last {_time(stats.last_seen)}"
    return text


def _time(value: dt.datetime) -> str:
    return value.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def _scalar(value: str) -> str:
    """Plain when YAML reads it back as the same string, JSON-style double quotes otherwise."""
    if _PLAIN.fullmatch(value) and _reads_as(value):
        return value
    return json.dumps(value, ensure_ascii=False)


def _reads_as(value: str) -> bool:
    try:
        return bool(yaml.safe_load(value) == value)
    except yaml.YAMLError:
        return False


def _one_line(text: str) -> str:
    return " ".join(text.split())
