"""`trustmap diff` on the command line: directories and git revisions, formats, exit codes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from click.testing import CliRunner
from review_helpers import ad_asks_cart, consent_not_required, copy

from trustmap.cli import cli


def _run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["diff", "--now", "2026-11-23", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def _git(repo: Path, *args: str) -> str:
    who = ["-c", "user.email=review@example.com", "-c", "user.name=review"]
    done = subprocess.run(["git", "-C", str(repo), *who, *args], check=True, capture_output=True)
    return done.stdout.decode()


def _repository(tmp_path: Path) -> Path:
    """main holds the example; branch `feature` adds adservice → cartservice with consent; the
    work tree is back on main."""
    repo = copy(tmp_path, "repo")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    _git(repo, "checkout", "-qb", "feature")
    ad_asks_cart(repo, consent=True)
    _git(repo, "commit", "-qam", "adservice reads carts")
    _git(repo, "checkout", "-q", "main")
    return repo


def test_nothing_changed_says_so_and_exits_0(tmp_path: Path) -> None:
    code, out, _ = _run(copy(tmp_path, "a"), copy(tmp_path, "b"), "--format", "markdown")
    assert code == 0
    assert "no change to who may call whom" in out
    assert "<details>" not in out


def test_git_revisions_are_read_without_checking_them_out(tmp_path: Path) -> None:
    repo = _repository(tmp_path)
    code, out, err = _run(
        "--git", "main...feature", "--repo", repo, "-t", "none", "--format", "json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["base"].startswith("main (merge base ")
    assert [c["consent"] for c in data["calls"]] == ["in-change"]
    assert data["calls"][0]["call"]["declared_at"].startswith("services/storefront.yaml:")
    assert _git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    assert _git(repo, "status", "--porcelain") == ""


def test_git_paths_restrict_the_comparison(tmp_path: Path) -> None:
    repo = _repository(tmp_path)
    code, out, _ = _run("--git", "main..feature", "--repo", repo, "organization.yaml", "-t", "none")
    assert code == 0
    assert "no change to who may call whom" in out


def test_an_unknown_revision_is_a_usage_error(tmp_path: Path) -> None:
    repo = _repository(tmp_path)
    code, _, err = _run("--git", "nope..feature", "--repo", repo)
    assert code == 2
    assert "git ls-tree failed" in err


def test_a_missing_directory_or_a_missing_side_is_a_usage_error(tmp_path: Path) -> None:
    assert _run(tmp_path / "nowhere", copy(tmp_path, "b"))[0] == 2
    assert _run(copy(tmp_path, "a"))[0] == 2
    assert _run(copy(tmp_path, "c"), copy(tmp_path, "d"), "-t", "nonsense")[0] == 2


def test_an_introduced_error_exits_1_and_is_annotated(tmp_path: Path) -> None:
    base, head = copy(tmp_path, "base"), copy(tmp_path, "head")
    ad_asks_cart(head, consent=False)
    code, out, _ = _run(base, head, "-t", "none", "--format", "github")
    assert code == 1
    assert out.startswith("::error file=")
    assert "title=TM210" in out
    markdown = _run(base, head, "-t", "none", "--format", "markdown")[1]
    assert "1 waiting for the provider's consent" in markdown.splitlines()[0]
    assert "**waiting**: not in the provider's consumers yet" in markdown


def test_a_call_opened_without_consent_exits_1_with_tm525_in_sarif(tmp_path: Path) -> None:
    base, head = copy(tmp_path, "base"), copy(tmp_path, "head")
    consent_not_required(base, head)
    ad_asks_cart(head, consent=False)
    code, out, _ = _run(base, head, "-t", "none", "--format", "sarif")
    assert code == 1
    results = json.loads(out)["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["TM525"]
    assert results[0]["level"] == "error"
    assert "cart-lead@example.com" in results[0]["message"]["text"]


def test_the_markdown_comment_puts_approvals_first_and_folds_long_lists(tmp_path: Path) -> None:
    base, head = copy(tmp_path, "base"), copy(tmp_path, "head")
    ad_asks_cart(head, consent=True)
    code, out, _ = _run(base, head, "--format", "markdown")
    assert code == 0
    assert out.index("Needs approval") < out.index("#### Calls")
    assert "| default/adservice -> default/cartservice:grpc | cart-team |" in out
    assert "<details><summary><b>Policy objects (kubernetes: 2 changed;" in out


def test_a_large_change_is_listed_up_to_the_limit(tmp_path: Path) -> None:
    empty, full = tmp_path / "empty", copy(tmp_path, "full")
    empty.mkdir()
    code, out, _ = _run(empty, full, "--format", "markdown")
    assert code == 0
    assert "…and " in out
    assert "more (run `trustmap diff --format json`)" in out
    assert out.count("<details>") >= 2


def test_text_output_lists_sections_and_the_verdict(tmp_path: Path) -> None:
    base, head = copy(tmp_path, "base"), copy(tmp_path, "head")
    ad_asks_cart(head, consent=True)
    code, out, _ = _run(base, head, "-t", "kubernetes")
    assert code == 0
    assert out.splitlines()[0].endswith("1 call opened, 1 to approve")
    assert "needs approval:" in out
    assert "policy objects:" in out
    assert "blocking:" not in out
