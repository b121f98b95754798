"""Pausing CPython's cyclic garbage collector while an organisation is built.

Loading 10,000 services allocates millions of small, long-lived objects (values, tuples, frozen
dataclasses) that form no reference cycles. The cyclic collector runs after every few hundred
allocations and keeps rescanning that growing heap while finding nothing to free; during a load
it cost about a third of the time. Reference counting still frees everything acyclic while the
collector is paused. Afterwards what was built is moved straight to the oldest generation: it
is long-lived, and the young generations' collections would otherwise scan it twice more. Any
cyclic garbage is still found, by the next full collection. A process that has frozen its heap
(``gc.freeze()``: a command that keeps what it loaded until it exits) gets what is built
frozen too. A block that built little (a query answer) is left to the young generations: moving
it would first count the frozen heap, which costs more than scanning it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["building"]


_LARGE = 100_000
"""Objects built in one block from which on moving them beats letting the young generations'
collections scan them (a few times, a few milliseconds per hundred thousand objects)."""


@contextmanager
def building() -> Iterator[None]:
    """Pause the cyclic collector for the ``with`` block (nesting is fine)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if gc.get_count()[0] >= _LARGE:
                _to_oldest_generation()
            gc.enable()


def _to_oldest_generation() -> None:
    """Move every tracked object to the oldest generation, or freeze it in a frozen heap.

    ``gc.get_freeze_count`` walks every frozen object (60 ms for a frozen 10,000-service graph),
    so it is asked only when a block built enough for the move to pay.
    """
    frozen = gc.get_freeze_count() > 0
    gc.freeze()
    if not frozen:
        gc.unfreeze()  # freeze + unfreeze = move every object to the oldest generation
