"""The audit log is append-only and hash-chained: any edit, deletion or reordering is detected."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from click.testing import CliRunner
from registry_helpers import push_example, qa_wants_the_cart, run_sql, token_for

from trustmap.cli import cli


def _verify_cli(url: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["audit", "verify", "--server", url])
    return result.exit_code, result.output


def _activity(client: httpx.Client) -> None:
    push_example(client)
    qa_wants_the_cart(client)
    token_for(client, "cart-team", "cart-lead@example.com")
    client.post("/api/v1/tokens", json={"team": "qa", "principal": "x"})  # denied, logged


def test_the_chain_holds_after_pushes_approvals_tokens_and_denials(
    client: httpx.Client, registry_url: str
) -> None:
    _activity(client)
    report = client.get("/api/v1/audit/verify").json()
    assert report["valid"] is True
    assert report["entries"] >= 9
    code, output = _verify_cli(registry_url)
    assert code == 0
    assert "intact" in output
    entries = client.get("/api/v1/audit").json()["entries"]
    assert [e["prev_hash"] for e in entries[1:]] == [e["hash"] for e in entries[:-1]]


TAMPERING: dict[str, Callable[[], tuple[str, ...]]] = {
    "edited": lambda: ("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3",),
    "deleted": lambda: ("DELETE FROM audit_log WHERE seq = 4",),
    "truncated": lambda: ("DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)",),
    "reordered": lambda: (
        "UPDATE audit_log SET seq = -1 WHERE seq = 2",
        "UPDATE audit_log SET seq = 2 WHERE seq = 3",
        "UPDATE audit_log SET seq = 3 WHERE seq = -1",
    ),
}


@pytest.mark.parametrize("how", sorted(TAMPERING))
def test_audit_verify_detects_a_tampered_entry(
    how: str, client: httpx.Client, registry_url: str, database_url: str
) -> None:
    _activity(client)
    run_sql(database_url, *TAMPERING[how]())
    report = client.get("/api/v1/audit/verify").json()
    assert report["valid"] is False
    assert report["breaks"]
    code, output = _verify_cli(registry_url)
    assert code == 1
    assert "BROKEN" in output


def test_an_anchor_from_an_earlier_verify_catches_a_rewritten_history(
    client: httpx.Client, registry_url: str, database_url: str
) -> None:
    _activity(client)
    entries = client.get("/api/v1/audit").json()["entries"]
    anchor = f"{entries[1]['seq']}:{entries[1]['hash']}"
    assert (
        CliRunner()
        .invoke(cli, ["audit", "verify", "--server", registry_url, "--anchor", anchor])
        .exit_code
        == 0
    )
    run_sql(database_url, "UPDATE audit_log SET hash = 'x' WHERE seq = 2")
    assert (
        CliRunner()
        .invoke(cli, ["audit", "verify", "--server", registry_url, "--anchor", anchor])
        .exit_code
        == 1
    )
