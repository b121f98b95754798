"""The library's stages, one function each: what ``import trustmap`` offers and what the
``trustmap`` command and the registry server call.

The CLI parses arguments, calls one of these, renders the result with :mod:`trustmap.report` and
exits; nothing a command computes lives in the command. ``docs/api.md`` documents every function
with an example that ``tests/test_api_docs.py`` runs.

The packages that implement a stage are imported on first call, so that ``import trustmap`` and
every command start cheaply, and the stages that need an optional extra (``observe``: DuckDB)
need it only when called. Two stages have a longer name than their command because the package
of the same name is an attribute of :mod:`trustmap` once imported: ``trustmap.verify`` and
``trustmap.discover`` are the packages, :func:`verify_policies` and :func:`discover_drafts` the
functions. :mod:`trustmap.query` is itself the query stage: a module of pure functions, so
importing :mod:`trustmap.query` counts as using this API.

``.importlinter`` keeps it so: ``trustmap.cli`` and ``trustmap.server`` may not import the
packages these functions wrap (only the value types of :mod:`trustmap.model`,
:mod:`trustmap.diagnostics` and :mod:`trustmap.errors`, the renderers of :mod:`trustmap.report`,
and the exceptions listed there with their reason).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from trustmap.api.tools import (
    PathLike,
    audit_signature_breaks,
    audit_state_breaks,
    codeowners,
    diff,
    directory_tree,
    export_backstage,
    flow_key,
    git_trees,
    import_backstage,
    import_otterize,
    lab_target_names,
    opened_closed,
    read_objects,
    read_snapshot,
    run_lab,
    spark_hint,
)

if TYPE_CHECKING:
    from trustmap.analysis import Analysis
    from trustmap.auditchain import Break, Entry
    from trustmap.diagnostics import Diagnostic
    from trustmap.dialects import Compilation, CompileResult, Rendered, Workloads
    from trustmap.discover import Discovery
    from trustmap.loader import Limits
    from trustmap.model import Graph
    from trustmap.observe import IngestReport
    from trustmap.observe.drift import DriftReport
    from trustmap.observe.snapshot import ClusterSnapshot
    from trustmap.schema import Declarations
    from trustmap.verify import VerifyReport

__all__ = [
    "analyze",
    "audit_signature_breaks",
    "audit_state_breaks",
    "check",
    "check_compiled",
    "check_files",
    "codeowners",
    "compile",
    "compile_files",
    "compile_note",
    "compile_target_names",
    "compile_yaml",
    "compiled_yaml",
    "declaration_files",
    "diff",
    "directory_tree",
    "discover_drafts",
    "drift",
    "export_backstage",
    "flow_key",
    "git_trees",
    "graph_from_declarations",
    "import_backstage",
    "import_otterize",
    "ingest",
    "json_schema",
    "lab_target_names",
    "load",
    "opened_closed",
    "parse_files",
    "read_objects",
    "read_snapshot",
    "read_workloads",
    "run_lab",
    "spark_hint",
    "verify_audit_log",
    "verify_expiry_days",
    "verify_policies",
    "verify_target_names",
    "write_drafts",
]

DEFAULT_DB = Path(".trustmap/flows.duckdb")
"""Where flows are written and read unless told otherwise. This and :func:`ingest`'s defaults
repeat :mod:`trustmap.observe.ingest`'s so that importing this module needs no DuckDB;
``tests/test_api.py`` checks that they agree."""


def load(paths: Sequence[PathLike] = (".",), today: dt.date | None = None) -> Graph:
    """Read declarations, check them and build the organisation graph.

    Args:
        paths: files and directories (read recursively, hidden folders skipped).
        today: the date expiry is judged against (default: today).

    Returns:
        The graph; ``graph.diagnostics`` holds every problem found (the graph is built from the
        valid part). Never raises for bad input.
    """
    from trustmap.graph import load_graph

    return load_graph(list(paths) or ["."], today or dt.date.today())


def check(paths: Sequence[PathLike] = (".",), today: dt.date | None = None) -> list[Diagnostic]:
    """Every problem in the declarations at ``paths``, sorted by file, line and column: YAML,
    schema and every organisation-wide rule (what ``trustmap validate`` reports)."""
    return list(load(paths, today).diagnostics)


def check_files(paths: Sequence[PathLike] = (".",)) -> tuple[Declarations, list[Diagnostic]]:
    """Each file at ``paths`` on its own: YAML and schema (TM1xx) only, no graph built (what a
    pre-commit hook given only the changed files runs). The valid declarations and the
    problems."""
    from trustmap.graph import load_declarations

    return load_declarations(list(paths) or ["."])


def check_compiled(
    paths: Sequence[PathLike],
    today: dt.date | None = None,
    *,
    expiring_within: int | None = None,
    graph: Graph | None = None,
) -> list[Diagnostic]:
    """Compiled objects under ``paths`` that allow a flow past its expiry (TM440), within
    ``expiring_within`` days of it (TM441; default :func:`verify_expiry_days`), or carry an
    unreadable date (TM442); with ``graph``, each names the owners to ask. Unreadable files are
    diagnostics too, never exceptions."""
    from trustmap.verify.expiry import check_compiled as expired

    days = verify_expiry_days() if expiring_within is None else expiring_within
    day = today or dt.date.today()
    return expired([Path(p) for p in paths], day, soon_days=days, graph=graph)


def parse_files(
    files: Iterable[tuple[str, str]], limits: Limits | None = None
) -> tuple[Declarations, list[Diagnostic]]:
    """Declarations held in memory (an HTTP body, a pushed version): ``files`` are ``(name,
    text)`` pairs, each read as if from the file ``name`` (within ``limits``: default sizes and
    counts unless given). The valid declarations, and every YAML and schema problem (TM1xx),
    files' problems first. No graph is built: see :func:`graph_from_declarations`."""
    from trustmap.loader import Document, Limits, load_text
    from trustmap.schema import parse_documents

    bounds = Limits() if limits is None else limits
    documents: list[Document] = []
    problems: list[Diagnostic] = []
    for name, text in files:
        loaded = load_text(text, name, bounds)
        documents.extend(loaded.documents)
        problems.extend(loaded.diagnostics)
    declarations, found = parse_documents(documents)
    return declarations, problems + found


