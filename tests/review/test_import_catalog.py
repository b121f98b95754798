"""`trustmap import backstage|otterize`: upstream examples become drafts that validate but for
their TODO reasons, with what could not be mapped reported (fixtures and their sources:
tests/fixtures/catalog/README.md).

Rules relied on: Backstage descriptor format (backstage.io/docs/features/software-catalog/
descriptor-format) — `spec.owner`, `providesApis`, `consumesApis`, `dependsOn` (`resource:x`),
`subcomponentOf`, `Location.spec.targets` relative to the Location; Kubernetes plugin annotations
(backstage.io/docs/features/kubernetes/configuration). Otterize ClientIntents
(github.com/otterize/intents-operator `src/operator/api/v2beta1/clientintents_types.go`, and
docs.otterize.com "ClientIntents CRD"): v1 `service`/`calls` with `type` and `HTTPResources`, v2
`workload`/`targets` with `kubernetes`, `service`, `kafka`, `sql`, `internet`, `aws`; a target
`name.namespace` lives in another namespace.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

from click.testing import CliRunner
from review_helpers import ROOT

from trustmap.catalog import import_backstage, import_otterize
from trustmap.catalog.apidefs import openapi_offer, proto_offer
from trustmap.cli import cli
from trustmap.graph import load_graph

CATALOG = ROOT / "tests" / "fixtures" / "catalog"
BACKSTAGE = CATALOG / "backstage" / "all.yaml"
OTTERIZE = CATALOG / "otterize"


def _validate(drafts_files: dict[str, str], tmp_path: Path) -> Counter[str]:
    for name, text in drafts_files.items():
        (tmp_path / name).write_text(text)
    graph = load_graph([tmp_path], dt.date(2026, 11, 23))
    return Counter(d.code for d in graph.diagnostics)


def test_backstage_examples_become_teams_services_and_consented_dependencies(
    tmp_path: Path,
) -> None:
    drafts, problems = import_backstage([str(BACKSTAGE)])
    assert problems == []
    assert sorted(drafts.services) == [
        "default/artist-lookup",
        "default/petstore",
        "default/wayback-archive",
        "default/wayback-archive-ingestion",
        "default/wayback-archive-storage",
        "default/wayback-search",
    ]
    assert drafts.teams["team-a"] == [
        "team-a@example.com",
        "breanna-davison@example.com",
        "janelle-dawe@example.com",
    ]
    archive = drafts.services["default/wayback-archive"].interfaces["wayback-archive"]
    assert archive.consumers == ["default/wayback-search"]
    (needs,) = drafts.services["default/wayback-search"].depends_on
    assert (needs.service, needs.interface) == ("default/wayback-archive", "wayback-archive")
    petstore = drafts.services["default/petstore"].interfaces["petstore"]
    assert (petstore.port, petstore.methods) == (80, ["GET /pets", "GET /pets/*", "POST /pets"])
    assert _validate(drafts.files(), tmp_path) == Counter({"TM200": 1, "TM212": 1})


def test_backstage_reports_what_it_could_not_map_and_why() -> None:
    drafts, _ = import_backstage([str(BACKSTAGE)])
    reported = {d.message.split(":")[0] for d in drafts.unmapped}
    assert {
        "Location target https",  # remote Location target
        "API hello-world",  # provided by no Component
        "API wayback-archive definition",  # remote $text
        "dependsOn resource",  # a Resource has no address
        "consumed API searcher",
        "System artist-engagement-portal",
        "Domain artists",
        "Resource artists-db",
    } <= reported
    assert all(d.code == "TM531" and d.span and d.span.line for d in drafts.unmapped)


def test_subcomponents_and_systems_are_kept_as_comments() -> None:
    drafts, _ = import_backstage([str(BACKSTAGE)])
    text = drafts.files()["default.yaml"]
    assert "# Backstage subcomponentOf: wayback-archive" in text
    assert "# Backstage system: artist-engagement-portal" in text
    assert 'reason: "TODO: imported from Backstage Component wayback-search' in text


def test_otterize_intents_of_every_version_draft_both_sides(tmp_path: Path) -> None:
    drafts, problems = import_otterize([str(OTTERIZE)])
    assert problems == []
    client = drafts.services["otterize-example/client"]
    assert [(d.service, d.methods) for d in client.depends_on] == [
        ("otterize-example/server", []),
        ("otterize-example/orderservice", ["GET /orders/*", "POST /orders/*"]),
    ]
    orders = drafts.services["otterize-example/orderservice"].interfaces["http"]
    assert orders.consumers == ["otterize-example/client"]
    assert orders.methods == ["GET /orders/*", "POST /orders/*"]
    checkout = drafts.services["otterize-ecom-demo/checkoutservice"]
    assert [(d.service, d.interface) for d in checkout.depends_on] == [
        ("otterize-ecom-demo/emailservice", "http"),
        ("otterize-ecom-demo/orderservice", "http"),
        ("otterize-ecom-demo/kafka-prod", "kafka"),
        ("otterize-ecom-demo/mysql-db", "sql"),
    ]
    assert [(e.host, e.ports) for e in checkout.egress] == [("api.stripe.com", [443])]
    assert "http-server-test/server" in drafts.services  # v1alpha1
    assert "otterize-tutorial-npol/server" in drafts.services  # v1alpha3 with kind
    unmapped = sorted(d.message for d in drafts.unmapped)
    assert unmapped == [
        "Kafka topics orders: trustmap allows the broker port, not topics",
        "aws target: not a call between workloads trustmap can declare",
        "database privileges: trustmap allows the port, not tables or operations",
    ]
    assert _validate(drafts.files(), tmp_path) == Counter({"TM200": 1, "TM212": 8})


def test_a_target_in_another_namespace_and_a_caller_of_every_route(tmp_path: Path) -> None:
    intents = tmp_path / "intents.yaml"
    intents.write_text(
        "apiVersion: k8s.otterize.com/v1alpha3\nkind: ClientIntents\n"
        "metadata: {name: a, namespace: shop}\n"
        "spec:\n  service: {name: web}\n  calls:\n"
        "    - {name: api.backend, type: http, HTTPResources: [{path: /v1/*, methods: [GET]}]}\n"
        "---\napiVersion: k8s.otterize.com/v1alpha3\nkind: ClientIntents\n"
        "metadata: {name: b, namespace: shop}\n"
        "spec:\n  service: {name: admin}\n  calls:\n    - {name: api.backend, type: http}\n"
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
    )
    drafts, problems = import_otterize([str(intents)])
    api = drafts.services["backend/api"].interfaces["http"]
    assert api.methods == []  # admin needs every route, so none is listed
    assert sorted(api.consumers) == ["shop/admin", "shop/web"]
    assert [p.code for p in problems] == ["TM532"]


def test_api_definitions_give_ports_and_methods() -> None:
    """OpenAPI servers[].url names the port (scheme default otherwise); Swagger 2 host:port;
    path templates {id} become *; a proto's package.Service/Method are gRPC's method names."""
    assert (
        openapi_offer(
            "openapi: 3.0.0\nservers: [{url: 'https://x.example:8443/v1'}]\n"
            "paths: {'/a/{id}': {get: {}, delete: {}}}"
        ).port
        == 8443
    )
    swagger = openapi_offer(
        "swagger: '2.0'\nhost: api.local:9000\nschemes: [http]\npaths: {/b: {post: {}}}"
    )
    assert (swagger.port, swagger.methods) == (9000, ("POST /b",))
    proto = proto_offer(
        "syntax = 'proto3';\npackage a.b;\n// service Hidden { rpc X () }\n"
        "service S { rpc M (R) returns (R); rpc N (R) returns (stream R); }"
    )
    assert proto.methods == ("a.b.S/M", "a.b.S/N")
    assert proto_offer("message Only {}").problem == "definition declares no gRPC service"


def test_the_command_writes_files_and_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "drafts"
    first = CliRunner().invoke(
        cli, ["import", "otterize", str(OTTERIZE), "-o", str(out), "--format", "json"]
    )
    assert first.exit_code == 0  # topics, privileges and the aws target are reported
    data = json.loads(first.stdout)
    assert len(data["files"]) == 4
    assert {d["code"] for d in data["unmapped"]} == {"TM531"}
    again = CliRunner().invoke(cli, ["import", "otterize", str(OTTERIZE), "-o", str(out)])
    assert again.exit_code == 2
    assert "exists" in again.stderr
    forced = CliRunner().invoke(
        cli, ["import", "backstage", str(BACKSTAGE), "-o", str(out), "--force", "--strict"]
    )
    assert forced.exit_code == 1
    assert "drafted 6 services" in forced.stderr


def test_v1alpha2_names_http_resources_and_topics_differently(tmp_path: Path) -> None:
    """v1alpha2 (intents-operator src/operator/api/v1alpha2/intents_types.go): `resources` of
    path and methods, `topics` of name and operations."""
    intents = tmp_path / "v1alpha2.yaml"
    intents.write_text(
        "apiVersion: k8s.otterize.com/v1alpha2\nkind: ClientIntents\n"
        "metadata: {name: a, namespace: shop}\n"
        "spec:\n  service: {name: web}\n  calls:\n"
        "    - {name: api, type: http, resources: [{path: /v2/items, methods: [GET, PUT]}]}\n"
        "    - {name: events, type: kafka, topics: [{name: clicks, operations: [produce]}]}\n"
    )
    drafts, _ = import_otterize([str(intents)])
    assert drafts.services["shop/api"].interfaces["http"].methods == [
        "GET /v2/items",
        "PUT /v2/items",
    ]
    assert [d.message for d in drafts.unmapped] == [
        "Kafka topics clicks: trustmap allows the broker port, not topics"
    ]


def test_a_local_text_definition_is_read_beside_the_api(tmp_path: Path) -> None:
    """`definition: {$text: ./file}` is a substitution relative to the entity's own file
    (backstage.io/docs/features/software-catalog/descriptor-format, "Substitutions")."""
    (tmp_path / "orders.oas.yaml").write_text(
        "openapi: 3.1.0\nservers: [{url: 'http://orders:8081'}]\npaths: {/orders: {get: {}}}\n"
    )
    (tmp_path / "catalog.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {name: orders}\n"
        "spec: {type: openapi, lifecycle: production, owner: shop,"
        " definition: {$text: ./orders.oas.yaml}}\n"
        "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: orders}\n"
        "spec: {type: service, lifecycle: production, owner: shop, providesApis: [orders]}\n"
    )
    drafts, _ = import_backstage([str(tmp_path / "catalog.yaml")])
    orders = drafts.services["default/orders"].interfaces["orders"]
    assert (orders.port, orders.methods, orders.review) == (8081, ["GET /orders"], [])
