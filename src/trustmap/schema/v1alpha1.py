"""The declaration format ``trustmap.dev/v1alpha1`` as strict pydantic models.

Strict means no guessing: ``port: "8080"`` is a string, not a port, and ``exposure: no`` (YAML's
boolean false) is not ``"no"``. Unknown fields are errors. The JSON Schema that editors use is
generated from these models (``trustmap schema``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

__all__ = [
    "API_VERSION",
    "KINDS",
    "OrganizationDoc",
    "ServiceDoc",
    "TeamDoc",
]

API_VERSION = "trustmap.dev/v1alpha1"


def _cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise PydanticCustomError(
                "cidr", "'{value}' is not an IP range such as 10.0.0.0/8", {"value": value}
            ) from None
        raise PydanticCustomError(
            "cidr_host_bits",
            "'{value}' has host bits set; the range is {network}",
            {"value": value, "network": str(network)},
        ) from None
    return value


_HOST_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", re.IGNORECASE)


def _host(value: str) -> str:
    """A DNS name, or ``*.`` and a DNS name: what Cilium ``toFQDNs`` and Istio hosts accept."""
    problem = host_problem(value)
    if problem is not None:
        kind, message, context = problem
        raise PydanticCustomError(kind, message, {"value": value, **context})
    return value


def host_problem(value: str) -> tuple[str, str, dict[str, str]] | None:
    """``(kind, message, context)`` when ``value`` is not an egress host name, else ``None``."""
    if "://" in value or "/" in value:
        bare = value.split("://", 1)[-1].split("/", 1)[0]
        name, colon, port = bare.rpartition(":")
        bare = name if colon and port.isdigit() else bare
        return "host_url", "'{value}' is a URL, not a host name", {"bare": bare}
    address = _address_in(value)
    if address is not None:
        return "host_ip", "'{value}' is an IP address, not a host name", {"address": address}
    name, colon, port = value.rpartition(":")
    if colon and port.isdigit() and _is_dns_name(name):
        return "host_port", "'{value}' has a port", {"bare": name, "port": port}
    if not _is_dns_name(value):
        return "host_name", "'{value}' is not a DNS name or a '*.' wildcard", {}
    return None


def _address_in(value: str) -> str | None:
    text = value.strip("[]")
    candidates = [text, text.rsplit(":", 1)[0].strip("[]")] if ":" in text else [text]
    for candidate in candidates:
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None


def _is_dns_name(value: str) -> bool:
    name = value.removeprefix("*.")
    labels = name.split(".")
    return (
        len(name) <= 253
        and len(labels) >= 2
        and all(_HOST_LABEL.match(label) for label in labels)
        and not labels[-1].isdigit()
    )


def _release(value: str) -> str:
    if re.fullmatch(r"v?[0-9]+\.[0-9]+(\.[0-9]+)?", value) is None:
        raise PydanticCustomError(
            "release", "'{value}' is not a release such as 1.15 or v2.16.1", {"value": value}
        )
    return value


def _date(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError(
                "date_format", "'{value}' is not a date of the form YYYY-MM-DD", {"value": value}
            ) from None
    return value


# Checked by pydantic-core's regex engine (no Python call per name: organisations have 100k of
# them); trustmap.schema.errors explains a mismatch with names.label_problem.
_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
DnsLabel = Annotated[str, StringConstraints(pattern=rf"^{_LABEL}$")]
ServiceRefText = Annotated[
    str, StringConstraints(pattern=rf"^([a-z0-9][-a-z0-9.]*:)?{_LABEL}/{_LABEL}$")
]
Cidr = Annotated[str, AfterValidator(_cidr)]
Host = Annotated[str, Field(min_length=1), AfterValidator(_host)]
Date = Annotated[dt.date, BeforeValidator(_date)]
Port = Annotated[int, Field(ge=1, le=65535)]
Text = Annotated[str, Field(min_length=1)]
PlatformTarget = Literal["kubernetes", "cilium", "istio", "linkerd", "admission"]
"""A compile target whose platform release the Organization may pin (``spec.platforms``)."""
PlatformVersion = Annotated[
    str,
    AfterValidator(_release),
    WithJsonSchema({"type": "string", "pattern": "^v?[0-9]+\\.[0-9]+(\\.[0-9]+)?$"}),
]
"""A release such as ``1.15`` or ``v2.14.1``."""
Protocol = Literal["TCP", "UDP", "SCTP"]
Labels = dict[str, str]


class _Strict(BaseModel):
    model_config = ConfigDict(
        strict=True, extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=False
    )


class PortSpecDoc(_Strict):
    """A port with its protocol."""

    port: Port
    protocol: Protocol = "TCP"


class PodSelectorDoc(_Strict):
    """Pods of one namespace with some labels."""

    namespace: DnsLabel
    pod_labels: Labels = Field(default_factory=dict)


class DnsDoc(_Strict):
    """The cluster DNS resolver: a pod selector, or IP ranges for node-local/link-local resolvers."""

    selector: PodSelectorDoc | None = None
    cidrs: list[Cidr] = Field(default_factory=list)
    ports: list[PortSpecDoc] = Field(
        default_factory=lambda: [PortSpecDoc(port=53, protocol="UDP"), PortSpecDoc(port=53)]
    )

    @model_validator(mode="after")
    def _one_target(self) -> DnsDoc:
        if (self.selector is None) == (not self.cidrs):
            raise PydanticCustomError(
                "one_of", "dns needs exactly one of 'selector' or 'cidrs'", {}
            )
        return self


class IngressControllerDoc(_Strict):
    """Pods that may reach every ``exposure: ingress`` interface."""

    name: DnsLabel = "ingress"
    namespace: DnsLabel
    pod_labels: Labels = Field(default_factory=dict)
    service_account: str | None = None


class PlatformConsumerDoc(_Strict):
    """Infrastructure (Prometheus...) that may call named interfaces on every service."""

    name: DnsLabel
    namespace: DnsLabel
    pod_labels: Labels = Field(default_factory=dict)
    service_account: str | None = None
    interfaces: list[DnsLabel] = Field(min_length=1)


class ApiServerDoc(_Strict):
    """Where the Kubernetes API server is."""

    cidrs: list[Cidr] = Field(min_length=1)
    ports: list[PortSpecDoc] = Field(
        default_factory=lambda: [PortSpecDoc(port=443), PortSpecDoc(port=6443)]
    )


class RulesDoc(_Strict):
    """Organisation rules."""

    require_reason: bool = True
    require_provider_consent: bool = True
    max_expiry_days: Annotated[int, Field(ge=1)] | None = None


class EnvironmentDoc(_Strict):
    """A rollout mode for some namespaces of an environment."""

    name: DnsLabel
    mode: Literal["enforce", "audit"]
    namespaces: list[str] = Field(min_length=1)


class CiliumDoc(_Strict):
    """How the cluster's Cilium agent is configured, where it changes what the output must allow.

    ``allowLocalhost`` is the agent's ``--allow-localhost``
    (https://docs.cilium.io/en/stable/cmdref/cilium-agent/): ``auto`` (the default, ``always`` on
    Kubernetes) lets the node, and so every kubelet probe, into every pod; ``policy`` makes the
    node a peer like any other, so the output allows the probes itself (docs/format.md).
    """

    allow_localhost: Literal["auto", "always", "policy"] = "auto"


class IstioDoc(_Strict):
    """How the cluster's Istio is installed, where it changes what the output must allow.

    ``rewriteAppProbers`` is the install's ``values.sidecarInjectorWebhook.rewriteAppHTTPProbe``
    (istio/istio ``manifests/charts/istio-control/istio-discovery/values.yaml``, default true): the
    injector's default for pods without a parseable ``sidecar.istio.io/rewriteAppHTTPProbers``
    annotation (``pkg/kube/inject/app_probe.go`` ``ShouldRewriteAppHTTPProbers``). Installed
    false, probes stay as written and the output opens them itself (docs/format.md).
    """

    rewrite_app_probers: bool = True


class OrganizationSpec(_Strict):
    """Organisation-wide settings."""

    trust_domain: Text = "cluster.local"
    dns: DnsDoc | None = None
    ingress_controllers: list[IngressControllerDoc] = Field(default_factory=list)
    platform_consumers: list[PlatformConsumerDoc] = Field(default_factory=list)
    api_server: ApiServerDoc | None = None
    rules: RulesDoc = Field(default_factory=RulesDoc)
    environments: list[EnvironmentDoc] = Field(default_factory=list)
    platforms: dict[PlatformTarget, PlatformVersion] = Field(default_factory=dict)
    cilium: CiliumDoc | None = None
    istio: IstioDoc | None = None


# CODEOWNERS owners (docs.github.com "About code owners": ``@user`` or ``@org/team-name``;
# docs.gitlab.com "Syntax of CODEOWNERS file": ``@user``, ``@group``, ``@group/with-nested/subgroup``).
_GITHUB_HANDLE = re.compile(r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:/[A-Za-z0-9][A-Za-z0-9._-]*)?")
_GITLAB_HANDLE = re.compile(r"@[A-Za-z0-9_][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_][A-Za-z0-9_.-]*)*")


def _handle(pattern: re.Pattern[str], example: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise PydanticCustomError(
                "vcs_handle",
                "'{value}' is not a handle like {example}",
                {"value": value, "example": example},
            )
        return value

    return AfterValidator(check)


GithubHandle = Annotated[str, _handle(_GITHUB_HANDLE, "@org/team or @user")]
GitlabHandle = Annotated[str, _handle(_GITLAB_HANDLE, "@group/subgroup or @user")]


class TeamSpec(_Strict):
    """A team's owners, namespaces and (optionally) its handles on the code forge."""

    owners: list[Text] = Field(min_length=1)
    namespaces: list[DnsLabel] = Field(min_length=1)
    github: GithubHandle | None = None
    gitlab: GitlabHandle | None = None


