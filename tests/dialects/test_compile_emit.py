"""The YAML emitter, names and route translation: small pure functions with sharp edges."""

from __future__ import annotations

import re
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from trustmap.dialects.emit import dump, render_yaml
from trustmap.dialects.linkerd_routes import covers, route_groups
from trustmap.dialects.names import Namer, object_name
from trustmap.dialects.plan import Grant
from trustmap.dialects.routes import glob_regex, istio_path, parse_route
from trustmap.model import Interface

keys = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)
scalars = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30),
    st.sampled_from(
        [
            "yes",
            "no",
            "on",
            "y",
            "N",
            "1e3",
            "0x1F",
            "12:30",
            "null",
            "~",
            "-",
            ".",
            "- a",
            "a: b",
            "#x",
            "x #y",
            "*.example.com",
            "'q'",
            '"d"',
            "a\nb",
            "a\n",
        ]
    ),
    st.integers(-(2**40), 2**40),
    st.booleans(),
)
trees = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, trees, min_size=1, max_size=5))
def test_any_document_reads_back_as_the_same_value(document: dict[str, Any]) -> None:
    assert yaml.safe_load(dump(document)) == document


def test_documents_keep_key_order_and_conventional_block_style() -> None:
    text = render_yaml(
        [("ns", {"apiVersion": "v1", "kind": "X", "spec": {"b": [{"x": 1, "z": []}], "a": {}}})]
    )
    assert text == "---\napiVersion: v1\nkind: X\nspec:\n  b:\n  - x: 1\n    z: []\n  a: {}\n"


def test_strings_that_other_parsers_read_as_numbers_or_booleans_are_quoted() -> None:
    for text in ["1e3", "y", "N", "7070", "on", "1_000", "0o17", "."]:
        assert dump({"k": text}) == f'k: "{text}"\n'
    assert dump({"k": "/pay\\.Payment/Charge"}) == "k: /pay\\.Payment/Charge\n"


def test_multi_line_text_is_a_literal_block() -> None:
    assert dump({"r": "one\ntwo"}) == "r: |-\n  one\n  two\n"


def test_long_names_are_cut_and_end_in_a_hash_of_the_whole_name() -> None:
    long = "x" * 70
    name = object_name(long, "ingress")
    assert len(name) == 63
    assert re.fullmatch(r"x+-[0-9a-f]{8}", name)
    assert object_name(long, "egress") != name
    assert object_name("Web_App", "ingress") == "web-app-ingress"


def test_colliding_names_are_told_apart_and_stay_stable() -> None:
    namer = Namer()
    first = namer.claim("Server", "shop", "a-b-c", "a-b/c")
    second = namer.claim("Server", "shop", "a-b-c", "a/b-c")
    assert first == "a-b-c"
    assert second.startswith("a-b-c-")
    assert len(second) == 14
    assert namer.claim("Server", "shop", "a-b-c", "a-b/c") == "a-b-c"
    assert namer.claim("Server", "other", "a-b-c", "a/b-c") == "a-b-c"


def test_declared_methods_become_http_requests() -> None:
    assert parse_route("pkg.Svc/Get") == parse_route("pkg.Svc/Get")
    grpc = parse_route("pkg.Svc/Get")
    assert (grpc.method, grpc.path, grpc.grpc) == ("POST", "/pkg.Svc/Get", True)
    http = parse_route("get /api/*")
    assert (http.method, http.path, http.exact) == ("GET", "/api/*", False)
    assert parse_route("/healthz").method is None
    assert parse_route("* /x").method is None


def test_globs_translate_to_anchored_regex_and_istio_patterns() -> None:
    assert glob_regex("/a.b/*") == "/a\\.b/.*"
    assert re.fullmatch(glob_regex("/items/*/reviews"), "/items/42/reviews")
    assert not re.fullmatch(glob_regex("/items/*/reviews"), "/items/42/other")
    assert istio_path("/api/*") == ("/api/*", True)
    assert istio_path("*.css") == ("*.css", True)
    assert istio_path("/items/*/reviews") == ("/items/*", False)


def _grant(*methods: str) -> Grant:
    interface = Interface("http", 80, 80, "TCP", "http", "internal", (), ())
    return Grant(interface, (), tuple(methods), False, ())


def test_linkerd_routes_admit_every_grant_that_covers_them() -> None:
    groups = {
        members: routes
        for routes, members in route_groups(
            [_grant("GET /api/*"), _grant("GET /api/items"), _grant()]
        )
    }
    # /api/items is covered by both method grants and the grant with no methods.
    assert [r.path for r in groups[(0, 1, 2)]] == ["/api/items"]
    assert [r.path for r in groups[(0, 2)]] == ["/api/*"]
    assert [r.path for r in groups[(2,)]] == ["/*"]
    assert covers(parse_route("/api/*"), parse_route("POST /api/x"))
    assert not covers(parse_route("GET /api/*"), parse_route("POST /api/x"))
