"""Admission control: a Kyverno ClusterPolicy that admits only declared workloads.

Every other target trusts pod labels and service accounts. A pod that copies another service's
labels, or runs undeclared in a managed namespace, would dodge them. This policy closes that gap:
in each managed namespace a Pod is admitted only if its labels and service account match one
declared service (a rule per namespace, one ``anyPattern`` entry per service; Kyverno's autogen
applies the same rule to Deployments, StatefulSets and the other pod controllers, so each pattern
must hold for a pod template as written, not only for the Pod the API server defaults: see
:func:`_pattern`).

Audit mode: the namespace's rule uses ``failureAction: Audit`` (admitted, reported in a
PolicyReport) instead of ``Enforce``.
"""

from __future__ import annotations

from collections.abc import Collection

from trustmap.dialects.base import Compiler
from trustmap.dialects.names import object_name
from trustmap.dialects.provenance import AUDIT, MODE, Source, source
from trustmap.manifests import AdmissionRule, ClusterPolicy, ClusterPolicySpec
from trustmap.model import Graph, Service

__all__ = ["DEFAULT_ACCOUNT", "POLICY_NAME", "Admission"]

POLICY_NAME = "trustmap-declared-workloads"
"""Name of the one ClusterPolicy."""

_LISTED = 10
PER_RULE_ACTION = "1.13"
"""Kyverno release with ``validate.failureAction`` per rule (see dialects/platforms.py)."""
DEFAULT_ACCOUNT = "default"
"""The service account the API server gives a Pod that names none."""
_ACCOUNT_FIELD = "serviceAccountName"


class Admission(Compiler):
    """``kyverno.io/v1`` ClusterPolicy."""

    TARGET = "admission"
    SPLITS = False  # one ClusterPolicy for every namespace
    AUDIT_NOTE = (
        "audit mode: rules of audit namespaces use failureAction Audit, so undeclared pods are "
        "admitted and reported in Kyverno PolicyReports; compile for an enforce environment to "
        "reject them"
    )

    def __init__(self, graph: Graph, environment: str | None = None) -> None:
        super().__init__(graph, environment)
        self._rules: list[AdmissionRule] = []
        self._sources: list[Source] = []

    def namespace_objects(self, namespace: str, services: list[Service]) -> None:
        """One rule: pods here must match a declared service."""
        self._rules.append(self._rule(namespace, services))
        self._sources += [
            source(s.span, f"{s.ref}: declared workload", "declared workload") for s in services
        ]

    def service_objects(self, service: Service) -> None:
        """Nothing per service: the namespace rule lists them all."""

    def _walk(self, namespaces: Collection[str] | None = None) -> None:
        """Collect the namespace rules, then put the one cluster-scoped policy first."""
        super()._walk(namespaces)
        if not self._rules:
            return
        audits = [r for r in self._rules if r["validate"].get("failureAction") == "Audit"]
        meta = self.metadata(POLICY_NAME, None, self._sources)
        if audits:
            notes = meta.setdefault("annotations", {})
            names = ", ".join(r["name"] for r in audits)
            notes |= {MODE: f"audit in {names}", AUDIT: self.AUDIT_NOTE}
        spec: ClusterPolicySpec = {"admission": True, "background": True, "rules": self._rules}
        if self.older_than(PER_RULE_ACTION):
            spec = _policy_level_actions(spec, audits)
        policy: ClusterPolicy = {
            "apiVersion": "kyverno.io/v1",
            "kind": "ClusterPolicy",
            "metadata": meta,
            "spec": spec,
        }
        self.emit_first("", policy)

    def _rule(self, namespace: str, services: list[Service]) -> AdmissionRule:
        action = "Audit" if self.mode(namespace) == "audit" else "Enforce"
        names = [s.ref.name for s in services]
        more = f" and {len(names) - _LISTED} more" if len(names) > _LISTED else ""
        listed = ", ".join(names[:_LISTED]) + more
        return {
            "name": object_name(namespace),
            "match": {"any": [{"resources": {"kinds": ["Pod"], "namespaces": [namespace]}}]},
            "validate": {
                "failureAction": action,
                "message": (
                    f"namespace {namespace} is managed by trustmap: a pod's labels and service "
                    f"account must match a declared service ({listed})"
                ),
                "anyPattern": [_pattern(s) for s in services],
            },
        }


def _policy_level_actions(
    spec: ClusterPolicySpec, audits: list[AdmissionRule]
) -> ClusterPolicySpec:
    """Kyverno before 1.13 has no per-rule ``failureAction``: ``Enforce`` for the policy, and
    ``Audit`` for the audit namespaces through ``validationFailureActionOverrides``."""
    rules: list[AdmissionRule] = []
    for rule in spec["rules"]:
        validate = {k: v for k, v in rule["validate"].items() if k != "failureAction"}
        rules.append({**rule, "validate": validate})  # type: ignore[typeddict-item]
    older: ClusterPolicySpec = {
        "validationFailureAction": "Enforce",
        "admission": spec["admission"],
        "background": spec["background"],
        "rules": rules,
    }
    namespaces = sorted(n for r in audits for n in r["match"]["any"][0]["resources"]["namespaces"])
    if namespaces:
        older["validationFailureActionOverrides"] = [{"action": "Audit", "namespaces": namespaces}]
    return older


def _pattern(service: Service) -> dict[str, object]:
    """What a Pod of ``service`` looks like: its labels, and its service account.

    Kyverno's autogen copies this pattern under ``spec.template`` (``spec.jobTemplate.spec.
    template`` for CronJobs) of the pod controllers, where nothing has been defaulted yet: the
    API server fills in ``serviceAccountName: default`` on Pods only. So the account ``default``
    is written with an equality anchor (``=(serviceAccountName)``: if present, it must match), and
    a Deployment that omits it passes as its Pods do. Any other account must be written.
    """
    pattern: dict[str, object] = {"metadata": {"labels": dict(service.workload.pod_labels)}}
    account = service.workload.service_account
    if account == DEFAULT_ACCOUNT:
        pattern["spec"] = {f"=({_ACCOUNT_FIELD})": account}
    elif account:
        pattern["spec"] = {_ACCOUNT_FIELD: account}
    return pattern
