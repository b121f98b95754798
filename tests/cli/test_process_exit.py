"""The ``trustmap`` process ends without the interpreter's heap teardown (``cli.main``), so its
exit status and output must be exactly what an ordinary exit would give."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "online-boutique"


def _trustmap(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trustmap", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_clean_run_exits_0_with_all_of_its_output_flushed() -> None:
    done = _trustmap("graph", str(EXAMPLE), "--format", "json", "--now", "2026-11-23")
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["edges"]) > 10


def test_usage_errors_exit_2_and_unreadable_input_exits_2_with_its_message() -> None:
    assert _trustmap("no-such-command").returncode == 2
    missing = _trustmap("validate", "/no/such/dir")
    assert missing.returncode == 2
    assert "/no/such/dir" in missing.stdout + missing.stderr


def test_findings_exit_1_after_writing_the_files(tmp_path: Path) -> None:
    """The example compiled for Istio has one finding (TM322: the ingress controller needs a sidecar)."""
    out = tmp_path / "out"
    done = _trustmap(
        "compile", str(EXAMPLE), "--target", "istio", "--out", str(out), "--now", "2026-11-23"
    )
    assert done.returncode == 1, done.stderr
    assert "TM322" in done.stdout + done.stderr
    assert sorted(out.rglob("*.yaml"))
