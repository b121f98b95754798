"""Kyverno admission evaluation: would a workload manifest be admitted by ClusterPolicy/Policy objects?

Semantics (Kyverno documentation):
* ``ClusterPolicy`` applies to every namespace, ``Policy`` to its own. A rule applies when its
  ``match`` (``any``: one filter, ``all``: every filter, or the legacy ``resources``) selects the
  object by kind, namespace, name and label selector, and its ``exclude`` does not
  (https://kyverno.io/docs/writing-policies/match-exclude/).
* Rules matching Pods are auto-generated for pod controllers (DaemonSet, Deployment, Job,
  StatefulSet, ReplicaSet, ReplicationController, and CronJob), their pattern applied to
  ``spec.template`` (``spec.jobTemplate.spec.template``), unless the policy's
  ``pod-policies.kyverno.io/autogen-controllers`` annotation says otherwise
  (https://kyverno.io/docs/writing-policies/autogen/).
* ``validate.pattern`` / ``anyPattern``: maps must contain the pattern's keys; ``(key)``
  conditional anchors skip the pattern when unmet, ``=(key)`` applies only when present,
  ``X(key)`` forbids the key, ``^(key)`` needs one list element to match; string patterns use
  ``*``/``?`` wildcards, ``|`` alternatives, ``!`` negation and ``>``/``<`` comparisons
  (https://kyverno.io/docs/writing-policies/validate/).
* ``failureAction`` (rule, or the policy's ``validationFailureAction``; default ``Audit``):
  Enforce rejects, Audit admits and reports (https://kyverno.io/docs/policy-types/cluster-policy/).
* Webhooks see a Pod after the built-in ServiceAccount admission plugin has filled in
  ``serviceAccountName: default`` (https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#serviceaccount);
  a controller's pod template is validated as written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from trustmap.analysis.platform import (
    MALFORMED,
    Decision,
    Obj,
    ObjectRef,
    glob_match,
    mappings,
    selector_matches,
    submap,
)

__all__ = ["AUTOGEN", "AdmissionEvaluator", "pattern_matches"]

AUTOGEN = "pod-policies.kyverno.io/autogen-controllers"
_DEFAULT_CONTROLLERS = (
    "DaemonSet",
    "Deployment",
    "Job",
    "StatefulSet",
    "ReplicaSet",
    "ReplicationController",
    "CronJob",
)


class AdmissionEvaluator:
    """Answers "is this object admitted?" with Kyverno's validate semantics."""

    def __init__(self, objects: Sequence[Obj]) -> None:
        self.policies = [
            o
            for o in objects
            if o.kind in ("ClusterPolicy", "Policy")
            and "kyverno" in str(o.raw.get("apiVersion", ""))
        ]
        self.problems: list[tuple[ObjectRef, str]] = []
        for policy in self.policies:
            for rule in mappings(policy.spec.get("rules")):
                validate = submap(rule, "validate")
                for key in ("deny", "foreach", "podSecurity", "cel", "manifests"):
                    if key in validate:
                        self.problems.append(
                            (policy.ref, f"validate.{key} is not evaluated (treated as passing)")
                        )

        self._generic: list[tuple[int, Obj, int, Mapping[str, Any]]] = []
        self._by_ns: dict[str, list[tuple[int, Obj, int, Mapping[str, Any]]]] = {}
        rules = [
            (policy, index, rule)
            for policy in self.policies
            for index, rule in enumerate(_list(policy.spec.get("rules")))
            if isinstance(rule, Mapping) and "validate" in rule
        ]
        for order, (policy, index, rule) in enumerate(rules):
            try:
                spaces = _exact_namespaces(rule.get("match"))
            except MALFORMED:
                spaces = None  # checked for every object; decide() reports what it cannot read
            if spaces is None:
                self._generic.append((order, policy, index, rule))
            for namespace in spaces or ():
                self._by_ns.setdefault(namespace, []).append((order, policy, index, rule))

    def unsupported(self) -> Sequence[tuple[ObjectRef, str]]:
        return self.problems

    def _malformed(self, policy: Obj, index: int, exc: Exception) -> None:
        problem = (
            policy.ref,
            f"rule {index} cannot be read ({type(exc).__name__}: {exc}); not evaluated",
        )
        if problem not in self.problems:
            self.problems.append(problem)

    def _rules_for(self, obj: Obj) -> list[tuple[Obj, int, Mapping[str, Any]]]:
        """The rules that may match ``obj`` — those naming its namespace and those naming none
        (or a pattern) — in policy order (indexed: clusters have a rule per namespace)."""
        found = sorted(
            [*self._generic, *self._by_ns.get(obj.namespace or "default", ())], key=lambda r: r[0]
        )
        return [(policy, index, rule) for _, policy, index, rule in found]

    def decide(self, obj: Obj) -> Decision:
        """Admitted or not; ``audit`` when only Audit rules fail (the object would be denied)."""
        enforced: list[ObjectRef] = []
        audited: list[ObjectRef] = []
        for policy, index, rule in self._rules_for(obj):
            try:
                outcome = self._rule(policy, rule, obj)
            except MALFORMED as exc:
                self._malformed(policy, index, exc)
                continue
            if outcome is False:
                path = (*policy.ref.path, "spec", "rules", index)
                ref = ObjectRef(
                    policy.kind,
                    policy.namespace,
                    policy.name,
                    policy.ref.file,
                    policy.ref.doc,
                    path,
                )
                (enforced if _action(policy, rule, obj) == "enforce" else audited).append(ref)
        if enforced:
            return Decision(False, tuple(enforced), why="an Enforce rule rejects it")
        if audited:
            return Decision(True, tuple(audited), audit=True, why="an Audit rule would reject it")
        return Decision(True)

    def _rule(self, policy: Obj, rule: Mapping[str, Any], obj: Obj) -> bool | None:
        """None: the rule does not apply; else whether the object passes it."""
        namespace = obj.namespace or "default"
        if policy.kind == "Policy" and (policy.namespace or "default") != namespace:
            return None
        target = _subject(policy, rule, obj)
        if target is None:
            return None
        validate = rule.get("validate") or {}
        if "pattern" in validate:
            return pattern_matches(validate["pattern"], target)
        if "anyPattern" in validate:
            return any(pattern_matches(p, target) for p in validate["anyPattern"] or ())
        return True


