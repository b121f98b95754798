"""``trustmap import otterize|backstage`` and ``trustmap export backstage``: on-ramps from and to
the catalogs teams already keep."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from trustmap import api
from trustmap.cli.common import UNREADABLE, echo_json, fail, load, stderr
from trustmap.diagnostics import Diagnostic, has_errors, sort_diagnostics
from trustmap.report import render_diagnostics
from trustmap.report.diagnostics import diagnostic_to_dict

if TYPE_CHECKING:
    from trustmap.catalog.drafts import Drafts

__all__ = ["export_group", "import_group"]

_IMPORT_EPILOG = """\b
Examples:
  trustmap import backstage catalog-info.yaml --out drafts/
  trustmap import backstage examples/all.yaml --out drafts/ --format json   # Locations followed
  trustmap import otterize intents/ --out drafts/ --force
  trustmap validate drafts/       # TM212 for every TODO reason until a person writes it

\b
Writes one file per namespace (DIR/<namespace>.yaml: Teams, then Services) with draft consent
on the providers' interfaces, `TODO` reasons and `# review:` comments on guesses, and prints
what could not be mapped and why (TM531). Existing files are kept unless --force.

\b
Exit status: 0 drafts written (what was not mapped is reported), 1 with --strict when something
was not mapped, 2 unreadable input, existing files without --force, or nothing to draft.
"""


@click.group("import")
def import_group() -> None:
    """Draft declarations from a Backstage catalog or Otterize ClientIntents."""


def _import_options(func: Callable[..., None]) -> Callable[..., None]:
    func = click.option("--strict", is_flag=True, help="Exit 1 when something is not mapped.")(func)
    func = click.option(
        "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
    )(func)
    func = click.option("--force", is_flag=True, help="Overwrite existing files.")(func)
    func = click.option(
        "--out",
        "-o",
        "out_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("imported"),
        show_default=True,
    )(func)
    return click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))(func)


@import_group.command("backstage", epilog=_IMPORT_EPILOG)
@_import_options
def import_backstage_command(
    paths: tuple[str, ...], out_dir: Path, force: bool, fmt: str, strict: bool
) -> None:
    """Components, APIs, Groups and Users → Teams and Services (Locations followed on disk)."""
    _write(*api.import_backstage(list(paths)), out_dir, force, fmt, strict)


@import_group.command("otterize", epilog=_IMPORT_EPILOG)
@_import_options
@click.option("--namespace", default="default", show_default=True, help="For intents without one.")
def import_otterize_command(
    paths: tuple[str, ...], out_dir: Path, force: bool, fmt: str, strict: bool, namespace: str
) -> None:
    """ClientIntents (v1alpha2 … v2) → both sides of every call: clients and providers."""
    _write(*api.import_otterize(list(paths), namespace), out_dir, force, fmt, strict)


def _write(
    drafts: Drafts, problems: list[Diagnostic], out_dir: Path, force: bool, fmt: str, strict: bool
) -> None:
    files = drafts.files()
    found = sort_diagnostics([*problems, *drafts.unmapped])
    if not files:
        sys.stderr.write(render_diagnostics(found))
        fail("nothing to draft: no service found in the input", "pass catalog files (see --help)")
    clashes = [name for name in files if (out_dir / name).exists()]
    if clashes and not force:
        fail(f"{out_dir / clashes[0]} exists", "pass --force to overwrite, or another --out")
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out_dir / name).write_text(text, encoding="utf-8")
    _report(drafts, found, out_dir, sorted(files), fmt)
    if any(d.code in UNREADABLE or d.code == "TM101" for d in problems):
        sys.exit(2)
    sys.exit(1 if has_errors(found, strict=strict) else 0)


def _report(
    drafts: Drafts, found: list[Diagnostic], out_dir: Path, files: list[str], fmt: str
) -> None:
    if fmt == "json":
        echo_json(
            {
                "files": [str(out_dir / f) for f in files],
                "teams": dict(sorted(drafts.teams.items())),
                "services": sorted(drafts.services),
                "unmapped": [diagnostic_to_dict(d) for d in found],
            }
        )
        return
    sys.stdout.write(render_diagnostics(found))
    stderr.print(
        f"drafted {len(drafts.services)} services of {len(drafts.teams)} teams into "
        f"{out_dir}/ ({', '.join(files)}); {len(found)} not mapped",
        highlight=False,
    )


_EXPORT_EPILOG = """\b
Examples:
  trustmap export backstage teams/ -o catalog-info.yaml
  trustmap export backstage examples/online-boutique | kubectl ...   # stdout

\b
Groups from teams, Components from services (providesApis, consumesApis), APIs from interfaces
(OpenAPI for HTTP routes, protobuf for gRPC methods), with the Kubernetes plugin's annotations
and trustmap.dev/* annotations that `trustmap import backstage` reads back.
"""


@click.group("export")
def export_group() -> None:
    """Write the declarations in another tool's format."""


@export_group.command("backstage", epilog=_EXPORT_EPILOG)
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--out", "-o", "out_file", type=click.Path(dir_okay=False, path_type=Path))
def export_backstage_command(paths: tuple[str, ...], out_file: Path | None) -> None:
    """Catalog entities with their relations, for Backstage's catalog graph."""
    import datetime as dt

    graph = load(paths, dt.date.today())
    text = api.export_backstage(graph)
    if out_file is None:
        sys.stdout.write(text)
    else:
        out_file.write_text(text, encoding="utf-8")
        stderr.print(
            f"wrote {out_file}: {len(graph.teams)} groups, {len(graph.services)} components"
        )
