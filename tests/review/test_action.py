"""The GitHub Action (`action.yml`): pinned, injection-safe, and its scripts run as a runner would.

Rules relied on (docs.github.com, "Metadata syntax for GitHub Actions" and "Security hardening for
GitHub Actions"): a composite action lists `runs.steps`, each `run` step names its `shell`; a step
writes `name=value` lines to the file `$GITHUB_OUTPUT` for its outputs and markdown to
`$GITHUB_STEP_SUMMARY` for the job summary; a third-party action is pinned by its full commit id;
`${{ }}` expressions are substituted into script text before the shell runs, so untrusted values
go through `env:` instead. The runner's bash is `bash --noprofile --norc -eo pipefail {0}`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from review_helpers import ROOT, ad_asks_cart, copy

ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
STEPS: list[dict[str, Any]] = ACTION["runs"]["steps"]
EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")


def test_the_action_is_composite_with_pinned_actions_and_defaulted_inputs() -> None:
    assert ACTION["runs"]["using"] == "composite"
    used = [s["uses"] for s in STEPS if "uses" in s]
    assert used, "the action uses setup-python and upload-sarif"
    assert all(re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", u) for u in used), used
    assert all("default" in spec for spec in ACTION["inputs"].values())


def test_no_expression_is_spliced_into_a_script() -> None:
    for step in STEPS:
        assert not EXPRESSION.search(step.get("run", "")), step["name"]


def _git(repo: Path, *args: str) -> str:
    who = ["-c", "user.email=ci@example.com", "-c", "user.name=ci"]
    done = subprocess.run(["git", "-C", str(repo), *who, *args], check=True, capture_output=True)
    return done.stdout.decode().strip()


def _run_steps(repo: Path, tmp_path: Path, base: str, head: str) -> tuple[int, str, dict[str, str]]:
    """Run the shell steps after the install (trustmap is already on PATH) with the runner's
    files and expressions; the Verdict step's exit status, the summary and each step's outputs."""
    summary = tmp_path / "summary.md"
    context = {
        "inputs.paths": ".",
        "inputs.base || github.event.pull_request.base.sha": base,
        "github.sha": head,
        "inputs.targets": "kubernetes",
        "inputs.now": "2026-11-23",
        "inputs.strict": "false",
        "runner.temp": str(tmp_path),
    }
    code = 0
    for step in STEPS:
        if "run" not in step or step["name"] == "Install trustmap":
            continue
        outputs = tmp_path / f"outputs-{step.get('id', 'none')}"
        env = {**os.environ, "GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary)}
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
        for key, value in step.get("env", {}).items():
            env[key] = EXPRESSION.sub(lambda m: _value(m.group(1), context, tmp_path), value)
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        code = done.returncode
    ids = [s["id"] for s in STEPS if "id" in s]
    return code, summary.read_text(), {i: (tmp_path / f"outputs-{i}").read_text() for i in ids}


def _value(expression: str, context: dict[str, str], tmp_path: Path) -> str:
    if expression.startswith("steps."):
        step_id, _, name = expression.removeprefix("steps.").partition(".outputs.")
        outputs = tmp_path / f"outputs-{step_id}"
        text = outputs.read_text() if outputs.exists() else ""
        found = re.findall(rf"^{re.escape(name)}=(.*)$", text, re.M)
        return found[-1] if found else ""
    return context[expression]


def _pull_request(tmp_path: Path, *, consent: bool) -> tuple[Path, str, str]:
    repo = copy(tmp_path, "repo")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    base = _git(repo, "rev-parse", "HEAD")
    _git(repo, "checkout", "-qb", "pr")
    ad_asks_cart(repo, consent=consent)
    _git(repo, "commit", "-qam", "adservice reads carts")
    return repo, base, _git(repo, "rev-parse", "HEAD")


def test_a_consented_pull_request_passes_with_its_approvals_in_the_summary(
    tmp_path: Path,
) -> None:
    repo, base, head = _pull_request(tmp_path, consent=True)
    code, summary, outputs = _run_steps(repo, tmp_path, base, head)
    assert code == 0, summary
    assert "1 call opened, 1 to approve" in summary
    assert "@online-boutique/cart-team" in summary
    assert outputs["validate"] == "exit-code=0\n"
    assert outputs["diff"].startswith("exit-code=0\nsarif=")
    assert (tmp_path / "trustmap-diff.sarif").read_text().startswith("{")


def test_a_pull_request_that_introduces_an_error_fails(tmp_path: Path) -> None:
    repo, base, head = _pull_request(tmp_path, consent=False)
    code, summary, outputs = _run_steps(repo, tmp_path, base, head)
    assert code == 1
    assert "**Blocking**" in summary
    assert "TM210" in summary
    assert outputs["validate"] == "exit-code=1\n"
    assert outputs["diff"].startswith("exit-code=1\n")
