"""Raw Kubernetes objects that trustmap emits (and reads) as TypedDicts.

The compilers in :mod:`trustmap.dialects` build plain dicts so that one emitter can write them as
YAML; these types let mypy check every field name against the upstream API. Only the fields trustmap
uses are typed. Keys that are Python keywords (``from``, ``except``) use the functional syntax.
Shared file: other areas may add the kinds they read or write.
"""

from __future__ import annotations

from typing import Literal, Required, TypedDict

__all__ = [
    "AdmissionRule",
    "CiliumEgressRule",
    "CiliumIngressRule",
    "CiliumNetworkPolicy",
    "ClusterPolicy",
    "IstioAuthorizationPolicy",
    "IstioRule",
    "LabelSelector",
    "LinkerdAuthorizationPolicy",
    "LinkerdHTTPRoute",
    "Manifest",
    "MeshTLSAuthentication",
    "Namespace",
    "NetworkAuthentication",
    "NetworkPolicy",
    "NetworkPolicyEgressRule",
    "NetworkPolicyIngressRule",
    "NetworkPolicyPeer",
    "NetworkPolicyPort",
    "ObjectMeta",
    "PeerAuthentication",
    "Server",
    "ServiceEntry",
    "Sidecar",
]


class ObjectMeta(TypedDict, total=False):
    """metadata of any object."""

    name: Required[str]
    namespace: str
    labels: dict[str, str]
    annotations: dict[str, str]


class LabelSelectorRequirement(TypedDict, total=False):
    """One ``matchExpressions`` entry."""

    key: Required[str]
    operator: Required[str]
    values: list[str]


class LabelSelector(TypedDict, total=False):
    """metav1.LabelSelector (also Cilium's EndpointSelector)."""

    matchLabels: dict[str, str]
    matchExpressions: list[LabelSelectorRequirement]


# --- core/v1 ---------------------------------------------------------------------------------


class Namespace(TypedDict):
    """v1 Namespace (Linkerd's default-inbound-policy annotation)."""

    apiVersion: Literal["v1"]
    kind: Literal["Namespace"]
    metadata: ObjectMeta


# --- networking.k8s.io/v1 --------------------------------------------------------------------

IPBlock = TypedDict("IPBlock", {"cidr": str, "except": list[str]}, total=False)


class NetworkPolicyPeer(TypedDict, total=False):
    """One ``from``/``to`` entry."""

    podSelector: LabelSelector
    namespaceSelector: LabelSelector
    ipBlock: IPBlock


class NetworkPolicyPort(TypedDict, total=False):
    """A port (number or name) and protocol."""

    protocol: str
    port: int | str
    endPort: int


NetworkPolicyIngressRule = TypedDict(
    "NetworkPolicyIngressRule",
    {"from": list[NetworkPolicyPeer], "ports": list[NetworkPolicyPort]},
    total=False,
)


class NetworkPolicyEgressRule(TypedDict, total=False):
    """An egress rule."""

    to: list[NetworkPolicyPeer]
    ports: list[NetworkPolicyPort]


class NetworkPolicySpec(TypedDict, total=False):
    """NetworkPolicy spec."""

    podSelector: Required[LabelSelector]
    policyTypes: list[str]
    ingress: list[NetworkPolicyIngressRule]
    egress: list[NetworkPolicyEgressRule]


class NetworkPolicy(TypedDict):
    """networking.k8s.io/v1 NetworkPolicy."""

    apiVersion: Literal["networking.k8s.io/v1"]
    kind: Literal["NetworkPolicy"]
    metadata: ObjectMeta
    spec: NetworkPolicySpec


# --- cilium.io/v2 ----------------------------------------------------------------------------


class CiliumPort(TypedDict):
    """A port as Cilium writes it: a string number and TCP|UDP|SCTP|ANY."""

    port: str
    protocol: str


class CiliumHTTPRule(TypedDict, total=False):
    """An L7 HTTP rule; ``path`` is an extended POSIX regex matched against the whole path."""

    method: str
    path: str


class CiliumDNSRule(TypedDict, total=False):
    """An L7 DNS rule (what the DNS proxy lets a pod look up)."""

    matchName: str
    matchPattern: str


class CiliumL7Rules(TypedDict, total=False):
    """L7 rules of one port rule."""

    http: list[CiliumHTTPRule]
    dns: list[CiliumDNSRule]


class CiliumPortRule(TypedDict, total=False):
    """``toPorts`` entry."""

    ports: list[CiliumPort]
    rules: CiliumL7Rules


class CiliumFQDN(TypedDict, total=False):
    """``toFQDNs`` entry."""

    matchName: str
    matchPattern: str


class CiliumIngressRule(TypedDict, total=False):
    """An ingress rule."""

    fromEndpoints: list[LabelSelector]
    fromCIDR: list[str]
    fromEntities: list[str]
    toPorts: list[CiliumPortRule]


