"""A night's answer files read ahead by reader processes: the same readings, in the files' order,
as read in the step's own process; a bounded number of files read ahead; readers that end with
the step's process, however it ends."""

import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest

from autofin.bankfiles import camt, importers, reading
from autofin.bankfiles.records import StatementEntry, TransactionStatus
from autofin.reference import bank_profiles

FIXTURES = Path(__file__).parents[1] / "fixtures"
BOOKED = date(2026, 11, 23)


def _statement(account: str, lines: int) -> bytes:
    entries = [StatementEntry(10_000 + k, "CNY", True, BOOKED, f"E2E{k:08d}") for k in range(lines)]
    return camt.render_camt053(message_id=f"STM-{lines}", created_at=datetime(2026, 11, 24, 6), account=account, booking=BOOKED,
                               opening_minor=0, entries=entries)


def _notification(account: str, n: int) -> bytes:
    return camt.render_camt054(message_id=f"NTF-{n}", created_at=datetime(2026, 11, 24, 6), account=account, booking=BOOKED,
                               transactions=[TransactionStatus(f"E2E{n:04d}{k:04d}", "settled", None, 5_000 + k) for k in range(50)])


@pytest.fixture
def night(tmp_path):
    """BOC's and ICBC's golden answers, notifications, a statement larger than all the others, and two bad files."""
    banks = bank_profiles()
    boc, icbc = banks["BOC"], banks["ICBC"]
    files = []
    for name, data, profile in [
        ("a.pain002.xml", (FIXTURES / "pain002_boc_20261124.xml").read_bytes(), boc),
        ("b.camt054.xml", _notification(boc.creditor.account, 1), boc),
        ("c.bad.xml", b"<Document><CstmrPmtStsRpt>not well-formed", boc),
        ("d.camt053.xml", _statement(boc.creditor.account, 3_000), boc),  # the largest, in the middle
        ("e.camt054.xml", _notification(boc.creditor.account, 2), boc),
        ("f.result.txt", (FIXTURES / "cn_text_icbc_20261123_result.txt").read_bytes(), icbc),
        ("g.other-account.camt054.xml", _notification("62220000000000000001", 3), boc),
        ("h.camt054.xml", _notification(boc.creditor.account, 4), boc),
    ]:
        (tmp_path / name).write_bytes(data)
        files.append((profile, tmp_path / name))
    return files


def _outcome(readings):
    return [(r.sha256, r.content, r.reason) for r in readings]


@pytest.mark.parametrize("readers", [1, 2])
def test_readers_give_the_same_readings_in_the_files_order(night, readers):
    here = _outcome(reading.readings(night, 0))
    assert _outcome(reading.readings(night, readers)) == here
    reasons = {path.name: r for (_, path), (_, _, r) in zip(night, here, strict=True) if r is not None}
    assert reasons.keys() == {"c.bad.xml", "g.other-account.camt054.xml"}
    assert "not well-formed" in reasons["c.bad.xml"] and "62220000000000000001" in reasons["g.other-account.camt054.xml"]
    assert len(here[3][1].entries) == 3_000


def test_records_cross_to_the_step_as_columns_and_come_back_as_the_same_records(night):
    """A reading goes from a reader process to the step's by pickle: a file's records go as one
    tuple per field and are rebuilt as the records they were, of their own classes, their dates
    shared (each date of a file is read as one object, and sent once)."""
    notification, statement, result = (reading.read_file(profile, path).content for profile, path in
                                       (night[1], night[3], night[5]))
    for content, field, kind in ((notification, "transactions", TransactionStatus), (statement, "entries", StatementEntry),
                                 (result, "transactions", TransactionStatus)):
        back = pickle.loads(pickle.dumps(content, protocol=pickle.HIGHEST_PROTOCOL))
        assert back == content and type(back) is type(content)
        records, again = getattr(content, field), getattr(back, field)
        assert {type(r) for r in records} == {type(r) for r in again} == {kind} and again == records
    assert len({id(t.value_date) for t in notification.transactions}) == 1 and notification.transactions[0].value_date == BOOKED
    assert len({id(e.booking_date) for e in statement.entries}) == 1 and len(statement.entries) == 3_000
    empty = replace(notification, transactions=())
    assert pickle.loads(pickle.dumps(empty)) == empty
    # its amount and reference (about 25 bytes) and little else: a record each sent 57 bytes a line
    per_line = len(pickle.dumps(statement)) / len(statement.entries)
    assert per_line < 35, per_line


def test_files_larger_than_the_read_ahead_budget_are_read_one_at_a_time(night, monkeypatch):
    monkeypatch.setattr(reading, "AHEAD_BYTES", 1)
    assert _outcome(reading.readings(night, 2)) == _outcome(reading.readings(night, 0))


def test_an_error_no_check_foresaw_is_that_files_reason_with_its_traceback(night, monkeypatch):
    read_answer = importers.read_answer

    def broken(profile, importer, data):
        if importer is not None and importer.kind == "camt.053":
            raise KeyError("no such thing")
        return read_answer(profile, importer, data)

    monkeypatch.setattr(importers, "read_answer", broken)  # in this process only: readers 0
    outcome = list(reading.readings(night, 0))
    assert outcome[3].content is None and outcome[3].reason == "unreadable: KeyError: 'no such thing'"
    assert "KeyError" in outcome[3].failure
    assert all(r.failure is None for k, r in enumerate(outcome) if k != 3)


