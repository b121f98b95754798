"""Approvals bind to what the approver saw, attacked by a caller who widens after approval.

Team qa asks for one method of the cart's gRPC interface until a date; once approved, it tries
every way to get more: drop the method list (= every method), add a method, push the expiry
later, or remove and re-add the dependency. Each must open a new request while only the approved
part stays allowed.
"""

from __future__ import annotations

from typing import Any

import httpx
from registry_helpers import TEAM_FILES, files, push_example, put, token_for

GET_CART = "hipstershop.CartService/GetCart"
EMPTY_CART = "hipstershop.CartService/EmptyCart"


def _ask(client: httpx.Client, reason: str, methods: list[str], expires: str | None) -> Any:
    body = files(TEAM_FILES["qa"])
    body[0]["content"] += (
        "    - service: default/cartservice\n      interface: grpc\n"
        f"      reason: {reason}\n"
        + (f"      methods: [{', '.join(methods)}]\n" if methods else "")
        + (f"      expires: {expires}\n" if expires else "")
    )
    answer = put(client, "qa", body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _cart_edge(client: httpx.Client) -> dict[str, Any] | None:
    for edge in client.get("/api/v1/graph").json()["edges"]:
        if edge["source"] == "default/loadgenerator" and edge["target"] == "default/cartservice":
            return dict(edge)
    return None


def _request(client: httpx.Client) -> dict[str, Any]:
    (row,) = [
        a
        for state in ("pending", "approved", "rejected", "withdrawn", "ended")
        for a in client.get("/api/v1/approvals", params={"state": state}).json()["approvals"]
    ]
    return dict(row)


def _approve(client: httpx.Client, owner: str, request: dict[str, Any]) -> httpx.Response:
    return client.post(
        f"/api/v1/approvals/{request['id']}/approve",
        json={"revision": request["revision"]},
        headers={"Authorization": f"Bearer {owner}"},
    )


def _approved_for_one_method(client: httpx.Client) -> str:
    push_example(client)
    _ask(client, "read carts in load tests", [GET_CART], "2026-12-31")
    owner = token_for(client, "cart-team", "cart-lead@example.com")
    assert _approve(client, owner, _request(client)).status_code == 200
    edge = _cart_edge(client)
    assert edge is not None
    assert (edge["methods"], edge["expires"]) == ([GET_CART], "2026-12-31")
    return owner


def test_the_request_shows_interface_port_methods_reason_and_expiry(client: httpx.Client) -> None:
    push_example(client)
    _ask(client, "read carts in load tests", [GET_CART], "2026-12-31")
    request = _request(client)
    assert request["state"] == "pending"
    assert (request["interface"], request["port"]) == ("grpc", "7070/TCP")
    assert (request["methods"], request["expires"]) == ([GET_CART], "2026-12-31")
    assert request["reason"] == "read carts in load tests"
    page = client.get("/approvals", headers={"Accept": "text/html"}).text
    for shown in ("grpc", "7070/TCP", GET_CART, "2026-12-31", "read carts in load tests"):
        assert shown in page


def test_dropping_the_method_list_after_approval_opens_a_request_and_keeps_one_method(
    client: httpx.Client,
) -> None:
    owner = _approved_for_one_method(client)
    pushed = _ask(client, "read carts in load tests", [], "2026-12-31")
    assert [p["methods"] for p in pushed["pending"]] == [[]]
    assert any(d["code"] == "TM700" for d in pushed["diagnostics"])
    request = _request(client)
    assert request["state"] == "pending"
    assert request["granted"]["methods"] == [GET_CART]
    assert _cart_edge(client)["methods"] == [GET_CART]  # type: ignore[index]
    assert _approve(client, owner, request).status_code == 200
    assert len(_cart_edge(client)["methods"]) == 3  # type: ignore[index]


def test_another_method_or_a_later_expiry_is_a_widening_too(client: httpx.Client) -> None:
    _approved_for_one_method(client)
    _ask(client, "read carts in load tests", [GET_CART, EMPTY_CART], "2026-12-31")
    assert _request(client)["state"] == "pending"
    assert _cart_edge(client)["methods"] == [GET_CART]  # type: ignore[index]
    _ask(client, "read carts in load tests", [GET_CART], "2027-06-30")
    assert _request(client)["state"] == "pending"
    assert _cart_edge(client)["expires"] == "2026-12-31"  # type: ignore[index]
    _ask(client, "read carts in load tests", [GET_CART], "2026-12-01")
    narrowed = _request(client)
    assert narrowed["state"] == "approved"
    assert _cart_edge(client)["expires"] == "2026-12-01"  # type: ignore[index]


def test_removing_the_dependency_ends_the_approval_and_re_adding_it_asks_again(
    client: httpx.Client,
) -> None:
    _approved_for_one_method(client)
    assert put(client, "qa", files(TEAM_FILES["qa"])).status_code == 200
    assert _request(client)["state"] == "ended"
    assert _request(client)["granted"] is None
    again = _ask(client, "read carts in load tests", [GET_CART], "2026-12-31")
    assert [p["state"] for p in again["pending"]] == ["pending"]
    assert again["opened"] == []
    assert _cart_edge(client) is None


def test_a_pending_request_shows_the_current_reason_and_a_stale_decision_is_refused(
    client: httpx.Client,
) -> None:
    push_example(client)
    _ask(client, "first reason", [GET_CART], None)
    seen = _request(client)
    _ask(client, "a different reason", [], None)
    current = _request(client)
    assert (current["reason"], current["methods"]) == ("a different reason", [])
    assert current["revision"] == seen["revision"] + 1
    owner = token_for(client, "cart-team", "cart-lead@example.com")
    stale = _approve(client, owner, seen)
    assert stale.status_code == 409
    assert "changed since you looked" in stale.json()["error"]["message"]
    assert _cart_edge(client) is None
    assert _approve(client, owner, current).status_code == 200
