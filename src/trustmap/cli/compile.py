"""``trustmap compile``: declarations → enforcement objects for one target, plus TM3xx findings."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from trustmap import api
from trustmap.cli.common import UNREADABLE, fail, now_option, spinner, stderr
from trustmap.cli.registry_source import paths_or_server
from trustmap.diagnostics import Severity, sort_diagnostics
from trustmap.errors import UsageError
from trustmap.report import FORMATS, render_diagnostics, summary_line

if TYPE_CHECKING:
    from trustmap.dialects import Compilation, Rendered

__all__ = ["compile_command"]

_EPILOG = """\b
Examples:
  trustmap compile examples/online-boutique --target kubernetes > policies.yaml
  trustmap compile teams/ --target cilium --out compiled/cilium --environment prod
  trustmap compile teams/ --target istio --environment staging   # audit namespaces: dry run
  trustmap compile teams/ --target admission --strict --format github
  trustmap compile teams/ --target all --out compiled/        # compiled/<target>/<namespace>.yaml
  trustmap compile teams/ -t cilium -t admission --out compiled/
  trustmap compile examples/online-boutique -t linkerd --manifests k8s/ --out compiled/linkerd
  trustmap compile teams/ -t admission --platform-version admission=1.12   # older Kyverno

\b
Targets: kubernetes (NetworkPolicy), cilium (CiliumNetworkPolicy, L7 and FQDN), istio
(PeerAuthentication, AuthorizationPolicy, Sidecar, ServiceEntry), linkerd (Server,
MeshTLSAuthentication, AuthorizationPolicy, HTTPRoute), admission (Kyverno ClusterPolicy).

\b
Without --out the YAML goes to stdout and diagnostics to stderr; with --out DIR one file per
namespace (DIR/<namespace>.yaml, cluster-scoped objects in DIR/_cluster.yaml) is written and
diagnostics go to stdout. Several targets (repeat --target, or --target all) load the
declarations once, compile on every core and need --out: DIR/<target>/ per target.
Dependencies that are not effective (unconsented, expired, ...) are left out (fail closed);
everything else compiles.

\b
--manifests DIR (repeatable; files or folders of Deployments, StatefulSets, DaemonSets, Jobs,
CronJobs, Pods, Lists) tells the compilers each declared service's kubelet probes and container
ports, so the output never blocks a probe. Linkerd needs it (without it: TM307), and so does
cilium when the Organization says its agent runs allow-localhost=policy (spec.cilium). Linkerd's
default inbound policy takes effect when the pods restart.

\b
Platform versions: the newest output needs Kubernetes 1.21 (namespace name label), Linkerd
2.16, Istio 1.22 and Kyverno 1.13. Pin older releases with --platform-version or the Organization's
spec.platforms: Istio 1.5-1.21 gets v1beta1 APIs and Kyverno 1.9-1.12 policy-level failure
actions (TM324); what an older release cannot express is refused (TM323). See docs/cli.md.

