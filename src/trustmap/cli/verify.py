"""``trustmap verify``: do the NetworkPolicies allow exactly the declared flows on these manifests?"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from trustmap import api
from trustmap.cli.common import exit_for, fail, load, note_findings, now_option, spinner
from trustmap.cli.common import stderr as err
from trustmap.cli.registry_source import paths_or_server
from trustmap.diagnostics import has_errors
from trustmap.errors import UsageError
from trustmap.report import FORMATS, render_diagnostics, summary_line

if TYPE_CHECKING:
    from trustmap.verify import VerifyReport

__all__ = ["verify_command"]

_EPILOG = """\b
Examples:
  trustmap verify examples/online-boutique --manifests k8s/          # compiled policies
  trustmap verify teams/ --manifests k8s/ --policies netpol/         # hand-written policies
  trustmap verify teams/ --manifests k8s/ --environment prod --format github
  trustmap verify teams/ --manifests k8s/ --strict --format sarif > verify.sarif
  trustmap verify teams/ --manifests k8s/ --target istio             # compiled Istio objects
  trustmap verify teams/ --manifests k8s/ --target cilium --policies cnp/ --format json
  trustmap verify teams/ --manifests k8s/ --target admission --policies kyverno/

\b
Without --policies the declarations are compiled for the target and the compiled policies are
analysed on the workload manifests (with any NetworkPolicies already among them); with
--policies those policies are analysed instead. Workloads are matched to declared services by
namespace and pod labels. Findings: TM401 allowed beyond the declarations, TM402 declared but
blocked, TM403 open to or from external addresses, TM404 declaration without a workload;
TM440/TM441 objects (compiled now, or read from --manifests/--policies) that still allow a
grant past or near its `expires` (trustmap.dev/expires), naming the owners to ask.

\b
--target cilium|istio|linkerd evaluates each platform's objects request by request (pairs,
ports, HTTP methods and paths, gRPC methods, identities, mTLS, FQDN/CIDR egress, kubelet
probes, DNS): TM405 wider than declared, TM406 narrower, TM407 would deny (audit), TM408/TM415
allowed only by audit mode, TM409 probe blocked, TM413 plaintext accepted, TM414 not
evaluable, TM416 egress not governed. --target admission judges every workload manifest with the
Kyverno policies: TM410/TM411 declared workload denied / would be denied, TM412 undeclared one
admitted. See docs/verify.md for each platform's rules and their sources.

\b
Exit status: 0 the policies allow exactly the declared flows, 1 findings (warnings too with
--strict), 2 usage or unreadable/invalid manifests.
"""


@click.command("verify", epilog=_EPILOG)
@paths_or_server
@click.option(
    "--manifests",
    "-m",
    "manifests",
    multiple=True,
    required=True,
    type=click.Path(path_type=Path),
    help="Workload manifests (files or directories; repeatable).",
)
@click.option(
    "--target",
    "-t",
    type=click.Choice(api.verify_target_names()),
    default="kubernetes",
    show_default=True,
)
@click.option(
    "--policies",
    "-p",
    "policies",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Check these policies (any target's objects, hand-written or compiled) instead of compiling (repeatable).",
)
@click.option("--environment", "-e", metavar="NAME", help="Rollout environment (enforce/audit).")
@now_option
@click.option(
    "--expiring-within",
    metavar="DAYS",
    type=click.IntRange(min=0),
    default=api.verify_expiry_days(),
    show_default=True,
    help="Warn (TM441) about grants the policies allow whose last day is this close.",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
def verify_command(
    paths: tuple[str, ...],
    manifests: tuple[Path, ...],
    target: str,
    policies: tuple[Path, ...],
    environment: str | None,
    today: dt.date,
    expiring_within: int,
    fmt: str,
    strict: bool,
) -> None:
    """Check that policies allow exactly the declared flows on the workloads of the manifests."""
    graph = load(paths, today)
    note_findings(graph)
    try:
        with spinner("verifying…"):
            report = api.verify_policies(
                graph,
                list(manifests),
                target=target,
                policies=list(policies) or None,
                environment=environment,
                expiring_within=expiring_within,
            )
    except UsageError as exc:
        fail(str(exc), "see `trustmap verify --help`")
    if has_errors(report.inputs):
        sys.stderr.write(render_diagnostics(report.inputs))
        sys.exit(2)
    sys.stdout.write(render_diagnostics(report.findings, fmt))
    if fmt == "text":
        err.print(_summary(report, target), highlight=False)
    exit_for(report.findings, strict=strict)


def _summary(report: VerifyReport, target: str) -> str:
    verdict = "exact match" if report.exact and not has_errors(report.findings) else "mismatch"
    if target == "admission":
        counts = (
            f"{len(report.matched)} declared workloads admitted, "
            f"{len(report.allowed_extra)} undeclared workloads admitted"
        )
        return f"verify: {verdict}: {counts} ({summary_line(report.findings)})"
    counts = (
        f"{len(report.matched)} declared flows allowed, {len(report.allowed_extra)} allowed "
        f"beyond the declarations, {len(report.missing)} blocked"
    )
    return f"verify: {verdict}: {counts} ({summary_line(report.findings)})"
