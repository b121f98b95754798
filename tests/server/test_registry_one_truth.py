"""One source of truth: after an approval, the pulled files of every team compile to exactly
what the registry serves at ``/api/v1/policies/<target>``; the CLI reads the registry's graph.

Before, a pull wrote ``approvedBy`` into the caller's file only: the provider's ``consumers``
stayed as they were, so compiling the pulled files denied the call the registry allowed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import yaml
from click.testing import CliRunner, Result
from registry_helpers import TEAM_FILES, TODAY, files, push_example, put, token_for

from trustmap.cli import cli
from trustmap.dialects import compile_graph
from trustmap.graph import load_graph

GET_CART = "hipstershop.CartService/GetCart"


def _pull_everything(client: httpx.Client, root: Path) -> None:
    for team in client.get("/api/v1/teams").json()["teams"]:
        pulled = client.get(f"/api/v1/teams/{team['name']}/declarations").json()
        for item in pulled["files"]:
            target = root / team["name"] / item["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(item["content"], encoding="utf-8")


def _compiled_locally(root: Path, target: str) -> list[Any]:
    here = Path.cwd()
    os.chdir(root)
    try:
        graph = load_graph([Path(".")], TODAY)
    finally:
        os.chdir(here)
    return [m for _, m in compile_graph(graph, target, None).objects]


def _approved_cart_call(client: httpx.Client) -> None:
    push_example(client)
    body = files(TEAM_FILES["qa"])
    body[0]["content"] += (
        "    - service: default/cartservice\n      interface: grpc\n"
        f"      methods: [{GET_CART}]\n      reason: read carts in load tests\n"
    )
    request = put(client, "qa", body).json()["pending"][0]
    owner = token_for(client, "cart-team", "cart-lead@example.com")
    answer = client.post(
        f"/api/v1/approvals/{request['id']}/approve",
        json={},
        headers={"Authorization": f"Bearer {owner}"},
    )
    assert answer.status_code == 200, answer.text


def test_pulled_files_of_all_teams_compile_to_the_registrys_policies(
    client: httpx.Client, tmp_path: Path
) -> None:
    _approved_cart_call(client)
    _pull_everything(client, tmp_path)
    cart = (tmp_path / "cart-team" / TEAM_FILES["cart-team"]).read_text()
    assert '"default/loadgenerator"' in cart
    for target in ("kubernetes", "istio"):
        served = client.get(f"/api/v1/policies/{target}", params={"format": "json"}).json()
        local = _compiled_locally(tmp_path, target)
        assert local == served["objects"], target
        assert "loadgenerator" in str(served["objects"])


def test_cli_commands_read_the_registrys_graph_with_server(
    client: httpx.Client, registry_url: str, tmp_path: Path
) -> None:
    _approved_cart_call(client)
    here = Path.cwd()
    os.chdir(tmp_path)
    try:
        compiled = _cli(
            "compile",
            "--server",
            registry_url,
            "--target",
            "kubernetes",
            "--out",
            "out",
            "--now",
            TODAY.isoformat(),
        )
        assert compiled.exit_code in (0, 1), compiled.output
        explained = _cli(
            "explain",
            "default/loadgenerator",
            "default/cartservice",
            "--server",
            registry_url,
            "--now",
            TODAY.isoformat(),
            "--format",
            "json",
        )
        callers = _cli(
            "query",
            "callers",
            "default/cartservice",
            "--server",
            registry_url,
            "--now",
            TODAY.isoformat(),
            "--format",
            "json",
        )
        both = _cli("graph", ".", "--server", registry_url)
    finally:
        os.chdir(here)
    written = "".join(p.read_text() for p in sorted((tmp_path / "out").rglob("*.yaml")))
    served = client.get("/api/v1/policies/kubernetes").text
    assert "loadgenerator" in written
    assert "loadgenerator" in served
    assert sorted(yaml.safe_load_all(written), key=str) == sorted(
        yaml.safe_load_all(served), key=str
    )
    assert json.loads(explained.output)["allowed"] is True, explained.output
    assert "default/loadgenerator" in callers.output
    assert both.exit_code == 2
    assert "not both" in both.output


def _cli(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)