def test_leaving_the_loop_early_stops_the_readers(night):
    for first in reading.readings(night, 2):
        assert first.content is not None
        break
    assert multiprocessing.active_children() == []


def test_a_reader_killed_fails_the_reading_clearly(night, monkeypatch):
    """A reader killed (the OOM killer, an operator) stops the night's reading with an error that says
    so and names the file not read; the other reader is stopped too."""
    monkeypatch.setattr(reading, "AHEAD_BYTES", 1)  # one file in flight beside the largest
    files = [job for job in night if job[1].name == "b.camt054.xml"] * 6
    read = reading.readings(files, 2)
    assert next(read).content is not None
    for child in multiprocessing.active_children():
        os.kill(child.pid, signal.SIGKILL)
    with pytest.raises(RuntimeError, match=r"a reader process ended abruptly .*: b\.camt054\.xml was not read"):
        list(read)
    assert multiprocessing.active_children() == []


def test_readers_end_when_the_steps_process_is_killed(night, tmp_path):
    """kill -9 of the step's process leaves no reader waiting for work that will never come."""
    big = [(profile, path) for profile, path in night if path.name == "d.camt053.xml"] * 40
    script = textwrap.dedent(f"""
        import multiprocessing, os, sys
        from pathlib import Path
        from autofin.bankfiles import reading
        from autofin.reference import bank_profiles
        files = [(bank_profiles()["BOC"], Path({str(big[0][1])!r}))] * {len(big)}
        for k, _ in enumerate(reading.readings(files, 2)):
            if k == 1:
                print(" ".join(str(p.pid) for p in multiprocessing.active_children()), flush=True)
                os.kill(os.getpid(), 9)
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[2])
    assert run.returncode == -signal.SIGKILL, run.stderr
    readers = [int(pid) for pid in run.stdout.split()]
    assert len(readers) >= 2
    deadline = time.monotonic() + 10
    while (alive := [pid for pid in readers if _alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert alive == []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (ended, not yet reaped by the init process) has ended
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(")")[-1].split()[0] != "Z"


@pytest.mark.parametrize(("configured", "cores", "total", "readers"), [
    (None, 2, 1024, 2),  # a large night on two cores: a reader per core
    (None, 16, 1024, reading.MAX_READERS),
    (None, 2, 1023, 0),  # a smaller night: read in the step's process
    (None, 1, 10_240, 0),  # one core: nothing to read beside
    (None, None, 10_240, 0),  # cores unknown
    (3, 1, 1, 3),  # as configured (AUTOFIN_ANSWER_READERS)
    (0, 8, 10_240, 0),
    (-1, 8, 10_240, 0),
])
def test_readers_for_a_night(tmp_path, monkeypatch, configured, cores, total, readers):
    monkeypatch.setattr(reading, "POOL_FROM_BYTES", 1024)
    files = [tmp_path / "a", tmp_path / "b"]
    files[0].write_bytes(b"x" * (total // 2))
    files[1].write_bytes(b"x" * (total - total // 2))
    assert reading.readers_for(files, configured, cores) == readers


def test_the_cores_counted_are_those_the_process_may_run_on(monkeypatch):
    """A container limited to one CPU of a large machine gets no readers (its cpuset, not the machine's cores)."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {5})
    assert reading.usable_cores() == 1
    assert reading.readers_for([], None, reading.usable_cores()) == 0


def _counting_readers(monkeypatch):
    """reading.Readers, each one begun counted."""
    begun = []

    class Counted(reading.Readers):
        def __init__(self, files, readers):
            begun.append(len(files))
            super().__init__(files, readers)

    monkeypatch.setattr(reading, "Readers", Counted)
    return begun


def test_readings_begun_ahead_are_taken_by_the_readings_of_the_same_files(night, monkeypatch):
    """The night's reading begun before its step (`begin`) is the step's: no second set of readers,
    the same readings in the files' order."""
    here = _outcome(reading.readings(night, 0))
    begun = _counting_readers(monkeypatch)
    reading.begin(night, 2)
    assert len(multiprocessing.active_children()) == 2
    assert _outcome(reading.readings(night, 2)) == here
    assert begun == [len(night)] and reading._ahead is None
    assert multiprocessing.active_children() == []


def test_readings_begun_for_other_files_are_stopped_and_the_files_read_afresh(night, monkeypatch):
    """A file arrived after the reading began: the step's files are not those begun, which are
    stopped, and all of them are read again."""
    here = _outcome(reading.readings(night, 0))
    begun = _counting_readers(monkeypatch)
    reading.begin(night[:-1], 2)
    assert _outcome(reading.readings(night, 2)) == here
    assert begun == [len(night) - 1, len(night)]
    assert multiprocessing.active_children() == []
    reading.begin(night[:-1], 2)
    assert _outcome(reading.readings(night, 0)) == here  # read in the step's process: the readers begun stopped too
    assert multiprocessing.active_children() == []


def test_nothing_is_begun_for_a_night_read_in_the_steps_own_process(night, monkeypatch):
    begun = _counting_readers(monkeypatch)
    reading.begin(night, 0)
    reading.begin(night[:1], 2)
    assert begun == [] and reading._ahead is None


def test_abandon_stops_the_readers_begun(night):
    reading.begin(night, 2)
    reading.abandon()
    assert reading._ahead is None and multiprocessing.active_children() == []
