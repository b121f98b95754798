"""Bad input gets a clear 4xx JSON error, never a 500: sizes, counts, depth, encodings, shapes."""

from __future__ import annotations

import httpx
import pytest
from registry_helpers import AS_ADMIN, push_example, put
from registry_live import serve

from conftest import settings_for
from trustmap.server import create_app


def _error(answer: httpx.Response, status: int) -> dict[str, object]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body: dict[str, object] = answer.json()["error"]
    assert body["status"] == status
    assert body["message"]
    return body


@pytest.fixture
def small(database_url: str) -> httpx.Client:
    """A registry with small limits."""
    app = create_app(
        settings_for(database_url, max_request_bytes=4096, max_files=3, max_yaml_depth=8)
    )
    with serve(app) as url, httpx.Client(base_url=url) as http:
        yield http  # type: ignore[misc]


def test_a_body_over_the_size_limit_gets_413(small: httpx.Client) -> None:
    big = [{"path": "a.yaml", "content": "# " + "x" * 5000}]
    body = _error(put(small, "qa", big), 413)
    assert "4,096 bytes" in str(body["message"])


def test_too_many_files_get_413(small: httpx.Client) -> None:
    many = [{"path": f"f{n}.yaml", "content": "# empty\n"} for n in range(4)]
    assert "limit is 3" in str(_error(put(small, "qa", many), 413)["message"])


def test_yaml_nested_too_deep_gets_422_with_its_line(small: httpx.Client) -> None:
    deep = (
        "apiVersion: trustmap.dev/v1alpha1\nkind: Service\nmetadata: "
        + "{a: " * 12
        + "1"
        + "}" * 12
        + "\n"
    )
    body = _error(put(small, "qa", [{"path": "deep.yaml", "content": deep}]), 422)
    found = body["diagnostics"]
    assert isinstance(found, list)
    assert found[0]["code"] == "TM117"
    assert found[0]["line"] == 3


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b"{not json", {"Content-Type": "application/json"}),
        (b'{"files": "nope"}', {"Content-Type": "application/json"}),
        (b'{"files": [], "surprise": 1}', {"Content-Type": "application/json"}),
        (
            b'{"files": [{"path": "a\\u0000.yaml", "content": ""}]}',
            {"Content-Type": "application/json"},
        ),
        (
            b'{"files": [{"path": "a.yaml", "content": "\\ud800"}]}',
            {"Content-Type": "application/json"},
        ),
        (b"files=1", {"Content-Type": "application/x-www-form-urlencoded"}),
    ],
)
def test_malformed_push_bodies_get_422(
    client: httpx.Client, content: bytes, headers: dict[str, str]
) -> None:
    answer = client.put(
        "/api/v1/teams/qa/declarations",
        content=content,
        headers={**AS_ADMIN, "If-Match": "*", **headers},
    )
    _error(answer, 422)


@pytest.mark.parametrize("path", ["../escape.yaml", "/etc/passwd", "a/./b.yaml", "a\\b.yaml", ""])
def test_unclean_file_paths_get_422(client: httpx.Client, path: str) -> None:
    answer = put(client, "qa", [{"path": path, "content": "# x\n"}])
    assert answer.status_code == 422
    if path:
        assert answer.json()["error"]["diagnostics"][0]["code"] == "TM702"


def test_yaml_syntax_errors_come_back_as_diagnostics(client: httpx.Client) -> None:
    push_example(client)
    body = _error(put(client, "qa", [{"path": "bad.yaml", "content": "kind: [unclosed\n"}]), 422)
    found = body["diagnostics"]
    assert isinstance(found, list)
    assert found[0]["code"] == "TM101"
    assert found[0]["file"] == "bad.yaml"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nothing",
        "/api/v1/services/default/nope",
        "/api/v1/services/UPPER/x",
        "/api/v1/versions/99",
        "/api/v1/approvals/5/approve",
        "/api/v1/policies/unknown",
        "/api/v1/teams/bad_name/declarations",
    ],
)
def test_unknown_or_invalid_resources_get_json_4xx(client: httpx.Client, path: str) -> None:
    answer = client.get(path)
    assert 400 <= answer.status_code < 500
    assert answer.json()["error"]["status"] == answer.status_code


def test_an_unknown_service_suggests_the_closest_name(client: httpx.Client) -> None:
    push_example(client)
    body = _error(client.get("/api/v1/services/default/cartservce"), 404)
    assert "did you mean 'default/cartservice'" in str(body["message"])
