"""ISO 20022 camt.054 (debit/credit notification) and camt.053 (statement): parse; render for the simulator.

camt.054: only booked entries (Sts BOOK) move money. A booked CRDT entry settles a direct debit
(its EndToEndId names the order); a booked DBIT entry, or a booked CRDT entry with RvslInd, returns
one already settled, with its reason code; entries pending or for information are noted, not
applied. The notification and the statement name the account they are about.
camt.053: the day's statement of the collection account, for reconciliation.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

from lxml import etree

from autofin.bankfiles.amounts import read_amount, write_amount
from autofin.bankfiles.records import BankFileError, Statement, StatementEntry, StatusReport, TransactionStatus, read_date, refusing_bad_values
from autofin.bankfiles.xml import document, document_of, first, group_header, path, required, serialise, sub, tables, timestamp

CAMT054 = "camt.054.001.08"
CAMT053 = "camt.053.001.08"


def _entry(parent: etree._Element, *, amount_minor: int, currency: str, credit: bool, booking: date, e2e: str | None,
           return_reason: str | None = None) -> None:
    ntry = sub(parent, "Ntry")
    sub(ntry, "Amt", write_amount(amount_minor, currency), Ccy=currency)
    sub(ntry, "CdtDbtInd", "CRDT" if credit else "DBIT")
    sub(path(ntry, "Sts"), "Cd", "BOOK")
    sub(path(ntry, "BookgDt"), "Dt", booking.isoformat())
    sub(path(ntry, "ValDt"), "Dt", booking.isoformat())
    code = path(ntry, "BkTxCd", "Domn")
    sub(code, "Cd", "PMNT")
    fam = sub(code, "Fmly")
    sub(fam, "Cd", "IDDT")
    sub(fam, "SubFmlyCd", "ESDD" if return_reason is None else "UPDD")
    if e2e is not None:
        tx = path(ntry, "NtryDtls", "TxDtls")
        sub(path(tx, "Refs"), "EndToEndId", e2e)
        if return_reason:
            sub(path(tx, "RtrInf", "Rsn"), "Cd", return_reason)


def render_camt054(*, message_id: str, created_at: datetime, account: str, booking: date, transactions: list[TransactionStatus],
                   currency: str = "CNY") -> bytes:
    root = document(CAMT054)
    body = sub(root, "BkToCstmrDbtCdtNtfctn")
    group_header(body, message_id, created_at)
    ntf = sub(body, "Ntfctn")
    sub(ntf, "Id", f"{message_id}-1")
    sub(ntf, "CreDtTm", timestamp(created_at))
    sub(path(ntf, "Acct", "Id", "Othr"), "Id", account)
    for t in transactions:
        _entry(ntf, amount_minor=t.amount, currency=currency, credit=t.status == "settled", booking=booking, e2e=t.end_to_end_id,
               return_reason=t.reason if t.status == "returned" else None)
    return serialise(root)


ENTRY = ("Amt", "Amt/@Ccy", "CdtDbtInd", "BookgDt/Dt", "NtryDtls/TxDtls/Refs/EndToEndId", "NtryDtls/TxDtls/RtrInf/Rsn/Cd", "Sts",
         "RvslInd", "ValDt/Dt", "ValDt/DtTm")
ACCOUNT = ("Acct/Id/Othr/Id", "Acct/Id/IBAN")
BOOKED = "BOOK"


class Entry(NamedTuple):
    amount_minor: int
    currency: str
    is_credit: bool
    booking_date: str | None
    end_to_end_id: str | None
    return_reason: str | None
    is_booked: bool  # Sts BOOK: the money moved; PDNG, INFO and the rest say nothing settled yet
    is_reversal: bool  # RvslInd: the entry takes back an earlier one of the opposite direction
    value_date: str | None


def _entries(rows: list[list[str | None]]) -> list[Entry]:
    out = []
    for amount, currency, indicator, booked, e2e, reason, status, reversal, value, value_time in rows:
        if amount is None or currency is None:
            raise BankFileError("entry without Amt and its Ccy")
        out.append(Entry(read_amount(amount, currency, "Ntry/Amt"), currency, indicator == "CRDT", booked, e2e, reason,
                         (status or "").upper() == BOOKED, (reversal or "").lower() in ("true", "1"),
                         value or (value_time[:10] if value_time else None)))
    return out


def _account(rows: list[list[str | None]]) -> str | None:
    """The one account the notifications or statements (their ACCOUNT fields) are about (other id, or IBAN)."""
    accounts = {othr or iban for othr, iban in rows}
    if len(accounts) > 1:
        raise BankFileError(f"the file is about {len(accounts)} accounts; one per file is read")
    return next(iter(accounts), None)


def _answer(e: Entry) -> TransactionStatus:
    """What one camt.054 entry says about the debit its EndToEndId names. Only a booked entry
    moves money: a booked credit settles the debit, a booked debit (or a booked reversal of the
    credit) returns it; a booked reversal of a debit entry (a return taken back) is left to people."""
    e2e = e.end_to_end_id
    if e2e is None:
        raise BankFileError("camt.054 entry without EndToEndId: cannot say which debit it answers")
    if not e.is_booked:
        status = "pending"
    elif e.is_reversal and not e.is_credit:
        raise BankFileError(f"booked reversal of a debit entry for {e2e}: a return taken back is not applied automatically")
    else:
        status = "settled" if e.is_credit and not e.is_reversal else "returned"
    value = e.value_date or e.booking_date
    return TransactionStatus(e2e, status, e.return_reason if status == "returned" else None, e.amount_minor, e.currency,
                             read_date(value) if value else None)


@refusing_bad_values
def parse_camt054(data: bytes | etree._Element) -> StatusReport:
    head, notifications, rows = tables(document_of(data), ("BkToCstmrDbtCdtNtfctn", ("GrpHdr/MsgId",)),
                                       ("BkToCstmrDbtCdtNtfctn/Ntfctn", ACCOUNT), ("BkToCstmrDbtCdtNtfctn/Ntfctn/Ntry", ENTRY))
    (message_id,) = first(head, "camt.054 notification")
    entries = _entries(rows)
    transactions = tuple(_answer(e) for e in entries)
    booked = [e.booking_date for e in entries if e.booking_date]
    return StatusReport("camt.054", required(message_id, "GrpHdr/MsgId"), None, None, None, transactions,
                        date.fromisoformat(booked[-1]) if booked else None, _account(notifications))


def render_camt053(*, message_id: str, created_at: datetime, account: str, booking: date, opening_minor: int,
                   entries: list[StatementEntry], currency: str = "CNY", page: tuple[str, int, bool] | None = None) -> bytes:
    """One camt.053 message. `page` (the statement's id, the page number, whether it is the last): one
    page of a statement a bank splits over several messages (GrpHdr/MsgPgntn), its balances interim
    (ITBD) where the statement goes on, as banks paginate a day's statement too large for one file."""
    root = document(CAMT053)
    body = sub(root, "BkToCstmrStmt")
    header = group_header(body, message_id, created_at)
    statement_id, number, last = page if page is not None else (message_id, 1, True)
    if page is not None:
        pagination = sub(header, "MsgPgntn")
        sub(pagination, "PgNb", str(number))
        sub(pagination, "LastPgInd", "true" if last else "false")
    stmt = sub(body, "Stmt")
    sub(stmt, "Id", f"{statement_id}-1")
    sub(stmt, "CreDtTm", timestamp(created_at))
    sub(path(stmt, "Acct", "Id", "Othr"), "Id", account)
    closing = opening_minor + sum(e.amount_minor if e.is_credit else -e.amount_minor for e in entries)
    for code, amount in (("OPBD" if number == 1 else "ITBD", opening_minor), ("CLBD" if last else "ITBD", closing)):
        bal = sub(stmt, "Bal")
        sub(path(bal, "Tp", "CdOrPrtry"), "Cd", code)
        sub(bal, "Amt", write_amount(abs(amount), currency), Ccy=currency)
        sub(bal, "CdtDbtInd", "CRDT" if amount >= 0 else "DBIT")
        sub(path(bal, "Dt"), "Dt", booking.isoformat())
    summary = path(stmt, "TxsSummry", "TtlNtries")
    sub(summary, "NbOfNtries", str(len(entries)))
    sub(summary, "Sum", write_amount(sum(e.amount_minor for e in entries), currency))
    for e in entries:
        _entry(stmt, amount_minor=e.amount_minor, currency=currency, credit=e.is_credit, booking=e.booking_date, e2e=e.reference)
    return serialise(root)


@refusing_bad_values
def parse_camt053(data: bytes | etree._Element) -> Statement:
    head, statements, rows = tables(document_of(data), ("BkToCstmrStmt", ("GrpHdr/MsgId", "Stmt/TxsSummry/TtlNtries/NbOfNtries",
                                                                          "Stmt/TxsSummry/TtlNtries/Sum")),
                                    ("BkToCstmrStmt/Stmt", ACCOUNT), ("BkToCstmrStmt/Stmt/Ntry", ENTRY))
    message_id, count, total = first(head, "camt.053 statement")
    if len(statements) != 1:
        raise BankFileError(f"camt.053 with {len(statements)} statements; one per file is read")
    entries = tuple(StatementEntry(e.amount_minor, e.currency, e.is_credit, read_date(required(e.booking_date, "BookgDt/Dt")),
                                   e.end_to_end_id) for e in _entries(rows))
    if count is not None and int(count) != len(entries):
        raise BankFileError(f"statement says {count} entries, holds {len(entries)}")
    if total is not None and read_amount(total, "CNY", "TtlNtries/Sum") != sum(e.amount_minor for e in entries):
        raise BankFileError("statement entry total does not match TxsSummry/TtlNtries/Sum")
    return Statement(required(message_id, "GrpHdr/MsgId"), required(_account(statements), "Stmt/Acct/Id"), entries)
