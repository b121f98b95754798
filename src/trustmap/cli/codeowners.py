"""``trustmap codeowners``: a CODEOWNERS file so that the provider's owners review its consumers."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from trustmap import api
from trustmap.cli.common import exit_for, load, paths_argument, stderr
from trustmap.report import render_diagnostics

__all__ = ["codeowners_command"]

_EPILOG = """\b
Examples:
  trustmap codeowners teams/ -o .github/CODEOWNERS --platform @acme/platform
  trustmap codeowners teams/ --flavor gitlab -o .gitlab/CODEOWNERS
  trustmap codeowners teams/ -o .github/CODEOWNERS --check     # in CI: is it up to date?

\b
Each declaration file is owned by the teams whose services it declares (their `github:` or
`gitlab:` handle, else their owners that are e-mail addresses or @handles); Organization and Team
documents by --platform. Paths are relative to --root (default: the current directory, which
should be the repository's top). GitHub: one line per file, all owning teams on it. GitLab: one
required section per team.

\b
Exit status: 0 written (or up to date with --check), 1 findings (TM529 a team without handle,
TM530 a file outside --root) or --check found the file out of date, 2 unreadable input.
"""


@click.command("codeowners", epilog=_EPILOG)
@paths_argument
@click.option(
    "--flavor", type=click.Choice(["github", "gitlab"]), default="github", show_default=True
)
@click.option(
    "--root", default=".", show_default=True, help="Repository top: paths are relative to it."
)
@click.option(
    "--platform", multiple=True, metavar="HANDLE", help="Owner of Organization and Team files."
)
@click.option("--out", "-o", "out_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--check", is_flag=True, help="Write nothing; exit 1 when --out differs.")
def codeowners_command(
    paths: tuple[str, ...],
    flavor: str,
    root: str,
    platform: tuple[str, ...],
    out_file: Path | None,
    check: bool,
) -> None:
    """Write CODEOWNERS: each declaration file reviewed by the teams it declares services of."""
    graph = load(paths, dt.date.today())
    found = api.codeowners(
        graph, flavor="gitlab" if flavor == "gitlab" else "github", root=root, platform=platform
    )
    sys.stderr.write(render_diagnostics(found.diagnostics))
    if check:
        current = out_file.read_text(encoding="utf-8") if out_file and out_file.exists() else ""
        if current != found.text:
            stderr.print(f"{out_file or 'CODEOWNERS'} is out of date: run without --check")
            sys.exit(1)
    elif out_file is None:
        sys.stdout.write(found.text)
    else:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(found.text, encoding="utf-8")
        stderr.print(f"wrote {out_file}: {len(found.files)} files owned", highlight=False)
    exit_for(found.diagnostics, strict=False)
