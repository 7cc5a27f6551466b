"""autofin.process: a process's loaded modules frozen out of the collector, in a process of its own
(freezing the test run's objects would keep them for the rest of it)."""

import subprocess
import sys

PROBE = """
import gc
import autofin.store.models  # the mapped models: most of what a night's process has loaded
from autofin.process import settle_imports
before = gc.get_freeze_count(), gc.get_threshold()
settle_imports({args})
after = gc.get_freeze_count(), gc.get_threshold()
print(before[0], before[1][0], after[0], *after[1])
"""


def probe(args: str) -> list[int]:
    out = subprocess.run([sys.executable, "-c", PROBE.format(args=args)], capture_output=True, text=True, check=True).stdout
    return [int(v) for v in out.split()]


def test_the_loaded_objects_are_frozen_and_the_thresholds_kept_by_default():
    frozen_before, young_before, frozen, young, older, oldest = probe("")
    assert frozen_before == 0 and frozen > 50_000  # the models and SQLAlchemy: out of every later pass
    assert (young, older, oldest) == (young_before, 10, 10)


def test_a_batch_process_lets_more_young_objects_wait_for_a_pass():
    *_, frozen, young, older, oldest = probe("young_objects=50_000")
    assert frozen > 50_000 and (young, older, oldest) == (50_000, 10, 10)
