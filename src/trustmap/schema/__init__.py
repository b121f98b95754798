"""From YAML documents to declarations: check ``apiVersion``/``kind``, validate strictly, convert.

The JSON Schema of the format (``trustmap schema``) is generated here from the same models.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

from trustmap.bulk import building
from trustmap.diagnostics import Diagnostic, Span, diagnostic
from trustmap.model import Organization, Service, Team
from trustmap.names import did_you_mean
from trustmap.schema.convert import to_organization, to_service, to_team
from trustmap.schema.errors import Located, describe, errors_to_diagnostics
from trustmap.schema.v1alpha1 import API_VERSION, KINDS, OrganizationDoc, ServiceDoc, TeamDoc

__all__ = ["API_VERSION", "Declarations", "Failed", "json_schema", "parse_documents"]


@dataclass(frozen=True, slots=True)
class Declarations:
    """Every valid declaration found, in load order."""

    organizations: tuple[Organization, ...]
    """Organization documents (exactly one is expected)."""
    teams: tuple[Team, ...]
    """Team documents."""
    services: tuple[Service, ...]
    """Service documents."""
    failed: tuple[Failed, ...] = ()
    """Documents that name a Service or Team but failed loading or validation."""


@dataclass(frozen=True, slots=True)
class Failed:
    """A Service (``namespace/name``) or Team (``name``) whose document has an error."""

    kind: str
    name: str
    span: Span


def parse_documents(documents: Iterable[Located]) -> tuple[Declarations, list[Diagnostic]]:
    """Validate each document against its kind's schema; invalid documents are reported and left out."""
    with building():
        return _parse_documents(documents)


def _parse_documents(documents: Iterable[Located]) -> tuple[Declarations, list[Diagnostic]]:
    organizations: list[Organization] = []
    teams: list[Team] = []
    services: list[Service] = []
    problems: list[Diagnostic] = []
    failed: list[Failed] = []
    for doc in documents:
        if getattr(doc, "broken", False):
            failed += _failed(doc)
            continue
        model = _model_for(doc, problems)
        if model is None:
            continue
        try:
            parsed = model.model_validate(doc.data)
        except ValidationError as error:
            problems.extend(errors_to_diagnostics(error.errors(), doc, model))
            failed += _failed(doc)
            continue
        if isinstance(parsed, ServiceDoc):
            services.append(to_service(parsed, doc))
        elif isinstance(parsed, TeamDoc):
            teams.append(to_team(parsed, doc))
        else:
            organizations.append(to_organization(parsed, doc))
    declarations = Declarations(tuple(organizations), tuple(teams), tuple(services), tuple(failed))
    return declarations, problems


def _failed(doc: Located) -> list[Failed]:
    """What a failed document would have declared, when its kind and name can be read."""
    data = doc.data
    meta = data.get("metadata") if isinstance(data, dict) else None
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        return []
    if data.get("kind") == "Team":
        return [Failed("Team", meta["name"], doc.span())]
    if data.get("kind") == "Service" and isinstance(meta.get("namespace"), str):
        return [Failed("Service", f"{meta['namespace']}/{meta['name']}", doc.span())]
    return []


def _model_for(
    doc: Located, problems: list[Diagnostic]
) -> type[OrganizationDoc | TeamDoc | ServiceDoc] | None:
    data = doc.data
    if not isinstance(data, dict):
        problems.append(
            diagnostic(
                "TM107",
                doc.span(),
                f"a declaration must be a mapping, got {describe(data)}",
                "start the document with 'apiVersion: trustmap.dev/v1alpha1'",
            )
        )
        return None
    version = data.get("apiVersion")
    if version != API_VERSION:
        problems.append(_wrong_version(doc, version))
        return None
    kind = data.get("kind")
    if kind not in KINDS:
        problems.append(_wrong_kind(doc, kind))
        return None
    return KINDS[kind]


def _wrong_version(doc: Located, version: Any) -> Diagnostic:
    if version is None:
        return diagnostic(
            "TM108", doc.span(), "missing apiVersion", f"add 'apiVersion: {API_VERSION}'"
        )
    return diagnostic(
        "TM108",
        doc.span(("apiVersion",)),
        f"unsupported apiVersion '{version}'{did_you_mean(str(version), [API_VERSION])}",
        f"this version of trustmap reads {API_VERSION}",
    )


def _wrong_kind(doc: Located, kind: Any) -> Diagnostic:
    if kind is None:
        return diagnostic(
            "TM109", doc.span(), "missing kind", "add 'kind: Service' (or Team, Organization)"
        )
    return diagnostic(
        "TM109",
        doc.span(("kind",)),
        f"unknown kind '{kind}'{did_you_mean(str(kind), KINDS)}",
        "use one of: Organization, Team, Service",
    )


def json_schema() -> str:
    """The JSON Schema of a v1alpha1 document (any kind), as stable, pretty JSON."""
    union = Annotated[OrganizationDoc | TeamDoc | ServiceDoc, Field(discriminator="kind")]
    schema: dict[str, Any] = TypeAdapter(union).json_schema(by_alias=True)
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://trustmap.dev/schemas/v1alpha1.json",
        "title": "trustmap declaration (trustmap.dev/v1alpha1)",
        **schema,
    }
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
