"""ISO 20022 pain.002 (customer payment status report): parse; render for the bank simulator.

Reads .001.03 and later versions alike (by local names). Group status and per-transaction
status (ACCP, ACSC, ACTC, RJCT, PDNG) with the reason code and the original amount.
"""

from __future__ import annotations

from datetime import datetime

from autofin.bankfiles.amounts import read_amount, write_amount
from autofin.bankfiles.records import BankFileError, StatusReport, TransactionStatus, refusing_bad_values
from autofin.bankfiles.xml import document, find, findall, group_header, parse_xml, path, serialise, sub, text_of

RENDER_VERSION = "pain.002.001.03"
STATUS = {"RJCT": "rejected", "ACCP": "accepted", "ACSC": "settled", "ACTC": "accepted", "ACWC": "accepted", "PDNG": "accepted"}

def render(*, message_id: str, created_at: datetime, original: StatusReport, transactions: list[TransactionStatus],
           currency: str = "CNY") -> bytes:
    root = document(RENDER_VERSION)
    rpt = sub(root, "CstmrPmtStsRpt")
    group_header(rpt, message_id, created_at)
    grp = sub(rpt, "OrgnlGrpInfAndSts")
    sub(grp, "OrgnlMsgId", original.original_message_id)
    sub(grp, "OrgnlMsgNmId", "pain.008.001.08")
    sub(grp, "OrgnlNbOfTxs", str(original.original_count))
    sub(grp, "OrgnlCtrlSum", write_amount(original.original_total_minor, currency))
    rejected = sum(1 for t in transactions if t.status == "rejected")
    sub(grp, "GrpSts", "RJCT" if rejected == original.original_count else ("PART" if rejected else "ACCP"))
    pmt = sub(rpt, "OrgnlPmtInfAndSts")
    sub(pmt, "OrgnlPmtInfId", f"{original.original_message_id}-1")
    for t in transactions:
        tx = sub(pmt, "TxInfAndSts")
        sub(tx, "OrgnlEndToEndId", t.end_to_end_id)
        sub(tx, "TxSts", "RJCT" if t.status == "rejected" else "ACCP")
        if t.reason:
            sub(path(tx, "StsRsnInf", "Rsn"), "Cd", t.reason)
        if t.amount_minor is not None:
            sub(path(tx, "OrgnlTxRef", "Amt"), "InstdAmt", write_amount(t.amount_minor, currency), Ccy=currency)
    return serialise(root)

@refusing_bad_values
def parse(data: bytes) -> StatusReport:
    root = parse_xml(data)
    rpt = find(root, "CstmrPmtStsRpt")
    if rpt is None:
        raise BankFileError("not a pain.002 status report")
    grp = find(rpt, "OrgnlGrpInfAndSts")
    if grp is None:
        raise BankFileError("pain.002 without OrgnlGrpInfAndSts")
    count = text_of(grp, "OrgnlNbOfTxs", required=False)
    total = text_of(grp, "OrgnlCtrlSum", required=False)
    transactions = []
    for tx in findall(rpt, "OrgnlPmtInfAndSts/TxInfAndSts"):
        code = text_of(tx, "TxSts")
        if code not in STATUS:
            raise BankFileError(f"unknown transaction status {code!r}")
        amount = find(tx, "OrgnlTxRef/Amt/InstdAmt")
        transactions.append(
            TransactionStatus(
                end_to_end_id=text_of(tx, "OrgnlEndToEndId"),
                status=STATUS[code],
                reason=text_of(tx, "StsRsnInf/Rsn/Cd", required=False),
                amount_minor=None if amount is None else read_amount(amount.text, amount.get("Ccy") or "CNY", "OrgnlTxRef/Amt"),
            )
        )
    return StatusReport(
        kind="pain.002",
        message_id=text_of(rpt, "GrpHdr/MsgId"),
        original_message_id=text_of(grp, "OrgnlMsgId"),
        original_count=None if count is None else int(count),
        original_total_minor=None if total is None else read_amount(total, "CNY", "OrgnlCtrlSum"),
        transactions=tuple(transactions),
    )
