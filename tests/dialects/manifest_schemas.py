"""Strict validators for every kind trustmap emits, built from the upstream schemas in shared/schemas.

Upstream CRD schemas never forbid unknown fields; ``kubectl apply --validate=strict`` does. Here
every ``type: object`` node with ``properties`` gets ``additionalProperties: false`` (see
shared/schemas/README.md), so a misspelt field fails the test. ``metadata`` of custom resources is
checked against the core ObjectMeta schema, equally strict.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / ".." / "shared" / "schemas"

_K8S = "kubernetes/v1.35"
_BUILTIN = {
    ("networking.k8s.io/v1", "NetworkPolicy"): (
        f"{_K8S}/apis__networking.k8s.io__v1_openapi.json",
        "io.k8s.api.networking.v1.NetworkPolicy",
    ),
    ("v1", "Namespace"): (f"{_K8S}/api__v1_openapi.json", "io.k8s.api.core.v1.Namespace"),
}
_CRDS = {
    "cilium.io": "cilium/v1.19.3/ciliumnetworkpolicies.yaml",
    "security.istio.io": "istio/1.30.3/crd-all.gen.yaml",
    "networking.istio.io": "istio/1.30.3/crd-all.gen.yaml",
    "kyverno.io": "kyverno/v1.19.0/kyverno.io_clusterpolicies.yaml",
}
_LINKERD = {
    "Server": "server.yaml",
    "MeshTLSAuthentication": "meshtls-authentication.yaml",
    "NetworkAuthentication": "network-authentication.yaml",
    "AuthorizationPolicy": "authorization-policy.yaml",
    "HTTPRoute": "httproute.yaml",
}
# Go RE2's \PC (not a control character) has no Python `re` spelling; this is close enough.
_RE2_PATTERNS = {"^\\PC*$": "^[^\\x00-\\x1f\\x7f-\\x9f]*$"}


def shared_available() -> bool:
    """Whether ../shared/schemas is beside the checkout."""
    return SCHEMAS.is_dir()


def strict(node: Any) -> Any:
    """A copy of a schema where objects with declared properties forbid other properties."""
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: strict(value) for key, value in node.items()}
    if (
        out.get("type") == "object"
        and "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    if isinstance(out.get("pattern"), str):
        out["pattern"] = _RE2_PATTERNS.get(out["pattern"], out["pattern"])
    return out


def errors(manifest: Mapping[str, Any]) -> list[str]:
    """Every schema violation of one emitted object, as ``path: message`` lines."""
    api_version, kind = manifest.get("apiVersion", ""), manifest.get("kind", "")
    validator = _validator(api_version, kind)
    if validator is None:
        return [f"no schema for {api_version} {kind}"]
    found = [_line(e) for e in validator.iter_errors(manifest)]
    if (api_version, kind) not in _BUILTIN:
        found += [f"metadata.{_line(e)}" for e in _object_meta().iter_errors(manifest["metadata"])]
    return found


def _line(error: Any) -> str:
    return f"{'.'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"


@functools.cache
def _validator(api_version: str, kind: str) -> Draft7Validator | None:
    if (api_version, kind) in _BUILTIN:
        file, component = _BUILTIN[(api_version, kind)]
        return _openapi_validator(file, component)
    group, _, version = api_version.partition("/")
    for crd in _crds(group, kind):
        names = crd["spec"]["names"]
        if crd["spec"]["group"] != group or names["kind"] != kind:
            continue
        for served in crd["spec"]["versions"]:
            if served["name"] == version:
                schema = strict(served["schema"]["openAPIV3Schema"])
                schema["properties"]["apiVersion"] = {"const": api_version}
                schema["properties"]["kind"] = {"const": kind}
                schema["properties"]["metadata"] = {"type": "object"}  # checked as ObjectMeta
                schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind"})
                return Draft7Validator(schema)
    return None


def _crds(group: str, kind: str) -> list[dict[str, Any]]:
    if group == "policy.linkerd.io" and kind in _LINKERD:
        return _crd_file(f"linkerd/version-2.20/policy/{_LINKERD[kind]}")
    return _crd_file(_CRDS[group]) if group in _CRDS else []


@functools.cache
def _crd_file(file: str) -> list[dict[str, Any]]:
    # Linkerd's files are Helm templates: their only template lines are under metadata.
    lines = (SCHEMAS / file).read_text().splitlines()
    text = "\n".join(line for line in lines if "{{" not in line)
    return [
        d for d in yaml.safe_load_all(text) if d and d.get("kind") == "CustomResourceDefinition"
    ]


@functools.cache
def _openapi(file: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / file).read_text())  # type: ignore[no-any-return]


def _openapi_validator(file: str, component: str) -> Draft7Validator:
    components = strict(copy.deepcopy(_openapi(file)["components"]))
    return Draft7Validator({"$ref": f"#/components/schemas/{component}", "components": components})


@functools.cache
def _object_meta() -> Draft7Validator:
    return _openapi_validator(
        f"{_K8S}/api__v1_openapi.json", "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    )