def _subject(policy: Obj, rule: Mapping[str, Any], obj: Obj) -> Mapping[str, Any] | None:
    """What the rule's pattern is applied to: the object, or the pod its controller runs."""
    if _selects(rule.get("match"), obj.kind, obj) and not _selects(
        rule.get("exclude"), obj.kind, obj, exclude=True
    ):
        return _as_admitted(obj)
    if obj.kind not in _controllers(policy) or not _pod_only(rule.get("match")):
        return None
    template = _template(obj)
    if template is None:
        return None
    if not _selects(rule.get("match"), "Pod", obj, labels=_labels(template)):
        return None
    if _selects(rule.get("exclude"), "Pod", obj, labels=_labels(template), exclude=True):
        return None
    return template


def _as_admitted(obj: Obj) -> Mapping[str, Any]:
    if obj.kind != "Pod":
        return obj.raw
    spec = dict(obj.spec)
    spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
    return {**obj.raw, "spec": spec}


def _controllers(policy: Obj) -> tuple[str, ...]:
    value = policy.annotations.get(AUTOGEN)
    if value is None:
        return _DEFAULT_CONTROLLERS
    if value.strip().lower() == "none":
        return ()
    return tuple(v.strip() for v in value.split(","))


def _template(obj: Obj) -> Mapping[str, Any] | None:
    spec = obj.spec
    if obj.kind == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    template = spec.get("template") if isinstance(spec, Mapping) else None
    return template if isinstance(template, Mapping) else None


def _labels(template: Mapping[str, Any]) -> dict[str, str]:
    meta = template.get("metadata") or {}
    return {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}


def _filters(block: Any) -> tuple[list[Mapping[str, Any]], bool]:
    if not isinstance(block, Mapping):
        return [], True
    if block.get("any"):
        return [f for f in block["any"] if isinstance(f, Mapping)], True
    if block.get("all"):
        return [f for f in block["all"] if isinstance(f, Mapping)], False
    if block.get("resources"):
        return [{"resources": block["resources"]}], True
    return [], True


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _exact_namespaces(block: Any) -> set[str] | None:
    """The namespaces a match block is limited to, when every filter lists exact names."""
    filters, _ = _filters(block)
    found: set[str] = set()
    for item in filters:
        spaces = (item.get("resources") or {}).get("namespaces")
        if not spaces or any("*" in str(n) or "?" in str(n) for n in spaces):
            return None
        found |= {str(n) for n in spaces}
    return found if filters else None


def _pod_only(block: Any) -> bool:
    filters, _ = _filters(block)
    kinds = {_kind(k) for f in filters for k in (f.get("resources") or {}).get("kinds") or ()}
    return kinds == {"Pod"}