class CiliumEgressRule(TypedDict, total=False):
    """An egress rule."""

    toEndpoints: list[LabelSelector]
    toCIDR: list[str]
    toEntities: list[str]
    toFQDNs: list[CiliumFQDN]
    toPorts: list[CiliumPortRule]


class CiliumDefaultDeny(TypedDict, total=False):
    """``enableDefaultDeny``: whether selecting a pod turns on default deny per direction."""

    ingress: bool
    egress: bool


class CiliumNetworkPolicySpec(TypedDict, total=False):
    """CiliumNetworkPolicy spec."""

    description: str
    endpointSelector: Required[LabelSelector]
    enableDefaultDeny: CiliumDefaultDeny
    ingress: list[CiliumIngressRule]
    egress: list[CiliumEgressRule]


class CiliumNetworkPolicy(TypedDict):
    """cilium.io/v2 CiliumNetworkPolicy."""

    apiVersion: Literal["cilium.io/v2"]
    kind: Literal["CiliumNetworkPolicy"]
    metadata: ObjectMeta
    spec: CiliumNetworkPolicySpec


# --- Istio -----------------------------------------------------------------------------------


class WorkloadSelector(TypedDict):
    """Istio ``selector``/``workloadSelector`` shapes."""

    matchLabels: dict[str, str]


class PeerAuthenticationSpec(TypedDict, total=False):
    """PeerAuthentication spec."""

    selector: dict[str, dict[str, str]]
    mtls: dict[str, str]
    portLevelMtls: dict[str, dict[str, str]]


class PeerAuthentication(TypedDict):
    """security.istio.io/v1 PeerAuthentication."""

    apiVersion: Literal["security.istio.io/v1"]
    kind: Literal["PeerAuthentication"]
    metadata: ObjectMeta
    spec: PeerAuthenticationSpec


class IstioSource(TypedDict, total=False):
    """``from[].source``."""

    principals: list[str]


class IstioOperation(TypedDict, total=False):
    """``to[].operation``."""

    ports: list[str]
    methods: list[str]
    paths: list[str]


class IstioFrom(TypedDict):
    """``from`` entry."""

    source: IstioSource


class IstioTo(TypedDict):
    """``to`` entry."""

    operation: IstioOperation


IstioRule = TypedDict("IstioRule", {"from": list[IstioFrom], "to": list[IstioTo]}, total=False)


class IstioAuthorizationPolicySpec(TypedDict, total=False):
    """AuthorizationPolicy spec; an empty spec allows nothing."""

    selector: WorkloadSelector
    action: str
    rules: list[IstioRule]


class IstioAuthorizationPolicy(TypedDict):
    """security.istio.io/v1 AuthorizationPolicy."""

    apiVersion: Literal["security.istio.io/v1"]
    kind: Literal["AuthorizationPolicy"]
    metadata: ObjectMeta
    spec: IstioAuthorizationPolicySpec


class SidecarEgress(TypedDict):
    """An egress listener: hosts as ``namespace/dnsName``."""

    hosts: list[str]


class SidecarSpec(TypedDict, total=False):
    """Sidecar spec."""

    workloadSelector: dict[str, dict[str, str]]
    egress: list[SidecarEgress]
    outboundTrafficPolicy: dict[str, str]


class Sidecar(TypedDict):
    """networking.istio.io/v1 Sidecar."""

    apiVersion: Literal["networking.istio.io/v1"]
    kind: Literal["Sidecar"]
    metadata: ObjectMeta
    spec: SidecarSpec


class ServiceEntryPort(TypedDict):
    """A ServiceEntry port."""

    number: int
    name: str
    protocol: str


class ServiceEntrySpec(TypedDict, total=False):
    """ServiceEntry spec."""

    hosts: Required[list[str]]
    addresses: list[str]
    ports: list[ServiceEntryPort]
    location: str
    resolution: str
    exportTo: list[str]


class ServiceEntry(TypedDict):
    """networking.istio.io/v1 ServiceEntry."""

    apiVersion: Literal["networking.istio.io/v1"]
    kind: Literal["ServiceEntry"]
    metadata: ObjectMeta
    spec: ServiceEntrySpec


# --- Linkerd ---------------------------------------------------------------------------------


class ServerSpec(TypedDict, total=False):
    """Server spec."""

    podSelector: LabelSelector
    port: int | str
    proxyProtocol: str
    accessPolicy: str


class Server(TypedDict):
    """policy.linkerd.io/v1beta3 Server."""

    apiVersion: Literal["policy.linkerd.io/v1beta3"]
    kind: Literal["Server"]
    metadata: ObjectMeta
    spec: ServerSpec


