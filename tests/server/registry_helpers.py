"""Shared data and calls for the registry tests: the Online Boutique split by team."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from trustmap.server.db import normalise_url

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "online-boutique"
ADMIN = "admin-token-for-tests-Qx7vKp2mZr9LwT4n"
TODAY = dt.date(2026, 11, 23)
AS_ADMIN = {"Authorization": f"Bearer {ADMIN}"}

TEAM_FILES = {
    "catalog": "services/catalog.yaml",
    "cart-team": "services/cart-team.yaml",
    "checkout-team": "services/checkout-team.yaml",
    "storefront": "services/storefront.yaml",
    "qa": "services/qa.yaml",
}
"""Each team's file, in an order where every dependency's target exists when it is pushed."""


def files(*paths: str) -> list[dict[str, str]]:
    """Example files as a push body's ``files``."""
    return [{"path": p, "content": (EXAMPLE / p).read_text()} for p in paths]


def put(
    client: httpx.Client,
    team: str,
    body_files: list[dict[str, str]],
    *,
    token: str | None = ADMIN,
    if_match: str | None = "*",
    message: str = "",
) -> httpx.Response:
    """PUT a team's declarations."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if if_match is not None:
        headers["If-Match"] = if_match
    return client.put(
        f"/api/v1/teams/{team}/declarations",
        json={"files": body_files, "message": message},
        headers=headers,
    )


def push_example(client: httpx.Client) -> None:
    """The whole Online Boutique: platform files, then each team's."""
    answer = put(client, "platform", files("organization.yaml", "teams.yaml"))
    assert answer.status_code == 200, answer.text
    for team, path in TEAM_FILES.items():
        answer = put(client, team, files(path))
        assert answer.status_code == 200, answer.text


def token_for(client: httpx.Client, team: str, principal: str) -> str:
    """Issue a team token with the admin token."""
    answer = client.post(
        "/api/v1/tokens", json={"team": team, "principal": principal}, headers=AS_ADMIN
    )
    assert answer.status_code == 201, answer.text
    token: str = answer.json()["token"]
    return token


def flows(edges: list[dict[str, Any]]) -> set[str]:
    """Flow keys of API edges (same shape as the registry's flow names)."""
    return {
        f"{e['source']} -> {e['target']}:{e['interface']} ({e['port']}/{e['protocol']})"
        for e in edges
    }


CART_CALL = "default/loadgenerator -> default/cartservice:grpc"
"""A call the cart team never consented to: it must wait for their approval."""


def qa_wants_the_cart(client: httpx.Client) -> httpx.Response:
    """Team qa adds a dependency on the cart service, whose consumers do not list it."""
    body = files(TEAM_FILES["qa"])
    body[0]["content"] += (
        "    - service: default/cartservice\n      interface: grpc\n"
        "      reason: check the cart directly during load tests\n"
    )
    return put(client, "qa", body)


def run_sql(url: str, *statements: str) -> None:
    """Run ``statements`` on the registry's database in one transaction (to tamper with it)."""
    engine = create_engine(normalise_url(url))
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()
