"""`discover --from-manifests` on the five real apps of ../shared/apps."""

from __future__ import annotations

from pathlib import Path

import pytest
from discover_helpers import APPS, dependency, edges, service, validate_codes

from trustmap.discover import discover_manifests, render_drafts

ALL_APPS = (
    "bookinfo",
    "deathstarbench-hotelreservation",
    "online-boutique",
    "sock-shop",
    "train-ticket",
)
BOUTIQUE = APPS / "online-boutique" / "manifests" / "kubernetes-manifests.yaml"
BOUTIQUE_SERVICES = {
    "adservice", "cartservice", "checkoutservice", "currencyservice", "emailservice", "frontend",
    "loadgenerator", "paymentservice", "productcatalogservice", "recommendationservice",
    "redis-cart", "shippingservice",
}  # fmt: skip


@pytest.mark.parametrize("app", ALL_APPS)
def test_drafts_of_every_app_validate_with_only_todo_reasons(app: str, tmp_path: Path) -> None:
    found = discover_manifests([APPS / app / "manifests"])
    assert found.services
    codes = validate_codes(found, tmp_path / "drafts")
    assert set(codes) <= {"TM200", "TM212"}, codes  # TM200: no Organization in the drafts


@pytest.mark.parametrize("app", ALL_APPS)
def test_drafts_are_byte_identical_across_runs(app: str) -> None:
    first = render_drafts(discover_manifests([APPS / app / "manifests"]))
    second = render_drafts(discover_manifests([APPS / app / "manifests"]))
    assert first == second


def test_online_boutique_frontend_calls_cartservice_through_its_env() -> None:
    found = discover_manifests([BOUTIQUE])
    assert {s.name for s in found.services} == BOUTIQUE_SERVICES
    dep = dependency(found, "default/frontend", "default/cartservice")
    assert (dep.interface, dep.port, dep.protocol) == ("grpc", 7070, "TCP")
    assert dep.reason.startswith("TODO: discovered from env CART_SERVICE_ADDR=cartservice:7070")
    assert dep.evidence[0].at == f"{BOUTIQUE}:80:20"
    cart = service(found, "default/cartservice")
    assert cart.interfaces[0].consumers == ("default/checkoutservice", "default/frontend")
    assert (cart.service_account, cart.pod_labels) == ("cartservice", (("app", "cartservice"),))


def test_online_boutique_has_every_env_dependency_and_nothing_else() -> None:
    found = discover_manifests([BOUTIQUE])
    calls = {(c.partition("/")[2], t.partition("/")[2]) for c, t, _ in edges(found)}
    checkout = {"cartservice", "currencyservice", "emailservice", "paymentservice",
                "productcatalogservice", "shippingservice"}  # fmt: skip
    frontend = {"adservice", "cartservice", "checkoutservice", "currencyservice",
                "productcatalogservice", "recommendationservice", "shippingservice"}  # fmt: skip
    assert calls == {
        *(("checkoutservice", t) for t in checkout),
        *(("frontend", t) for t in frontend),
        ("cartservice", "redis-cart"),
        ("recommendationservice", "productcatalogservice"),
        ("loadgenerator", "frontend"),
    }


def test_service_port_and_target_port_become_interface_and_service_port() -> None:
    found = discover_manifests([BOUTIQUE])
    email = service(found, "default/emailservice").interfaces
    assert [(i.name, i.port, i.service_port) for i in email] == [("grpc", 8080, 5000)]
    frontend = service(found, "default/frontend")
    assert [(i.name, i.port, i.service_port) for i in frontend.interfaces] == [("http", 8080, 80)]
    assert any("frontend-external is type LoadBalancer" in r for r in frontend.interfaces[0].review)
    assert [e.text for e in frontend.evidence] == [
        "Deployment default/frontend",
        "Service default/frontend",
        "Service default/frontend-external",
    ]
    assert dependency(found, "default/checkoutservice", "default/emailservice").port == 8080


def test_reference_to_a_missing_service_is_listed_never_invented() -> None:
    found = discover_manifests([BOUTIQUE])
    assert "shoppingassistantservice" not in {s.name for s in found.services}
    [missing] = found.unresolved
    assert (missing.caller, missing.reference) == (
        "default/frontend",
        "shoppingassistantservice:80",
    )
    assert missing.evidence.at == f"{BOUTIQUE}:90:20"
    assert "no Service shoppingassistantservice in namespace default" in missing.why


def test_the_optional_component_resolves_what_was_unresolved() -> None:
    found = discover_manifests([APPS / "online-boutique" / "manifests"])
    dep = dependency(found, "default/frontend", "default/shoppingassistantservice")
    assert (dep.interface, dep.port) == ("http", 8080)
    assert not found.unresolved


