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

This module is the one place that steers the collector: :func:`building` (a context manager and
a decorator) for every allocation-heavy block — loading, checking, querying, compiling, analysing
manifests —, :func:`keep` for a command that holds a large graph until it exits, and
:func:`shared_with_forks` / :func:`collector_off` for forked compile workers.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["building", "collector_off", "keep", "shared_with_forks"]


_LARGE = 100_000
"""Objects built in one block from which on moving them beats letting the young generations'
collections scan them (a few times, a few milliseconds per hundred thousand objects)."""


@contextmanager
def building() -> Iterator[None]:
    """Pause the cyclic collector for the ``with`` block (nesting is fine).

    Also a decorator (``@building()``): the function runs with the collector paused.
    """
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


def keep() -> None:
    """Freeze everything alive out of the collector: for a process that keeps what it built
    until it exits (a command holding a 10,000-service graph spares ~1 s of rescans)."""
    gc.freeze()


@contextmanager
def shared_with_forks() -> Iterator[None]:
    """Freeze the heap while forked workers run, so that they leave the inherited objects'
    collector headers (and so their memory pages) untouched; what someone else froze stays."""
    freeze = gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    try:
        yield
    finally:
        if freeze:
            gc.unfreeze()


def collector_off() -> None:
    """Turn the collector off for good: a worker process that builds acyclic objects and exits
    (re-enabling it would walk everything built so far)."""
    gc.disable()
