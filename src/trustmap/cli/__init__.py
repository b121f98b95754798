"""The ``trustmap`` command: a click group whose commands parse, call one library function,
render and exit (0 clean, 1 findings, 2 usage or unreadable input)."""

from __future__ import annotations

import sys

import click

from trustmap import __version__
from trustmap.cli.commands import COMMANDS

__all__ = ["main"]

_EPILOG = """\b
Examples:
  trustmap validate examples/online-boutique
  trustmap query callers default/cartservice examples/online-boutique
  trustmap explain default/frontend default/cartservice examples/online-boutique
  trustmap graph examples/online-boutique --format html -o graph.html
  trustmap schema > trustmap.schema.json
"""


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=_EPILOG,
)
@click.version_option(__version__, prog_name="trustmap")
def cli() -> None:
    """Declare who may call whom in Kubernetes, check it, and compile it into enforcement."""


for _command in COMMANDS:
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point; click's usage errors exit 2."""
    try:
        cli.main(args=argv, prog_name="trustmap", standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        click.echo("interrupted", err=True)
        sys.exit(130)
