"""verify for admission: which workloads of the manifests would the Kyverno policies admit?

Every workload object of the manifests (the Deployment as applied, not the Pod it would create) is
judged by :class:`~trustmap.analysis.admission.AdmissionEvaluator`. A workload is declared when a
declared service of its namespace selects its pod labels and, where the service names one, its
service account is the declared one. Declared workloads must be admitted (TM410 denied, TM411
would be denied in Audit); undeclared workloads in a namespace that holds declared services must
not be (TM412; TM415 when only an Audit rule would deny it, in a namespace rolled out in audit).
"""

from __future__ import annotations

from trustmap.analysis.admission import AdmissionEvaluator
from trustmap.analysis.inventory import Inventory, Locator
from trustmap.analysis.platform import Peer
from trustmap.diagnostics import Diagnostic, Span, diagnostic
from trustmap.model import Graph, ServiceRef
from trustmap.verify.declared import Declared

__all__ = ["check_admission"]


def check_admission(
    graph: Graph,
    inventory: Inventory,
    declared: Declared,
    locator: Locator,
    environment: str | None,
) -> tuple[list[Diagnostic], int, int]:
    """Findings, and the counts of declared workloads admitted and undeclared ones admitted."""
    evaluator = AdmissionEvaluator(inventory.objects)
    managed = {ref.namespace for ref in graph.services}
    out: list[Diagnostic] = []
    admitted = wider = 0
    for peer, obj in zip(inventory.peers, inventory.workloads, strict=True):
        owner = _owner(graph, declared, peer)
        if owner is None and peer.namespace not in managed:
            continue
        decision = evaluator.decide(obj)
        span = (
            locator.span(obj.ref.file, obj.ref.doc, obj.ref.path)
            if not obj.ref.file.startswith("<")
            else Span(obj.ref.file)
        )
        by = ", ".join(
            f"{r} rule {r.path[-1] if r.path else ''} at {locator.span(r.file, r.doc, r.path)}"
            for r in decision.by[:4]
        )
        if owner is not None:
            if not decision.allowed:
                out.append(
                    diagnostic(
                        "TM410",
                        span,
                        f"declared workload {peer.id} (service {owner}, service account {peer.service_account}) is denied admission by {by}: narrower than declared",
                        "make the policy admit the declared labels and service account (an omitted serviceAccountName is `default` only on Pods), or fix the manifest",
                    )
                )
            elif decision.audit:
                out.append(
                    diagnostic(
                        "TM411",
                        span,
                        f"declared workload {peer.id} (service {owner}) would be denied admission once enforced: {by}",
                        "fix before switching the policy to Enforce",
                    )
                )
            else:
                admitted += 1
            continue
        if decision.allowed and not decision.audit:
            wider += 1
            out.append(
                diagnostic(
                    "TM412",
                    span,
                    f"undeclared workload {peer.id} (labels {_labels(peer)}, service account {peer.service_account}) in managed namespace {peer.namespace} is admitted: wider than declared",
                    "declare the service, or make the admission policy reject pods no declared service matches",
                )
            )
        elif decision.allowed:
            code = "TM415" if _mode(graph, environment, peer.namespace) == "audit" else "TM408"
            out.append(
                diagnostic(
                    code,
                    span,
                    f"undeclared workload {peer.id} in managed namespace {peer.namespace} is admitted only because {by} is in Audit mode (would deny)",
                    "expected in an audit rollout; otherwise set failureAction: Enforce",
                )
            )
    for ref, message in evaluator.unsupported():
        out.append(
            diagnostic(
                "TM414",
                locator.span(ref.file, ref.doc, ref.path),
                f"{ref}: {message}",
                "verify cannot judge this part; check it by hand",
            )
        )
    return out, admitted, wider


def _owner(graph: Graph, declared: Declared, peer: Peer) -> ServiceRef | None:
    ref = declared.owner.get(peer.id)
    service = graph.services.get(ref) if ref else None
    if service is None:
        return None
    account = service.workload.service_account
    return ref if account is None or account == peer.service_account else None


def _labels(peer: Peer) -> str:
    return ", ".join(f"{k}={v}" for k, v in peer.labels) or "none"


def _mode(graph: Graph, environment: str | None, namespace: str) -> str:
    org = graph.organization
    return org.mode(environment, namespace) if org else "enforce"
