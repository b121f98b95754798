"""The collector pause for the manifest reader (``analysis/load.py``), which the ``trustmap.kube``
layer replaces: the one implementation is :func:`trustmap.bulk.building`; delete this module
with that reader.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from trustmap.bulk import building

__all__ = ["gc_paused"]

P = ParamSpec("P")
R = TypeVar("R")


def gc_paused(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` inside :func:`trustmap.bulk.building`."""
    return building()(func)
