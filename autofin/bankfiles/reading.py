"""A night's answer files read ahead of their applying, in reader processes.

Reading a file (parse, schema, records: Python per record) costs about as much as applying it (the
store's statements), and on a night of a million answers each is half a minute on one core.
`readings` hands the files, in the order they are applied, to reader processes and gives back each
file's reading in that order: while the step applies one file, the next ones are being read on the
other core. Files of at most `AHEAD_BYTES` are read and not yet applied at any time (about 700k
records), so a large night's records are never all in memory at once.

A reading is only data: the records, or the reason the file cannot be read, with the digest of the
bytes read (the step checks it against the bytes it stores and, should the file have changed since,
reads those bytes itself: what is applied is always what is stored). Reader processes are spawned
(nothing of the step's process, its open store or its threads, is copied into them; each imports
what a reader needs and, as spawn does, the step's main module: 0.2 s for the cycle's command line,
1 s for Dagster's) only for a night whose files are worth it, and end with the step's process
however it ends. The files of a smaller night are read in the step's own process, one at a time,
as each is applied.

The reading may begin before the step (`begin`, at the start of the night: the cycle's steps before
the answers' run on one core, the store's, and leave the other to the readers); the step's
`readings` of the same files then takes what was begun, and of other files (one arrived meanwhile)
stops it and reads afresh.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from autofin.bankfiles import importers
from autofin.bankfiles.importers import Answer
from autofin.bankfiles.profiles import BankProfile
from autofin.bankfiles.records import BankFileError

AHEAD_BYTES = 256 * 1024 * 1024  # files read ahead of the applying, by size (a night of 1M answers: 600 MB)
POOL_FROM_BYTES = 32 * 1024 * 1024  # smaller nights (under ~90k records, a second of reading) are read in the step
MAX_READERS = 4  # more would wait on the applying, which is one process
READER_NICENESS = 10  # a reader's CPU weight a tenth of the step's (Linux's nice levels): idle cores are theirs, a busy one the step's


@dataclass(frozen=True)
class Reading:
    sha256: str  # of the bytes read
    content: Answer | None
    reason: str | None  # why the file cannot be read (the quarantine note's), when content is None
    seconds: float  # spent reading it
    failure: str | None = None  # the traceback of an error no check foresaw, for the log


def read_file(profile: BankProfile, path: Path) -> Reading:
    """One answer file read and checked against its schema and the bank's profile (`importers.read_answer`)."""
    return read_bytes(profile, path.read_bytes())


def read_bytes(profile: BankProfile, data: bytes) -> Reading:
    started = time.perf_counter()
    digest = hashlib.sha256(data).hexdigest()
    try:
        return Reading(digest, importers.read_answer(profile, importers.identify(data), data), None, time.perf_counter() - started)
    except BankFileError as exc:
        return Reading(digest, None, exc.reason, time.perf_counter() - started)
    except Exception as exc:  # noqa: BLE001 (whatever breaks in reading one file quarantines that file only)
        return Reading(digest, None, f"unreadable: {type(exc).__name__}: {exc}"[:300], time.perf_counter() - started, traceback.format_exc())


