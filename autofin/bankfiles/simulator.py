"""THE BANK SIMULATOR: a test and demo tool, never a part of production.

It plays the bank's side of the exchange on the bank's own folder (the local transport's folder,
or the SFTP server's): it reads the debit files the bank received and answers as a bank would,
with a realistic, seeded mix of rejections. An ISO bank answers with a pain.002 (every
transaction's status), a camt.054 (the collected amounts, booked on the collection date) and a
camt.053 statement of the collection account; a domestic bank answers with its result file.
The same seed and files give the same answers.
"""

from __future__ import annotations

import hashlib
import random
import shutil
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from autofin.bankfiles import camt, cn_text, pain001, pain002, pain008
from autofin.bankfiles.profiles import BankProfile
from autofin.bankfiles.records import StatementEntry, StatusReport, TransactionStatus
from autofin.bankfiles.transport import remote_dirs
from autofin.files import write_atomically

# (reason, probability): AM04 8%, MS02 1%, AC04 0.5%, MD01 0.5%; the rest are collected
REJECT_MIX = (("AM04", 0.08), ("MS02", 0.01), ("AC04", 0.005), ("MD01", 0.005))
# credit transfers fail less: a wrong account number (AC01) 1%, a closed one (AC04) 0.5%; and always
# to a payee account number ending in 0000 (the tests' and the demo's way to make one fail)
PAYOUT_REJECT_MIX = (("AC01", 0.01), ("AC04", 0.005))
FAILING_ACCOUNT_SUFFIX = "0000"


@dataclass
class SimulationResult:
    files_read: int = 0
    transactions: int = 0
    rejected: int = 0
    collected_minor: int = 0
    files_written: int = 0
    payouts: int = 0  # credit transfers answered (pain.001 files)
    payouts_rejected: int = 0
    paid_out_minor: int = 0


def _outcome(rng: random.Random, mix: tuple[tuple[str, float], ...] = REJECT_MIX) -> str | None:
    x, edge = rng.random(), 0.0
    for reason, p in mix:
        edge += p
        if x < edge:
            return reason
    return None


def simulate(profile: BankProfile, remote_root: Path, business_date: date, *, seed: int = 1) -> SimulationResult:
    out_dir, in_dir, _ = (Path(remote_root) / d.lstrip("/") for d in remote_dirs(profile))
    processed = out_dir / "processed"
    processed.mkdir(parents=True, exist_ok=True)
    in_dir.mkdir(parents=True, exist_ok=True)
    result = SimulationResult()
    statement: list[StatementEntry] = []
    stamp = datetime.combine(business_date, datetime.min.time()).replace(hour=6)
    for path in sorted(p for p in out_dir.iterdir() if p.is_file() and not p.name.startswith(".")):
        data = path.read_bytes()
        if b"CstmrCdtTrfInitn" in data[:4096]:
            statement += _pay(data, in_dir, stamp, seed, result)
            shutil.move(str(path), str(processed / path.name))
            continue
        batch = pain008.parse(data) if profile.is_iso else cn_text.parse_debit(data, profile.creditor, profile.currency)
        rng = random.Random(int.from_bytes(hashlib.sha256(f"{seed}:{batch.message_id}".encode()).digest()[:8], "big"))
        answers = []
        for tx in batch.instructions:
            reason = _outcome(rng)
            answers.append(TransactionStatus(tx.end_to_end_id, "rejected" if reason else "settled", reason, tx.amount_minor))
        collected = [a for a in answers if a.status == "settled"]
        result.files_read += 1
        result.transactions += len(answers)
        result.rejected += len(answers) - len(collected)
        result.collected_minor += sum(a.amount for a in collected)
        if profile.is_iso:
            original = StatusReport("pain.008", "", batch.message_id, batch.count, batch.total_minor, ())
            statuses = [a if a.status == "rejected" else TransactionStatus(a.end_to_end_id, "accepted", None, a.amount_minor) for a in answers]
            write_atomically(in_dir / f"{batch.message_id}.pain002.xml",
                   pain002.render(message_id=f"STS{batch.message_id}"[:35], created_at=stamp, original=original, transactions=statuses))
            result.files_written += 1
            if collected:
                write_atomically(in_dir / f"{batch.message_id}.camt054.xml",
                       camt.render_camt054(message_id=f"NTF{batch.message_id}"[:35], created_at=stamp, account=profile.creditor.account,
                                           booking=batch.collection_date, transactions=collected))
                result.files_written += 1
                statement += [StatementEntry(a.amount, profile.currency, True, batch.collection_date, a.end_to_end_id) for a in collected]
        else:
            write_atomically(in_dir / f"{batch.message_id}.result.txt", cn_text.render_result(batch.message_id, answers, profile.currency))
            result.files_written += 1
        shutil.move(str(path), str(processed / path.name))
    if profile.is_iso and result.files_read:  # the day's statement: collections in, payouts out
        result.files_written += _write_statement(profile, in_dir, business_date, stamp, statement)
    return result


