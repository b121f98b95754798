"""Tokens and access: hashed at rest, revocable, scoped to a team; every refusal is logged."""

from __future__ import annotations

from pathlib import Path

import httpx
from registry_helpers import AS_ADMIN, TEAM_FILES, files, push_example, put, token_for
from registry_live import serve
from sqlalchemy import create_engine, text

from conftest import settings_for
from trustmap.server import create_app
from trustmap.server.db import normalise_url


def _every_stored_text(url: str) -> str:
    engine = create_engine(normalise_url(url))
    with engine.connect() as conn:
        rows = [
            str(row)
            for table in ("tokens", "audit_log", "versions")
            for row in conn.execute(text(f"SELECT * FROM {table}"))
        ]
    engine.dispose()
    return "\n".join(rows)


def test_tokens_are_stored_only_as_hashes_and_stop_working_when_revoked(
    client: httpx.Client, database_url: str
) -> None:
    push_example(client)
    token = token_for(client, "qa", "qa-lead@example.com")
    assert token not in _every_stored_text(database_url)
    body = files(TEAM_FILES["qa"])
    body[0]["content"] += "\n# by qa\n"
    assert put(client, "qa", body, token=token).status_code == 200
    listed = client.get("/api/v1/tokens", headers=AS_ADMIN).json()["tokens"]
    assert all("token" not in t and "hash" not in t for t in listed)
    token_id = next(t["id"] for t in listed if t["principal"] == "qa-lead@example.com")
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=AS_ADMIN).status_code == 200
    assert put(client, "qa", files(TEAM_FILES["qa"]), token=token).status_code == 401


def test_a_team_may_change_only_its_own_services(client: httpx.Client) -> None:
    push_example(client)
    qa = token_for(client, "qa", "qa-lead@example.com")
    other_team = put(client, "catalog", files(TEAM_FILES["catalog"]), token=qa)
    assert other_team.status_code == 403
    smuggled = put(client, "qa", files(TEAM_FILES["qa"], TEAM_FILES["catalog"]), token=qa)
    assert smuggled.status_code == 403
    found = smuggled.json()["error"]["diagnostics"]
    assert {d["code"] for d in found} == {"TM701"}
    assert all(d["file"] == TEAM_FILES["catalog"] and d["line"] > 0 for d in found)
    platform = put(client, "qa", files("teams.yaml"), token=qa)
    assert platform.status_code == 403
    assert "platform scope" in platform.json()["error"]["diagnostics"][0]["message"]
    outside = files(TEAM_FILES["qa"])
    outside[0]["content"] = outside[0]["content"].replace(
        "namespace: default", "namespace: kube-system"
    )
    assert put(client, "qa", outside, token=qa).status_code == 403
    denied = [e for e in client.get("/api/v1/audit").json()["entries"] if e["action"] == "denied"]
    assert len(denied) == 4
    assert all(e["actor"] == "qa:qa-lead@example.com" for e in denied)


def test_only_the_admin_manages_tokens_and_bad_tokens_are_refused(client: httpx.Client) -> None:
    qa = token_for(client, "qa", "qa-lead@example.com")
    as_qa = {"Authorization": f"Bearer {qa}"}
    assert (
        client.post(
            "/api/v1/tokens", json={"team": "qa", "principal": "x"}, headers=as_qa
        ).status_code
        == 403
    )
    assert client.get("/api/v1/tokens", headers=as_qa).status_code == 403
    assert (
        client.get("/api/v1/graph", headers={"Authorization": "Bearer tmt_forged"}).status_code
        == 401
    )
    assert put(client, "qa", [], token=None).status_code == 401
    audit = client.get("/api/v1/audit").json()["entries"]
    assert [e["action"] for e in audit].count("denied") == 4
    assert any(e["actor"] == "anonymous" for e in audit if e["action"] == "denied")


def test_token_only_read_access_refuses_anonymous_readers(
    database_url: str, tmp_path: Path
) -> None:
    app = create_app(settings_for(database_url, read_access="token"))
    with serve(app) as url, httpx.Client(base_url=url) as http:
        assert http.get("/api/v1/graph").status_code == 401
        assert http.get("/api/v1/services").json()["error"]["status"] == 401
        page = http.get("/", follow_redirects=False)
        assert page.status_code == 303
        assert page.headers["location"].startswith("/login")
        token = token_for(http, "qa", "qa-lead@example.com")
        assert (
            http.get("/api/v1/graph", headers={"Authorization": f"Bearer {token}"}).status_code
            == 200
        )
        assert http.get("/api/v1/health").status_code == 200
