"""The stages around the pipeline of :mod:`trustmap.api`: reviewing a change (``diff``,
``codeowners``), catalogs in and out, the Envoy lab, the audit log's checks, reading cluster
objects and in-memory flow names. Part of :mod:`trustmap.api` (it re-exports every name here);
a module of its own so that neither stays long. Packages are imported on first call, as there.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from trustmap.auditchain import Break, Entry
    from trustmap.catalog.drafts import Drafts
    from trustmap.diagnostics import Diagnostic
    from trustmap.dialects import Workloads
    from trustmap.lab import LabReport
    from trustmap.model import Edge, Graph
    from trustmap.observe.snapshot import ClusterSnapshot
    from trustmap.review import Change, Tree
    from trustmap.review.codeowners import Ownership

__all__ = [
    "audit_signature_breaks",
    "audit_state_breaks",
    "codeowners",
    "diff",
    "directory_tree",
    "export_backstage",
    "flow_key",
    "git_trees",
    "import_backstage",
    "import_otterize",
    "lab_target_names",
    "opened_closed",
    "read_objects",
    "read_snapshot",
    "run_lab",
    "spark_hint",
]

PathLike = str | os.PathLike[str]
"""A file or folder name, as text or a path."""


def audit_state_breaks(
    entries: Iterable[Entry], parts: dict[str, list[list[object]]]
) -> list[Break]:
    """The parts of the registry's stored state (``parts``: part name → its rows, as the server's
    ``/audit/state`` gives them) whose digest differs from the last audit entry that recorded
    one: state edited behind the log's back."""
    from trustmap.auditchain import state_breaks, state_digest

    return state_breaks(entries, state_digest(parts))


def audit_signature_breaks(entries: Sequence[Entry], key: bytes) -> list[Break]:
    """With the registry's audit ``key``: every signature must be valid, none missing after the
    first signed entry, and the last entry signed; the breaks where not."""
    from trustmap.auditchain import signature_breaks

    return signature_breaks(entries, key)


def flow_key(edge: Edge) -> str:
    """A stable, readable name for an effective flow: ``caller -> ns/name:interface
    (port/proto)``; the registry records its version history with these names."""
    from trustmap.review import flow_key as key

    return key(edge)


def opened_closed(
    before: Iterable[Edge], after: Iterable[Edge], keep: Callable[[Edge], bool] = lambda _: True
) -> tuple[list[str], list[str]]:
    """The flows (:func:`flow_key` names, sorted) opened and closed from the edges ``before`` to
    those ``after``, among the edges ``keep`` accepts."""
    from trustmap.review import opened_closed as compare

    return compare(before, after, keep)


def directory_tree(path: PathLike) -> Tree:
    """The declaration files under ``path`` (a file or a directory; hidden folders skipped, as
    :func:`load`), read into memory: one side of a :func:`diff`.

    Raises:
        InputError: ``path`` does not exist.
    """
    from trustmap.review import directory_tree as read

    return read(os.fspath(path))


def git_trees(repo: PathLike, spec: str, paths: Sequence[str] = ()) -> tuple[Tree, Tree]:
    """The two sides of the git range ``spec`` in ``repo``: ``A..B`` compares ``A`` with ``B``,
    ``A...B`` compares ``B`` with its merge base (what a pull request changes). Only declaration
    files under ``paths`` (repository-relative; all when empty) are read, from git's object
    store, without a checkout.

    Raises:
        UsageError: git is missing, ``repo`` is not a repository, or the range does not resolve.
    """
    from trustmap.review import git_range, git_tree

    where = os.fspath(repo)
    base, head = git_range(where, spec)
    label = f"{spec.partition('...')[0]} (merge base {base[:12]})" if "..." in spec else base
    return git_tree(where, base, paths, label), git_tree(where, head, paths)


def diff(
    base: Tree,
    head: Tree,
    *,
    targets: Sequence[str] = (),
    environment: str | None = None,
    today: dt.date | None = None,
) -> Change:
    """What changing the declarations from ``base`` to ``head`` does: the flows it opens and
    closes, who must approve, and (for each of ``targets``) the compiled objects it changes.

    Raises:
        UsageError: an unknown target or environment.
    """
    from trustmap.review import Side, load_tree
    from trustmap.review import diff as compare

    day = today or dt.date.today()
    return compare(
        Side(base, load_tree(base, day)),
        Side(head, load_tree(head, day)),
        targets=targets,
        environment=environment,
    )


