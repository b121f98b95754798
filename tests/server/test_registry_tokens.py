"""Tokens and setup: the admin token never on a command line and strong enough; ``trustmap
token``; and the quickstart of docs/registry.md executed step by step against a live registry."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result
from pydantic import ValidationError
from registry_helpers import ADMIN, ROOT

from trustmap.cli import cli
from trustmap.server import Settings

TRUSTMAP = str(Path(sys.executable).parent / "trustmap")


def _run(args: list[str], env: dict[str, str]) -> Result:
    return CliRunner().invoke(cli, args, env=env, catch_exceptions=False)


def test_token_create_list_revoke_with_the_admin_token_from_env_or_file(
    client: httpx.Client, registry_url: str, tmp_path: Path
) -> None:
    env = {"TRUSTMAP_SERVER": registry_url, "TRUSTMAP_ADMIN_TOKEN": ADMIN}
    made = _run(["token", "create", "--team", "qa", "--principal", "q@x", "--format", "json"], env)
    assert made.exit_code == 0, made.output
    secret = json.loads(made.output)["token"]
    assert client.get("/api/v1/ready", headers={"Authorization": f"Bearer {secret}"}).is_success
    secret_file = tmp_path / "admin.token"
    secret_file.write_text(ADMIN + "\n")
    by_file = {"TRUSTMAP_SERVER": registry_url, "TRUSTMAP_ADMIN_TOKEN": ""}
    listed = _run(
        ["token", "list", "--admin-token-file", str(secret_file), "--format", "json"], by_file
    )
    assert [t["principal"] for t in json.loads(listed.output)] == ["q@x"]
    token_id = str(json.loads(listed.output)[0]["id"])
    revoked = _run(["token", "revoke", token_id], env)
    assert revoked.exit_code == 0
    assert "revoked" in revoked.output
    answer = client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 401
    nothing = _run(["token", "list"], {"TRUSTMAP_SERVER": registry_url, "TRUSTMAP_ADMIN_TOKEN": ""})
    assert nothing.exit_code == 2


def test_the_admin_token_is_never_a_command_line_argument_and_must_be_strong(
    tmp_path: Path,
) -> None:
    refused = CliRunner().invoke(cli, ["serve", "--admin-token", ADMIN])
    assert refused.exit_code == 2
    assert "No such option" in refused.output
    for weak in ("short", "a" * 40):
        with pytest.raises(ValidationError):
            Settings(admin_token=weak)  # type: ignore[arg-type]
    weak_file = tmp_path / "weak.token"
    weak_file.write_text("password\n")
    done = subprocess.run(
        [
            TRUSTMAP,
            "serve",
            "--admin-token-file",
            str(weak_file),
            "--database-url",
            f"sqlite:///{tmp_path / 'r.db'}",
            "--port",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "TRUSTMAP_ADMIN_TOKEN": ""},
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        line for line in done.stderr.strip().splitlines() if line.startswith("error:")
    ]
    assert "at least 32" in done.stderr


def _quickstart() -> list[str]:
    text = (ROOT / "docs" / "registry.md").read_text()
    block = text.split("## Quickstart")[1].split("```sh\n")[1].split("```")[0]
    return block.splitlines()


def test_the_quickstart_runs_as_written(registry_url: str, tmp_path: Path) -> None:
    env = {"TRUSTMAP_SERVER": registry_url, "TRUSTMAP_ADMIN_TOKEN_FILE": "admin.token"}
    (tmp_path / "admin.token").write_text(ADMIN + "\n")
    here = Path.cwd()
    os.chdir(tmp_path)
    try:
        outputs = _execute(_quickstart(), env)
    finally:
        os.chdir(here)
    assert "pending #1 shop/web -> pay/api:http" in outputs["push shop/web.yaml --team shop"]
    assert "charge the customer at checkout" in outputs["pending"]
    assert "intact" in outputs["audit verify --anchor anchors.txt"]
    pulled = (tmp_path / "pulled" / "payments" / "payments" / "api.yaml").read_text()
    assert '"shop/web"' in pulled
    policies = "".join(p.read_text() for p in (tmp_path / "policies").rglob("*.yaml"))
    assert "app: web" in policies
    served = "".join(p.read_text() for p in (tmp_path / "policies-from-registry").rglob("*.yaml"))
    assert "app: web" in served


def _execute(lines: list[str], env: dict[str, str]) -> dict[str, str]:
    outputs: dict[str, str] = {}
    n = 0
    while n < len(lines):
        line = lines[n].split("  #")[0].strip()
        n += 1
        heredoc = re.match(r"cat > (\S+) <<'YAML'$", line)
        if heredoc:
            end = lines.index("YAML", n)
            Path(heredoc[1]).write_text("\n".join(lines[n:end]) + "\n")
            n = end + 1
        elif line.startswith("mkdir -p "):
            for folder in line.split()[2:]:
                Path(folder).mkdir(parents=True, exist_ok=True)
        elif line.startswith("export ") and "$(trustmap" in line:
            name, command = re.match(r"export (\w+)=\$\((.*) \| jq -r \.token\)$", line).groups()  # type: ignore[union-attr]
            env[name] = json.loads(_trustmap(command, env).output)["token"]
        elif "trustmap " in line and not line.startswith(("#", "pip ", "trustmap serve")):
            extra, _, command = line.partition("trustmap ")
            scoped = dict(env)
            if extra.startswith("TRUSTMAP_TOKEN=$"):
                scoped["TRUSTMAP_TOKEN"] = env[extra.strip().split("$")[1]]
            result = _trustmap("trustmap " + command, scoped)
            outputs[command.strip()] = result.output
    return outputs


def _trustmap(command: str, env: dict[str, str]) -> Result:
    args = [env.get(a[1:], a) if a.startswith("$") else a for a in shlex.split(command)[1:]]
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, (command, result.output)
    return result
