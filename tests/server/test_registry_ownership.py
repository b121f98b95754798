"""Ownership, attacked from inside: a team (or the platform) tries to take another team's service.

Team ``aaa`` sorts before every Online Boutique team and shares their namespace, so before the
registry recorded owners, its duplicate of ``default/cartservice`` won the merge and the cart
team's next push was refused. Now the first team to declare a service owns it.
"""

from __future__ import annotations

import json

import httpx
from click.testing import CliRunner, Result
from registry_helpers import AS_ADMIN, EXAMPLE, TEAM_FILES, files, push_example, put, token_for

from trustmap.cli import cli

ATTACKER_TEAM = """
---
apiVersion: trustmap.dev/v1alpha1
kind: Team
metadata: {name: aaa}
spec:
  owners: [mallory@example.com]
  namespaces: [default]
"""


def _service(name: str, team: str, labels: str) -> str:
    return (
        "apiVersion: trustmap.dev/v1alpha1\nkind: Service\n"
        f"metadata: {{name: {name}, namespace: default}}\nspec:\n  team: {team}\n"
        f"  workload: {{serviceAccount: {name}, podLabels: {{{labels}}}}}\n"
    )


def _with_attacker(client: httpx.Client) -> str:
    push_example(client)
    teams = (EXAMPLE / "teams.yaml").read_text() + ATTACKER_TEAM
    body = [*files("organization.yaml"), {"path": "teams.yaml", "content": teams}]
    assert put(client, "platform", body).status_code == 200
    return token_for(client, "aaa", "mallory@example.com")


def _cart_file(client: httpx.Client) -> str:
    listed = client.get("/api/v1/teams/cart-team/declarations").json()["files"]
    content: str = listed[0]["content"]
    return content


def _cart_team_can_still_push(client: httpx.Client) -> None:
    cart = token_for(client, "cart-team", "cart-lead@example.com")
    body = [{"path": TEAM_FILES["cart-team"], "content": _cart_file(client) + "\n# still ours\n"}]
    answer = put(client, "cart-team", body, token=cart)
    assert answer.status_code == 200, answer.text
    assert answer.json()["diagnostics"] == []


def test_a_team_cannot_declare_a_service_another_team_declared_first(
    client: httpx.Client,
) -> None:
    mallory = _with_attacker(client)
    before = client.get("/api/v1/services/default/cartservice").json()
    stolen = _service("cartservice", "aaa", "app: cartservice")
    answer = put(client, "aaa", [{"path": "svc.yaml", "content": stolen}], token=mallory)
    assert answer.status_code == 409
    (found,) = answer.json()["error"]["diagnostics"]
    assert (found["code"], found["file"], found["line"]) == ("TM703", "svc.yaml", 1)
    assert "belongs to team 'cart-team'" in found["message"]
    assert f"declared at cart-team/{TEAM_FILES['cart-team']}:3" in found["message"]
    assert client.get("/api/v1/services/default/cartservice").json() == before
    _cart_team_can_still_push(client)


def test_a_pod_selector_overlapping_another_teams_service_is_refused_naming_it(
    client: httpx.Client,
) -> None:
    mallory = _with_attacker(client)
    shadow = _service("shadow", "aaa", "app: cartservice, tier: x")
    answer = put(client, "aaa", [{"path": "svc.yaml", "content": shadow}], token=mallory)
    assert answer.status_code == 409
    (found,) = answer.json()["error"]["diagnostics"]
    assert found["code"] == "TM704"
    assert "overlaps default/cartservice of team 'cart-team'" in found["message"]
    assert f"cart-team/{TEAM_FILES['cart-team']}:3" in found["message"]
    assert "default/shadow" not in client.get("/api/v1/graph").text
    _cart_team_can_still_push(client)
    own = _service("shadow", "aaa", "app: shadow")
    assert (
        put(client, "aaa", [{"path": "svc.yaml", "content": own}], token=mallory).status_code == 200
    )