def graph_from_declarations(
    declarations: Declarations, today: dt.date, prior: Iterable[Diagnostic] = ()
) -> Graph:
    """The organisation graph of already parsed ``declarations`` (e.g. several teams' merged),
    with every organisation-wide check (TM2xx) judged on ``today``; ``prior`` diagnostics (from
    reading and parsing) are kept in the graph's list."""
    from trustmap.graph import build_graph

    return build_graph(declarations, today, prior)


def compile(
    graph: Graph,
    target: str,
    environment: str | None = None,
    workloads: Workloads | None = None,
) -> CompileResult:
    """Compile the effective edges of ``graph`` into ``target``'s objects, as dicts.

    Args:
        target: ``kubernetes``, ``cilium``, ``istio``, ``linkerd`` or ``admission``.
        environment: picks each namespace's rollout mode from the Organization's environments;
            ``None`` enforces everywhere.
        workloads: probes and container ports per declared service, from the workloads'
            manifests (``trustmap.read_workloads``); targets whose objects could block kubelet
            probes authorise them. ``None``: no manifests (such targets say so, TM307).

    Returns:
        The objects in output order and the TM3xx findings (what a target cannot express).

    Raises:
        UsageError: unknown target or environment.
    """
    from trustmap.dialects import compile_graph

    return compile_graph(graph, target, environment, workloads)


def read_workloads(
    graph: Graph, manifests: Sequence[PathLike]
) -> tuple[Workloads, list[Diagnostic]]:
    """The probes, container ports and annotations of each declared service's pods, read from the
    workload ``manifests`` (files and folders), and every problem with them (their own, TM308 when
    they hold no workload, TM309 for a declared service no workload runs, TM310). Never raises
    for bad input."""
    from trustmap.dialects import read_workloads as read

    return read(graph, [os.fspath(m) for m in manifests])


def compile_yaml(
    graph: Graph,
    targets: Sequence[str],
    environment: str | None = None,
    *,
    processes: int | None = None,
    workloads: Workloads | None = None,
) -> list[Rendered]:
    """As :func:`compile`, for several targets at once and written as YAML documents: the bytes
    ``trustmap compile --out`` writes (on every core unless ``processes`` says otherwise).

    Raises:
        UsageError: unknown target or environment (before any work starts).
    """
    from trustmap.dialects import compile_targets

    return compile_targets(graph, list(targets), environment, processes, workloads)


def compile_target_names() -> tuple[str, ...]:
    """The targets :func:`compile` knows, in the order ``trustmap compile --help`` lists them."""
    from trustmap.dialects import TARGETS

    return tuple(TARGETS)


def compile_note(target: str) -> str:
    """What a person must know after compiling for ``target`` (empty when nothing), e.g. that
    Linkerd's default inbound policy takes effect when the pods restart."""
    from trustmap.dialects import TARGETS

    return TARGETS[target].SUMMARY_NOTE


