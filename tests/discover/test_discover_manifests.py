"""`discover --from-manifests` on crafted manifests: every way configuration names a service,
named target ports, exported objects, and what is never guessed."""

from __future__ import annotations

from pathlib import Path

import pytest
from discover_helpers import FIXTURES, dependency, edges, service, validate_codes

from trustmap.discover import Discovery, discover_manifests, render_drafts, select_namespaces
from trustmap.discover.references import references_in, service_names

SHOP = FIXTURES / "configured" / "shop.yaml"


@pytest.fixture(scope="module")
def shop() -> Discovery:
    return discover_manifests([SHOP])


def _line(text: str) -> int:
    """1-based line of the first occurrence of ``text`` in the fixture."""
    lines = SHOP.read_text().splitlines()
    return next(n for n, line in enumerate(lines, 1) if text in line)


def test_every_configuration_source_becomes_a_dependency(shop: Discovery) -> None:
    assert edges(shop) == {
        ("shop/web", "shop/cache", "tcp-redis"),  # redis:// URL in a mounted ConfigMap file
        ("shop/web", "shop/catalog", "tcp-8080"),  # FQDN URL from envFrom
        ("shop/web", "shop/orders-db", "mongo"),  # headless pod DNS name in a mongodb:// URL
        ("shop/web", "shop/search", "tcp-9200"),  # SEARCH_HOST + SEARCH_PORT
        ("shop/worker", "shop/catalog", "tcp-8080"),  # $(CATALOG) in args, and env
    }


def test_configmap_values_point_at_the_configmap_line(shop: Discovery) -> None:
    dep = dependency(shop, "shop/web", "shop/catalog")
    [evidence] = dep.evidence
    assert evidence.text == (
        "envFrom ConfigMap web-config CATALOG_URL=http://catalog.shop.svc.cluster.local:8080/api "
        "in Deployment shop/web container web"
    )
    assert evidence.at == f"{SHOP}:{_line('CATALOG_URL')}:16"


def test_credentials_in_urls_are_redacted_from_evidence(shop: Discovery) -> None:
    dep = dependency(shop, "shop/web", "shop/orders-db")
    assert "secret" not in dep.evidence[0].text
    assert "***@orders-db-0" in dep.evidence[0].text
    assert all("secret" not in text for text in render_drafts(shop).values())


def test_unresolved_references_say_why_and_where(shop: Discovery) -> None:
    found = {(u.caller, u.reference): u for u in shop.unresolved}
    assert set(found) == {
        ("shop/web", "payments"),
        ("shop/web", "https://api.stripe.com/v1"),
        ("shop/web", "10.0.0.7:8080"),
        ("shop/worker", "amqp://queue:5672"),
        ("shop/worker", "bank:443"),
        ("shop/worker", "bank"),
    }
    assert "several (80, 9000)" in found["shop/web", "payments"].why
    assert "external host" in found["shop/web", "https://api.stripe.com/v1"].why
    assert "IP address" in found["shop/web", "10.0.0.7:8080"].why
    assert "no Service queue in namespace shop" in found["shop/worker", "amqp://queue:5672"].why
    assert "ExternalName, externalName bank.example.com" in found["shop/worker", "bank"].why
    legacy = found["shop/web", "10.0.0.7:8080"].evidence
    assert legacy.at == f"{SHOP}:{_line('10.0.0.7:8080')}:22"


def test_named_target_port_resolves_through_container_ports(shop: Discovery) -> None:
    web = service(shop, "shop/web")
    assert [(i.name, i.port, i.service_port) for i in web.interfaces] == [
        ("http", 8080, 80),
        ("metrics", 9090, None),  # container port that no Service exposes
    ]
    assert "targetPort http (8080)" in web.interfaces[0].evidence[0].text
    assert "no Service port" in web.interfaces[1].evidence[0].text


def test_unknown_named_target_port_is_reported_not_drafted(shop: Discovery) -> None:
    [tm520] = [d for d in shop.diagnostics if d.code == "TM520"]
    assert "targetPort 'admin' of Service shop/catalog-admin port 81" in tm520.message
    assert tm520.span is not None
    assert tm520.span.line == _line("name: admin")
    catalog = service(shop, "shop/catalog")
    assert [i.port for i in catalog.interfaces] == [8080]


def test_missing_configmaps_and_keys_are_reported(shop: Discovery) -> None:
    messages = [d.message for d in shop.diagnostics if d.code == "TM521"]
    assert any("ConfigMap shop/not-there" in m for m in messages)
    assert any("key 'USERS' of ConfigMap web-config" in m for m in messages)


