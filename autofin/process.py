"""What a server or batch process of autofin does with Python's garbage collector once its
modules are loaded.

Python's collector runs a full pass every so often, and a full pass walks every object still
alive: right after the imports that is 80k objects for the mapped models and SQLAlchemy, 200k with
FastAPI's, 30–100 ms with every thread stopped, each time. Those objects
live as long as the process, so a process that has loaded what it needs collects once and
freezes them out of the later passes (`gc.freeze`, the interpreter's own advice for a process
that goes on to do its work).
"""

from __future__ import annotations

import gc


def settle_imports(*, young_objects: int | None = None) -> None:
    """Collect once, then freeze every object alive out of the collector's passes. With
    `young_objects`, a pass also waits for that many new objects instead of Python's 700: a batch
    process that builds rows by the hundred thousand (the night's reminders, messages, events)
    otherwise runs a pass every few hundred of them, nearly always finding nothing."""
    gc.collect()
    gc.freeze()
    if young_objects is not None:
        gc.set_threshold(young_objects, *gc.get_threshold()[1:])
