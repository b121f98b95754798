"""A focused, test-side reading of how Kyverno admits a workload under trustmap's ClusterPolicy.

The real ``kyverno`` CLI is a Go binary, not on PyPI, npm or Debian, so these tests evaluate the
parts of Kyverno's semantics the admission target uses, as documented upstream:

* Validate patterns (https://kyverno.io/docs/policy-types/cluster-policy/validate/): a pattern
  mapping matches when each of its keys matches; a key the resource lacks fails the pattern,
  except under the equality anchor ``=(key)``, which only checks the value when the key is
  present. ``anyPattern`` passes when one pattern passes. String values compare as strings
  with ``*``/``?`` wildcards.
* Auto-gen (https://kyverno.io/docs/policy-types/cluster-policy/autogen/): a rule matching only
  ``Pod`` gets generated copies for DaemonSet, Deployment, Job, StatefulSet, ReplicaSet and
  ReplicationController with the pattern under ``spec.template``, and for CronJob under
  ``spec.jobTemplate.spec.template``; the copies keep the rule's match (namespaces).
* What the API server sends for a Pod: the ServiceAccount admission plugin sets
  ``spec.serviceAccountName: default`` on a Pod that names none
  (https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/), before the
  validating webhooks run; pod templates of controllers are not touched.
"""

from __future__ import annotations

import copy
import fnmatch
from collections.abc import Mapping
from typing import Any

POD_CONTROLLERS = (
    "DaemonSet",
    "Deployment",
    "Job",
    "StatefulSet",
    "ReplicaSet",
    "ReplicationController",
)


def matches(pattern: Any, value: Any) -> bool:
    """Whether ``value`` satisfies the Kyverno ``pattern`` (maps, anchors, scalars)."""
    if isinstance(pattern, Mapping):
        if not isinstance(value, Mapping):
            return False
        return all(_key_matches(key, sub, value) for key, sub in pattern.items())
    if isinstance(value, (Mapping, list)) or value is None:
        return False
    return fnmatch.fnmatchcase(str(value), str(pattern))


def _key_matches(key: str, sub: Any, value: Mapping[str, Any]) -> bool:
    if key.startswith("=(") and key.endswith(")"):
        name = key[2:-1]
        return name not in value or matches(sub, value[name])
    return key in value and matches(sub, value[key])


def autogen_pattern(kind: str, pattern: Mapping[str, Any]) -> dict[str, Any]:
    """The pattern Kyverno's auto-gen derives for a pod controller ``kind``."""
    if kind == "CronJob":
        return {"spec": {"jobTemplate": {"spec": {"template": pattern}}}}
    return {"spec": {"template": pattern}}


def as_admitted_pod(workload: Mapping[str, Any]) -> dict[str, Any]:
    """The Pod the API server hands to validating webhooks for ``workload`` (a Pod or a pod
    controller): its template, with ``serviceAccountName`` defaulted."""
    template = workload if workload["kind"] == "Pod" else _template(workload)
    pod = copy.deepcopy(dict(template))
    pod["kind"] = "Pod"
    spec = pod.setdefault("spec", {})
    spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
    return pod


def _template(workload: Mapping[str, Any]) -> Mapping[str, Any]:
    if workload["kind"] == "CronJob":
        return workload["spec"]["jobTemplate"]["spec"]["template"]  # type: ignore[no-any-return]
    return workload["spec"]["template"]  # type: ignore[no-any-return]


def admitted(policy: Mapping[str, Any], obj: Mapping[str, Any], namespace: str) -> bool | None:
    """Whether ``obj`` (a Pod, or a pod controller as written) passes the policy's rules for
    ``namespace``, with auto-gen applied; ``None`` when no rule matches it."""
    kind = obj["kind"]
    verdict: bool | None = None
    for rule in policy["spec"]["rules"]:
        resources = rule["match"]["any"][0]["resources"]
        if namespace not in resources["namespaces"] or resources["kinds"] != ["Pod"]:
            continue
        patterns = rule["validate"]["anyPattern"]
        if kind != "Pod":
            if kind not in (*POD_CONTROLLERS, "CronJob"):
                continue
            patterns = [autogen_pattern(kind, p) for p in patterns]
        ok = any(matches(p, obj) for p in patterns)
        verdict = ok if verdict is None else verdict and ok
    return verdict
