"""The text path (documents written straight from the plan) gives the dict path's bytes, exactly.

``trustmap compile`` writes :func:`render_graph`'s documents; the library API, the schema tests
and ``verify`` use :func:`compile_graph`'s dicts. Every document must equal :func:`dump` (the
canonical serializer) of the object the dict path built, with the same diagnostics: on every
golden compile case, on every validate golden case and example for every target and environment,
on hypothesis-generated organisations (``generated_orgs``) for every target and environment, on
a generated organisation of a few hundred services, and for the provenance annotations on
arbitrary sources. Why there are two paths: ``dialects/base.py``.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from compile_cases import DIAGNOSTICS, ROOT, case_dirs, case_id, compile_case, render_case
from generated_orgs import NOW, organisations, workloads_of
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trustmap.dialects import (
    TARGETS,
    compile_graph,
    compile_targets,
    read_workloads,
    render_files,
    render_graph,
)
from trustmap.dialects.emit import block, dump, entry
from trustmap.dialects.pods import Workloads
from trustmap.dialects.provenance import Notes, Source, annotate
from trustmap.graph import graph_from_text, load_graph
from trustmap.model import Graph
from trustmap.report import render_diagnostics

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from generate import generate


@pytest.mark.parametrize("case", case_dirs(), ids=case_id)
def test_the_text_path_writes_the_dict_path_bytes_on_every_golden_case(case: Path) -> None:
    run = compile_case(case)
    expected = render_files(run.result.objects)
    expected[DIAGNOSTICS] = render_diagnostics(run.diagnostics, "text")
    assert render_case(case) == expected


ENVIRONMENTS = [None, "prod", "staging"]


def environments_of(graph: Graph) -> list[str | None]:
    """Enforce everywhere (``None``) and every environment the Organization declares."""
    declared = graph.organization.environments if graph.organization else ()
    return [None, *sorted({e.name for e in declared})]


def assert_both_paths_agree(
    graph: Graph, target: str, environment: str | None, workloads: Workloads | None = None
) -> None:
    """Every document the text path writes is the canonical dump of the dict path's object."""
    objects = compile_graph(graph, target, environment, workloads)
    documents = render_graph(graph, target, environment, workloads)
    assert [namespace for namespace, _ in documents.documents] == [
        namespace for namespace, _ in objects.objects
    ]
    for (_, text), (_, manifest) in zip(documents.documents, objects.objects, strict=True):
        assert text == dump(manifest), f"{manifest['kind']}/{manifest['metadata']['name']}"
    assert documents.diagnostics == objects.diagnostics


def declaration_trees() -> list[Path]:
    """Every validate golden case that holds its inputs, and every example."""
    cases = sorted(p for p in (ROOT / "tests/fixtures/validate").iterdir() if p.is_dir())
    examples = sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir())
    return [p for p in cases if not (p / "generate.py").exists()] + examples


@pytest.fixture(scope="module", params=declaration_trees(), ids=lambda p: p.name)
def golden_tree(request: pytest.FixtureRequest) -> tuple[Graph, Workloads | None]:
    """The tree's graph, and the workloads of its ``manifests/`` folder when it has one."""
    graph = load_graph([request.param], dt.date(2026, 11, 23))
    manifests = request.param / "manifests"
    return graph, read_workloads(graph, [manifests])[0] if manifests.is_dir() else None


@pytest.mark.parametrize("target", list(TARGETS))
def test_the_text_path_writes_the_dict_path_bytes_on_every_validate_golden_and_example(
    golden_tree: tuple[Graph, Workloads | None], target: str
) -> None:
    graph, workloads = golden_tree
    for environment in environments_of(graph):
        assert_both_paths_agree(graph, target, environment)
        if workloads is not None:
            assert_both_paths_agree(graph, target, environment, workloads)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(organisations(), st.data())
def test_the_text_path_writes_the_dict_path_bytes_on_generated_organisations(
    text: str, data: st.DataObject
) -> None:
    graph = graph_from_text(text, "org.yaml", dt.date.fromisoformat(NOW))
    workloads = data.draw(workloads_of(graph))
    for target in TARGETS:
        for environment in environments_of(graph):
            assert_both_paths_agree(graph, target, environment, workloads)


@pytest.fixture(scope="module")
def organisation(tmp_path_factory: pytest.TempPathFactory) -> Graph:
    root = tmp_path_factory.mktemp("org")
    generate(400, 2000, root, seed=7)
    return load_graph([root], dt.date(2026, 11, 23))


@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize("target", list(TARGETS))
def test_the_text_path_writes_the_dict_path_bytes_on_a_generated_organisation(
    organisation: Graph, target: str, environment: str | None
) -> None:
    refused = target == "cilium" and environment == "staging"  # no dry run: TM312, no objects
    assert bool(compile_graph(organisation, target, environment).objects) != refused
    assert_both_paths_agree(organisation, target, environment)


