"""The cyclic garbage collector's thresholds: a server's, and bulk work's while it runs (issue 11).

One place for what the processes change of Python's collector: its first threshold (Python's default
700 new containers) is raised, never lowered, so each caller keeps whichever is higher.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


def raise_first_threshold(young: int) -> None:
    """Collect the youngest generation after at least ``young`` new containers."""
    first, *older = gc.get_threshold()
    gc.set_threshold(max(first, young), *older)


SERVER_YOUNG_OBJECTS = 10_000
"""The first threshold in a long-running process: a server, or ``crm up``'s background process
(Python's default: 700). See ``crm.cli._Server`` for the measurements."""


def settle_started_process() -> None:
    """Once a long-running process has started: freeze what the start made (modules, routes, schemas,
    the services: most of the heap, kept as long as the process) out of the collector's full passes,
    and collect the youngest generation after :data:`SERVER_YOUNG_OBJECTS` new containers."""
    gc.freeze()
    raise_first_threshold(SERVER_YOUNG_OBJECTS)


YOUNG_OBJECTS = 500_000
"""The cyclic garbage collector's first threshold while bulk work runs: jobs, and views loading the log
(a rebuild, or a live view with a backlog) (Python's: 700).

The count is of containers made and not yet freed, so what the threshold must pass is what bulk work
keeps alive at once: two batches of 5,000 events with their envelopes, facts, documents and rows, and
the rings of recent events and translations, a few hundred thousand containers. Below that, young
collections came every few thousand events and each walked its whole young generation, all of it
alive: in a 200,000-row import (bench P2, ``crm up``'s background process) the collector took
16.3 s of the background process's 61 s of CPU with 10,000, and about as much with 50,000 (a fifth
as many passes, each five times as long); with 500,000, 0.3 s in 120 s. A young collection then
walks up to this many objects (~0.4 s), rarely."""


class _Collections:
    """The bulk work running in this process, and the collector's thresholds from before the first."""

    running = 0
    before: tuple[int, int, int] = gc.get_threshold()


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """While bulk work runs, collect cyclic garbage after :data:`YOUNG_OBJECTS` new containers, not 700.

    Bulk work makes millions of short-lived containers (rows, events, batches). With the default
    threshold those living across a batch reach the oldest generation, and its full passes over the
    process's long-lived objects (caches, the stores' state) cost the CSV import of counterparties
    about a third of its process's CPU (bench P2, 30,000 rows, load 4-6: 10.9-11.4 s of collection
    in 32 full passes per run; 4.1-4.4 s with a threshold of 10,000, 1.9 s and no full pass with 50,000).
    Process-wide: the thresholds from before come back when the last bulk work ends.
    """
    if _Collections.running == 0:
        _Collections.before = gc.get_threshold()
        raise_first_threshold(YOUNG_OBJECTS)
    _Collections.running += 1
    try:
        yield
    finally:
        _Collections.running -= 1
        if _Collections.running == 0:
            gc.set_threshold(*_Collections.before)
