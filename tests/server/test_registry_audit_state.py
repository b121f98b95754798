"""The audit log vouches for the state, attacked by someone with write access to the database.

Each case changes stored rows without going through the registry, the way an insider with the
database password would; ``audit verify`` (server and CLI) must name what changed. A whole
rewritten database (entries and head recomputed) passes the chain check and is caught only by an
anchor kept outside the database.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from registry_helpers import ADMIN, push_example, qa_wants_the_cart, run_sql, token_for
from registry_live import serve
from sqlalchemy import create_engine, text

from conftest import settings_for
from trustmap.auditchain import GENESIS, entry_hash
from trustmap.cli import cli
from trustmap.server import create_app
from trustmap.server.db import normalise_url


def _activity(client: httpx.Client) -> None:
    push_example(client)
    qa_wants_the_cart(client)
    cart = token_for(client, "cart-team", "cart-lead@example.com")
    old = token_for(client, "qa", "qa-lead@example.com")
    listed = client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {cart}"})
    assert listed.status_code == 403  # a denial: logged, no state
    token_id = next(
        t["id"]
        for t in client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {ADMIN}"}).json()[
            "tokens"
        ]
        if t["principal"] == "qa-lead@example.com"
    )
    assert old
    client.delete(f"/api/v1/tokens/{token_id}", headers={"Authorization": f"Bearer {ADMIN}"})


def _verify(url: str, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["audit", "verify", "--server", url, *extra])
    return result.exit_code, result.output


STATE_TAMPERING = {
    "approval granted": (
        "UPDATE approvals SET state = 'approved', granted_by = 'cart-lead@example.com', "
        "granted_methods = '[]'",
        "approvals differ",
    ),
    "token un-revoked": ("UPDATE tokens SET revoked_at = NULL", "tokens differ"),
    "team head moved back": (
        "UPDATE team_heads SET version = 2 WHERE team = 'cart-team'",
        "team heads differ",
    ),
    "service owner changed": (
        "UPDATE service_owners SET team = 'qa' WHERE ref = 'default/cartservice'",
        "owners differ",
    ),
    "declarations edited": (
        "UPDATE version_files SET content = content || '# injected' "
        "WHERE path = 'services/catalog.yaml'",
        "was edited",
    ),
    "version inserted": (
        "INSERT INTO versions (number, kind, team, actor, message, created_at, opened, closed) "
        "VALUES (999, 'push', 'qa', 'admin', '', '2026-01-01', 0, 0)",
        "version 999 has no audit entry",
    ),
}


def test_an_untouched_registry_verifies_clean(client: httpx.Client, registry_url: str) -> None:
    _activity(client)
    assert client.get("/api/v1/audit/verify").json()["breaks"] == []
    code, output = _verify(registry_url)
    assert code == 0, output


@pytest.mark.parametrize("how", sorted(STATE_TAMPERING))
def test_audit_verify_detects_state_changed_outside_the_registry(
    how: str, client: httpx.Client, registry_url: str, database_url: str
) -> None:
    _activity(client)
    statement, expected = STATE_TAMPERING[how]
    run_sql(database_url, statement)
    report = client.get("/api/v1/audit/verify").json()
    assert report["valid"] is False
    assert any(expected in b["problem"] for b in report["breaks"]), report["breaks"]
    code, output = _verify(registry_url)
    assert code == 1
    assert expected in output.replace("\n", " ")


def _rewrite_history(url: str) -> None:
    """What an insider with the database can do: edit an entry and rebuild chain and head (a
    consistent rewrite: the change touches nothing the state checks compare)."""
    engine = create_engine(normalise_url(url))
    with engine.begin() as conn:
        rows = conn.execute(
            text("SELECT seq, at, actor, action, subject, detail FROM audit_log ORDER BY seq")
        ).all()
        previous = GENESIS
        for seq, at, actor, action, subject, detail in rows:
            if seq == 2:
                at = "2020-01-01T00:00:00.000000+00:00"  # backdated: nothing else records it
            digest = entry_hash(seq, at, actor, action, subject, detail, previous)
            conn.execute(
                text("UPDATE audit_log SET at=:a, prev_hash=:p, hash=:h WHERE seq=:s"),
                {"a": at, "p": previous, "h": digest, "s": seq},
            )
            previous = digest
        conn.execute(text("UPDATE head SET audit_hash = :h"), {"h": previous})
    engine.dispose()


def test_an_anchor_file_catches_a_database_rewritten_as_a_whole(
    client: httpx.Client, registry_url: str, database_url: str, tmp_path: Path
) -> None:
    _activity(client)
    anchors = tmp_path / "anchors.txt"
    made = CliRunner().invoke(
        cli, ["audit", "anchor", "--server", registry_url, "--file", str(anchors)]
    )
    assert made.exit_code == 0, made.output
    assert anchors.read_text().count(":") >= 1
    assert _verify(registry_url, "--anchor", str(anchors))[0] == 0
    _rewrite_history(database_url)
    assert _verify(registry_url)[0] == 0  # the chain alone cannot tell
    code, output = _verify(registry_url, "--anchor", str(anchors), "--format", "json")
    assert code == 1
    assert any("anchor" in b["problem"] for b in json.loads(output)["breaks"])


KEY = "audit-key-kept-outside-the-database-7Hq2xLp"


def test_signed_entries_catch_a_rewrite_without_the_key(database_url: str, tmp_path: Path) -> None:
    """The audit key lives in the environment or a file, never in the database: an insider who
    rebuilds the chain and head cannot re-sign it, and dropping the signatures shows too."""
    key_file = tmp_path / "audit.key"
    key_file.write_text(KEY + "\n")
    app = create_app(settings_for(database_url, audit_key_file=key_file))
    with serve(app) as url, httpx.Client(base_url=url, timeout=60) as client:
        _activity(client)
        entries = client.get("/api/v1/audit").json()["entries"]
        assert [e["action"] for e in entries if not e["mac"]] == []
        assert KEY not in json.dumps(entries)
        assert _verify(url, "--key-file", str(key_file))[0] == 0
        _rewrite_history(database_url)
        run_sql(database_url, "UPDATE audit_log SET mac = NULL")
        code, output = _verify(url)  # the server holds the key and says so
        assert code == 1
        assert "server: the last entry is not signed" in output.replace("\n", " ")
        code, output = _verify(url, "--key-file", str(key_file))  # checked here too
        assert code == 1
        assert output.count("not signed") >= 2
        report = client.get("/api/v1/audit/verify").json()
        assert any("not signed" in b["problem"] for b in report["breaks"])