def compile_files(
    paths: Sequence[PathLike],
    targets: Sequence[str],
    *,
    environment: str | None = None,
    today: dt.date | None = None,
    manifests: Sequence[PathLike] | None = None,
    platforms: dict[str, str] | None = None,
) -> list[Compilation[Rendered]]:
    """Load the declarations at ``paths`` (and the workload ``manifests``) once and write every
    one of ``targets`` as YAML documents: what ``trustmap compile`` does. One compilation per
    target, in the order given, each with its graph, findings and diagnostics.

    Raises:
        UsageError: unknown target or environment, or a bad platform version.
    """
    from trustmap.dialects import render_paths, render_targets

    given = list(paths)
    wanted = None if manifests is None else list(manifests)
    if len(targets) == 1:
        run = render_paths(
            given,
            targets[0],
            environment=environment,
            today=today,
            manifests=wanted,
            platforms=platforms,
        )
        return [run]
    return render_targets(
        given, targets, environment=environment, today=today, manifests=wanted, platforms=platforms
    )


def compiled_yaml(result: CompileResult) -> str:
    """The objects of a :func:`compile` result as one multi-document YAML stream (each document
    starts with ``---``): the bytes :func:`compile_yaml` writes for the same target."""
    from trustmap.dialects import render_yaml

    return render_yaml(result.objects)


def verify_target_names() -> tuple[str, ...]:
    """The targets :func:`verify_policies` understands."""
    from trustmap.verify import TARGETS

    return tuple(TARGETS)


def verify_expiry_days() -> int:
    """How close (in days) a grant's last day must be for :func:`verify_policies` to warn (TM441)
    by default."""
    from trustmap.verify.expiry import SOON_DAYS

    return SOON_DAYS


def verify_policies(
    graph: Graph,
    manifests: Sequence[PathLike],
    *,
    target: str = "kubernetes",
    policies: Sequence[PathLike] | None = None,
    environment: str | None = None,
    expiring_within: int | None = None,
) -> VerifyReport:
    """Whether the policies allow exactly the declared flows between the manifests' workloads.

    Args:
        manifests: workload manifests (files or directories).
        policies: policies to check instead of those compiled from ``graph``.
        expiring_within: warn (TM441) about allowed grants whose last day is this many days
            away or closer (default :func:`verify_expiry_days`).

    Returns:
        Flows allowed beyond the declarations, declared flows blocked, and the findings.

    Raises:
        UsageError: ``target`` is not one the analysis understands.
    """
    from trustmap.verify import verify

    chosen = None if policies is None else [Path(p) for p in policies]
    return verify(
        graph,
        [Path(p) for p in manifests],
        target=target,
        policies_paths=chosen,
        environment=environment,
        expiring_within=verify_expiry_days() if expiring_within is None else expiring_within,
    )


def analyze(paths: Sequence[PathLike], *, focus: str | None = None) -> Analysis:
    """Which workloads the NetworkPolicies in the manifests at ``paths`` let connect, and the
    isolation posture (np-guard's semantics).

    Args:
        focus: keep only the connections of this workload (``ns/name[Kind]``, ``ns/name``, name).

    Raises:
        UsageError: ``focus`` names no workload.
    """
    from trustmap.analysis import analyze_paths

    return analyze_paths([Path(p) for p in paths], focus_on=focus)


def ingest(
    paths: Iterable[PathLike],
    fmt: str,
    db: PathLike = DEFAULT_DB,
    *,
    reporter: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    window: dt.timedelta = dt.timedelta(seconds=5),
    year: int | None = None,
    force: bool = False,
    memory_limit: str | None = "1GB",
) -> IngestReport:
    """Read flow files of format ``fmt`` (``hubble``, ``envoy``, ``istio``, ``linkerd``, ``csv``,
    ...) into the flow database ``db`` as one batch (needs the ``observe`` extra).

    Args:
        reporter: the pod whose proxy wrote the logs (Istio, Envoy).
        progress: called with (bytes done, bytes in all).
        window: observations of one flow within a window count once.
        year: year of timestamps printed without one (``hubble-compact``).
        force: ingest files an earlier batch already holds.
        memory_limit: DuckDB's memory cap; beyond it, collapsing spills to disk.

    Raises:
        UsageError: unknown format or bad option. InputError: the database cannot be used.
    """
    from trustmap.observe import ingest as run

    return run(
        [os.fspath(p) for p in paths],
        fmt,
        os.fspath(db),
        reporter=reporter,
        progress=progress,
        window=window,
        year=year,
        force=force,
        memory_limit=memory_limit,
    )