class WorkloadDoc(_Strict):
    """How the service's pods are recognised."""

    service_account: str | None = None
    pod_labels: Labels = Field(min_length=1)


class InterfaceDoc(_Strict):
    """Something the service offers."""

    name: DnsLabel
    port: Port
    service_port: Port | None = None
    protocol: Protocol = "TCP"
    app_protocol: Text | None = None
    exposure: Literal["internal", "ingress", "world"] = "internal"
    consumers: list[Text] = Field(default_factory=list)
    methods: list[Text] = Field(default_factory=list)


class DependencyDoc(_Strict):
    """A call the service needs to make."""

    service: ServiceRefText
    interface: DnsLabel | None = None
    methods: list[Text] = Field(default_factory=list)
    reason: str | None = None
    expires: Date | None = None
    approved_by: Text | None = None


class EgressDoc(_Strict):
    """A call out of the cluster."""

    host: Host | None = None
    cidr: Cidr | None = None
    api_server: bool = False
    ports: list[Port | PortSpecDoc] = Field(default_factory=list)
    reason: str | None = None

    @model_validator(mode="after")
    def _one_destination(self) -> EgressDoc:
        chosen = [self.host is not None, self.cidr is not None, self.api_server]
        if sum(chosen) != 1:
            raise PydanticCustomError(
                "one_of",
                "an egress entry needs exactly one of 'host', 'cidr' or 'apiServer: true'",
                {},
            )
        return self


