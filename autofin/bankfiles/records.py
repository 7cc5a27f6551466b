"""The records that cross the bank-file boundary, whatever the format."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache, partial, wraps
from typing import Any, NamedTuple, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")
Row = TypeVar("Row", bound=tuple)


@lru_cache(maxsize=1024)
def read_date(text: str) -> date:
    """A date of a file's records (ISO 8601): one object for each distinct text, so a file's
    records share their few dates and a reader process sends each once (pickle keeps one copy of
    an object however often it appears). Not a valid date: ValueError, as `date.fromisoformat`."""
    return date.fromisoformat(text)


class BankFileError(Exception):
    """A file that cannot be accepted; `reason` is what the quarantine note says."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def refusing_bad_values(parse: Callable[P, R]) -> Callable[P, R]:
    """A parser of files from outside: a field whose text is not what it holds (a date, a count)
    refuses the whole file with the reason, like every other check, instead of escaping as a
    ValueError (found by fuzzing)."""

    @wraps(parse)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return parse(*args, **kwargs)
        except ValueError as exc:
            raise BankFileError(f"a field is not readable: {exc}"[:300]) from None

    return checked


@dataclass(frozen=True)
class Creditor:
    name: str
    account: str
    agent: str  # BIC or bank code of the creditor's bank
    scheme_id: str


class DebitInstruction(NamedTuple):
    """One debit of a file. A named tuple, immutable like the other records and built in C: a
    file of the worst night holds a million of them (a frozen dataclass cost 1.5 µs each)."""

    end_to_end_id: str
    amount_minor: int
    currency: str
    mandate_ref: str
    mandate_signed: date
    debtor_name: str
    debtor_account: str
    remittance: str


@dataclass(frozen=True)
class DebitFile:
    message_id: str
    created_at: datetime
    collection_date: date
    creditor: Creditor
    instructions: tuple[DebitInstruction, ...]

    @property
    def count(self) -> int:
        return len(self.instructions)

    @property
    def total_minor(self) -> int:
        return sum(i.amount_minor for i in self.instructions)


@dataclass(frozen=True)
class PaymentAccount:
    """Our own paying account: the debtor of a credit-transfer file."""

    name: str
    account: str
    agent: str  # BIC of the paying bank


@dataclass(frozen=True)
class CreditTransfer:
    end_to_end_id: str
    amount_minor: int
    currency: str
    creditor_name: str
    creditor_account: str
    creditor_bank: str  # the payee's bank by name (Chinese accounts carry no IBAN and rarely a BIC)
    remittance: str


@dataclass(frozen=True)
class PayoutFile:
    message_id: str
    created_at: datetime
    execution_date: date
    debtor: PaymentAccount
    transfers: tuple[CreditTransfer, ...]

    @property
    def count(self) -> int:
        return len(self.transfers)

    @property
    def total_minor(self) -> int:
        return sum(t.amount_minor for t in self.transfers)


class TransactionStatus(NamedTuple):
    """What the bank says of one transaction. A named tuple, like `DebitInstruction`: a night's
    answers are a million of them, built in reader processes and sent to the step's (`StatusReport`)."""

    end_to_end_id: str
    status: str  # accepted | pending | rejected | settled | returned
    reason: str | None  # ISO external reason code (AM04, ...)
    amount_minor: int | None
    currency: str | None = None  # as the file states it; None where the format carries none
    value_date: date | None = None  # when the money moved, where the format says

    @property
    def amount(self) -> int:
        """The amount, where a record must carry one (every record this system renders does)."""
        if self.amount_minor is None:
            raise BankFileError(f"{self.end_to_end_id}: no amount")
        return self.amount_minor


def _columns(rows: Sequence[tuple]) -> tuple[tuple, ...]:
    """Records as one tuple per field: what a reader process sends of a file's records."""
    return tuple(zip(*rows, strict=True))


def _rows(kind: type[Row], columns: tuple[tuple, ...]) -> tuple[Row, ...]:
    """The records again from `_columns`, each built in C (no Python call a record)."""
    return tuple(map(partial(tuple.__new__, kind), zip(*columns, strict=True)))


@dataclass(frozen=True)
class StatusReport:
    """pain.002, camt.054 or a domestic result file, reduced to what the books need."""

    kind: str  # pain.002 | camt.054 | cn_text_result
    message_id: str
    original_message_id: str | None
    original_count: int | None
    original_total_minor: int | None
    transactions: tuple[TransactionStatus, ...]
    booking_date: date | None = None
    account: str | None = None  # the account the file is about, where the format names one (camt.054)

    def check_answers(self, message_id: str, count: int, total_minor: int) -> None:
        """The report answers the file `message_id` we sent (`count` transactions, `total_minor`):
        its original count and sum where it states them, at least one transaction, none twice."""
        if self.original_count is not None and self.original_count != count:
            raise BankFileError(f"original count {self.original_count} ≠ {count} sent in {message_id}")
        if self.original_total_minor is not None and self.original_total_minor != total_minor:
            raise BankFileError(f"original control sum {self.original_total_minor} ≠ {total_minor} sent in {message_id}")
        if not self.transactions:
            raise BankFileError("no transactions in the file")
        ids = [t.end_to_end_id for t in self.transactions]
        if len(set(ids)) != len(ids):
            raise BankFileError("the same end-to-end id appears twice in the file")

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled (from a reader process to the step's) with its transactions as columns: rebuilt
        in C, where a record each was rebuilt in Python in the step's process, holding its GIL."""
        return (_status_report, (self.kind, self.message_id, self.original_message_id, self.original_count,
                                 self.original_total_minor, _columns(self.transactions), self.booking_date, self.account))


def _status_report(kind: str, message_id: str, original_message_id: str | None, original_count: int | None,
                   original_total_minor: int | None, columns: tuple[tuple, ...], booking_date: date | None,
                   account: str | None) -> StatusReport:
    return StatusReport(kind, message_id, original_message_id, original_count, original_total_minor,
                        _rows(TransactionStatus, columns), booking_date, account)


class StatementEntry(NamedTuple):
    amount_minor: int
    currency: str
    is_credit: bool
    booking_date: date
    reference: str | None


@dataclass(frozen=True)
class Statement:
    message_id: str
    account: str
    entries: tuple[StatementEntry, ...] = field(default_factory=tuple)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled with its entries as columns, as `StatusReport` is."""
        return (_statement, (self.message_id, self.account, _columns(self.entries)))


def _statement(message_id: str, account: str, columns: tuple[tuple, ...]) -> Statement:
    return Statement(message_id, account, _rows(StatementEntry, columns))
