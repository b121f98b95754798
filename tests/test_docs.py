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


# --- the README's promises and the examples in the docs are true --------------------------------

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHARED = ROOT.parent / "shared"


def _command(path: str) -> click.Command:
    command: click.Command = cli
    for part in path.split():
        assert isinstance(command, click.Group), path
        found = command.get_command(click.Context(command), part)
        assert found is not None, path
        command = found
    return command


def _format_choices(command: click.Command) -> set[str]:
    for param in command.params:
        if "--format" in getattr(param, "opts", ()) and isinstance(param.type, click.Choice):
            return {str(c) for c in param.type.choices}
    return set()


def test_the_readme_names_exactly_the_commands_that_print_json() -> None:
    text = (ROOT / "README.md").read_text()
    sentence = re.search(r"take `--format json`:(.*?);", text, re.S)
    assert sentence is not None, "README must say which commands take --format json"
    named = set(re.findall(r"`([a-z ]+)`", sentence.group(1)))
    with_json = {name for name in _commands(cli) if "json" in _format_choices(_command(name))}
    unnamed = {name for name in with_json if name not in named and name.split()[0] not in named}
    assert not unnamed, f"commands with --format json that the README does not name: {unnamed}"
    wrong = {n for n in named if not any(w == n or w.startswith(n + " ") for w in with_json)}
    assert not wrong, f"the README says these take --format json, but they do not: {wrong}"


def test_format_and_registry_docs_agree_that_the_platform_team_owns_team_documents() -> None:
    form = (ROOT / "docs" / "format.md").read_text()
    registry = (ROOT / "docs" / "registry.md").read_text()
    (row,) = [line for line in form.splitlines() if line.startswith("| `Team` |")]
    assert "platform team" in row
    assert "Organization and Team documents live in the platform scope" in registry


def test_the_registry_docs_explain_the_team_prefix_of_file_paths() -> None:
    registry = (ROOT / "docs" / "registry.md").read_text()
    assert "`<team>/<path as pushed>`" in registry


_SAMPLE = re.compile(r"```text format=(\S+)([^\n]*)\n(.*?)```", re.S)


def test_observe_docs_show_a_sample_line_of_every_input_format_and_each_one_ingests(
    tmp_path: Path,
) -> None:
    text = (ROOT / "docs" / "observe.md").read_text()
    samples = {fmt: (extra.split(), body) for fmt, extra, body in _SAMPLE.findall(text)}
    assert "```csv\ntime," in text
    assert set(samples) | {"csv"} == _format_choices(_command("observe ingest"))
    runner = click.testing.CliRunner()
    for fmt, (extra, body) in samples.items():
        source = tmp_path / f"{fmt}.sample"
        source.write_text(body)
        db = tmp_path / f"{fmt}.duckdb"
        args = ["observe", "ingest", str(source), "--format", fmt, *extra, "--db", str(db)]
        result = runner.invoke(cli, args, catch_exceptions=False)
        assert result.exit_code == 0, (fmt, result.output)
        assert "1 records read, 1 flows stored" in result.output, (fmt, result.output)
        assert "0 malformed" in result.output
