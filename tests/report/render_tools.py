"""The real renderers the graph tests hand their output to: Graphviz ``dot``, Mermaid's CLI, Chromium.

Each is installed by the project's own files (``scripts/setup-system.sh`` for Debian's graphviz and
chromium, ``make tools`` for ``@mermaid-js/mermaid-cli`` under ``tools/mermaid``). In CI a missing
tool fails the test; on a laptop without it the test is skipped with the way to install it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MERMAID = ROOT / "tools" / "mermaid"
MMDC = MERMAID / "node_modules" / ".bin" / "mmdc"
CHROMIUM = Path("/usr/bin/chromium")


def _missing(what: str, how: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{what} is not installed: {how}")
    pytest.skip(f"{what} is not installed ({how} installs it)")


def dot_binary() -> str:
    """Graphviz's ``dot``."""
    found = shutil.which("dot")
    if found is None:
        _missing("graphviz (dot)", "scripts/setup-system.sh")
    assert found is not None
    return found


def chromium() -> Path:
    """Debian's Chromium."""
    if not CHROMIUM.exists():
        _missing("chromium", "scripts/setup-system.sh")
    return CHROMIUM


def render_with_dot(text: str, out: Path) -> subprocess.CompletedProcess[str]:
    """``dot -Tsvg``; the result holds Graphviz's exit code and messages."""
    return subprocess.run(
        [dot_binary(), "-Tsvg", "-o", str(out)],
        input=text,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def render_with_mermaid(text: str, out: Path) -> subprocess.CompletedProcess[str]:
    """Mermaid's own CLI (``mmdc``) in Debian's Chromium; the result holds its exit code and messages."""
    chromium()
    if not MMDC.exists():
        _missing("@mermaid-js/mermaid-cli", "`make tools`")
    source = out.with_suffix(".mmd")
    source.write_text(text, encoding="utf-8")
    config = out.with_suffix(".config.json")
    config.write_text('{"maxTextSize": 50000000, "maxEdges": 100000}', encoding="utf-8")
    command = [str(MMDC), "-p", str(MERMAID / "puppeteer.json"), "-c", str(config)]
    return subprocess.run(
        [*command, "-i", str(source), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "PUPPETEER_SKIP_DOWNLOAD": "1"},
    )