class ServiceSpec(_Strict):
    """A declared service."""

    team: DnsLabel
    workload: WorkloadDoc | None = None
    interfaces: list[InterfaceDoc] = Field(default_factory=list)
    depends_on: list[DependencyDoc] = Field(default_factory=list)
    egress: list[EgressDoc] = Field(default_factory=list)


class Metadata(_Strict):
    """Name and free-form labels/annotations of a cluster-wide document."""

    name: DnsLabel
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class NamespacedMetadata(Metadata):
    """Metadata of a Service: it lives in a namespace."""

    namespace: DnsLabel


class _Document(_Strict):
    api_version: Literal["trustmap.dev/v1alpha1"]


class OrganizationDoc(_Document):
    """``kind: Organization`` — exactly one, owned by the platform team."""

    kind: Literal["Organization"]
    metadata: Metadata
    spec: OrganizationSpec = Field(default_factory=OrganizationSpec)


class TeamDoc(_Document):
    """``kind: Team``."""

    kind: Literal["Team"]
    metadata: Metadata
    spec: TeamSpec


class ServiceDoc(_Document):
    """``kind: Service``."""

    kind: Literal["Service"]
    metadata: NamespacedMetadata
    spec: ServiceSpec


KINDS: dict[str, type[OrganizationDoc | TeamDoc | ServiceDoc]] = {
    "Organization": OrganizationDoc,
    "Team": TeamDoc,
    "Service": ServiceDoc,
}