def test_loadgenerator_script_and_init_container_are_one_dependency() -> None:
    dep = dependency(discover_manifests([BOUTIQUE]), "default/loadgenerator", "default/frontend")
    texts = [e.text for e in dep.evidence]
    assert texts[0].startswith("env FRONTEND_ADDR=frontend:80 in Deployment default/loadgenerator")
    script = [t for t in texts if t.startswith("command[2]")]  # ${FRONTEND_ADDR} in sh -c
    assert len(script) == 1
    assert "frontend:80" in script[0]
    assert len({e.at for e in dep.evidence}) == len(dep.evidence)


def test_bookinfo_groups_three_reviews_versions_behind_one_service() -> None:
    found = discover_manifests([APPS / "bookinfo" / "manifests" / "bookinfo.yaml"])
    assert {s.name for s in found.services} == {"details", "productpage", "ratings", "reviews"}
    reviews = service(found, "default/reviews")
    assert [e.text for e in reviews.evidence][:3] == [
        "Deployment default/reviews-v1",
        "Deployment default/reviews-v2",
        "Deployment default/reviews-v3",
    ]
    assert reviews.pod_labels == (("app", "reviews"),)
    assert reviews.service_account == "bookinfo-reviews"
    assert all([(i.name, i.port) for i in s.interfaces] == [("http", 9080)] for s in found.services)
    assert found.dependencies == 0
    assert not found.unresolved


def test_bookinfo_variants_pair_host_and_port_variables() -> None:
    found = discover_manifests([APPS / "bookinfo" / "manifests"])
    mysql = dependency(found, "default/ratings", "default/mysqldb")
    assert mysql.evidence[0].text.startswith("env MYSQL_DB_HOST=mysqldb in Deployment")
    assert mysql.port == 3306
    [vm] = found.unresolved
    assert vm.reference == "mysqldb.vm.svc.cluster.local"
    duplicates = [d for d in found.diagnostics if d.code == "TM524"]
    assert {d.message.split(" is ")[0] for d in duplicates} == {
        "Deployment default/reviews-v2",
        "Service default/productpage",
    }


def test_sock_shop_env_names_user_db_and_unresolved_zipkin() -> None:
    found = discover_manifests([APPS / "sock-shop" / "manifests" / "complete-demo.yaml"])
    assert len(found.services) == 14
    dep = dependency(found, "sock-shop/user", "sock-shop/user-db")
    assert (dep.interface, dep.port) == ("mongo", 27017)
    assert dep.evidence[0].text.startswith("env mongo=user-db:27017")
    [zipkin] = found.unresolved
    assert (zipkin.caller, zipkin.reference) == (
        "sock-shop/shipping",
        "zipkin.jaeger.svc.cluster.local",
    )
    front = service(found, "sock-shop/front-end").interfaces
    assert [(i.port, i.service_port) for i in front] == [(8079, 80)]
    assert "type NodePort" in front[0].review[0]


def test_sock_shop_variants_resolve_cross_namespace_names() -> None:
    found = discover_manifests([APPS / "sock-shop" / "manifests"])
    assert {t.name for t in found.teams} == {"jaeger", "loadtest", "sock-shop"}
    load = dependency(found, "loadtest/load-test", "sock-shop/front-end")
    assert load.port == 8079  # http://front-end.sock-shop.svc.cluster.local dials port 80
    assert "args[1]" in load.evidence[0].text
    assert dependency(found, "sock-shop/shipping", "jaeger/zipkin").port == 9411
    assert not found.unresolved


def test_hotel_reservation_drafts_services_and_ports_only() -> None:
    found = discover_manifests([APPS / "deathstarbench-hotelreservation" / "manifests"])
    assert len(found.services) == 19
    consul = service(found, "default/consul").interfaces
    assert [(i.name, i.port, i.service_port, i.protocol) for i in consul] == [
        ("udp-53", 53, 8600, "UDP"),
        ("tcp-8300", 8300, None, "TCP"),
        ("tcp-8400", 8400, None, "TCP"),
        ("tcp-8500", 8500, None, "TCP"),
    ]
    assert service(found, "default/frontend").pod_labels == (("io.kompose.service", "frontend"),)
    assert found.dependencies == 0
    assert not found.unresolved


def test_train_ticket_drafts_all_64_services() -> None:
    found = discover_manifests([APPS / "train-ticket" / "manifests"])
    assert len(found.services) == 64
    dashboard = service(found, "default/ts-ui-dashboard").interfaces
    assert [(i.name, i.port) for i in dashboard] == [("http", 8080)]
    assert "type NodePort" in dashboard[0].review[0]
    assert found.dependencies == 0
    assert not found.unresolved
