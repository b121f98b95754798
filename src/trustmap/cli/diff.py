"""``trustmap diff``: what a change to the declarations does, for the reviewer of a pull request."""

from __future__ import annotations

import datetime as dt
import sys
from typing import TYPE_CHECKING

import click

from trustmap import api
from trustmap.cli.common import fail, now_option
from trustmap.errors import InputError, UsageError

if TYPE_CHECKING:
    from trustmap.review import Tree

__all__ = ["diff_command"]

_EPILOG = """\b
Examples:
  trustmap diff old/ teams/                              # two directories
  trustmap diff --git origin/main...HEAD                 # a pull request, read from git
  trustmap diff --git main..feature teams/ --format markdown >> "$GITHUB_STEP_SUMMARY"
  trustmap diff --git origin/main...HEAD --format sarif > diff.sarif
  trustmap diff base/ head/ -t kubernetes -t cilium --format json

\b
With --git, BASE..HEAD compares the two revisions and BASE...HEAD compares HEAD with its merge
base (what a pull request changes); PATH arguments then restrict to those repository paths.
Revisions are read with `git ls-tree`/`git cat-file`, nothing is checked out.

\b
Reports calls opened, closed, widened (more ports or methods, later expiry) and narrowed;
exposure and egress; services and interfaces added, removed or moved between teams; findings
introduced and fixed; compiled objects per target (--target, default all); and, for each call
opened or widened, the provider's team and owners who must approve and whether the provider's
consent was there before, is added by the change, or is missing.

\b
Exit status: 0 nothing blocks, 1 the change introduces errors or opens a call without the
provider's consent, 2 usage error or unreadable input.
"""


@click.command("diff", epilog=_EPILOG)
@click.argument("sides", nargs=-1, type=click.Path(path_type=str))
@click.option("--git", "git_spec", metavar="BASE..HEAD", help="Compare two git revisions.")
@click.option("--repo", default=".", show_default=True, help="Repository for --git.")
@click.option(
    "--target",
    "-t",
    "targets",
    multiple=True,
    help="Compile target to compare objects for; repeat it (default: every target; `none`).",
)
@click.option("--environment", "-e", metavar="NAME", help="Rollout environment (enforce/audit).")
@now_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown", "sarif", "github"]),
    default="text",
    show_default=True,
)
def diff_command(
    sides: tuple[str, ...],
    git_spec: str | None,
    repo: str,
    targets: tuple[str, ...],
    environment: str | None,
    today: dt.date,
    fmt: str,
) -> None:
    """Compare two versions of the declarations: what opens, closes, and who must approve."""
    from trustmap.report.review import render_change

    chosen = _targets(targets, api.compile_target_names())
    try:
        base, head = _trees(sides, git_spec, repo)
        change = api.diff(base, head, targets=chosen, environment=environment, today=today)
    except (UsageError, InputError) as error:
        fail(str(error), "see `trustmap diff --help`")
    sys.stdout.write(render_change(change, fmt))
    sys.exit(1 if change.blocking() else 0)


def _targets(given: tuple[str, ...], known: tuple[str, ...]) -> tuple[str, ...]:
    if not given or "all" in given:
        return known
    if "none" in given:
        return ()
    unknown = [t for t in given if t not in known]
    if unknown:
        fail(f"unknown target '{unknown[0]}'", f"choose from {', '.join(known)}, all or none")
    return tuple(dict.fromkeys(given))


def _trees(sides: tuple[str, ...], git_spec: str | None, repo: str) -> tuple[Tree, Tree]:
    if git_spec is None:
        if len(sides) != 2:
            fail("diff needs BASE and HEAD directories, or --git BASE..HEAD")
        return api.directory_tree(sides[0]), api.directory_tree(sides[1])
    return api.git_trees(repo, git_spec, sides)