def test_exported_replicasets_and_pods_join_their_deployment(shop: Discovery) -> None:
    names = sorted(s.name for s in shop.services)
    assert names == ["cache", "catalog", "orders-db", "payments", "search", "web", "worker"]
    catalog = service(shop, "shop/catalog")
    assert [e.text for e in catalog.evidence] == [
        "Deployment shop/catalog",
        "Service shop/catalog",
        "Service shop/catalog-admin",
    ]


def test_local_addresses_are_not_references(shop: Discovery) -> None:
    assert all("0.0.0.0" not in u.reference for u in shop.unresolved)


def test_shop_drafts_validate_with_only_todo_reasons(shop: Discovery, tmp_path: Path) -> None:
    assert set(validate_codes(shop, tmp_path / "out")) == {"TM200", "TM212"}


def test_namespace_filter_keeps_only_that_namespace(shop: Discovery) -> None:
    assert not select_namespaces(shop, ["other"]).services
    assert select_namespaces(shop, ["shop"]) == shop


@pytest.mark.parametrize(
    ("value", "name", "expected"),
    [
        ("cartservice:7070", "CART_SERVICE_ADDR", [("cartservice", 7070)]),
        ("http://user-db:27017/x", "DB", [("user-db", 27017)]),
        ("zipkin.jaeger.svc.cluster.local", "ZIPKIN", [("zipkin.jaeger.svc.cluster.local", None)]),
        ("mysqldb", "MYSQL_DB_HOST", [("mysqldb", 3306)]),
        ("mysqldb", "MYSQL_DB_NAME", []),  # a bare word under a name that is no address
        ("8080", "LISTEN_ADDR", []),
        ("0.0.0.0:8080", "LISTEN_ADDR", []),
        ("localhost:6379", "REDIS_ADDR", []),
        (":9411", "COLLECTOR_ZIPKIN_HOST_PORT", []),
        ("-XX:+UseG1GC -Djava.security.egd=file:/dev/urandom", "JAVA_OPTS", []),
        ("2021-01-01T12:30:00", "START_URL", []),
        ("mongodb://u:p@a:1,b:2/db", None, [("a", 1), ("b", 2)]),
        ("10.0.0.7:8080", None, [("10.0.0.7", 8080)]),
    ],
)
def test_references_in_values(value: str, name: str | None, expected: list[object]) -> None:
    found = references_in(value, name=name, env={"MYSQL_DB_PORT": "3306"})
    assert [(r.host, r.port) for r in found] == expected


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("cart", [("shop", "cart")]),
        ("cart.pay", [("pay", "cart"), ("shop", "pay")]),
        ("cart.pay.svc", [("pay", "cart")]),
        ("cart.pay.svc.cluster.local", [("pay", "cart")]),
        ("db-0.db.pay.svc.cluster.local", [("pay", "db")]),
        ("api.stripe.com", []),
    ],
)
def test_kubernetes_dns_names(host: str, expected: list[tuple[str, str]]) -> None:
    assert service_names(host, "shop") == expected


def test_workload_without_labels_is_reported_and_not_drafted(tmp_path: Path) -> None:
    manifest = tmp_path / "bare.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: lonely, namespace: ns}\n"
        "spec:\n  containers: [{name: c, image: i}]\n"
    )
    found = discover_manifests([manifest])
    assert not found.services
    assert {d.code for d in found.diagnostics} == {"TM523"}


def test_yaml_errors_name_file_line_and_column(tmp_path: Path) -> None:
    manifest = tmp_path / "broken.yaml"
    manifest.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: [\n")
    found = discover_manifests([manifest])
    [syntax] = [d for d in found.diagnostics if d.code == "TM101"]
    assert syntax.span is not None
    assert (syntax.span.file, syntax.span.line) == (str(manifest), 4)


def test_drafted_selectors_that_overlap_are_flagged(tmp_path: Path) -> None:
    manifest = tmp_path / "mixed.yaml"
    manifest.write_text(
        "".join(
            f"---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\n"
            f"spec:\n  template:\n    metadata: {{labels: {{{key}: {name}}}}}\n"
            "    spec: {containers: [{name: c, image: i}]}\n"
            for name, key in (("one", "app"), ("two", "k8s-app"))
        )
    )
    found = discover_manifests([manifest])
    [overlap] = [d for d in found.diagnostics if d.code == "TM522"]
    assert "default/one and default/two" in overlap.message
