"""``trustmap discover``: draft declarations from manifests or observed flows, for review."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.markup import escape
from rich.table import Table

from trustmap.cli.common import UNREADABLE, db_option, echo_json, fail, out, spinner, stderr
from trustmap.diagnostics import has_errors
from trustmap.errors import InputError, UsageError
from trustmap.report import render_diagnostics

if TYPE_CHECKING:
    from trustmap.discover import Discovery

__all__ = ["discover"]

_EPILOG = """\b
Examples:
  trustmap discover --from-manifests k8s/                  # drafts into discovered/
  trustmap discover --from-manifests release/app.yaml --out drafts/ --force
  trustmap discover --from-manifests k8s/ --namespace shop --format json
  trustmap observe ingest flows.json --format hubble
  trustmap discover --from-flows --db .trustmap/flows.duckdb --out drafts/
  trustmap validate drafts/                                # TM212 until reasons are written
  trustmap discover --from-manifests k8s/ --team-key squad --team-key app.kubernetes.io/part-of

\b
Writes one file per team (<team>.yaml: the Team and its Services); a workload's team is the
first --team-key its pod labels, labels or annotations carry, else its namespace. Release
labels (version, environment, pod-template-hash, ...) are left out of podLabels when the rest
still selects exactly the workload; drafts that share a service account get the manifest change
that separates them; references that only a ConfigMap loaded whole (envFrom) by several
workloads makes are review notes, not dependencies; "review first" lists what to check first.
From manifests:
services from workloads and the Services selecting them, interfaces from Service ports
(target-port aware) and container ports, dependencies from env values, ConfigMaps and
arguments that name another Service of the manifests (*_ADDR, *_HOST, *_URL, host:port,
URLs, *.svc.cluster.local). From flows: services from the workloads, labels and pod names
the flows recorded, dependencies with request counts and first/last seen. Names that match
no Service are listed as unresolved, never drafted. Every dependency's reason is
"TODO: discovered from …" and team owners are a placeholder: a person reviews the drafts.

\b
Exit status: 0 drafts written, 1 findings (manifest errors, nothing to draft; warnings too
with --strict), 2 unreadable input, existing files without --force, or bad usage.
"""


@click.command(epilog=_EPILOG)
@click.option(
    "--from-manifests",
    "manifests",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="PATH",
    help="Kubernetes manifest file or directory (repeatable).",
)
@click.option("--from-flows", is_flag=True, help="Draft from the flow database (--db).")
@db_option("Flow database written by `trustmap observe ingest` (with --from-flows).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("discovered"),
    show_default=True,
    help="Folder for the drafts (created when missing).",
)
@click.option(
    "--namespace", "namespaces", multiple=True, metavar="NS", help="Only these (repeatable)."
)
@click.option("--force", is_flag=True, help="Overwrite draft files that exist.")
@click.option(
    "--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True
)
@click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too.")
@click.option(
    "--team-key",
    "team_keys",
    multiple=True,
    metavar="KEY",
    help="Label or annotation naming a workload's team, first match wins (repeatable; default: "
    "trustmap.dev/team, team, owner, app.kubernetes.io/part-of).",
)
def discover(
    manifests: tuple[Path, ...],
    from_flows: bool,
    db_path: Path,
    out_dir: Path,
    namespaces: tuple[str, ...],
    force: bool,
    fmt: str,
    strict: bool,
    team_keys: tuple[str, ...],
) -> None:
    """Draft declarations from manifests or observed flows, for a person to review."""
    from trustmap.api import write_drafts
    from trustmap.report.discover import summary

    found = _run(manifests, from_flows, db_path, namespaces, team_keys)
    unreadable = [d for d in found.diagnostics if d.code in UNREADABLE]
    if unreadable:  # drafts of part of the input would silently lack the rest: write none
        sys.stderr.write(render_diagnostics(unreadable))
        sys.exit(2)
    written: list[Path] = []
    if found.services:
        try:
            written = write_drafts(found, out_dir, force=force)
        except UsageError as err:
            fail(str(err))
        except InputError as err:
            fail(str(err), "check --out")
    if fmt == "json":
        echo_json(summary(found, written))
    else:
        sys.stderr.write(render_diagnostics(list(found.diagnostics)))
        _render(found, written, namespaces)
    nothing = not found.services
    sys.exit(1 if nothing or has_errors(found.diagnostics, strict=strict) else 0)


def _run(
    manifests: tuple[Path, ...],
    from_flows: bool,
    db_path: Path,
    namespaces: tuple[str, ...],
    team_keys: tuple[str, ...],
) -> Discovery:
    from trustmap.api import discover_drafts

    if bool(manifests) == from_flows:
        fail(
            "give exactly one of --from-manifests PATH or --from-flows",
            "e.g. `trustmap discover --from-manifests k8s/`",
        )
    if manifests:
        with spinner("reading manifests…"):
            return discover_drafts(manifests=manifests, namespaces=namespaces, team_keys=team_keys)
    try:
        return discover_drafts(flows=db_path, namespaces=namespaces)
    except InputError as err:
        fail(str(err), "check --db, or ingest flows with `trustmap observe ingest`")


def _render(found: Discovery, written: list[Path], namespaces: tuple[str, ...]) -> None:
    from trustmap.report.discover import render_evidence

    services = Table(title=f"services ({len(found.services)})", title_justify="left")
    for column in ("service", "interfaces", "depends on", "review"):
        services.add_column(column, overflow="fold")
    for s in found.services:
        ifaces = ", ".join(
            f"{i.name} {i.port}" + (f"←{i.service_port}" if i.service_port else "")
            for i in s.interfaces
        )
        deps = ", ".join(f"{d.service}:{d.interface}" for d in s.dependencies)
        notes = len(s.review) + sum(len(i.review) for i in s.interfaces)
        services.add_row(s.ref, ifaces or "-", deps or "-", str(notes) if notes else "")
    out.print(services)
    if found.unresolved:
        table = Table(title=f"unresolved ({len(found.unresolved)})", title_justify="left")
        for column in ("from", "reference", "why", "evidence"):
            table.add_column(column, overflow="fold")
        for u in found.unresolved:
            table.add_row(u.caller, u.reference, u.why, render_evidence(u.evidence))
        out.print(table)
    for kind, count in found.skipped:
        stderr.print(f"skipped {count:,} observations: {kind}", highlight=False)
    if found.review_first:
        stderr.print("review first:", highlight=False)
        for n, item in enumerate(found.review_first, 1):
            stderr.print(f"  {n}. {escape(item)}", highlight=False)
    _footer(found, written, namespaces)


def _footer(found: Discovery, written: list[Path], namespaces: tuple[str, ...]) -> None:
    if not written:
        where = f" in namespaces {', '.join(namespaces)}" if namespaces else ""
        stderr.print(f"[yellow]nothing drafted{where}[/]", highlight=False)
        return
    folder = written[0].parent
    stderr.print(
        f"wrote {len(written)} draft file(s) to {folder}/: "
        f"{', '.join(p.name for p in written)} — {len(found.services)} services, "
        f"{found.interfaces} interfaces, {found.dependencies} dependencies, "
        f"{len(found.unresolved)} unresolved references",
        highlight=False,
    )
    stderr.print(
        "review them: replace every TODO reason and the placeholder owners "
        f"(TODO@example.invalid), then `trustmap validate {folder}/`",
        highlight=False,
    )
