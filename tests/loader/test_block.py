"""The fast block-style reader builds exactly what the libyaml composer builds, or declines.

The property behind every test here: for any text, ``read_block_yaml`` either raises
``Unsupported`` or returns documents equal to the composer's — same values, same types, same
positions — and then the composer reports no problem either.
"""

from __future__ import annotations

import pickle
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmark_orgs import generate_organisation
from trustmap.loader import Limits, compose_documents, load_paths
from trustmap.loader.block import LazyPositions, Unsupported, read_block_yaml
from trustmap.loader.compose import _Composer, _Loader
from trustmap.loader.document import Document

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
LIMITS = Limits()


def _composed(text: str, file: str = "f.yaml") -> list[Document] | None:
    """The libyaml composer's documents, or None when it reports a problem."""
    composer = _Composer(file, LIMITS)
    try:
        composer.run(_Loader(text))
    except Exception:
        return None
    return composer.documents


def _agrees(text: str) -> bool:
    """Assert the property for ``text``; returns whether the fast reader accepted it."""
    try:
        lean = read_block_yaml(text, "f.yaml", LIMITS.max_depth, LIMITS.max_expanded_nodes)
        known = [dict(d.positions._known) for d in lean]  # type: ignore[attr-defined]
        every = read_block_yaml(
            text, "f.yaml", LIMITS.max_depth, LIMITS.max_expanded_nodes, every=True
        )
    except Unsupported:
        return False
    composed = _composed(text)
    assert composed is not None, f"accepted text libyaml rejects: {text!r}"
    for document, early in zip(composed, known, strict=True):
        assert {path: document.positions.get(path) for path in early} == early, text
    fresh = read_block_yaml(text, "f.yaml", LIMITS.max_depth, LIMITS.max_expanded_nodes)
    for document, unread in zip(composed, fresh, strict=True):
        for path, position in document.positions.items():  # each found alone, or declined
            assert unread.positions._entry(path) in (None, position), (text, path)  # type: ignore[attr-defined]
    assert every == composed, text
    assert lean == composed, text
    assert [type(d.data) for d in lean] == [type(d.data) for d in composed]
    return True


def _yaml_files() -> list[Path]:
    roots = [ROOT / "tests", ROOT / "examples", SHARED / "apps", SHARED / "cases"]
    found = [p for r in roots if r.is_dir() for p in sorted(r.rglob("*.y*ml"))]
    return [p for p in found if p.suffix in {".yaml", ".yml"} and p.is_file()]


# --- real files ----------------------------------------------------------------------------------


def test_every_yaml_file_of_the_project_and_shared_data_reads_the_same() -> None:
    files = _yaml_files()
    assert len(files) > 50
    accepted = 0
    for path in files:
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError:
            continue
        accepted += _agrees(text)
    assert accepted > len(files) // 2  # the fast path really is the common path


def test_the_example_and_synthetic_organisations_take_the_fast_path(tmp_path: Path) -> None:
    generate_organisation(tmp_path / "org", 60, 200)
    files = [*sorted((ROOT / "examples" / "online-boutique").rglob("*.yaml"))]
    files += sorted((tmp_path / "org").rglob("*.yaml"))
    for path in files:
        text = path.read_text()
        assert _agrees(text), f"{path} fell back to the libyaml composer"


# --- generated and mutated text ------------------------------------------------------------------

# Plain scalars that YAML 1.1 types (or refuses) in surprising ways, and ones that are just text.
_PLAIN = [
    "svc-1", "shop/checkout", "pkg.Api/Get", "group:payments", "a@b.c", "http://x/y", "a b",
    "a#b", "a:b", "yes", "No", "on", "OFF", "true", "~", "null", "08", "010", "0x1F", "0o17",
    "1e3", "1_000", "1.5", ".5", "-5", "+1", "2027-06-30", "2027-13-01", "1:30", "x.y.z", ".inf",
    "<<", "=", "-x", "..", "a - b",
]  # fmt: skip
_ODD = [
    '"8080"', "'it''s'", '"a b"', "''", '""', '"a\\"b"', "&anchor x", "*alias", "!!str 1",
    "!vault x", "|", ">", "x: y", "x #c", "[a, b]", "{a: 1}", "[]", "{}", "[a, [b, c]]",
    "{a: [1, 2], b: {c: d}}", "[a,b]", "[ a , b ]", "{a: 1,b: 2}", "[a, ]", "{a}", "@x", "`x",
    "%x", "? x", "- x", "[a", "a]", "{a: 1", "[a: b]", '["a": 1]', "[a, {b: c}]",
]  # fmt: skip
_KEYS = ["name", "port", "spec", "app.kubernetes.io/name", "k8s-app", "a_b", "yes", "1", "null"]


