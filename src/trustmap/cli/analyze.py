"""``trustmap analyze``: allowed connectivity (and posture) from Kubernetes manifests."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from trustmap.api import analyze as run_analysis
from trustmap.cli.common import fail, spinner
from trustmap.diagnostics import has_errors
from trustmap.errors import UsageError
from trustmap.report import render_diagnostics
from trustmap.report.analysis import (
    render_connlist,
    render_csv,
    render_dot,
    render_json,
    render_posture,
)

if TYPE_CHECKING:
    from trustmap.analysis import Analysis

__all__ = ["analyze"]

_FORMATS = ("connlist", "json", "dot", "csv")

_EPILOG = """\b
Examples:
  trustmap analyze cluster-export/                      # np-guard connlist lines
  trustmap analyze k8s/ --focus default/frontend        # only lines involving frontend
  trustmap analyze k8s/ --posture                       # + isolation gaps (on stderr)
  trustmap analyze k8s/ --format json > connectivity.json   # with posture and policies
  trustmap analyze k8s/ --format dot | dot -Tsvg > connectivity.svg

\b
Reads YAML/JSON files and directories (recursively): Namespaces, Pods, Deployments and other
controllers, NetworkPolicies, Services, Ingresses and OpenShift Routes; List kinds are flattened.
With --format connlist|csv|dot stdout holds only that output; diagnostics and the --posture
report go to stderr. JSON always includes the posture.

\b
Exit status: 0 clean, 1 posture findings with --posture (or warnings with --strict),
2 invalid or unreadable manifests (nothing is printed on stdout then) or bad usage.
"""


@click.command(epilog=_EPILOG)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(_FORMATS), default="connlist", show_default=True)
@click.option("--focus", metavar="WORKLOAD", help="Only connections of this workload.")
@click.option("--posture", "show_posture", is_flag=True, help="Report isolation gaps too.")
@click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too.")
def analyze(
    paths: tuple[Path, ...], fmt: str, focus: str | None, show_posture: bool, strict: bool
) -> None:
    """Compute which workloads NetworkPolicies let connect, as np-guard's connlist."""
    try:
        with spinner("analysing manifests…"):
            result = run_analysis(paths, focus=focus)
    except UsageError as exc:
        fail(str(exc), "pass a workload as ns/name[Kind], ns/name or name")
    shown = [d for d in result.diagnostics if d.severity.value != "info"]
    sys.stderr.write(render_diagnostics(shown))
    if has_errors(result.diagnostics):
        sys.exit(2)
    sys.stdout.write(_render(result, fmt))
    if show_posture and fmt != "json":
        click.echo(render_posture(result.posture), err=True, nl=False)
    if show_posture and result.posture.findings:
        sys.exit(1)
    sys.exit(1 if has_errors(result.diagnostics, strict=strict) else 0)


def _render(result: Analysis, fmt: str) -> str:
    conn = result.connectivity
    if fmt == "json":
        return render_json(conn, result.posture)
    if fmt == "dot":
        return render_dot(conn)
    if fmt == "csv":
        return render_csv(conn)
    return render_connlist(conn)
