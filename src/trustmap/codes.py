"""The registry of diagnostic codes: one stable code per kind of problem, with its default severity.

Families: TM1xx files and schema, TM2xx graph, TM3xx compile, TM4xx verify, TM5xx drift,
TM6xx analyze (Kubernetes manifests), TM7xx registry pushes.
Every code here is documented in ``docs/diagnostics.md`` (a test keeps the two in step) and, for
TM1xx/TM2xx, has a golden case under ``tests/fixtures/validate/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["CODES", "CodeInfo"]

Level = Literal["error", "warning", "info"]


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """What a code means."""

    code: str
    """Stable identifier, e.g. ``TM203``."""
    severity: Level
    """Default severity."""
    title: str
    """Short title used in docs and SARIF rule descriptions."""


def _codes(*rows: tuple[str, Level, str]) -> dict[str, CodeInfo]:
    return {code: CodeInfo(code, level, title) for code, level, title in rows}


CODES: dict[str, CodeInfo] = _codes(
    # TM1xx: files, YAML and the declaration schema
    ("TM100", "error", "path cannot be read"),
    ("TM101", "error", "YAML syntax error"),
    ("TM102", "error", "duplicate key"),
    ("TM103", "error", "YAML aliases expand beyond the limit"),
    ("TM104", "error", "file too large"),
    ("TM105", "warning", "empty file"),
    ("TM106", "error", "binary or non-UTF-8 file"),
    ("TM107", "error", "document is not a mapping"),
    ("TM108", "error", "wrong or missing apiVersion"),
    ("TM109", "error", "unknown kind"),
    ("TM110", "error", "unknown field"),
    ("TM111", "error", "wrong type"),
    ("TM112", "error", "missing required field"),
    ("TM113", "error", "invalid value"),
    ("TM114", "error", "invalid DNS-1123 name"),
    ("TM115", "error", "malformed service reference"),
    ("TM116", "error", "no declarations found"),
    ("TM117", "error", "YAML nesting too deep"),
    ("TM118", "info", "reference to a declaration that failed validation not checked"),
    ("TM119", "error", "documents after a YAML error not read"),
    # TM2xx: the organisation graph
    ("TM200", "warning", "no Organization declared"),
    ("TM201", "error", "more than one Organization"),
    ("TM202", "error", "unknown team"),
    ("TM203", "error", "unknown service"),
    ("TM204", "error", "unknown interface"),
    ("TM205", "error", "service declared outside its team's namespaces"),
    ("TM206", "error", "duplicate service"),
    ("TM207", "error", "duplicate team"),
    ("TM208", "error", "overlapping workload selectors"),
    ("TM209", "warning", "shared service account"),
    ("TM210", "error", "dependency without provider consent"),
    ("TM211", "error", "expired dependency"),
    ("TM212", "error", "dependency or egress without a reason"),
    ("TM213", "error", "expiry beyond the organisation cap"),
    ("TM214", "error", "methods not offered by the interface"),
    ("TM215", "warning", "wildcard consumers on an internal interface"),
    ("TM216", "info", "dependency cycle"),
    ("TM217", "error", "duplicate interface name or port"),
    ("TM218", "error", "ambiguous dependency: interface not named"),
    ("TM219", "warning", "duplicate dependency"),
    ("TM220", "info", "dependency expires soon"),
    ("TM221", "warning", "platform consumer names an interface no service offers"),
    ("TM222", "warning", "dependency on itself"),
    ("TM223", "warning", "unknown consumer in an interface's consumers"),
    ("TM224", "warning", "exposure needs an ingress controller the Organization does not declare"),
    ("TM225", "warning", "apiServer egress without the API server's address"),
    ("TM226", "error", "egress host is a URL"),
    ("TM227", "error", "egress host has a port"),
    ("TM228", "error", "egress host is an IP address"),
    ("TM229", "error", "egress host is not a DNS name"),
    # TM3xx: compile — a target cannot express a declaration (recorded, never dropped silently)
    ("TM300", "warning", "target cannot allow egress to a host name"),
    ("TM301", "warning", "target cannot enforce methods; the whole port is allowed"),
    ("TM302", "warning", "caller has no service account for a mesh identity rule"),
    ("TM303", "warning", "route pattern widened to what the target can match"),
    ("TM304", "warning", "target does not see UDP or SCTP traffic"),
    ("TM305", "warning", "target does not limit calls out of the cluster"),
    ("TM306", "warning", "external destination without ports"),
    # TM307-TM319: compile with workload manifests; what would break platform traffic or widen
    ("TM307", "warning", "target needs the workloads' probes; no manifests given"),
    ("TM308", "error", "workload manifests hold no workload"),
    ("TM309", "warning", "declared service runs no workload in the manifests"),
    ("TM310", "warning", "workload runs as another service account than declared"),
    ("TM311", "warning", "HTTP method the target cannot match; every method allowed"),
    ("TM312", "warning", "target has no dry run per policy; audit namespace left out"),
    ("TM313", "warning", "kubelet probe the target cannot authorise"),
    ("TM314", "warning", "HTTPS probe on a port Cilium's HTTP proxy reads"),
    # TM320-TM339: compile — rollout safety (identities, platform versions, mesh edges)
    ("TM320", "warning", "services share a service account on an identity target"),
    ("TM321", "warning", "istio matches opaque TCP egress by port, not by host name"),
    ("TM322", "info", "caller must run in the mesh to reach the interface"),
    ("TM323", "error", "platform version too old for this target's output"),
    ("TM324", "info", "output adapted to an older platform version"),
    ("TM325", "warning", "istio normalises the request path; route compiled in normal form"),
    ("TM326", "warning", "Istio probe rewrite off: probe routes open to plain-text callers"),
    ("TM327", "warning", "Istio probe rewrite off: HTTPS probes are refused"),
    ("TM328", "warning", "Istio: the pods keep a declared interface's port from the sidecar"),
    # TM4xx: verify — what policies allow against what is declared
    ("TM401", "error", "policy allows a flow beyond the declarations"),
    ("TM402", "error", "declared flow is blocked"),
    ("TM403", "warning", "open flow to or from external addresses"),
    ("TM404", "warning", "declaration without a workload in the manifests"),
    # TM405-TM416: verify on cilium, istio, linkerd and admission (platform evaluators)
    ("TM405", "error", "platform allows a request beyond the declarations"),
    ("TM406", "error", "platform denies a declared request"),
    ("TM407", "warning", "declared request would be denied once enforced (audit)"),
    ("TM408", "error", "undeclared request allowed only by audit mode where enforce is declared"),
    ("TM409", "error", "platform traffic (kubelet probe) is blocked"),
    ("TM410", "error", "admission denies a declared workload"),
    ("TM411", "warning", "admission would deny a declared workload once enforced"),
    ("TM412", "error", "admission admits an undeclared workload"),
    ("TM413", "error", "plaintext or unauthenticated client accepted"),
    ("TM414", "warning", "policy object or field verify cannot evaluate"),
    ("TM415", "info", "undeclared request only logged in audit mode (would deny)"),
    ("TM416", "warning", "platform does not govern calls out of the cluster"),
    # TM440-TM449: compiled output against today's date (expiry after compile time)
    ("TM440", "error", "compiled output still allows an expired grant"),
    ("TM441", "warning", "compiled output allows a grant that expires soon"),
    ("TM442", "error", "invalid expiry annotation on a compiled object"),
    # TM50x: observe — reading flow records (TM51x and up: drift, coverage, discover)
    ("TM500", "error", "flow file cannot be read"),
    ("TM501", "warning", "malformed flow record"),
    ("TM502", "info", "more malformed flow records not shown"),
    ("TM503", "warning", "Hubble lost events during the capture"),
    ("TM504", "warning", "flow file already ingested"),
    ("TM505", "error", "invalid CSV flow header"),
    ("TM506", "warning", "no record could be read in the given format"),
    # TM51x: drift — observed flows against the declarations
    ("TM510", "warning", "observed traffic not declared"),
    ("TM511", "info", "declared dependency not observed"),
    ("TM512", "error", "declared traffic dropped"),
    ("TM513", "warning", "traffic on an expired or unconsented dependency"),
    ("TM514", "warning", "egress not declared"),
    ("TM515", "error", "invalid pod/Service snapshot"),
    # TM52x: discover — drafting declarations from manifests or flows
    ("TM520", "warning", "Service targetPort names no container port"),
    ("TM521", "info", "ConfigMap not in the manifests"),
    ("TM522", "warning", "drafted pod selectors overlap"),
    ("TM523", "warning", "nothing to draft"),
    ("TM524", "warning", "manifest object defined twice"),
    # TM525-TM549: review — diff of two versions, code owners, imports
    ("TM525", "error", "call opened without the provider's consent"),
    ("TM526", "info", "call opened or widened: the provider's owners approve"),
    ("TM527", "warning", "interface exposure widened"),
    ("TM528", "info", "egress opened or changed"),
    ("TM529", "warning", "team has no handle for CODEOWNERS"),
    ("TM530", "error", "declaration file outside the repository root"),
    ("TM531", "warning", "catalog entry not mapped"),
    ("TM532", "warning", "not a catalog entity"),
    # TM6xx: analyze — Kubernetes manifests read by trustmap.analysis
    ("TM600", "error", "object without metadata.name"),
    ("TM601", "error", "invalid CIDR"),
    ("TM602", "error", "ipBlock combined with a selector in one peer"),
    ("TM603", "error", "named port toward an ipBlock destination"),
    ("TM604", "error", "duplicate NetworkPolicy name in a namespace"),
    ("TM605", "error", "endPort without a numeric port"),
    ("TM606", "error", "invalid label selector"),
    ("TM607", "error", "invalid port"),
    ("TM608", "error", "invalid protocol"),
    ("TM609", "error", "invalid policyTypes value"),
    ("TM610", "error", "field of the wrong type"),
    ("TM611", "error", "ipBlock except outside its cidr"),
    ("TM612", "error", "empty NetworkPolicy peer"),
    ("TM613", "warning", "unknown field in a manifest"),
    ("TM614", "warning", "IPv6 ipBlock not modelled"),
    ("TM615", "warning", "workload defined twice"),
    ("TM616", "info", "pods of one workload differ in labels"),
    ("TM617", "warning", "Ingress or Route backend service not found"),
    ("TM618", "error", "policy selector splits the pods of one workload"),
    ("TM619", "warning", "no workloads in the manifests"),
    # TM62x: trustmap.kube — Kubernetes objects read for every command
    ("TM620", "error", "probe without exactly one handler"),
    ("TM621", "error", "probe names a port the container does not declare"),
    # TM7xx: registry — pushes to the registry server
    ("TM700", "info", "dependency waits for the provider's approval"),
    ("TM701", "error", "declaration outside the pushing team's scope"),
    ("TM702", "error", "bad file path in a push"),
    ("TM703", "error", "service owned by another team"),
    ("TM704", "error", "pod selector overlaps another team's service"),
)
