"""ISO 20022 pain.002 (customer payment status report): parse; render for the bank simulator.

Reads .001.03 and later versions alike (by local names). Group status and per-transaction
status (ACCP, ACSC, ACTC, RJCT, PDNG) with the reason code and the original amount.
"""

from __future__ import annotations

from datetime import datetime

from lxml import etree

from autofin.bankfiles.amounts import read_amount, write_amount
from autofin.bankfiles.records import BankFileError, StatusReport, TransactionStatus, refusing_bad_values
from autofin.bankfiles.xml import document, document_of, first, group_header, path, required, serialise, sub, tables

RENDER_VERSION = "pain.002.001.03"
STATUS = {"RJCT": "rejected", "ACCP": "accepted", "ACSC": "settled", "ACTC": "accepted", "ACWC": "accepted", "PDNG": "accepted"}

def render(*, message_id: str, created_at: datetime, original: StatusReport, transactions: list[TransactionStatus],
           currency: str = "CNY", original_message: str = "pain.008.001.08") -> bytes:
    """The bank's status report on the file `original` (a pain.008 of debits or a pain.001 of payouts):
    RJCT with its reason, ACSC for a settled transaction, ACCP for one accepted."""
    root = document(RENDER_VERSION)
    rpt = sub(root, "CstmrPmtStsRpt")
    group_header(rpt, message_id, created_at)
    grp = sub(rpt, "OrgnlGrpInfAndSts")
    sub(grp, "OrgnlMsgId", original.original_message_id)
    sub(grp, "OrgnlMsgNmId", original_message)
    sub(grp, "OrgnlNbOfTxs", str(original.original_count))
    if original.original_total_minor is not None:
        sub(grp, "OrgnlCtrlSum", write_amount(original.original_total_minor, currency))
    rejected = sum(1 for t in transactions if t.status == "rejected")
    sub(grp, "GrpSts", "RJCT" if rejected == original.original_count else ("PART" if rejected else "ACCP"))
    pmt = sub(rpt, "OrgnlPmtInfAndSts")
    sub(pmt, "OrgnlPmtInfId", f"{original.original_message_id}-1")
    for t in transactions:
        tx = sub(pmt, "TxInfAndSts")
        sub(tx, "OrgnlEndToEndId", t.end_to_end_id)
        sub(tx, "TxSts", {"rejected": "RJCT", "settled": "ACSC"}.get(t.status, "ACCP"))
        if t.reason:
            sub(path(tx, "StsRsnInf", "Rsn"), "Cd", t.reason)
        if t.amount_minor is not None:
            sub(path(tx, "OrgnlTxRef", "Amt"), "InstdAmt", write_amount(t.amount_minor, currency), Ccy=currency)
    return serialise(root)

HEADER = ("GrpHdr/MsgId", "OrgnlGrpInfAndSts/OrgnlMsgId", "OrgnlGrpInfAndSts/OrgnlNbOfTxs", "OrgnlGrpInfAndSts/OrgnlCtrlSum")
TX = ("OrgnlEndToEndId", "TxSts", "StsRsnInf/Rsn/Cd", "OrgnlTxRef/Amt/InstdAmt", "OrgnlTxRef/Amt/InstdAmt/@Ccy")


@refusing_bad_values
def parse(data: bytes | etree._Element) -> StatusReport:
    root = document_of(data)
    head, rows = tables(root, ("CstmrPmtStsRpt", HEADER), ("CstmrPmtStsRpt/OrgnlPmtInfAndSts/TxInfAndSts", TX))
    message_id, original, count, total = first(head, "pain.002 status report")
    transactions = []
    for e2e, code, reason, amount, currency in rows:
        if code not in STATUS:
            raise BankFileError(f"unknown transaction status {code!r}")
        if e2e is None:
            raise BankFileError("missing OrgnlEndToEndId")
        transactions.append(TransactionStatus(e2e, STATUS[code], reason,
                                              None if amount is None else read_amount(amount, currency or "CNY", "OrgnlTxRef/Amt"), currency))
    return StatusReport(
        kind="pain.002",
        message_id=required(message_id, "GrpHdr/MsgId"),
        original_message_id=required(original, "OrgnlGrpInfAndSts/OrgnlMsgId"),
        original_count=None if count is None else int(count),
        original_total_minor=None if total is None else read_amount(total, "CNY", "OrgnlCtrlSum"),
        transactions=tuple(transactions),
    )
