"""The repository's pre-commit hooks, run by the real `pre-commit` on a sample repository.

Rules relied on (https://pre-commit.com/#new-hooks, #pre-commit-try-repo): `pre-commit try-repo
REPO [HOOK]` runs the hooks of REPO's `.pre-commit-hooks.yaml` (its uncommitted changes included,
through a shadow commit) on the current repository; `language: python` hooks get their own
virtualenv with REPO `pip install`-ed into it (through pip's configured index, here the local
mirror: no network); `pass_filenames: false` runs the entry once without the file names; `types:
[yaml]` selects files by identify's tags. A failing hook makes pre-commit exit 1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from review_helpers import ROOT, copy, edit

PRE_COMMIT = shutil.which("pre-commit") or (
    str(Path(sys.executable).parent / "pre-commit")
    if (Path(sys.executable).parent / "pre-commit").exists()
    else None
)

pytestmark = pytest.mark.skipif(
    PRE_COMMIT is None and os.environ.get("CI") != "true",
    reason="pre-commit is not installed (pip install -e '.[dev]'); CI runs this test",
)


def _sample(tmp_path: Path) -> Path:
    """A git repository holding the example, with one Team whose handle lacks its '@'."""
    repo = copy(tmp_path, "sample")
    edit(
        repo,
        "teams.yaml",
        'github: "@online-boutique/catalog"',
        'github: "online-boutique/catalog"',
    )
    for args in (["init", "-q", "-b", "main"], ["add", "-A"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True)
    return repo


@pytest.mark.timeout(900)
def test_both_hooks_install_from_this_repository_and_catch_a_bad_file(tmp_path: Path) -> None:
    assert PRE_COMMIT is not None, "CI must install pre-commit (the dev extra)"
    repo = _sample(tmp_path)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}
    done = subprocess.run(
        [PRE_COMMIT, "try-repo", str(ROOT), "--all-files", "--color", "never"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=880,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "trustmap schema check (changed files)" in output
    assert "trustmap validate (whole organisation)" in output
    assert output.count("Failed") == 2, output
    assert "teams.yaml:25:11: error TM113 'spec.github': 'online-boutique/catalog'" in output
    schema_part = output.split("trustmap validate (whole organisation)")[0]
    assert "services/" not in schema_part.split("trustmap schema check")[1]
