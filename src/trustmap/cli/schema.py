"""``trustmap schema``: the JSON Schema of the declaration format, for editors and CI."""

from __future__ import annotations

import sys

import click

from trustmap.api import json_schema

__all__ = ["schema"]

_EPILOG = """\b
Examples:
  trustmap schema > trustmap.schema.json
  # VS Code (redhat.vscode-yaml), in settings.json:
  #   "yaml.schemas": {"./trustmap.schema.json": "teams/**/*.yaml"}
  # or at the top of a declaration file:
  #   # yaml-language-server: $schema=./trustmap.schema.json
"""


@click.command(epilog=_EPILOG)
def schema() -> None:
    """Print the JSON Schema of trustmap.dev/v1alpha1 declarations."""
    sys.stdout.write(json_schema())