def drift(
    graph: Graph,
    db: PathLike = DEFAULT_DB,
    *,
    since: dt.timedelta | None = None,
    now: dt.datetime | None = None,
    snapshot: ClusterSnapshot | None = None,
    trend: str | None = "batch",
    engine: Literal["duckdb", "spark"] = "duckdb",
    flows: str | None = None,
    master: str | None = None,
) -> DriftReport:
    """Compare the flows observed in ``db`` with ``graph``: drift and coverage.

    Args:
        since: only flows of this long before ``now`` (default: all).
        snapshot: pods and Services that resolve endpoints recorded by address or pod name.
        trend: coverage per ``batch`` (ingest run) or per UTC ``day``; ``None`` for none.
        engine: who aggregates the flows: DuckDB, or Spark (the ``spark`` extra, Java 17+).
        flows: Spark only: a Parquet dataset of flows to read instead of ``db``.
        master: Spark only: the master URL (default: spark-submit's, or ``local[*]``).

    Raises:
        InputError: the database (or Parquet dataset) cannot be read. UsageError: Spark is
        missing or misconfigured, or Spark options without ``engine="spark"``.
    """
    if engine != "spark" and (flows or master):
        from trustmap.errors import UsageError

        raise UsageError("flows and master are Spark options: pass engine='spark'")
    if engine == "spark":
        from trustmap.observe.spark import spark_drift

        return spark_drift(
            graph, flows=flows, db_path=Path(db), since=since, now=now, master=master,
            snapshot=snapshot, trend=trend,
        )  # fmt: skip
    from trustmap.observe.drift import drift as run

    return run(graph, Path(db), since, now, snapshot=snapshot, trend=trend)


def discover_drafts(
    *,
    manifests: Sequence[PathLike] = (),
    flows: PathLike | None = None,
    since: dt.datetime | None = None,
    namespaces: Sequence[str] = (),
    team_keys: Sequence[str] = (),
) -> Discovery:
    """Draft declarations from manifests or from the flow database, for a person to review.

    Args:
        manifests: Kubernetes manifests (files or directories).
        flows: a flow database (``trustmap observe ingest``; needs the ``observe`` extra).
        since: flows only: those observed at or after this time (UTC).
        namespaces: keep only the drafts of these namespaces.
        team_keys: manifests only: the labels or annotations that name a workload's team, first
            match wins (default: the usual ones, see ``trustmap discover --help``).

    Raises:
        UsageError: neither or both of ``manifests`` and ``flows``. InputError: the flow
        database cannot be read.
    """
    from trustmap.discover import discover_flows, discover_manifests, select_namespaces
    from trustmap.errors import UsageError

    if bool(manifests) == (flows is not None):
        raise UsageError("give exactly one of manifests or flows")
    if flows is not None:
        found = discover_flows(Path(flows), since)
    else:
        paths = [Path(p) for p in manifests]
        found = discover_manifests(paths, team_keys) if team_keys else discover_manifests(paths)
    return select_namespaces(found, tuple(namespaces)) if namespaces else found


def write_drafts(found: Discovery, out: PathLike, *, force: bool = False) -> list[Path]:
    """Write the drafts of ``found`` into the folder ``out``, one YAML file per team; the files
    written, sorted.

    Raises:
        UsageError: a file exists and ``force`` is false. InputError: ``out`` is not writable.
    """
    from trustmap.discover import write_drafts as write

    return write(found, Path(out), force=force)


# diff: the "review" stage (what changed between two declaration trees) is added here.


def declaration_files(paths: Sequence[PathLike]) -> tuple[list[str], list[Diagnostic]]:
    """The files :func:`load` reads for ``paths`` (directories expanded, sorted) and the paths
    that do not exist (TM100), e.g. to send them to the registry (``trustmap push``)."""
    from trustmap.loader.files import discover

    return discover(list(paths))


def json_schema() -> str:
    """The JSON Schema of ``trustmap.dev/v1alpha1`` declarations, as indented JSON text."""
    from trustmap.schema import json_schema as schema

    return schema()


def verify_audit_log(entries: Iterable[Entry], head: tuple[int, str] | None = None) -> list[Break]:
    """Every break in the registry's hash-chained audit log (empty when intact): an entry
    edited, deleted or reordered, or, given the ``(seq, hash)`` ``head`` it must end with, a
    truncated tail."""
    from trustmap.auditchain import verify_chain

    return verify_chain(entries, head)