def test_several_targets_in_worker_processes_write_the_same_documents(
    organisation: Graph,
) -> None:
    together = compile_targets(organisation, list(TARGETS), "staging", processes=2)
    assert [r.target for r in together] == list(TARGETS)
    for rendered in together:
        alone = render_graph(organisation, rendered.target, "staging")
        assert rendered.documents == alone.documents
        assert rendered.diagnostics == alone.diagnostics


texts = st.one_of(
    st.sampled_from(
        [
            "a/b -> c/d:grpc: reads",
            "x -> y: two\nlines",
            " leading space",
            "trailing space ",
            "ends in newline\n",
            "tab\there",
            "bell\x07",
            "",
            "a: b #c",
            "yes",
        ]
    ),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20),
)
sources = st.builds(
    Source,
    st.sampled_from(
        [
            "",
            "teams/a.yaml",
            "teams/b c.yaml",
            "1e3",
            "teams/x: y.yaml",
            "y",
            "-a",
            "a:",
            "~",
            "2024-01-01",
        ]
    ),
    st.integers(0, 40),
    texts,
    texts,
)


@settings(max_examples=400, deadline=None)
@given(st.lists(sources, max_size=6))
def test_provenance_as_text_is_the_annotations_dict_emitted(found: list[Source]) -> None:
    assert Notes().text(found) == block(annotate(found), "    ")


def test_provenance_over_the_budget_is_cut_as_the_dict_path_cuts_it() -> None:
    reasons = [
        Source("a.yaml", n, f"caller-{n:05} -> target: {'x' * 40}", "r") for n in range(2000)
    ]
    places = [Source(f"teams/{n:05}-{'y' * 40}.yaml", 1, "same", "r") for n in range(2000)]
    for sources in (reasons, places):
        notes = annotate(sources)
        assert any("... and " in value for value in notes.values())
        assert Notes().text(sources) == block(notes, "    ")


def _without_labels(graph: Graph) -> Graph:
    """``graph`` with every pod label dropped (the loader refuses that; library callers can)."""
    services = {
        ref: replace(s, workload=replace(s.workload, pod_labels=()))
        for ref, s in graph.services.items()
    }
    edges = tuple(replace(e, source=replace(e.source, pod_labels=())) for e in graph.edges)
    return replace(graph, services=services, edges=edges)


@pytest.mark.parametrize("target", list(TARGETS))
def test_workloads_without_pod_labels_are_written_as_the_dict_path_writes_them(
    organisation: Graph, target: str
) -> None:
    graph = _without_labels(organisation)
    environment = "prod" if target == "cilium" else "staging"  # cilium writes no audit policy
    objects = compile_graph(graph, target, environment).objects
    assert [text for _, text in render_graph(graph, target, environment).documents] == [
        dump(m) for _, m in objects
    ]
    assert any("Selector: {}" in dump(m) or "labels: {}" in dump(m) for _, m in objects)


@pytest.mark.parametrize(
    "name",
    [
        "svc-0-ingress",
        "a",
        "yes",
        "no",
        "on",
        "y",
        "n",
        "null",
        "true",
        "1e3",
        "123",
        "0x1f",
        "2024-01-01",
        "x-1e3",
        "Svc",
        "a_b",
        "-a",
    ],
)
def test_object_names_are_quoted_exactly_as_the_emitter_quotes_them(name: str) -> None:
    assert entry("  name:", name, "    ") == block({"name": name}, "  ")


ONLY_UNWRITABLE_EGRESS = """\
apiVersion: trustmap.dev/v1alpha1
kind: Organization
metadata: {name: acme}
spec: {trustDomain: cluster.local}
---
apiVersion: trustmap.dev/v1alpha1
kind: Team
metadata: {name: t}
spec: {owners: [o@example.com], namespaces: [shop]}
---
apiVersion: trustmap.dev/v1alpha1
kind: Service
metadata: {name: reader, namespace: shop}
spec:
  team: t
  workload: {podLabels: {app: reader}}
  interfaces: [{name: http, port: 8080}]
  egress: [{apiServer: true, reason: reads its ConfigMap}]
"""


def test_an_egress_policy_without_a_writable_rule_is_an_empty_list_on_both_paths() -> None:
    """Found by the generated organisations: the text path wrote ``egress:`` (null)."""
    graph = graph_from_text(ONLY_UNWRITABLE_EGRESS, "org.yaml", dt.date.fromisoformat(NOW))
    documents = render_graph(graph, "kubernetes").documents
    egress = [text for _, text in documents if "name: reader-egress" in text]
    assert len(egress) == 1
    assert egress[0].endswith("  egress: []\n")
    assert_both_paths_agree(graph, "kubernetes", None)