def test_the_platform_scope_cannot_hold_a_teams_service(client: httpx.Client) -> None:
    push_example(client)
    body = files("organization.yaml", "teams.yaml")
    body.append({"path": "takeover.yaml", "content": _cart_file(client)})
    answer = put(client, "platform", body)
    assert answer.status_code == 403
    found = answer.json()["error"]["diagnostics"]
    assert {d["code"] for d in found} == {"TM701"}
    assert {d["file"] for d in found} == {"takeover.yaml"}
    assert client.get("/api/v1/services/default/cartservice").json()["team"] == "cart-team"


def test_a_service_moves_only_when_its_owner_offers_and_the_receivers_owner_accepts(
    client: httpx.Client,
) -> None:
    mallory = _with_attacker(client)
    cart = token_for(client, "cart-team", "cart-lead@example.com")
    checkout = token_for(client, "checkout-team", "checkout-lead@example.com")
    offer = "/api/v1/services/default/cartservice/transfer"
    assert client.post(offer, json={"to": "aaa"}, headers=_bearer(mallory)).status_code == 403
    assert client.post(offer, json={"to": "aaa"}, headers=AS_ADMIN).status_code == 403
    offered = client.post(offer, json={"to": "checkout-team"}, headers=_bearer(cart))
    assert offered.status_code == 201, offered.text
    transfer = offered.json()["id"]
    for thief in (mallory, cart, ADMIN_TOKEN):
        refused = client.post(f"/api/v1/transfers/{transfer}/accept", headers=_bearer(thief))
        assert refused.status_code == 403
    accepted = client.post(f"/api/v1/transfers/{transfer}/accept", headers=_bearer(checkout))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "accepted"
    actions = [e["action"] for e in client.get("/api/v1/audit").json()["entries"]]
    assert [a for a in actions if "transfer" in a] == ["transfer.request", "transfer.accept"]
    _checkout_takes_over_the_cart(client, cart, checkout)


ADMIN_TOKEN = AS_ADMIN["Authorization"].removeprefix("Bearer ")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _checkout_takes_over_the_cart(client: httpx.Client, cart: str, checkout: str) -> None:
    old = _cart_file(client)
    still = put(client, "cart-team", [{"path": "c.yaml", "content": old}], token=cart)
    assert still.status_code == 409
    assert still.json()["error"]["diagnostics"][0]["code"] == "TM703"
    cartservice, redis = old.split("\n---\n")
    moved = cartservice.replace("team: cart-team", "team: checkout-team")
    body = [*files(TEAM_FILES["checkout-team"]), {"path": "services/cart.yaml", "content": moved}]
    taken = put(client, "checkout-team", body, token=checkout)
    assert taken.status_code == 200, taken.text
    assert client.get("/api/v1/services/default/cartservice").json()["team"] == "checkout-team"
    left = put(client, "cart-team", [{"path": "c.yaml", "content": redis}], token=cart)
    assert left.status_code == 200, left.text
    assert not [
        d
        for d in client.get("/api/v1/diagnostics").json()["diagnostics"]
        if d["severity"] == "error"
    ]


def test_the_cli_offers_lists_and_accepts_a_transfer(
    client: httpx.Client, registry_url: str
) -> None:
    push_example(client)
    cart = token_for(client, "cart-team", "cart-lead@example.com")
    checkout = token_for(client, "checkout-team", "checkout-lead@example.com")
    server = ["--server", registry_url]
    offered = _cli(
        "service",
        "transfer",
        "default/redis-cart",
        "--to",
        "checkout-team",
        *server,
        "--token",
        cart,
    )
    assert offered.exit_code == 0, offered.output
    assert "offered: #1 default/redis-cart: cart-team -> checkout-team (pending" in offered.output
    listed = _cli("service", "transfers", "--state", "pending", "--format", "json", *server)
    assert [t["service"] for t in json.loads(listed.output)] == ["default/redis-cart"]
    refused = _cli("service", "accept", "1", *server, "--token", cart)
    assert refused.exit_code == 2
    accepted = _cli("service", "accept", "1", *server, "--token", checkout)
    assert accepted.exit_code == 0, accepted.output
    assert "accepted" in accepted.output


def _cli(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)
