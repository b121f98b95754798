"""The ``trustmap`` command: a click group whose commands parse, call one library function,
render and exit (0 clean, 1 findings, 2 usage or unreadable input)."""

from __future__ import annotations

import importlib
import sys

import click

from trustmap.cli.commands import COMMANDS
from trustmap.version import __version__

__all__ = ["main"]

_EPILOG = """\b
Examples:
  trustmap validate examples/online-boutique
  trustmap query callers default/cartservice examples/online-boutique
  trustmap explain default/frontend default/cartservice examples/online-boutique
  trustmap graph examples/online-boutique --format html -o graph.html
  trustmap schema > trustmap.schema.json
"""


class _LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attribute = target.split(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        self.commands[cmd_name] = command
        return command


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=_EPILOG,
)
@click.version_option(__version__, prog_name="trustmap")
def cli() -> None:
    """Declare who may call whom in Kubernetes, check it, and compile it into enforcement."""


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point; click's usage errors exit 2."""
    try:
        cli.main(args=argv, prog_name="trustmap", standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        click.echo("interrupted", err=True)
        sys.exit(130)
