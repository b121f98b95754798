"""What makes a draft better than a copy of the manifests: the owning team read from labels and
annotations, pod selectors without the labels that change per release, shared service accounts
with the manifest change that separates them, references that only a ConfigMap loaded whole by
several workloads makes (weak evidence), and what a reviewer should check first.

Facts relied on: Kubernetes recommended labels (kubernetes.io/docs/concepts/overview/
working-with-objects/common-labels) — ``app.kubernetes.io/part-of`` names the application a
workload is part of and ``app.kubernetes.io/version`` changes per release; a Deployment's
ReplicaSets add ``pod-template-hash`` to every pod; ``envFrom`` turns every key of a ConfigMap into
an environment variable of the container (kubernetes.io/docs/tasks/configure-pod-container/
configure-pod-configmap, "Configure all key-value pairs in a ConfigMap as container environment
variables"), so its values say nothing about which of them a given program reads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Final

from trustmap.discover.draft import Discovery, Labels
from trustmap.discover.grouping import Group
from trustmap.discover.inventory import container_configs, written_account
from trustmap.kube import KubeWorkload
from trustmap.names import PLACEHOLDER_OWNER, label_name

__all__ = [
    "RELEASE_LABELS",
    "TEAM_KEYS",
    "minimal_labels",
    "review_first",
    "shared_accounts",
    "shared_env_from",
    "team_of",
]

TEAM_KEYS: Final = (
    "trustmap.dev/team",
    "team",
    "owner",
    "app.kubernetes.io/part-of",
)
"""Pod and workload labels, then annotations, that name the owning team, first match wins
(``discover --team-key`` replaces them)."""

RELEASE_LABELS: Final = frozenset(
    {
        "environment",
        "env",
        "version",
        "app.kubernetes.io/version",
        "pod-template-hash",
        "helm.sh/chart",
        "chart",
    }
)
"""Labels whose value changes per environment or release: a selector naming them breaks at the
next rollout, or matches one environment's pods only."""


def team_of(group: Group, keys: Sequence[str]) -> tuple[str | None, tuple[str, ...], str | None]:
    """The team ``group``'s workloads name (its owners, when the value is an e-mail address) and
    a review note when its workloads disagree."""
    found = [value for w in group.workloads if (value := _team_value(w, keys)) is not None]
    if not found:
        return None, (), None
    chosen = found[0]
    note = None
    if len(set(found)) > 1:
        note = (
            f"its workloads name different teams ({', '.join(sorted(set(found)))}): {chosen} chosen"
        )
    local, at, _ = chosen.partition("@")
    owners = (chosen,) if at else ()
    return label_name(local if at else chosen, group.namespace), owners, note


def _team_value(workload: KubeWorkload, keys: Sequence[str]) -> str | None:
    sources = (
        workload.pod_labels,
        workload.obj.labels,
        workload.pod_annotations,
        workload.obj.annotations,
    )
    for key in keys:
        for pairs in sources:
            value = dict(pairs).get(key)
            if value:
                return value
    return None


def minimal_labels(group: Group, neighbours: Sequence[KubeWorkload]) -> tuple[Labels, str | None]:
    """``group``'s pod labels without release labels, when what is left still selects exactly
    its workloads among ``neighbours`` (the namespace's workloads); a note says what was dropped."""
    labels = group.pod_labels
    kept = tuple((k, v) for k, v in labels if k not in RELEASE_LABELS)
    dropped = [f"{k}={v}" for k, v in labels if k in RELEASE_LABELS]
    if not dropped or not kept:
        return labels, None
    mine = {id(w) for w in group.workloads}
    if any(id(w) not in mine and _selects(kept, w.pod_labels) for w in neighbours):
        return labels, f"podLabels keep {', '.join(dropped)}: without it they select other pods"
    return kept, f"podLabels leave out {', '.join(dropped)} (changes per release or environment)"


def _selects(selector: Labels, labels: Labels) -> bool:
    have = dict(labels)
    return all(have.get(k) == v for k, v in selector)


def shared_accounts(groups: Iterable[Group]) -> dict[str, str]:
    """For each draft whose workloads share a service account with another draft's, the
    proposal: its own account, and the manifest change that gives it."""
    by_account: dict[tuple[str, str], list[Group]] = defaultdict(list)
    for group in groups:
        for account in {written_account(w) or "default" for w in group.workloads}:
            by_account[group.namespace, account].append(group)
    notes: dict[str, str] = {}
    for (namespace, account), sharing in by_account.items():
        if len(sharing) < 2:
            continue
        for group in sharing:
            if group.name == account:
                continue  # it keeps the account named after it; the others move
            others = _some([g.name for g in sharing if g is not group])
            changes = "; ".join(
                f"set spec.template.spec.serviceAccountName: {group.name} in {w.title} ({w.span})"
                for w in group.workloads
            )
            notes[group.ref] = (
                f"shares service account {account} with {others}, so meshes cannot tell them "
                f"apart: give it its own (kubectl create serviceaccount {group.name} -n "
                f"{namespace}; {changes}), then write serviceAccount: {group.name} here"
            )
    return notes


def shared_env_from(groups: Iterable[Group]) -> dict[tuple[str, str], tuple[str, ...]]:
    """ConfigMaps loaded whole (``envFrom``) by the workloads of more than one draft, with the
    drafts that load them."""
    loaders: dict[tuple[str, str], set[str]] = defaultdict(set)
    for group in groups:
        for workload in group.workloads:
            for container in container_configs(workload):
                for name, _prefix, _at in container.env_from:
                    loaders[workload.namespace, name].add(group.ref)
    return {key: tuple(sorted(refs)) for key, refs in loaders.items() if len(refs) > 1}


def review_first(discovery: Discovery) -> tuple[str, ...]:
    """What a reviewer should check first, most consequential first."""
    items: list[str] = []
    weak = [
        (s.ref, n) for s in discovery.services for n in s.review if n.startswith("weak evidence")
    ]
    items += [f"{ref}: {note}" for ref, note in weak]
    shared = [
        s.ref for s in discovery.services if any("shares service account" in n for n in s.review)
    ]
    if shared:
        items.append(
            f"{len(shared)} services share a service account ({_some(shared)}): give each its "
            "own, as their review notes say, before a mesh enforces identities"
        )
    if discovery.unresolved:
        items.append(
            f"{len(discovery.unresolved)} unresolved references: declare egress or the missing services"
        )
    overlaps = [d for d in discovery.diagnostics if d.code == "TM522"]
    if overlaps:
        items.append(f"{len(overlaps)} pairs of drafts whose pod labels overlap (TM522)")
    placeholder = [t.name for t in discovery.teams if t.owners == (PLACEHOLDER_OWNER,)]
    if placeholder:
        items.append(f"owners of teams {', '.join(placeholder)} are placeholders")
    if discovery.dependencies:
        items.append(f"{discovery.dependencies} TODO reasons to write (validate flags them, TM212)")
    return tuple(items)


def _some(names: list[str], shown: int = 3) -> str:
    """The first ``shown`` names, and how many more."""
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")