\b
Exit status: 0 clean, 1 findings (graph errors or TM3xx: something declared could not be
compiled as written), 2 usage or unreadable input. With --strict nothing is written when
there are findings.
"""


@click.command("compile", epilog=_EPILOG)
@paths_or_server
@click.option(
    "--target",
    "-t",
    "targets",
    type=click.Choice([*api.compile_target_names(), "all"]),
    multiple=True,
    required=True,
    help="What to compile for; repeat it, or say `all`, for several (with --out).",
)
@click.option(
    "--out",
    "-o",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write one file per namespace into this directory instead of stdout.",
)
@click.option("--environment", "-e", metavar="NAME", help="Rollout environment (enforce/audit).")
@click.option(
    "--manifests",
    "-m",
    "manifests",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="PATH",
    help="Workload manifests (file or folder; repeatable): probes and container ports.",
)
@now_option
@click.option("--strict", is_flag=True, help="Write nothing when there are findings.")
@click.option(
    "--platform-version",
    "platform_versions",
    multiple=True,
    metavar="TARGET=VERSION",
    help="Compile for this platform release (e.g. cilium=1.15); overrides the Organization's "
    "spec.platforms; repeatable.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="Format of the diagnostics.",
)
def compile_command(
    paths: tuple[str, ...],
    targets: tuple[str, ...],
    out_dir: Path | None,
    environment: str | None,
    manifests: tuple[Path, ...],
    today: dt.date,
    strict: bool,
    platform_versions: tuple[str, ...],
    fmt: str,
) -> None:
    """Compile declarations into enforcement for each target (allow what is declared)."""
    platforms = _platforms(platform_versions)
    chosen = list(
        dict.fromkeys(
            t for name in targets for t in (api.compile_target_names() if name == "all" else [name])
        )
    )
    if len(chosen) > 1 and out_dir is None:
        fail(f"{len(chosen)} targets need --out DIR", "add --out compiled/ (one folder per target)")
    try:
        with spinner("compiling…"):
            runs = _compile(list(paths) or ["."], chosen, environment, today, manifests, platforms)
    except UsageError as exc:
        fail(str(exc), "see `trustmap compile --help`")
    _exit_if_unreadable(runs[0])
    findings = {d for run in runs for d in run.findings}
    refused = strict and bool(findings)
    for run in runs:
        if not refused:
            _write(
                run, out_dir if len(runs) == 1 or out_dir is None else out_dir / run.result.target
            )
    report = sys.stdout if out_dir is not None else sys.stderr
    diagnostics = sort_diagnostics({d for run in runs for d in run.diagnostics})
    report.write(render_diagnostics(diagnostics, fmt))
    if fmt == "text":
        for run in runs:
            where = out_dir if len(runs) == 1 or out_dir is None else out_dir / run.result.target
            stderr.print(_summary(run, where, refused), highlight=False)
    sys.exit(1 if findings else 0)


def _platforms(written: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for text in written:
        target, sep, version = text.partition("=")
        if not sep or not target.strip() or not version.strip():
            fail(f"--platform-version '{text}' is not TARGET=VERSION", "e.g. cilium=1.15")
        found[target.strip()] = version.strip()
    return found


def _compile(
    paths: list[str],
    targets: list[str],
    environment: str | None,
    today: dt.date,
    manifests: tuple[Path, ...],
    platforms: dict[str, str],
) -> list[Compilation[Rendered]]:
    given = list(manifests) if manifests else None
    return api.compile_files(
        paths, targets, environment=environment, today=today, manifests=given, platforms=platforms
    )


def _write(run: Compilation[Rendered], out_dir: Path | None) -> None:
    if out_dir is None:
        sys.stdout.write(run.result.yaml)
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in run.result.files().items():
        (out_dir / name).write_text(text, encoding="utf-8")


def _summary(run: Compilation[Rendered], out_dir: Path | None, refused: bool) -> str:
    objects = _count(run.result.objects, "object")
    where = f" to {out_dir}/" if out_dir is not None else ""
    done = f"refused to write {objects} (--strict)" if refused else f"{objects}{where}"
    findings = _count(len(run.findings), "finding") if run.findings else "no findings"
    line = f"{run.result.target}: {done}; {findings} ({summary_line(run.diagnostics)})"
    note = api.compile_note(run.result.target)
    return f"{line}\n  note: {note}" if note and not refused else line


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _exit_if_unreadable(run: Compilation[Rendered]) -> None:
    unreadable = [d for d in run.diagnostics if d.code in UNREADABLE]
    if unreadable and not run.graph.services and not run.graph.teams:
        sys.stderr.write(render_diagnostics(unreadable))
        sys.exit(2)
    manifests = [d for d in run.manifest_diagnostics if d.severity is Severity.ERROR]
    if manifests:  # compiling without probes that were asked for could block them: write nothing
        sys.stderr.write(render_diagnostics(manifests))
        sys.exit(2)