class Readers:
    """`files` read by `readers` processes, begun at once: the largest file first (the longest to
    read: a day's statement), the others in their order, while the files read and not yet taken stay
    within `AHEAD_BYTES`. Iterated once, it gives each file's reading in the files' order."""

    def __init__(self, files: Sequence[tuple[BankProfile, Path]], readers: int) -> None:
        self.files = list(files)
        self._sizes = [path.stat().st_size for _, path in self.files]
        self._pool = ProcessPoolExecutor(readers, mp_context=multiprocessing.get_context("spawn"), initializer=_follow,
                                         initargs=(os.getpid(),))
        largest = max(range(len(self.files)), key=self._sizes.__getitem__)
        self._submitted: dict[int, Future[Reading]] = {largest: self._pool.submit(read_file, *self.files[largest])}
        self._waiting = deque(k for k in range(len(self.files)) if k != largest)
        self._submit_within_budget()

    def _submit_within_budget(self) -> None:
        while self._waiting and sum(self._sizes[j] for j in self._submitted) + self._sizes[self._waiting[0]] <= AHEAD_BYTES:
            j = self._waiting.popleft()
            self._submitted[j] = self._pool.submit(read_file, *self.files[j])

    def __iter__(self) -> Iterator[Reading]:
        for k in range(len(self.files)):
            try:
                # the readers keep going while what they have read and not yet been applied stays within the budget
                self._submit_within_budget()
                if k not in self._submitted:  # larger than what the budget has left: read on its own
                    self._waiting.popleft()
                    self._submitted[k] = self._pool.submit(read_file, *self.files[k])
                reading = self._submitted.pop(k).result()
            except BrokenProcessPool as exc:
                raise RuntimeError(f"a reader process ended abruptly (killed, or out of memory) while the night's answers were read: "
                                   f"{self.files[k][1].name} was not read. Run the step again; AUTOFIN_ANSWER_READERS=0 reads in the "
                                   "step's own process") from exc
            yield reading

    def close(self) -> None:
        """The readers stopped (those in flight finish their file first)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


_ahead: Readers | None = None  # begun before the step that reads them (`begin`)


def begin(files: Sequence[tuple[BankProfile, Path]], readers: int) -> None:
    """Begin reading `files` now, for a later `readings` of the same files in this process: the
    night's answers read while the steps before the one that applies them run on the other core.
    Nothing is begun for a night read in the step's own process (`readers` 0, one file). A reading
    begun before and not taken is stopped."""
    global _ahead
    abandon()
    if readers > 0 and len(files) >= 2:
        _ahead = Readers(files, readers)


def abandon() -> None:
    """Stop the readers begun ahead and not taken (the night ended before its answers' step)."""
    global _ahead
    ahead, _ahead = _ahead, None
    if ahead is not None:
        ahead.close()


def readings(files: Sequence[tuple[BankProfile, Path]], readers: int) -> Iterator[Reading]:
    """The reading of each of `files`, in their order: by `readers` processes ahead of the caller
    (those begun ahead for these very files, if any: `begin`), or (readers 0) in this process as
    each is asked for. Leaving the loop early stops the readers (those in flight finish their file
    first). Each reading carries the digest of the bytes read, so a file changed since it was read
    is known as such by the caller."""
    global _ahead
    ahead = None
    if _ahead is not None and _ahead.files == list(files):
        ahead, _ahead = _ahead, None
    abandon()  # begun for other files (one arrived since, or went): not used
    if ahead is None and (readers <= 0 or len(files) < 2):
        for profile, path in files:
            yield read_file(profile, path)
        return
    pool = ahead if ahead is not None else Readers(files, readers)
    try:
        yield from pool
    finally:
        pool.close()


def _follow(parent: int) -> None:
    """A reader ends with the step's process: killed (kill -9) it closes no queue, and its readers
    would wait on theirs for good. A reader yields the CPU to the step's process (`READER_NICENESS`):
    the readers begun ahead share the cores with the steps before the answers', whose store work is
    the night's critical path."""
    os.nice(READER_NICENESS)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="follow-the-step", daemon=True).start()


def usable_cores() -> int | None:
    """The cores this process may run on (its CPU affinity, as a container's cpuset sets it), else the machine's."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def readers_for(files: Sequence[Path], configured: int | None, cores: int | None) -> int:
    """How many reader processes a night's `files` get: as configured (AUTOFIN_ANSWER_READERS), else
    one per core (up to `MAX_READERS`) when the files are large enough to be worth starting them. As
    many readers as cores, not one fewer: the step's own process waits on its store part of the time,
    and with the day's statement read on one core the other files are read on the other (a 200k
    one-due-day night's answers: 12.5 s in the step's process, 9.6 s with two readers, 10.0-10.4 s with one)."""
    if configured is not None:
        return max(configured, 0)
    if (cores or 1) < 2 or sum(p.stat().st_size for p in files) < POOL_FROM_BYTES:
        return 0
    return min(cores or 1, MAX_READERS)