class IdentityRef(TypedDict, total=False):
    """A reference to a ServiceAccount (MeshTLSAuthentication ``identityRefs``)."""

    kind: Required[str]
    name: str
    namespace: str


class MeshTLSAuthenticationSpec(TypedDict, total=False):
    """MeshTLSAuthentication spec."""

    identityRefs: list[IdentityRef]
    identities: list[str]


class MeshTLSAuthentication(TypedDict):
    """policy.linkerd.io/v1alpha1 MeshTLSAuthentication."""

    apiVersion: Literal["policy.linkerd.io/v1alpha1"]
    kind: Literal["MeshTLSAuthentication"]
    metadata: ObjectMeta
    spec: MeshTLSAuthenticationSpec


class NetworkAuthenticationSpec(TypedDict):
    """NetworkAuthentication spec."""

    networks: list[dict[str, str]]


class NetworkAuthentication(TypedDict):
    """policy.linkerd.io/v1alpha1 NetworkAuthentication."""

    apiVersion: Literal["policy.linkerd.io/v1alpha1"]
    kind: Literal["NetworkAuthentication"]
    metadata: ObjectMeta
    spec: NetworkAuthenticationSpec


class PolicyRef(TypedDict, total=False):
    """targetRef / requiredAuthenticationRefs entry."""

    group: str
    kind: Required[str]
    name: Required[str]


class LinkerdAuthorizationPolicySpec(TypedDict):
    """AuthorizationPolicy spec."""

    targetRef: PolicyRef
    requiredAuthenticationRefs: list[PolicyRef]


class LinkerdAuthorizationPolicy(TypedDict):
    """policy.linkerd.io/v1alpha1 AuthorizationPolicy."""

    apiVersion: Literal["policy.linkerd.io/v1alpha1"]
    kind: Literal["AuthorizationPolicy"]
    metadata: ObjectMeta
    spec: LinkerdAuthorizationPolicySpec


class HTTPPathMatch(TypedDict):
    """Path match: Exact, PathPrefix or RegularExpression."""

    type: str
    value: str


class HTTPRouteMatch(TypedDict, total=False):
    """One match of a route rule."""

    path: HTTPPathMatch
    method: str


class HTTPRouteRule(TypedDict):
    """A route rule (at most 8 matches)."""

    matches: list[HTTPRouteMatch]


class ParentRef(TypedDict):
    """HTTPRoute parent: the Server."""

    group: str
    kind: str
    name: str


class HTTPRouteSpec(TypedDict):
    """HTTPRoute spec (at most 16 rules)."""

    parentRefs: list[ParentRef]
    rules: list[HTTPRouteRule]


class LinkerdHTTPRoute(TypedDict):
    """policy.linkerd.io/v1beta3 HTTPRoute."""

    apiVersion: Literal["policy.linkerd.io/v1beta3"]
    kind: Literal["HTTPRoute"]
    metadata: ObjectMeta
    spec: HTTPRouteSpec


# --- Kyverno ---------------------------------------------------------------------------------


class AdmissionResources(TypedDict):
    """What a rule matches."""

    kinds: list[str]
    namespaces: list[str]


class AdmissionMatch(TypedDict):
    """``match.any`` entries."""

    any: list[dict[str, AdmissionResources]]


class AdmissionValidate(TypedDict, total=False):
    """A validate rule: the resource must match one of the patterns."""

    failureAction: str
    message: Required[str]
    anyPattern: Required[list[dict[str, object]]]


class AdmissionRule(TypedDict):
    """A ClusterPolicy rule."""

    name: str
    match: AdmissionMatch
    validate: AdmissionValidate


class FailureActionOverride(TypedDict):
    """``validationFailureActionOverrides`` entry (Kyverno before 1.13)."""

    action: str
    namespaces: list[str]


class ClusterPolicySpec(TypedDict, total=False):
    """ClusterPolicy spec."""

    validationFailureAction: str
    validationFailureActionOverrides: list[FailureActionOverride]
    admission: Required[bool]
    background: Required[bool]
    rules: Required[list[AdmissionRule]]


class ClusterPolicy(TypedDict):
    """kyverno.io/v1 ClusterPolicy."""

    apiVersion: Literal["kyverno.io/v1"]
    kind: Literal["ClusterPolicy"]
    metadata: ObjectMeta
    spec: ClusterPolicySpec


Manifest = (
    Namespace
    | NetworkPolicy
    | CiliumNetworkPolicy
    | PeerAuthentication
    | IstioAuthorizationPolicy
    | Sidecar
    | ServiceEntry
    | Server
    | MeshTLSAuthentication
    | NetworkAuthentication
    | LinkerdAuthorizationPolicy
    | LinkerdHTTPRoute
    | ClusterPolicy
)
"""Any object trustmap emits."""
