"""The admission evaluator follows Kyverno's documented validate and autogen semantics."""

from __future__ import annotations

from platform_helpers import objs

from trustmap.analysis.admission import AdmissionEvaluator, pattern_matches

POLICY = """
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: declared}
spec:
  rules:
  - name: shop
    match: {any: [{resources: {kinds: [Pod], namespaces: [shop]}}]}
    validate:
      failureAction: Enforce
      anyPattern:
      - metadata: {labels: {app: web}}
        spec: {serviceAccountName: web}
      - metadata: {labels: {app: db}}
        spec: {serviceAccountName: default}
"""


def workload(kind: str, app: str, account: str | None = None, namespace: str = "shop") -> str:
    sa = f"serviceAccountName: {account}, " if account else ""
    pod = f"{{metadata: {{labels: {{app: {app}}}}}, spec: {{{sa}containers: [{{name: c, image: i}}]}}}}"
    if kind == "Pod":
        return f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {app}, namespace: {namespace}, labels: {{app: {app}}}}}\nspec: {{{sa}containers: [{{name: c, image: i}}]}}\n"
    return f"apiVersion: apps/v1\nkind: {kind}\nmetadata: {{name: {app}, namespace: {namespace}}}\nspec: {{template: {pod}}}\n"


def decide(policy: str, manifest: str) -> tuple[bool, bool]:
    evaluator = AdmissionEvaluator(objs(policy))
    decision = evaluator.decide(objs(manifest)[0])
    return decision.allowed, decision.audit


def test_a_matching_pod_is_admitted_and_another_is_rejected() -> None:
    """validate.anyPattern: one pattern must match (https://kyverno.io/docs/writing-policies/validate/)."""
    assert decide(POLICY, workload("Pod", "web", "web")) == (True, False)
    assert decide(POLICY, workload("Pod", "web", "admin")) == (False, False)


def test_pod_rules_are_auto_generated_for_controllers_on_their_pod_template() -> None:
    """Autogen applies Pod rules to Deployment/StatefulSet/DaemonSet/Job/CronJob templates
    (https://kyverno.io/docs/writing-policies/autogen/)."""
    assert decide(POLICY, workload("Deployment", "web", "web")) == (True, False)
    assert decide(POLICY, workload("StatefulSet", "web", "intruder")) == (False, False)
    off = POLICY.replace(
        "metadata: {name: declared}",
        "metadata: {name: declared, annotations: {pod-policies.kyverno.io/autogen-controllers: none}}",
    )
    assert decide(off, workload("Deployment", "web", "intruder")) == (True, False)


def test_cronjob_templates_are_checked_under_the_job_template() -> None:
    cron = "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: web, namespace: shop}\nspec: {jobTemplate: {spec: {template: {metadata: {labels: {app: web}}, spec: {serviceAccountName: web}}}}}\n"
    assert decide(POLICY, cron) == (True, False)


def test_an_omitted_service_account_is_default_on_pods_but_absent_on_templates() -> None:
    """The ServiceAccount admission plugin sets serviceAccountName on Pods before webhooks
    (https://kubernetes.io/docs/reference/access-authn-authz/admission-controllers/#serviceaccount);
    controller templates are validated as written."""
    assert decide(POLICY, workload("Pod", "db")) == (True, False)
    assert decide(POLICY, workload("Deployment", "db")) == (False, False)


def test_audit_rules_admit_but_would_deny() -> None:
    """failureAction Audit reports without blocking (https://kyverno.io/docs/policy-types/cluster-policy/)."""
    audit = POLICY.replace("failureAction: Enforce", "failureAction: Audit")
    assert decide(audit, workload("Pod", "web", "admin")) == (True, True)


def test_other_namespaces_are_not_matched() -> None:
    assert decide(POLICY, workload("Pod", "web", "admin", "elsewhere")) == (True, False)


def test_pattern_anchors_and_operators() -> None:
    """(key) conditional, =(key) equality, X(key) negation anchors; | alternatives, ! negation,
    ? and * wildcards, numeric comparisons (validate/#anchors, #operators)."""
    assert pattern_matches({"(kind)": "Pod", "spec": "?*"}, {"kind": "Job"})
    assert pattern_matches({"=(hostNetwork)": False}, {})
    assert not pattern_matches({"=(hostNetwork)": False}, {"hostNetwork": True})
    assert not pattern_matches({"X(hostPID)": "null"}, {"hostPID": True})
    assert pattern_matches({"image": "registry.io/*|ghcr.io/*"}, {"image": "ghcr.io/x"})
    assert pattern_matches({"name": "!admin"}, {"name": "web"})
    assert pattern_matches({"replicas": ">1"}, {"replicas": 3})
    assert pattern_matches(
        {"containers": [{"name": "?*"}]}, {"containers": [{"name": "a"}, {"name": "b"}]}
    )
