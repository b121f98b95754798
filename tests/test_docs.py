"""Documentation stays complete: every diagnostic code and every command is documented."""

from __future__ import annotations

import re
from pathlib import Path

import click
import click.testing

from trustmap.cli import cli
from trustmap.codes import CODES

ROOT = Path(__file__).resolve().parents[1]


def _commands(group: click.Group, prefix: str = "") -> list[str]:
    names = []
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, name
        names.append(f"{prefix}{name}")
        if isinstance(command, click.Group):
            names += _commands(command, f"{prefix}{name} ")
    return names


def test_every_diagnostic_code_is_documented_with_its_severity() -> None:
    text = (ROOT / "docs" / "diagnostics.md").read_text()
    rows = dict(re.findall(r"^\| (TM\d{3}) \| (error|warning|info) \|", text, re.M))
    missing = [code for code in CODES if code not in rows]
    assert not missing, f"undocumented codes in docs/diagnostics.md: {missing}"
    wrong = [code for code, info in CODES.items() if rows[code] != info.severity]
    assert not wrong, f"severity in docs differs from the registry: {wrong}"


def test_every_command_is_documented() -> None:
    text = (ROOT / "docs" / "cli.md").read_text()
    missing = [name for name in _commands(cli) if name.split()[-1] not in text]
    assert not missing, f"commands missing from docs/cli.md: {missing}"


def test_every_command_has_help_with_examples() -> None:
    runner = click.testing.CliRunner()
    for name in _commands(cli):
        result = runner.invoke(cli, [*name.split(), "--help"])
        assert result.exit_code == 0, name
        command: click.Command = cli
        for part in name.split():
            assert isinstance(command, click.Group)
            found = command.get_command(click.Context(command), part)
            assert found is not None
            command = found
        if not isinstance(command, click.Group) and command.name not in {"schema"}:
            parent_has = "Examples" in result.output or "Examples" in (cli.epilog or "")
            assert parent_has, f"`trustmap {name} --help` shows no examples"