def codeowners(
    graph: Graph,
    *,
    flavor: Literal["github", "gitlab"] = "github",
    root: PathLike = ".",
    platform: Sequence[str] = (),
) -> Ownership:
    """The CODEOWNERS file for the declaration files of ``graph``: each file reviewed by the
    teams it declares services of (paths relative to ``root``; the Organization, and the Team
    files when ``platform`` handles are given, by the platform), and what it could not say."""
    from trustmap.review.codeowners import codeowners as owners

    return owners(graph, flavor=flavor, root=os.fspath(root), platform=platform)


def import_backstage(paths: Sequence[PathLike]) -> tuple[Drafts, list[Diagnostic]]:
    """Draft Teams and Services from the Backstage catalog files at ``paths`` (Locations
    followed on disk), and the problems of the files; what could not be mapped is in
    ``drafts.unmapped``."""
    from trustmap.catalog.backstage import import_backstage as read

    return read([os.fspath(p) for p in paths])


def import_otterize(
    paths: Sequence[PathLike], namespace: str = "default"
) -> tuple[Drafts, list[Diagnostic]]:
    """Draft both sides of every call in the Otterize ClientIntents at ``paths`` (``namespace``
    for intents without one), and the problems of the files."""
    from trustmap.catalog.otterize import import_otterize as read

    return read([os.fspath(p) for p in paths], namespace)


def export_backstage(graph: Graph) -> str:
    """Every team, service and interface of ``graph`` as Backstage catalog entities (Groups,
    Components, APIs with their relations), one multi-document YAML text."""
    from trustmap.catalog.export import export_backstage as write

    return write(graph)


def lab_target_names() -> tuple[str, ...]:
    """The targets whose L7 rules :func:`run_lab` can program into Envoy."""
    from trustmap.lab import LAB_TARGETS

    return tuple(LAB_TARGETS)


def run_lab(
    graph: Graph,
    target: str,
    *,
    environment: str | None = None,
    objects: Sequence[dict[str, Any]] | None = None,
    deadline_seconds: float = 300.0,
    workloads: Workloads | None = None,
) -> LabReport:
    """Program ``target``'s objects (compiled from ``graph``, or the ``objects`` given, e.g. from
    :func:`read_objects`) into a real Envoy and send every planned request through it: what the
    declarations expect, what the proxy did, and what the platform's evaluator says. With the
    ``workloads`` of the manifests (:func:`read_workloads`) the objects are compiled with them and
    every HTTP and gRPC kubelet probe is sent too, along the platform's probe path.

    Raises:
        UsageError: ``target`` is not one of :func:`lab_target_names`, or a bad environment.
        InputError: Envoy is missing (the ``lab`` extra brings it) or did not start in time.
    """
    from trustmap.lab import run_lab as run

    return run(
        graph,
        target,
        environment=environment,
        objects=objects,
        deadline_seconds=deadline_seconds,
        workloads=workloads,
    )


def read_objects(paths: Sequence[PathLike]) -> tuple[list[dict[str, Any]], list[Diagnostic]]:
    """Every Kubernetes object in the manifests at ``paths`` (files and folders; Lists
    flattened), as plain dicts, and the problems of the files."""
    from trustmap.kube import load_kube

    found, problems = load_kube(list(paths))
    return [dict(obj.raw) for obj in found.objects], problems


def read_snapshot(paths: Sequence[PathLike]) -> tuple[ClusterSnapshot, list[Diagnostic]]:
    """A cluster snapshot (``kubectl get pods,svc -A -o json`` output, files or folders) for
    :func:`drift` to resolve flow endpoints recorded by address or pod name, and the problems
    of its files (a snapshot with problems should not be used)."""
    from trustmap.observe.snapshot import load_snapshot

    return load_snapshot(list(paths))


def spark_hint() -> str:
    """What to do when :func:`drift`'s ``engine="spark"`` cannot start: the extra and the Java
    it needs."""
    from trustmap.observe.spark import SPARK_HINT

    return SPARK_HINT
