"""Every example command in the README and docs/ runs: extracted from the ``sh`` blocks and executed.

Each ``trustmap ...`` line of a shell block is run, in order, in one sandbox folder per block
where the placeholder paths the docs use exist: ``examples/`` (the repository's),
``teams/`` and ``old/`` (copies of the Online Boutique example), ``k8s/`` (its upstream manifests),
``flows.json`` (a Hubble capture), ``sleep-proxy.log`` (an Istio client-side log) and
``snapshot.json`` (a ``kubectl get pods,svc -o json`` snapshot). A line must exit 0 or 1
(findings) — never 2 (usage, unreadable input) and never raise. Pipes and comments are cut.

Lines that need infrastructure a test cannot have (a YARN cluster, HDFS, a registry server) are
parsed instead of run: the options are checked against the command, so a renamed option fails.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import click
import click.testing
import pytest

from trustmap.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"```(?:sh|bash|shell|console)\n(.*?)```", re.S)
_SHELL = {"|", "||", "&&", ";", "&", ">", ">>", "2>", "2>&1", "<"}
"""Where the trustmap command of a shell line ends (pipes, redirections, ``|| status=$?``)."""
_PARSE_ONLY = (
    "--engine spark",
    "--git",
    "lab",
    "serve",
    "push",
    "pull",
    "pending",
    "approve",
    "reject",
    "audit",
    "token",
    "service",
    "--server",
)
"""Spark needs a JVM and a cluster for its examples; ``--git`` a repository with an ``origin``
remote; ``lab`` an Envoy and minutes; the registry commands a server."""


def examples(doc: Path) -> list[list[list[str]]]:
    """The ``trustmap`` command lines of each of ``doc``'s shell blocks, as argument lists."""
    blocks = []
    for block in _BLOCK.findall(doc.read_text()):
        found = []
        for line in _joined(block):
            text = line.strip().removeprefix("$ ").removeprefix(".venv/bin/")
            if not text.startswith("trustmap "):
                continue
            words = shlex.split(re.split(r"\s+#\s", text)[0])
            cut = next((n for n, w in enumerate(words) if w in _SHELL), len(words))
            found.append(words[1:cut])
        if found:
            blocks.append(found)
    return blocks


def _joined(block: str) -> list[str]:
    """The block's lines, where a line ending in a backslash goes on in the next, as in the shell."""
    lines: list[str] = []
    pending = ""
    for line in block.splitlines():
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1].strip() + " "
            continue
        lines.append(pending + line.strip() if pending else line)
        pending = ""
    return lines


def _sandbox(folder: Path) -> None:
    (folder / "examples").symlink_to(ROOT / "examples")
    shutil.copytree(ROOT / "examples" / "online-boutique", folder / "teams")
    shutil.copytree(ROOT / "examples" / "online-boutique", folder / "old")  # `diff old/ teams/`
    (folder / "admin.token").write_text("x" * 40 + "\n")  # `serve --admin-token-file admin.token`
    (folder / "k8s").mkdir()
    manifests = SHARED / "apps" / "online-boutique" / "manifests" / "kubernetes-manifests.yaml"
    shutil.copy(manifests, folder / "k8s" / "manifests.yaml")
    hubble = SHARED / "samples" / "hubble" / "hubble-otel-testdata" / "basic-sample-10-flows.json"
    shutil.copy(hubble, folder / "flows.json")
    istio = SHARED / "samples" / "istio" / "istio-text-access.sleep-client-side.log"
    shutil.copy(istio, folder / "sleep-proxy.log")
    snapshot = ROOT / "tests" / "fixtures" / "observe" / "snapshot" / "pods-svc.json"
    shutil.copy(snapshot, folder / "snapshot.json")


def _parse_only(args: list[str]) -> bool:
    line = " ".join(args)
    return any(line.startswith(p) or f" {p}" in f" {line}" for p in _PARSE_ONLY)


def _parses(args: list[str]) -> None:
    command: click.Command = cli
    rest = list(args)
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        found = command.get_command(click.Context(command), rest.pop(0))
        assert found is not None, args
        command = found
    command.make_context("trustmap", rest, resilient_parsing=False)


WITH_EXAMPLES = [doc for doc in DOCS if examples(doc)]


@pytest.mark.parametrize("doc", WITH_EXAMPLES, ids=[d.name for d in WITH_EXAMPLES])
def test_every_example_command_of_the_document_runs(
    doc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRUSTMAP_CACHE_DIR", str(tmp_path / ".cache"))
    # what the docs' `export` lines set for the registry commands (parsed, never sent anywhere)
    monkeypatch.setenv("TRUSTMAP_SERVER", "http://127.0.0.1:9")
    monkeypatch.setenv("TRUSTMAP_TOKEN", "t" * 40)
    runner = click.testing.CliRunner()
    for number, block in enumerate(examples(doc)):
        folder = tmp_path / f"block-{number}"  # each block is its own session
        folder.mkdir()
        _sandbox(folder)
        monkeypatch.chdir(folder)
        served = any(args[:1] == ["serve"] for args in block)  # a session against a live registry
        for args in block:
            if served or _parse_only(args):
                _parses(args)
                continue
            result = runner.invoke(cli, args, catch_exceptions=False)
            assert result.exit_code in (0, 1), f"trustmap {shlex.join(args)}\n{result.output}"


def test_the_examples_cover_the_readme_and_the_cli_reference() -> None:
    counted = {doc.name: sum(len(block) for block in examples(doc)) for doc in DOCS}
    assert counted["README.md"] >= 3
    assert counted["cli.md"] >= 5
