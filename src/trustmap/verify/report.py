"""The result of a verify run, shared by the NetworkPolicy and the platform paths."""

from __future__ import annotations

from dataclasses import dataclass

from trustmap.diagnostics import Diagnostic
from trustmap.verify.compare import FlowDiff

__all__ = ["VerifyReport"]


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The comparison of allowed and declared flows."""

    findings: list[Diagnostic]
    """Manifest problems, TM401-TM404, sorted."""
    allowed_extra: tuple[FlowDiff, ...]
    """Allowed beyond the declarations (external ranges as CIDR text)."""
    missing: tuple[FlowDiff, ...]
    """Declared but blocked."""
    matched: tuple[FlowDiff, ...]
    """Declared and allowed."""
    inputs: tuple[Diagnostic, ...] = ()
    """Problems reading the manifests and policies (also in ``findings``)."""

    @property
    def exact(self) -> bool:
        """Whether the policies allow exactly the declared flows."""
        return not self.allowed_extra and not self.missing
