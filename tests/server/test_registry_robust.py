"""Robustness against an inside attacker and a failing database: long principals, file names
pull cannot write, denials while the lock is held or by the thousand, outages, bad start-ups."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg
import pytest
from registry_helpers import AS_ADMIN, TEAM_FILES, files, push_example, put
from registry_live import serve
from sqlalchemy import create_engine, text

from conftest import settings_for
from trustmap.server import create_app, store
from trustmap.server.db import normalise_url

TRUSTMAP = str(Path(sys.executable).parent / "trustmap")


def test_a_principal_too_long_for_the_log_gets_422_and_a_long_one_still_pushes(
    client: httpx.Client,
) -> None:
    push_example(client)
    refused = client.post(
        "/api/v1/tokens", json={"team": "qa", "principal": "p" * 321}, headers=AS_ADMIN
    )
    assert refused.status_code == 422
    refused = client.post(
        "/api/v1/tokens", json={"team": "qa", "principal": "p" * 201}, headers=AS_ADMIN
    )
    assert refused.status_code == 422
    long_team = "t" * 63
    made = client.post(
        "/api/v1/tokens", json={"team": long_team, "principal": "p" * 200}, headers=AS_ADMIN
    )
    assert made.status_code == 201
    token = made.json()["token"]
    answer = put(client, long_team, [{"path": "x.yaml", "content": "# none\n"}], token=token)
    assert answer.status_code == 200, answer.text
    assert put(client, "qa", files(TEAM_FILES["qa"]), token=token).status_code == 403
    assert client.get("/api/v1/audit/verify").json()["valid"] is True


BAD_PATHS = {
    "dot": [".", "x"],
    "dot inside": ["a/./b.yaml"],
    "dot dot": ["../b.yaml"],
    "absolute": ["/etc/x.yaml"],
    "home": ["~/x.yaml"],
    "drive": ["C:/x.yaml"],
    "backslash": ["a\\b.yaml"],
    "control": ["a\tb.yaml"],
    "bidi": ["gnp.\u202eyaml"],
    "file and folder": ["a.yaml", "a.yaml/b.yaml"],
    "case only": ["A.yaml", "a.yaml"],
    "empty part": ["a//b.yaml"],
}


@pytest.mark.parametrize("how", sorted(BAD_PATHS))
def test_file_names_pull_cannot_write_are_refused_at_push(how: str, client: httpx.Client) -> None:
    push_example(client)
    body = [{"path": p, "content": "# nothing\n"} for p in BAD_PATHS[how]]
    answer = put(client, "qa", body)
    assert answer.status_code == 422, answer.text
    assert {d["code"] for d in answer.json()["error"]["diagnostics"]} == {"TM702"}


def _holding_the_write_lock(url: str) -> tuple[object, object]:
    engine = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    conn = engine.connect()
    if url.startswith("sqlite"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")
        conn.execute(text("SELECT * FROM head WHERE id = 1 FOR UPDATE"))
    return engine, conn


def test_a_bad_token_gets_401_quickly_while_another_write_holds_the_lock(
    client: httpx.Client, database_url: str
) -> None:
    push_example(client)
    engine, conn = _holding_the_write_lock(database_url)
    try:
        started = time.monotonic()
        answer = put(client, "qa", files(TEAM_FILES["qa"]), token="tmt_not-a-token")
        assert answer.status_code == 401
        assert time.monotonic() - started < 15
    finally:
        conn.close()  # type: ignore[attr-defined]
        engine.dispose()  # type: ignore[attr-defined]
    later = put(client, "qa", files(TEAM_FILES["qa"]), token="tmt_not-a-token-either")
    assert later.status_code == 401
    denied = [e for e in client.get("/api/v1/audit").json()["entries"] if e["action"] == "denied"]
    assert json.loads(denied[-1]["detail"])["suppressed"] == 1


def test_a_flood_of_refused_requests_does_not_grow_the_log_without_bound(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "DENIALS_PER_MINUTE", 5)
    for n in range(20):
        answer = client.get("/api/v1/tokens", headers={"Authorization": f"Bearer tmt_{n}"})
        assert answer.status_code == 401
    entries = client.get("/api/v1/audit").json()["entries"]
    assert len([e for e in entries if e["action"] == "denied"]) <= 5


def test_the_readiness_endpoint_checks_the_database(client: httpx.Client) -> None:
    answer = client.get("/api/v1/ready")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ready"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_database_outage_answers_503_with_retry_after(database_url: str) -> None:
    """PostgreSQL only: an outage is made by refusing new connections to the test database and
    ending the open ones (SQLite is a file in-process; it has no outage to simulate)."""
    name = database_url.rsplit("/", 1)[1]
    admin = database_url.replace("postgresql+psycopg", "postgresql").rsplit("/", 1)[0]
    with serve(create_app(settings_for(database_url))) as url, httpx.Client(base_url=url) as http:
        assert http.get("/api/v1/ready").status_code == 200
        with psycopg.connect(f"{admin}/postgres", autocommit=True) as conn:
            conn.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
        try:
            for path in ("/api/v1/ready", "/api/v1/graph", "/api/v1/teams"):
                answer = http.get(path)
                assert answer.status_code == 503, (path, answer.text)
                assert answer.headers["retry-after"] == "5"
            assert http.get("/api/v1/health").status_code == 200
        finally:
            with psycopg.connect(f"{admin}/postgres", autocommit=True) as conn:
                conn.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")


def test_serving_an_unreachable_database_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            TRUSTMAP,
            "serve",
            "--database-url",
            "postgresql://trustmap:secret@127.0.0.1:1/x",
            "--port",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: cannot reach the registry database postgresql://***@")
    assert "secret" not in done.stderr + done.stdout