def _kind(text: Any) -> str:
    return str(text).split("/")[-1]


def _selects(
    block: Any,
    kind: str,
    obj: Obj,
    *,
    labels: Mapping[str, str] | None = None,
    exclude: bool = False,
) -> bool:
    filters, any_of = _filters(block)
    if not filters:
        return False
    results = [_filter(f, kind, obj, labels) for f in filters]
    return any(results) if any_of else all(results)


def _filter(item: Mapping[str, Any], kind: str, obj: Obj, labels: Mapping[str, str] | None) -> bool:
    resources = item.get("resources") or {}
    kinds = [_kind(k) for k in resources.get("kinds") or ()]
    if kinds and not any(glob_match(k, kind) for k in kinds):
        return False
    namespaces = resources.get("namespaces")
    if namespaces and not any(glob_match(str(n), obj.namespace or "default") for n in namespaces):
        return False
    names = resources.get("names") or ([resources["name"]] if resources.get("name") else [])
    if names and not any(glob_match(str(n), obj.name) for n in names):
        return False
    selector = resources.get("selector")
    return selector is None or selector_matches(
        selector, labels if labels is not None else obj.labels
    )


def _action(policy: Obj, rule: Mapping[str, Any], obj: Obj) -> str:
    validate = rule.get("validate") or {}
    action = validate.get("failureAction") or policy.spec.get("validationFailureAction") or "Audit"
    for override in (
        validate.get("failureActionOverrides")
        or policy.spec.get("validationFailureActionOverrides")
        or ()
    ):
        if any(
            glob_match(str(n), obj.namespace or "default")
            for n in (override or {}).get("namespaces") or ()
        ):
            action = override.get("action") or action
    return str(action).lower()


def pattern_matches(pattern: Any, value: Any) -> bool:
    """Whether ``value`` satisfies a Kyverno validate ``pattern`` (anchors, wildcards, operators)."""
    if isinstance(pattern, Mapping):
        return isinstance(value, Mapping) and _map(pattern, value)
    if isinstance(pattern, list):
        if not isinstance(value, list):
            return False
        return all(any(pattern_matches(p, v) for p in pattern) for v in value)
    return _scalar(pattern, value)


def _map(pattern: Mapping[str, Any], value: Mapping[str, Any]) -> bool:
    for key, sub in pattern.items():
        text = str(key)
        if text.startswith("(") and text.endswith(")"):
            name = text[1:-1]
            if name not in value or not pattern_matches(sub, value[name]):
                return True  # conditional anchor unmet: the rest of this pattern is skipped
    return all(_key(str(key), sub, value) for key, sub in pattern.items())


def _key(key: str, sub: Any, value: Mapping[str, Any]) -> bool:
    if key.startswith("(") and key.endswith(")"):
        return True
    for prefix in ("=(", "+("):
        if key.startswith(prefix) and key.endswith(")"):
            name = key[2:-1]
            return name not in value or pattern_matches(sub, value[name])
    if key.startswith("X(") and key.endswith(")"):
        return key[2:-1] not in value
    if key.startswith("^(") and key.endswith(")"):
        items = value.get(key[2:-1])
        return isinstance(items, list) and any(pattern_matches(p, v) for p in sub for v in items)
    if key not in value:
        return sub in ("*", "") if isinstance(sub, str) else False
    return pattern_matches(sub, value[key])


def _scalar(pattern: Any, value: Any) -> bool:
    if isinstance(pattern, bool) or isinstance(value, bool):
        return str(pattern).lower() == str(value).lower()
    if isinstance(pattern, int | float) and isinstance(value, int | float):
        return pattern == value
    text = str(pattern)
    if "|" in text:
        return any(_scalar(p.strip(), value) for p in text.split("|"))
    if "&" in text:
        return all(_scalar(p.strip(), value) for p in text.split("&"))
    actual = "" if value is None else str(value)
    if text == "?*":
        return actual != ""
    if text.startswith("!"):
        return not glob_match(text[1:], actual)
    for op in (">=", "<=", ">", "<"):
        if text.startswith(op):
            return _compare(op, text[len(op) :], actual)
    return glob_match(text, actual)


def _compare(op: str, bound: str, actual: str) -> bool:
    try:
        left, right = float(actual), float(bound)
    except ValueError:
        return False
    return {">=": left >= right, "<=": left <= right, ">": left > right, "<": left < right}[op]
