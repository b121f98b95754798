"""Provider consent: a new unconsented dependency waits for an owner of the provider's team."""

from __future__ import annotations

import hashlib

import httpx
from registry_helpers import (
    AS_ADMIN,
    CART_CALL,
    TEAM_FILES,
    files,
    flows,
    push_example,
    put,
    qa_wants_the_cart,
    token_for,
)


def _compiled(client: httpx.Client) -> str:
    answer = client.get("/api/v1/policies/kubernetes")
    assert answer.status_code == 200
    return answer.text


def _edge_flows(client: httpx.Client) -> set[str]:
    return {f.split(" (")[0] for f in flows(client.get("/api/v1/graph").json()["edges"])}


def test_an_unconsented_dependency_is_pending_and_never_compiled(client: httpx.Client) -> None:
    push_example(client)
    answer = qa_wants_the_cart(client)
    assert answer.status_code == 200, answer.text
    pending = answer.json()["pending"]
    assert [p["edge"] for p in pending] == [CART_CALL]
    assert pending[0]["providerTeam"] == "cart-team"
    assert any(d["code"] == "TM700" for d in answer.json()["diagnostics"])
    assert answer.json()["opened"] == []
    assert CART_CALL not in _edge_flows(client)
    assert CART_CALL not in _compiled(client)
    listed = client.get("/api/v1/approvals", params={"state": "pending"}).json()["approvals"]
    assert [a["edge"] for a in listed] == [CART_CALL]


def test_an_owner_of_the_provider_approves_and_the_flow_opens_with_approved_by(
    client: httpx.Client,
) -> None:
    push_example(client)
    request = qa_wants_the_cart(client).json()["pending"][0]
    owner = token_for(client, "cart-team", "cart-lead@example.com")
    answer = client.post(
        f"/api/v1/approvals/{request['id']}/approve",
        json={"comment": "fine for load tests"},
        headers={"Authorization": f"Bearer {owner}"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "approved"
    assert answer.json()["decidedBy"] == "cart-lead@example.com"
    edges = [
        e
        for e in client.get("/api/v1/graph").json()["edges"]
        if e["source"] == "default/loadgenerator" and e["target"] == "default/cartservice"
    ]
    assert len(edges) == 1
    assert edges[0]["approvedBy"] == "cart-lead@example.com"
    assert CART_CALL in _compiled(client)
    latest = client.get("/api/v1/versions", params={"limit": 1}).json()["versions"][0]
    assert latest["kind"] == "approval"
    assert latest["opened"] == 1
    actions = [e["action"] for e in client.get("/api/v1/audit").json()["entries"]]
    assert actions[-1] == "approve"


def test_a_pull_after_approval_writes_approved_by_into_the_callers_file(
    client: httpx.Client,
) -> None:
    push_example(client)
    request = qa_wants_the_cart(client).json()["pending"][0]
    owner = token_for(client, "cart-team", "cart-lead@example.com")
    headers = {"Authorization": f"Bearer {owner}"}
    client.post(f"/api/v1/approvals/{request['id']}/approve", json={}, headers=headers)
    pulled = client.get("/api/v1/teams/qa/declarations", headers=AS_ADMIN).json()
    content = pulled["files"][0]["content"]
    entry = (
        "    - service: default/cartservice\n      interface: grpc\n"
        "      reason: check the cart directly during load tests\n"
        '      approvedBy: "cart-lead@example.com"\n'
    )
    assert entry in content
    assert pulled["files"][0]["sha256"] == hashlib.sha256(content.encode()).hexdigest()
    again = put(client, "qa", [{"path": pulled["files"][0]["path"], "content": content}])
    assert again.status_code == 200, again.text
    assert again.json()["pending"] == []
    old = client.get(
        "/api/v1/teams/qa/declarations",
        params={"version": request["requestedVersion"]},
        headers=AS_ADMIN,
    ).json()
    assert "cart-lead@example.com" not in old["files"][0]["content"]


def test_only_an_owner_of_the_providers_team_may_decide(client: httpx.Client) -> None:
    push_example(client)
    request = qa_wants_the_cart(client).json()["pending"][0]
    strangers = [
        token_for(client, "qa", "qa-lead@example.com"),  # the caller's own owner
        token_for(client, "cart-team", "ci-bot"),  # the provider's team, not an owner
        token_for(client, "catalog", "cart-lead@example.com"),  # an owner's name on another team
    ]
    for token in strangers:
        answer = client.post(
            f"/api/v1/approvals/{request['id']}/approve",
            json={},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 403, answer.text
    assert (
        client.post(
            f"/api/v1/approvals/{request['id']}/approve", json={}, headers=AS_ADMIN
        ).status_code
        == 403
    )
    assert CART_CALL not in _edge_flows(client)
    denied = [e for e in client.get("/api/v1/audit").json()["entries"] if e["action"] == "denied"]
    assert len(denied) == 4


def test_a_rejection_keeps_the_flow_closed_and_revoking_an_approval_closes_it(
    client: httpx.Client,
) -> None:
    push_example(client)
    request = qa_wants_the_cart(client).json()["pending"][0]
    owner = {"Authorization": f"Bearer {token_for(client, 'cart-team', 'group:cart-oncall')}"}
    rejected = client.post(
        f"/api/v1/approvals/{request['id']}/reject",
        json={"comment": "use the frontend"},
        headers=owner,
    )
    assert rejected.json()["state"] == "rejected"
    assert rejected.json()["comment"] == "use the frontend"
    assert CART_CALL not in _edge_flows(client)
    assert (
        client.post(f"/api/v1/approvals/{request['id']}/reject", json={}, headers=owner).status_code
        == 409
    )
    assert (
        client.post(
            f"/api/v1/approvals/{request['id']}/approve", json={}, headers=owner
        ).status_code
        == 200
    )
    assert CART_CALL in _edge_flows(client)
    revoked = client.post(
        f"/api/v1/approvals/{request['id']}/reject",
        json={"comment": "load tests are over"},
        headers=owner,
    )
    assert revoked.status_code == 200
    assert CART_CALL not in _edge_flows(client)
    latest = client.get("/api/v1/versions", params={"limit": 1}).json()["versions"][0]
    assert latest["kind"] == "revocation"
    assert latest["closed"] == 1


def test_removing_the_dependency_withdraws_its_request(client: httpx.Client) -> None:
    push_example(client)
    qa_wants_the_cart(client)
    assert put(client, "qa", files(TEAM_FILES["qa"])).status_code == 200
    assert client.get("/api/v1/approvals").json()["approvals"] == []
    withdrawn = client.get("/api/v1/approvals", params={"state": "withdrawn"}).json()["approvals"]
    assert [a["edge"] for a in withdrawn] == [CART_CALL]
