"""Better drafts from manifests: team from labels and annotations, selectors without release
labels, one service account per service, weak evidence from shared envFrom ConfigMaps, and what
to review first (fixture: tests/fixtures/discover/refine/shop.yaml).

Rules relied on: Kubernetes recommended labels (kubernetes.io/docs/concepts/overview/
working-with-objects/common-labels: `app.kubernetes.io/part-of`, `app.kubernetes.io/version`);
`envFrom` exposes every key of a ConfigMap as a variable (kubernetes.io/docs/tasks/
configure-pod-container/configure-pod-configmap); an equality-based selector matches a pod when
every pair it names is among the pod's labels (kubernetes.io/docs/concepts/overview/
working-with-objects/labels); Istio and Linkerd identify a workload by its service account
(`spiffe://<trust domain>/ns/<ns>/sa/<account>`), so two services sharing one cannot be told
apart.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from discover_helpers import FIXTURES, service

from trustmap.cli import cli
from trustmap.discover import discover_manifests

SHOP = FIXTURES / "refine" / "shop.yaml"


def test_the_team_comes_from_labels_then_annotations_else_the_namespace() -> None:
    found = discover_manifests([SHOP])
    assert service(found, "shop/web").team == "storefront"  # the Deployment's `team` label
    assert service(found, "shop/catalog").team == "catalog-team"  # app.kubernetes.io/part-of
    assert service(found, "shop/worker").team == "fulfilment"  # an `owner` pod annotation
    assert service(found, "shop/payment").team == "shop"  # nothing said: the namespace
    teams = {t.name: t for t in found.teams}
    assert teams["fulfilment"].owners == ("fulfilment@example.com",)
    assert teams["storefront"].owners == ("TODO@example.invalid",)


def test_team_keys_are_configurable() -> None:
    found = discover_manifests([SHOP], ("app.kubernetes.io/part-of",))
    assert service(found, "shop/web").team == "shop"
    assert service(found, "shop/catalog").team == "catalog-team"


def test_release_labels_are_dropped_only_when_the_rest_still_selects_the_workload() -> None:
    found = discover_manifests([SHOP])
    web = service(found, "shop/web")
    assert web.pod_labels == (("app", "web"),)
    assert "podLabels leave out version=v3 (changes per release or environment)" in web.review
    payment = service(found, "shop/payment")
    assert payment.pod_labels == (("app", "payment"), ("version", "v1"))  # app alone: canary too
    assert any(n.startswith("podLabels keep version=v1") for n in payment.review)


def test_services_sharing_an_account_get_their_own_with_the_manifest_change() -> None:
    found = discover_manifests([SHOP])
    worker = service(found, "shop/worker")
    (note,) = [n for n in worker.review if "shares service account" in n]
    assert note.startswith("shares service account shop-apps with web")
    assert "kubectl create serviceaccount worker -n shop" in note
    assert "serviceAccountName: worker in Deployment shop/worker (" in note
    assert "shop.yaml:" in note
    canary = service(found, "shop/payment-canary")
    assert any("serviceaccount payment-canary" in n for n in canary.review)
    payment = service(found, "shop/payment")  # keeps the account named after it
    assert not any("shares service account" in n for n in payment.review)


def test_a_configmap_loaded_whole_by_several_workloads_is_weak_evidence() -> None:
    found = discover_manifests([SHOP])
    worker = service(found, "shop/worker")
    assert worker.dependencies == ()
    weak = [n for n in worker.review if n.startswith("weak evidence")]
    assert len(weak) == 2
    assert "envFrom ConfigMap shared-env, loaded whole by shop/web, shop/worker" in weak[0]
    web = service(found, "shop/web")
    assert [d.service for d in web.dependencies] == ["shop/catalog"]  # also in CATALOG_URL
    assert [n for n in web.review if n.startswith("weak evidence")] == [
        n for n in web.review if "names shop/payment:9000" in n
    ]
    catalog = service(found, "shop/catalog")
    assert catalog.interfaces[0].consumers == ("shop/web",)  # no draft consent for weak ones


def test_the_review_summary_puts_weak_evidence_and_accounts_first(tmp_path: Path) -> None:
    found = discover_manifests([SHOP])
    first = found.review_first
    assert first[0].startswith("shop/web: weak evidence")
    assert first[3].startswith("3 services share a service account (shop/payment-canary")
    assert first[-1] == "1 TODO reasons to write (validate flags them, TM212)"
    result = CliRunner().invoke(
        cli, ["discover", "--from-manifests", str(SHOP), "--out", str(tmp_path), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["reviewFirst"] == list(first)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "catalog-team.yaml",
        "fulfilment.yaml",
        "shop.yaml",
        "storefront.yaml",
    ]
