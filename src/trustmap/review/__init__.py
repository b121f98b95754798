"""The review gate: what a change to the declarations does, who must approve it, who owns what.

Above the compilers in the layers (it compiles both sides of a change), below ``report`` (which
renders a change) and the shells (CLI, registry server).
"""

from __future__ import annotations

from trustmap.review.calls import Call, calls_of, compare, flow_key, opened_closed
from trustmap.review.changes import EgressChange, ExposureChange, InterfaceChange, ServiceChange
from trustmap.review.diff import CallChange, Change, Consent, Side, Waiting, diff
from trustmap.review.findings import change_diagnostics
from trustmap.review.objects import ObjectChange
from trustmap.review.sources import Tree, directory_tree, git_range, git_tree, load_tree

__all__ = [
    "Call",
    "CallChange",
    "Change",
    "Consent",
    "EgressChange",
    "ExposureChange",
    "InterfaceChange",
    "ObjectChange",
    "ServiceChange",
    "Side",
    "Tree",
    "Waiting",
    "calls_of",
    "change_diagnostics",
    "compare",
    "diff",
    "directory_tree",
    "flow_key",
    "git_range",
    "git_tree",
    "load_tree",
    "opened_closed",
]