def _scalar(rnd: random.Random) -> str:
    return rnd.choice(_PLAIN) if rnd.random() < 0.75 else rnd.choice(_ODD)


def _value(rnd: random.Random, depth: int) -> Any:
    roll = rnd.random()
    if depth > 3 or roll < 0.5:
        return _scalar(rnd)
    if roll < 0.75:
        return {rnd.choice(_KEYS): _value(rnd, depth + 1) for _ in range(rnd.randint(0, 3))}
    return [_value(rnd, depth + 1) for _ in range(rnd.randint(0, 3))]


def _flow(value: Any, rnd: random.Random) -> str:
    comma = rnd.choice([", ", ",", " , "])
    if isinstance(value, dict):
        return "{" + comma.join(f"{k}: {_flow(v, rnd)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + comma.join(_flow(v, rnd) for v in value) + "]"
    return str(value)


def _block(value: Any, indent: int, rnd: random.Random) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            lines += _entry(f"{pad}{key}:", item, indent, rnd, seq_indent=rnd.choice([0, 2]))
    else:
        for item in value:
            dash = rnd.choice(["- ", "- ", "-   "])
            if isinstance(item, dict) and item and rnd.random() < 0.7:
                inner = _block(item, indent + len(dash), rnd)
                lines += [f"{pad}{dash}{inner[0].lstrip(' ')}", *inner[1:]]
            else:
                lines += _entry(f"{pad}{dash.rstrip(' ')}", item, indent, rnd, seq_indent=2)
    if rnd.random() < 0.15:
        lines.insert(rnd.randrange(len(lines) + 1), " " * rnd.randint(0, 6) + "# note")
    return lines


def _entry(head: str, item: Any, indent: int, rnd: random.Random, seq_indent: int) -> list[str]:
    tail = rnd.choice(["", "", "  ", " # why"])
    if not isinstance(item, dict | list) or rnd.random() < 0.3:
        text = _flow(item, rnd) if isinstance(item, dict | list) else item
        return [f"{head} {text}{tail}"]
    child = indent + (seq_indent if isinstance(item, list) else rnd.choice([1, 2, 4]))
    return [f"{head}{tail}", *_block(item, child, rnd)] if item else [f"{head} {_flow(item, rnd)}"]


def _document(rnd: random.Random) -> str:
    root: Any = {rnd.choice(_KEYS): _value(rnd, 0) for _ in range(rnd.randint(1, 4))}
    if rnd.random() < 0.15:
        root = [_value(rnd, 1) for _ in range(rnd.randint(1, 3))]
    return "\n".join(_block(root, rnd.choice([0, 0, 0, 2]), rnd)) + "\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.randoms(use_true_random=False))
def test_generated_block_yaml_reads_the_same(rnd: random.Random) -> None:
    separator = rnd.choice(["---\n", "--- # next\n", "---\n\n", "---   \n"])
    documents = [_document(rnd) for _ in range(rnd.randint(1, 3))]
    text = ("---\n" if rnd.random() < 0.3 else "") + separator.join(documents)
    if rnd.random() < 0.1:
        text += "---\n"
    _agrees(text)


_SEEDS = [
    p.read_text()
    for p in sorted((ROOT / "tests" / "fixtures" / "validate").rglob("*.yaml"))
    if p.is_file() and p.stat().st_size < 4000 and p.read_bytes().isascii()
]
_EDITS = [" ", "-", ":", "#", "[", "]", "{", "}", ",", "'", '"', "\n", "  ", "- ", ": ", "---\n"]


