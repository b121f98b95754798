"""`trustmap export backstage`: the graph as catalog entities, read back by the importer.

Rules relied on: Backstage descriptor format (backstage.io/docs/features/software-catalog/
descriptor-format) — every entity has `apiVersion: backstage.io/v1alpha1`, `kind`,
`metadata.name`; a Group needs `spec.type` and `spec.children`; a Component `spec.type`,
`lifecycle`, `owner`; an API `spec.type`, `lifecycle`, `owner`, `definition` (a string); relations
come from `providesApis`/`consumesApis` (entity refs, `api:namespace/name`).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import jsonschema
import yaml
from referencing import Registry, Resource
from review_helpers import BOUTIQUE, ROOT

from trustmap.catalog import export_backstage, import_backstage
from trustmap.graph import load_graph
from trustmap.model import Graph

TODAY = dt.date(2026, 11, 23)
SCHEMAS = ROOT / "tests" / "fixtures" / "catalog" / "backstage-schema"


def _shape(graph: Graph) -> dict[str, object]:
    return {
        str(ref): (
            s.team,
            s.workload.pod_labels,
            s.workload.service_account,
            [
                (i.name, i.port, i.app_protocol, sorted(i.methods), sorted(i.consumers))
                for i in s.interfaces
            ],
            sorted((d.service, d.interface or "") for d in s.depends_on),
        )
        for ref, s in graph.services.items()
    }


def test_every_entity_has_the_fields_backstage_requires() -> None:
    entities = list(yaml.safe_load_all(export_backstage(load_graph([BOUTIQUE], TODAY))))
    required = {
        "Group": {"type", "children"},
        "Component": {"type", "lifecycle", "owner"},
        "API": {"type", "lifecycle", "owner", "definition"},
    }
    for entity in entities:
        assert entity["apiVersion"] == "backstage.io/v1alpha1"
        assert entity["metadata"]["name"]
        assert required[entity["kind"]] <= entity["spec"].keys(), entity
        assert isinstance(entity["spec"].get("definition", ""), str)
    kinds = sorted(e["kind"] for e in entities)
    assert (kinds.count("Group"), kinds.count("Component")) == (5, 12)
    frontend = next(e for e in entities if e["metadata"]["name"] == "frontend")
    assert "api:default/cartservice-grpc" in frontend["spec"]["consumesApis"]


def test_export_then_import_gives_back_the_same_services(tmp_path: Path) -> None:
    graph = load_graph([BOUTIQUE], TODAY)
    catalog = tmp_path / "catalog-info.yaml"
    catalog.write_text(export_backstage(graph))
    drafts, problems = import_backstage([str(catalog)])
    assert problems == []
    assert drafts.unmapped == []
    out = tmp_path / "drafts"
    out.mkdir()
    for name, text in drafts.files().items():
        (out / name).write_text(text)
    again = load_graph([out], TODAY)
    assert _shape(again) == _shape(graph)
    assert {d.code for d in again.diagnostics} == {
        "TM200",
        "TM212",
    }  # no Organization; TODO reasons
    assert again.teams["cart-team"].github == "@online-boutique/cart-team"


def test_the_export_passes_backstages_own_entity_schemas() -> None:
    """Backstage validates each entity against its kind's JSON Schema (draft-07), which
    `$ref`s the `Entity` envelope (no other top-level keys) and `EntityMeta` (fixtures:
    tests/fixtures/catalog/README.md)."""
    documents = [json.loads(p.read_text()) for p in sorted(SCHEMAS.glob("*.json"))]
    registry = Registry().with_resources((d["$id"], Resource.from_contents(d)) for d in documents)
    by_kind = {d["$id"].removesuffix("V1alpha1").lower(): d for d in documents}
    entities = list(yaml.safe_load_all(export_backstage(load_graph([BOUTIQUE], TODAY))))
    for entity in entities:
        schema = by_kind[entity["kind"].lower()]
        jsonschema.Draft7Validator(schema, registry=registry).validate(entity)
    assert len(entities) == 5 + 12 + 11  # groups, components, APIs (one per interface)
    broken = {**entities[-1], "spec": {**entities[-1]["spec"]}}
    del broken["spec"]["owner"]
    validator = jsonschema.Draft7Validator(by_kind["api"], registry=registry)
    assert not validator.is_valid(broken)  # the schemas do check
