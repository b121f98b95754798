"""Platform versions: which release each target's output needs, and compiling for an older one.

The newest output of a target uses API fields that appeared in some release of its platform; a
cluster running an older release rejects the objects, or worse, accepts them and ignores a field.
The Organization pins the installed releases (``spec.platforms: {cilium: "1.15"}``, or
``trustmap compile --platform-version cilium=1.15``) and each target then compiles for that
release: a feature with an older form is written in it (TM324, info), one without is refused —
nothing is written for the target (TM323, error). Every rule below names its source.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from trustmap.errors import UsageError
from trustmap.model import Graph, Organization
from trustmap.names import did_you_mean

if TYPE_CHECKING:
    from trustmap.dialects.base import Compiler

__all__ = [
    "NEEDS",
    "Need",
    "Version",
    "gate",
    "minimum",
    "needs_of",
    "parse_version",
    "with_platforms",
]

Version = tuple[int, int]
"""A release as (major, minor)."""

_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.\d+)?")


def parse_version(text: str) -> Version:
    """``"1.15"``, ``"v1.15.3"`` → ``(1, 15)``.

    Raises:
        ValueError: not a release number.
    """
    found = _VERSION.fullmatch(text.strip())
    if found is None:
        raise ValueError(f"'{text}' is not a release such as 1.15 or v2.16.1")
    return int(found.group(1)), int(found.group(2))


@dataclass(frozen=True, slots=True)
class Need:
    """One feature of a target's output and the release that brought it."""

    target: str
    """Compile target."""
    version: str
    """First release with the feature."""
    feature: str
    """What the output uses."""
    source: str
    """Where the release is documented."""
    audit_only: bool = False
    """Only the output of audit namespaces uses it (refused when any namespace compiles in
    audit mode); otherwise every output does."""
    older_form: str | None = None
    """What the target writes instead for older releases; ``None``: it refuses (TM323)."""

    @property
    def release(self) -> Version:
        """:attr:`version` parsed."""
        return parse_version(self.version)


NEEDS: tuple[Need, ...] = (
    Need(
        "kubernetes",
        "1.21",
        "the kubernetes.io/metadata.name label the API server sets on every Namespace "
        "(the namespaceSelector of every peer)",
        "https://github.com/kubernetes/enhancements/issues/2161 (beta and on by default in "
        "1.21, GA in 1.22)",
    ),
    Need(
        "linkerd",
        "2.16",
        "Server policy.linkerd.io/v1beta3 with accessPolicy (deny/audit per Server)",
        "https://linkerd.io/2024/08/13/announcing-linkerd-2.16/",
    ),
    Need(
        "istio",
        "1.22",
        "security.istio.io/v1 and networking.istio.io/v1 APIs",
        "https://istio.io/latest/blog/2024/v1-apis/",
        older_form="the v1beta1 APIs of the same kinds",
    ),
    Need(
        "istio",
        "1.10",
        "the istio.io/dry-run annotation (AuthorizationPolicies of audit namespaces)",
        "https://istio.io/v1.10/docs/tasks/security/authorization/authz-dry-run/",
        audit_only=True,
    ),
    Need(
        "istio",
        "1.5",
        "PeerAuthentication (security.istio.io/v1beta1)",
        "https://istio.io/latest/blog/2021/migrate-alpha-policy/",
    ),
    Need(
        "cilium",
        "1.19",
        "toFQDNs matchPattern '**.' (a host wildcard over one or more labels)",
        "https://github.com/cilium/cilium/pull/43420 (milestone 1.19), pkg/fqdn/matchpattern",
        older_form="'*.' patterns, which match one label only: narrower than declared, so "
        "calls to deeper names are refused",
    ),
    Need(
        "admission",
        "1.13",
        "per-rule validate.failureAction",
        "https://github.com/kyverno/kyverno/pull/10528 (milestone 1.13.0)",
        older_form="spec.validationFailureAction with validationFailureActionOverrides for "
        "audit namespaces",
    ),
    Need(
        "admission",
        "1.9",
        "the Enforce and Audit failure actions (capitalised)",
        "https://github.com/kyverno/kyverno/pull/5152 (milestone 1.9.0)",
    ),
)
"""What each target's newest output needs, newest first per target."""


def needs_of(target: str) -> tuple[Need, ...]:
    """The needs of ``target``, newest first."""
    return tuple(n for n in NEEDS if n.target == target)


def minimum(target: str) -> str | None:
    """The oldest release the target compiles for at all (older ones are refused)."""
    refused = [n for n in needs_of(target) if n.older_form is None and not n.audit_only]
    return max(refused, key=lambda n: n.release).version if refused else None


def gate(compiler: Compiler) -> None:
    """TM323 (and no output) when the platform lacks a feature the output needs; otherwise TM324
    for each feature the compiler wrote in its older form."""
    org = compiler.organization
    if compiler.platform is None or org is None:
        return
    installed = f"{compiler.TARGET} platform {org.platform(compiler.TARGET)}"
    older = [n for n in needs_of(compiler.TARGET) if compiler.older_than(n.version)]
    for need in older:
        if need.older_form is None and (not need.audit_only or _audits(compiler)):
            compiler.clear()
            compiler.unsupported(
                "TM323",
                org.platforms_span,
                f"{installed} predates {need.feature}, which this output needs ({need.version}, "
                f"{need.source}): nothing is written for {compiler.TARGET}",
                f"upgrade {compiler.TARGET} to {need.version} or later, or compile for another "
                "target",
            )
            return
    for need in older:
        if need.older_form is not None:
            compiler.unsupported(
                "TM324",
                org.platforms_span,
                f"{installed} predates {need.feature} ({need.version}, {need.source}): the "
                f"output uses {need.older_form}",
                f"upgrade to {need.version} or later for the newest form",
            )


def _audits(compiler: Compiler) -> bool:
    """Whether some namespace of the whole graph (not only a slice) compiles in audit mode."""
    return any(compiler.mode(n) == "audit" for n in compiler.graph.namespaces())


def with_platforms(graph: Graph, versions: Mapping[str, str]) -> Graph:
    """``graph`` whose Organization pins ``versions`` (over its own ``spec.platforms``): what
    ``trustmap compile --platform-version`` does.

    Raises:
        UsageError: an unknown target or a version that is not a release number.
    """
    if not versions:
        return graph
    for target, version in versions.items():
        if target not in _TARGETS:
            raise UsageError(
                f"unknown platform '{target}'{did_you_mean(target, _TARGETS)}; "
                f"choose one of: {', '.join(_TARGETS)}"
            )
        try:
            parse_version(version)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    org = graph.organization or Organization("")
    pinned = tuple(sorted({**dict(org.platforms), **versions}.items()))
    return replace(graph, organization=replace(org, platforms=pinned, platforms_span=None))


_TARGETS = ("kubernetes", "cilium", "istio", "linkerd", "admission")
