"""Invalid manifests: each TM6xx problem is reported with its code at the offending line:col."""

from __future__ import annotations

from pathlib import Path

import pytest
from analysis_helpers import write

from trustmap.analysis import load_manifests
from trustmap.codes import CODES

_HEAD = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec:\n"


@pytest.mark.parametrize(
    ("code", "spec", "line", "col"),
    [
        ("TM601", "  ingress:\n  - from: [{ipBlock: {cidr: 10.0.0.300/8}}]", 6, 29),
        (
            "TM602",
            "  ingress:\n  - from:\n    - ipBlock: {cidr: 0.0.0.0/0}\n      podSelector: {}",
            7,
            7,
        ),
        (
            "TM603",
            "  egress:\n  - to: [{ipBlock: {cidr: 0.0.0.0/0}}]\n    ports: [{port: dns}]",
            6,
            5,
        ),
        ("TM605", "  ingress:\n  - ports: [{port: http, endPort: 90}]", 6, 35),
        ("TM607", "  ingress:\n  - ports: [{port: 70000}]", 6, 20),
        ("TM607", "  ingress:\n  - ports: [{port: '8080'}]", 6, 20),
        ("TM607", "  ingress:\n  - ports: [{port: 90, endPort: 80}]", 6, 33),
        ("TM608", "  ingress:\n  - ports: [{port: 80, protocol: tcp}]", 6, 34),
        ("TM609", "  policyTypes: [Ingres]", 5, 17),
        ("TM610", "  ingress: {from: []}", 5, 12),
        (
            "TM611",
            "  ingress:\n  - from: [{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/8]}}]",
            6,
            50,
        ),
        ("TM612", "  ingress:\n  - from: [{}]", 6, 12),
    ],
)
def test_invalid_policy_is_reported_at_the_offending_value(
    tmp_path: Path, code: str, spec: str, line: int, col: int
) -> None:
    cluster, diagnostics = load_manifests([write(tmp_path, _HEAD + spec)])
    found = [d for d in diagnostics if d.code == code]
    assert found, [str(d) for d in diagnostics]
    assert found[0].span is not None
    assert (found[0].span.line, found[0].span.col) == (line, col)
    assert found[0].hint, "every error says how to fix it"
    assert not cluster.policies


def test_same_policy_name_twice_in_a_namespace_is_an_error_on_the_second(tmp_path: Path) -> None:
    policy = _HEAD + "  podSelector: {}"
    _, diagnostics = load_manifests([write(tmp_path, policy, policy)])
    [dup] = [d for d in diagnostics if d.code == "TM604"]
    assert dup.span is not None
    assert dup.span.line == 9


def test_same_name_in_different_namespaces_is_fine(tmp_path: Path) -> None:
    other = _HEAD.replace("{name: p}", "{name: p, namespace: other}") + "  podSelector: {}"
    cluster, diagnostics = load_manifests([write(tmp_path, _HEAD + "  podSelector: {}", other)])
    assert [d.code for d in diagnostics] == ["TM619"], "only: no workloads to analyse"
    assert len(cluster.policies) == 2


def test_unreadable_and_broken_files_are_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("kind: Pod\nmetadata: {name: [\n")
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00")
    _, diagnostics = load_manifests([tmp_path, tmp_path / "missing"])
    assert sorted(d.code for d in diagnostics) == ["TM100", "TM101", "TM106", "TM619"]


def test_objects_of_other_kinds_and_apis_are_ignored(tmp_path: Path) -> None:
    calico = "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: c}\nspec: {}"
    config = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}"
    cluster, diagnostics = load_manifests([write(tmp_path, calico, config, "just: values")])
    assert not cluster.policies
    assert not cluster.workloads
    assert [d.code for d in diagnostics] == ["TM619"]


def test_list_kinds_are_flattened_and_items_default_to_the_list_kind(tmp_path: Path) -> None:
    pods = (
        "kind: PodList\napiVersion: v1\nitems:\n"
        "- metadata: {name: a, namespace: x}\n  spec: {containers: []}\n"
        "- kind: Namespace\n  metadata: {name: x, labels: {team: t}}\n"
    )
    cluster, _ = load_manifests([write(tmp_path, pods)])
    assert [w.id for w in cluster.workloads] == ["x/a[Pod]"]
    assert dict(cluster.namespaces[0].labels) == {"team": "t", "kubernetes.io/metadata.name": "x"}


def test_every_analyze_code_is_registered_with_a_title() -> None:
    analyze_codes = [c for c in CODES if c.startswith("TM6")]
    assert len(analyze_codes) >= 18
    docs = (Path(__file__).resolve().parents[2] / "docs" / "diagnostics.md").read_text()
    for code in analyze_codes:
        assert f"| {code} | {CODES[code].severity} | {CODES[code].title} |" in docs