STATEMENT_PAGE_ENTRIES = 100_000  # entries a statement page holds (about 29 MB of camt.053): a file well under the readers' 64 MiB


def _write_statement(profile: BankProfile, in_dir: Path, business_date: date, stamp: datetime, statement: list[StatementEntry]) -> int:
    """The day's camt.053, in one file, or paginated over several (MsgPgntn) when it holds more than
    STATEMENT_PAGE_ENTRIES entries, as a bank splits a statement too large for one message: each
    page its own message id and file, the balances running from page to page. Returns the files."""
    statement_id = f"STM{profile.code}{business_date:%Y%m%d}"
    pages = [statement[k:k + STATEMENT_PAGE_ENTRIES] for k in range(0, len(statement), STATEMENT_PAGE_ENTRIES)] or [[]]
    opening, paged = 0, len(pages) > 1
    for number, entries in enumerate(pages, start=1):
        message_id = f"{statement_id}P{number:03d}" if paged else statement_id
        write_atomically(in_dir / f"{message_id}.camt053.xml",
                         camt.render_camt053(message_id=message_id, created_at=stamp, account=profile.creditor.account, booking=business_date,
                                             opening_minor=opening, entries=entries,
                                             page=(statement_id, number, number == len(pages)) if paged else None))
        opening += sum(e.amount_minor if e.is_credit else -e.amount_minor for e in entries)
    return len(pages)


def _pay(data: bytes, in_dir: Path, stamp: datetime, seed: int, result: SimulationResult) -> list[StatementEntry]:
    """A payout file: every transfer paid (ACSC) or rejected with its reason, in a pain.002; the
    paid ones as debits of the paying account on the day's statement."""
    batch = pain001.parse(data)
    rng = random.Random(int.from_bytes(hashlib.sha256(f"{seed}:{batch.message_id}".encode()).digest()[:8], "big"))
    answers = []
    for t in batch.transfers:
        reason = "AC01" if t.creditor_account.endswith(FAILING_ACCOUNT_SUFFIX) else _outcome(rng, PAYOUT_REJECT_MIX)
        answers.append(TransactionStatus(t.end_to_end_id, "rejected" if reason else "settled", reason, t.amount_minor))
    original = StatusReport("pain.001", "", batch.message_id, batch.count, batch.total_minor, ())
    write_atomically(in_dir / f"{batch.message_id}.pain002.xml",
                     pain002.render(message_id=f"STS{batch.message_id}"[:35], created_at=stamp, original=original, transactions=answers,
                                    original_message="pain.001.001.09"))
    result.files_read += 1
    result.files_written += 1
    result.payouts += len(answers)
    result.payouts_rejected += sum(a.status == "rejected" for a in answers)
    result.paid_out_minor += sum(a.amount for a in answers if a.status == "settled")
    return [StatementEntry(a.amount, "CNY", False, batch.execution_date, a.end_to_end_id) for a in answers if a.status == "settled"]
