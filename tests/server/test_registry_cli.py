"""The client commands against a live registry: push, pull, pending, approve, reject."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result
from registry_helpers import ADMIN, EXAMPLE, TEAM_FILES, files, put, token_for

from trustmap.cli import cli


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    """A copy of the Online Boutique to push from, as the current directory."""
    shutil.copytree(EXAMPLE, tmp_path / "repo")
    here = Path.cwd()
    os.chdir(tmp_path / "repo")
    try:
        yield tmp_path / "repo"
    finally:
        os.chdir(here)


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _platform(client: httpx.Client) -> None:
    assert put(client, "platform", files("organization.yaml", "teams.yaml")).status_code == 200


def test_push_then_pull_round_trips_a_teams_files(
    client: httpx.Client, registry_url: str, workdir: Path
) -> None:
    _platform(client)
    token = token_for(client, "catalog", "catalog-lead@example.com")
    pushed = _run(
        "push",
        TEAM_FILES["catalog"],
        "--team",
        "catalog",
        "--server",
        registry_url,
        "--token",
        token,
        "-m",
        "first",
    )
    assert pushed.exit_code == 0, pushed.output
    assert "team catalog: version 2" in pushed.output
    pulled = _run(
        "pull", "--team", "catalog", "--server", registry_url, "--out", str(workdir / "pulled")
    )
    assert pulled.exit_code == 0, pulled.output
    assert (workdir / "pulled" / TEAM_FILES["catalog"]).read_text() == (
        workdir / TEAM_FILES["catalog"]
    ).read_text()
    again = _run(
        "push",
        TEAM_FILES["catalog"],
        "--team",
        "catalog",
        "--server",
        registry_url,
        "--token",
        token,
    )
    assert again.exit_code == 0
    assert "unchanged" in again.output


def test_push_with_errors_prints_local_file_line_col_and_exits_1(
    client: httpx.Client, registry_url: str, workdir: Path
) -> None:
    _platform(client)
    broken = workdir / TEAM_FILES["qa"]
    broken.write_text(broken.read_text().replace("default/frontend", "default/frontendd"))
    result = _run(
        "push", TEAM_FILES["qa"], "--team", "qa", "--server", registry_url, "--token", ADMIN
    )
    assert result.exit_code == 1
    assert f"{TEAM_FILES['qa']}:" in result.output
    assert "TM203" in result.output


def test_push_with_a_stale_if_match_exits_2(
    client: httpx.Client, registry_url: str, workdir: Path
) -> None:
    _platform(client)
    result = _run(
        "push",
        TEAM_FILES["catalog"],
        "--team",
        "catalog",
        "--server",
        registry_url,
        "--token",
        ADMIN,
        "--if-match",
        '"catalog@7"',
    )
    assert result.exit_code == 2
    assert "412" in result.output


def test_pending_and_approve_by_edge_name(
    client: httpx.Client, registry_url: str, workdir: Path
) -> None:
    _platform(client)
    for team, path in TEAM_FILES.items():
        assert (
            _run("push", path, "--team", team, "--server", registry_url, "--token", ADMIN).exit_code
            == 0
        )
    qa = workdir / TEAM_FILES["qa"]
    qa.write_text(
        qa.read_text()
        + "    - service: default/cartservice\n      interface: grpc\n      reason: load test the cart\n"
    )
    pushed = _run(
        "push", TEAM_FILES["qa"], "--team", "qa", "--server", registry_url, "--token", ADMIN
    )
    assert pushed.exit_code == 0
    assert "pending" in pushed.output
    listed = _run("pending", "--server", registry_url, "--format", "json")
    rows = json.loads(listed.output)
    assert [r["edge"] for r in rows] == ["default/loadgenerator -> default/cartservice:grpc"]
    owner = token_for(client, "cart-team", "cart-lead@example.com")
    approved = _run(
        "approve",
        "default/loadgenerator->default/cartservice:grpc",
        "--comment",
        "ok",
        "--server",
        registry_url,
        "--token",
        owner,
    )
    assert approved.exit_code == 0
    assert "approved by cart-lead@example.com" in approved.output
    assert json.loads(_run("pending", "--server", registry_url, "--format", "json").output) == []
    refused = _run("reject", str(rows[0]["id"]), "--server", registry_url, "--token", ADMIN)
    assert refused.exit_code == 2
    assert "403" in refused.output


def test_an_unreachable_registry_exits_2(workdir: Path) -> None:
    result = _run("pending", "--server", "http://127.0.0.1:9")
    assert result.exit_code == 2
    assert "cannot reach" in result.output
