"""Renderers: values → text, JSON, GitHub annotations, SARIF, DOT, Mermaid, HTML. No business logic."""

from __future__ import annotations

from trustmap.report.diagnostics import FORMATS, render_diagnostics, summary_line

__all__ = ["FORMATS", "render_diagnostics", "summary_line"]
