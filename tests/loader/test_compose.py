"""The loader on its own: positions, YAML safety limits, merge keys, tags and file reading."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from trustmap.diagnostics import Diagnostic, Span
from trustmap.loader import Document, Limits, compose_documents, load_paths, load_text
from trustmap.loader.files import discover, load_file

SERVICE = """\
apiVersion: trustmap.dev/v1alpha1
kind: Service
metadata: {name: checkout, namespace: shop}
spec:
  team: payments
  interfaces:
    - name: grpc
      port: 5050
"""


DEFAULT = Limits()


def _one(text: str, limits: Limits = DEFAULT) -> Document:
    documents, problems = compose_documents(text, "checkout.yaml", limits)
    assert problems == []
    assert len(documents) == 1
    return documents[0]


def _problem(text: str, limits: Limits = DEFAULT) -> Diagnostic:
    _, problems = compose_documents(text, "checkout.yaml", limits)
    assert len(problems) == 1, problems
    return problems[0]


# --- positions -----------------------------------------------------------------------------------


def test_positions_are_1_based_and_point_at_keys_and_values() -> None:
    doc = _one(SERVICE)
    assert doc.positions[("apiVersion",)] == (1, 1, 1, 13)
    assert doc.positions[("spec", "team")] == (5, 3, 5, 9)
    assert doc.span(("spec", "team")) == Span("checkout.yaml", 5, 9)
    assert doc.span(("spec", "team"), key=True) == Span("checkout.yaml", 5, 3)


def test_positions_of_flow_mapping_values_point_inside_the_line() -> None:
    doc = _one(SERVICE)
    assert doc.span(("metadata", "namespace")) == Span("checkout.yaml", 3, 39)
    assert doc.span(("metadata", "namespace"), key=True) == Span("checkout.yaml", 3, 28)


def test_list_items_have_a_value_position_but_no_key_position() -> None:
    doc = _one(SERVICE)
    assert doc.positions[("spec", "interfaces", 0)] == (0, 0, 7, 7)
    assert doc.span(("spec", "interfaces", 0, "port")) == Span("checkout.yaml", 8, 13)
    assert doc.span(("spec", "interfaces", 0), key=True) == Span("checkout.yaml", 7, 7)


def test_span_of_a_missing_path_falls_back_to_the_closest_ancestor() -> None:
    doc = _one(SERVICE)
    assert doc.span(("spec", "interfaces", 0, "consumers")) == Span("checkout.yaml", 7, 7)
    assert doc.span(("nothing", "here")) == Span("checkout.yaml", 1, 1)


def test_every_document_of_a_file_is_numbered_with_its_own_positions() -> None:
    documents, problems = compose_documents(f"{SERVICE}---\n{SERVICE}", "shop.yaml")
    assert problems == []
    assert [d.index for d in documents] == [0, 1]
    assert documents[1].span(("spec", "team")) == Span("shop.yaml", 14, 9)


# --- scalars: YAML 1.1 typing kept, then validated strictly --------------------------------------


def test_plain_scalars_are_typed_and_quoted_ones_stay_strings() -> None:
    data = _one('port: 8080\nquoted: "8080"\nexposure: no\nmode: on\nempty:\nratio: 0.5\n').data
    assert data == {
        "port": 8080,
        "quoted": "8080",
        "exposure": False,
        "mode": True,
        "empty": None,
        "ratio": 0.5,
    }


def test_a_date_is_read_as_a_date() -> None:
    assert _one("expires: 2027-06-30\n").data == {"expires": dt.date(2027, 6, 30)}


def test_a_date_looking_scalar_that_is_no_date_stays_a_string() -> None:
    data = _one("expires: 2027-13-01\nversion: 1.2.3\n").data
    assert data == {"expires": "2027-13-01", "version": "1.2.3"}


def test_an_explicit_core_tag_converts_the_scalar() -> None:
    assert _one('port: !!int "5050"\nname: !!str 5050\n').data == {"port": 5050, "name": "5050"}


def test_an_unknown_tag_is_a_located_type_error() -> None:
    found = _problem("spec:\n  consumers: !vault secret/payments\n")
    assert (found.code, found.span) == ("TM111", Span("checkout.yaml", 2, 14))
    assert found.message == "unknown tag '!vault'"


def test_a_scalar_that_does_not_fit_its_explicit_tag_is_reported() -> None:
    found = _problem("port: !!int fifty\n")
    assert found.code == "TM111"
    assert found.message == "'fifty' is not a valid int"


def test_a_mapping_as_a_key_is_rejected() -> None:
    found = _problem("? {a: 1}\n: value\n")
    assert (found.code, found.message) == ("TM111", "mapping keys must be plain scalars")


# --- duplicate keys, merge keys and aliases ------------------------------------------------------


def test_a_duplicate_key_points_at_the_second_key_and_names_the_first_line() -> None:
    found = _problem("spec:\n  team: payments\n  workload: {}\n  team: storefront\n")
    assert (found.code, found.span) == ("TM102", Span("checkout.yaml", 4, 3))
    assert found.message == "duplicate key 'team' (first defined on line 2)"


def test_a_duplicate_key_inside_a_flow_mapping_is_found_too() -> None:
    found = _problem("metadata: {name: checkout, name: cart}\n")
    assert (found.code, found.span) == ("TM102", Span("checkout.yaml", 1, 28))


def test_a_yaml_error_keeps_the_documents_before_it() -> None:
    documents, problems = compose_documents(f"{SERVICE}---\na: [1\n", "shop.yaml")
    assert [d.data.get("kind") for d in documents if not d.broken] == ["Service"]
    assert [p.code for p in problems] == ["TM101"]


def test_a_duplicate_key_marks_its_document_broken_and_the_next_ones_are_still_read() -> None:
    text = f"a: 1\na: 2\n---\n{SERVICE}---\n{SERVICE}"
    documents, problems = compose_documents(text, "shop.yaml", keep_broken=True)
    assert [d.broken for d in documents] == [True, False, False]
    assert [d.index for d in documents] == [0, 1, 2]
    assert [p.code for p in problems] == ["TM102"]
    kept, _ = compose_documents(text, "shop.yaml")
    assert [d.index for d in kept] == [1, 2], "readers of manifests never see a broken document"


def test_a_syntax_error_names_every_document_it_keeps_from_being_read() -> None:
    text = f"a: b: c\n---\n{SERVICE}---\n{SERVICE}"
    _, problems = compose_documents(text, "shop.yaml")
    skipped = problems[-1]
    assert skipped.code == "TM119"
    starts = [n for n, line in enumerate(text.splitlines(), 1) if line == "---"]
    assert skipped.span == Span("shop.yaml", starts[0], 1)
    assert skipped.message.endswith(f"(starting on lines {starts[0]}, {starts[1]})")


def test_merge_keys_copy_the_anchored_mapping_and_explicit_keys_win() -> None:
    text = "base: &base {team: payments, tier: backend}\nspec:\n  <<: *base\n  tier: frontend\n"
    assert _one(text).data["spec"] == {"tier": "frontend", "team": "payments"}


def test_a_list_of_merge_keys_merges_each_mapping_the_first_winning() -> None:
    text = "a: &a {x: 1}\nb: &b {x: 2, y: 2}\nc:\n  <<: [*a, *b]\n"
    assert _one(text).data["c"] == {"x": 1, "y": 2}


def test_merging_a_scalar_is_an_error() -> None:
    found = _problem("a: &a [1, [2]]\nb:\n  <<: *a\n")
    assert (found.code, found.message) == ("TM111", "'<<' merges only mappings")


def test_an_unknown_alias_is_a_syntax_error() -> None:
    found = _problem("spec:\n  workload: *defaults\n")
    assert (found.code, found.span) == ("TM101", Span("checkout.yaml", 2, 13))
    assert found.message == "YAML syntax error: unknown alias '*defaults'"


def _laughs(levels: int) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_aliases_within_the_expansion_limit_load() -> None:
    data = _one(_laughs(2), Limits(max_expanded_nodes=200)).data
    assert data["a1"] == [["lol"] * 10] * 10


def test_an_alias_bomb_stops_at_the_expansion_limit() -> None:
    found = _problem(_laughs(3), Limits(max_expanded_nodes=200))
    assert found.code == "TM103"
    assert found.message == "aliases expand to more than 200 values"
    assert found.span is not None
    assert found.span.line == 3


def test_a_billion_laughs_is_refused_quickly_with_the_default_limit() -> None:
    assert _problem(_laughs(9)).code == "TM103"


# --- nesting depth -------------------------------------------------------------------------------


def test_nesting_up_to_the_depth_limit_loads() -> None:
    assert _one("a: [[1]]\n", Limits(max_depth=3)).data == {"a": [[1]]}


def test_nesting_beyond_the_depth_limit_points_at_the_first_level_too_deep() -> None:
    found = _problem("a: [[[1]]]\n", Limits(max_depth=3))
    assert (found.code, found.span) == ("TM117", Span("checkout.yaml", 1, 6))
    assert found.message == "nesting is deeper than 3 levels"


# --- syntax errors -------------------------------------------------------------------------------


def test_a_syntax_error_is_located_and_names_the_problem() -> None:
    found = _problem("spec:\n  team: payments\n interfaces: []\n")
    assert found.code == "TM101"
    assert found.span == Span("checkout.yaml", 3, 2)
    assert found.message.startswith("YAML syntax error: ")


# --- files ---------------------------------------------------------------------------------------


def test_a_utf8_bom_is_ignored_and_positions_still_start_at_1_1(tmp_path: Path) -> None:
    path = tmp_path / "checkout.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + SERVICE.encode())
    documents, problems = load_file(str(path))
    assert problems == []
    assert documents[0].data["apiVersion"] == "trustmap.dev/v1alpha1"
    assert documents[0].positions[("apiVersion",)][:2] == (1, 1)


def test_a_file_with_a_nul_byte_is_binary(tmp_path: Path) -> None:
    path = tmp_path / "logo.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    _, problems = load_file(str(path))
    assert [(p.code, p.message) for p in problems] == [("TM106", "file is binary")]


def test_invalid_utf8_is_located_at_the_offending_byte(tmp_path: Path) -> None:
    path = tmp_path / "team.yaml"
    path.write_bytes("kind: Team\nowners: [josé]\n".encode("latin-1"))
    _, problems = load_file(str(path))
    assert [(p.code, p.span) for p in problems] == [("TM106", Span(str(path), 2, 13))]


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "---\n", "--- ~\n"])
def test_a_file_without_documents_is_a_warning(tmp_path: Path, text: str) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(text)
    documents, problems = load_file(str(path))
    assert documents == []
    assert [(p.code, p.severity.value) for p in problems] == [("TM105", "warning")]


def test_a_file_over_the_size_limit_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(SERVICE)
    documents, problems = load_file(str(path), Limits(max_bytes=64))
    assert documents == []
    assert [p.code for p in problems] == ["TM104"]
    assert problems[0].message == f"file is {len(SERVICE)} bytes; the limit is 64"


def test_a_broken_symlink_cannot_be_read(tmp_path: Path) -> None:
    (tmp_path / "payments.yaml").symlink_to(tmp_path / "gone.yaml")
    result = load_paths([tmp_path])
    assert [(p.code, p.span) for p in result.diagnostics] == [
        ("TM100", Span(str(tmp_path / "payments.yaml")))
    ]
    assert result.diagnostics[0].message == "cannot read file: no such file or directory"


def test_discover_sorts_yaml_files_and_skips_hidden_directories_and_other_files(
    tmp_path: Path,
) -> None:
    for name in ["b.yaml", "a/z.yml", "a/notes.md", ".git/x.yaml", "c.json", "a.yaml"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x: 1\n")
    files, problems = discover([tmp_path])
    assert problems == []
    assert [Path(f).relative_to(tmp_path).as_posix() for f in files] == [
        "a.yaml",
        "a/z.yml",
        "b.yaml",
    ]


def test_a_file_named_explicitly_is_read_whatever_its_suffix(tmp_path: Path) -> None:
    path = tmp_path / "declarations.txt"
    path.write_text(SERVICE)
    assert [d.data["kind"] for d in load_paths([path]).documents] == ["Service"]


def test_a_missing_path_and_an_empty_directory_are_reported(tmp_path: Path) -> None:
    missing = load_paths([tmp_path / "nope"])
    assert [(p.code, p.message) for p in missing.diagnostics] == [
        ("TM100", "no such file or directory")
    ]
    empty = load_paths([tmp_path])
    assert [(p.code, p.message) for p in empty.diagnostics] == [("TM116", "no YAML files found")]


def test_loading_text_in_memory_matches_loading_a_file(tmp_path: Path) -> None:
    path = tmp_path / "checkout.yaml"
    path.write_text(SERVICE)
    from_file = load_paths([path]).documents[0]
    from_text = load_text(SERVICE, str(path)).documents[0]
    assert from_text == from_file


def test_parallel_parsing_gives_the_same_documents_as_sequential(tmp_path: Path) -> None:
    for n in range(3):
        (tmp_path / f"s{n}.yaml").write_text(SERVICE.replace("checkout", f"checkout-{n}"))
    sequential = load_paths([tmp_path], workers=1)
    parallel = load_paths([tmp_path], workers=2)
    assert parallel == sequential
