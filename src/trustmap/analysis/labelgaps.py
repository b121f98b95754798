"""Pods of one workload that a policy tells apart.

A workload is reported as one peer, so its pods must look the same to every policy. When pods
that share an owner carry different labels (hand-made pods, a rollout caught half-way) and some
policy selector matches only part of them, no single connectivity line is true for the workload:
np-guard refuses such input, and so does trustmap (TM618) rather than guess.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from trustmap.analysis.objects import Labels, NetpolNamespace, NetpolPolicy, Pod, PodPeer
from trustmap.analysis.selectors import Selector
from trustmap.diagnostics import Diagnostic, diagnostic

__all__ = ["check_label_gaps"]


def check_label_gaps(
    pods: Sequence[Pod],
    policies: Sequence[NetpolPolicy],
    namespaces: Sequence[NetpolNamespace],
    sink: list[Diagnostic],
) -> None:
    """Report (TM618) each policy selector that matches some but not all pods of a workload.

    Only keys whose values differ between the pods of a workload (the "gap") can make a
    selector tell them apart, so selectors that use none of those keys are skipped at once.
    """
    variants: dict[str, set[Labels]] = {}
    where: dict[str, str] = {}
    for pod in pods:
        variants.setdefault(pod.workload.id, set()).add(pod.labels)
        where[pod.workload.id] = pod.workload.namespace
    gaps = {w: _gap_keys(v) for w, v in sorted(variants.items()) if len(v) > 1}
    all_gap_keys = set().union(*gaps.values()) if gaps else set()
    if not all_gap_keys:
        return
    ns_labels = {ns.name: dict(ns.labels) for ns in namespaces}
    for policy in policies:
        for path, selector, in_scope in _selectors(policy, ns_labels):
            keys = {r.key for r in selector.requirements}
            if not keys & all_gap_keys:
                continue
            for workload, gap in gaps.items():
                if keys & gap and in_scope(where[workload]):
                    matched = {selector.matches(dict(labels)) for labels in variants[workload]}
                    if len(matched) > 1:
                        _report(policy, path, selector, workload, sink)


def _gap_keys(label_sets: set[Labels]) -> set[str]:
    """Label keys whose value (or presence) differs between the label sets."""
    maps = [dict(labels) for labels in label_sets]
    keys = set().union(*maps)
    return {k for k in keys if len({m.get(k) for m in maps}) > 1}


def _report(
    policy: NetpolPolicy,
    path: tuple[str | int, ...],
    selector: Selector,
    workload: str,
    sink: list[Diagnostic],
) -> None:
    sink.append(
        diagnostic(
            "TM618",
            policy.origin.span(path),
            f"selector '{selector}' of NetworkPolicy {policy.ref} matches only some pods of "
            f"{workload}",
            "give the workload's pods the same labels, or select on labels they share",
        )
    )


_Scope = tuple[tuple[str | int, ...], Selector, "_InScope"]


class _InScope:
    """Whether a namespace is in a selector's reach."""

    def __init__(
        self, policy: NetpolPolicy, peer: PodPeer | None, labels: dict[str, dict[str, str]]
    ):
        self._policy = policy.namespace
        self._selector = peer.namespace_selector if peer is not None else None
        self._labels = labels

    def __call__(self, namespace: str) -> bool:
        if self._selector is None:
            return namespace == self._policy
        return self._selector.matches(self._labels.get(namespace, {}))


def _selectors(policy: NetpolPolicy, ns_labels: dict[str, dict[str, str]]) -> Iterator[_Scope]:
    yield ("spec", "podSelector"), policy.pod_selector, _InScope(policy, None, ns_labels)
    for direction, rules in (("ingress", policy.ingress), ("egress", policy.egress)):
        key = "from" if direction == "ingress" else "to"
        for rule in rules:
            for i, peer in enumerate(rule.peers or ()):
                if isinstance(peer, PodPeer) and peer.pod_selector is not None:
                    path = ("spec", direction, rule.index, key, i, "podSelector")
                    yield path, peer.pod_selector, _InScope(policy, peer, ns_labels)