@settings(max_examples=300, deadline=None)
@given(st.randoms(use_true_random=False))
def test_mutated_declarations_read_the_same(rnd: random.Random) -> None:
    text = rnd.choice(_SEEDS)
    for _ in range(rnd.randint(1, 3)):
        at = rnd.randrange(len(text) + 1)
        if rnd.random() < 0.5:
            text = text[:at] + rnd.choice(_EDITS) + text[at:]
        else:
            text = text[:at] + text[at + rnd.randint(1, 3) :]
    _agrees(text)


@pytest.mark.parametrize(
    "text",
    [
        "---\n---\na: 1\n",  # an empty document is a null located at the next '---'
        "a: 1\n---\n",  # ... or at the start of the line after the last one
        "a: 1\n--- #c\n  \n",
        "---",
        "a:\n- x\n- y\nb: 1\n",  # a sequence indented like its key
        "- a: 1\n  b:\n  - c\n- d\n",
        "a: [1, 2] # c\nb: {c: d, e: [f]}\n",
        "a: x\n   # a comment anywhere\nb: y\n",
        "  a: 1\n  b: 2\n",  # an indented root
    ],
)
def test_edge_cases_read_the_same(text: str) -> None:
    assert _agrees(text)


@pytest.mark.parametrize(
    "text",
    [
        "a: &x 1\nb: *x\n",
        "a: |\n  text\n",
        "a: long\n  continued\n",
        "a: [1,\n  2]\n",
        "a:\n",
        "a: 1\na: 2\n",
        "a:\tb\n",
        "a: 1\r\n",
        'a: "esc\\n"\n',
        "%YAML 1.1\n---\na: 1\n",
        "a: 1\n...\n",
        "? a\n: 1\n",
        "2027-01-01: x\n",
    ],
)
def test_what_the_fast_reader_does_not_handle_is_left_to_libyaml(text: str) -> None:
    with pytest.raises(Unsupported):
        read_block_yaml(text, "f.yaml", LIMITS.max_depth, LIMITS.max_expanded_nodes)
    _agrees(text)


def test_limits_are_left_to_libyaml_to_report() -> None:
    with pytest.raises(Unsupported):
        read_block_yaml("a: [[[1]]]\n", "f.yaml", 3, 1000)
    with pytest.raises(Unsupported):
        read_block_yaml("a: [1, 2, 3, 4]\n", "f.yaml", 64, 5)
    _, problems = compose_documents("a: [1, 2, 3, 4]\n", "f.yaml", Limits(max_expanded_nodes=5))
    assert [p.code for p in problems] == ["TM103"]


# --- positions found later -----------------------------------------------------------------------


SERVICE = """\
apiVersion: trustmap.dev/v1alpha1
kind: Service
metadata: {name: checkout, namespace: shop}
spec:
  dependsOn:
    - service: shop/payment
      reason: charge cards
---
apiVersion: trustmap.dev/v1alpha1
kind: Team
"""


def test_collections_are_placed_at_once_and_scalars_on_first_use() -> None:
    first, second = read_block_yaml(SERVICE, "f.yaml", 64, 1000)
    positions = first.positions
    assert isinstance(positions, LazyPositions)
    assert positions._known[("spec", "dependsOn", 0)] == (0, 0, 6, 7)
    assert ("spec", "dependsOn", 0, "reason") not in positions._known
    assert positions[("spec", "dependsOn", 0, "reason")] == (7, 7, 7, 15)
    assert second.span(("kind",)).line == 10  # the second document's lines count from the file's


def test_lazy_positions_survive_pickling_and_compare_like_dicts() -> None:
    (document,) = read_block_yaml(SERVICE.split("---")[0], "f.yaml", 64, 1000)
    copy = pickle.loads(pickle.dumps(document))
    assert copy == document
    assert dict(copy.positions) == dict(_composed(SERVICE.split("---")[0])[0].positions)  # type: ignore[index]


def test_loading_a_directory_gives_the_composers_documents(tmp_path: Path) -> None:
    (tmp_path / "shop.yaml").write_text(SERVICE)
    loaded = load_paths([tmp_path]).documents
    composed = _composed(SERVICE, str(tmp_path / "shop.yaml")) or []
    assert list(loaded) == [d for d in composed if d.data is not None]
