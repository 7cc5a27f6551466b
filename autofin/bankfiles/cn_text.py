"""A domestic bank's text format (代扣批量文件), GBK-encoded, pipe-delimited, CRLF lines.

Debit file (ours → bank):
    H|<batch no>|<creditor account>|<collection date YYYYMMDD>|<count>|<total>
    D|<seq>|<end-to-end id>|<debtor account>|<debtor name>|<amount>|<mandate ref>|<remittance>
Result file (bank → us), echoing the batch number:
    H|<batch no>|<count>|<total>|<succeeded count>|<succeeded total>
    R|<seq>|<end-to-end id>|<amount>|<result code>|<message>
Amounts are yuan with two decimals. Result codes map onto the ISO reasons (`RESULT_CODES`).
"""

from __future__ import annotations

from datetime import date, datetime

from autofin.bankfiles.amounts import read_amount, write_amount
from autofin.bankfiles.records import (
    BankFileError,
    Creditor,
    DebitFile,
    DebitInstruction,
    StatusReport,
    TransactionStatus,
    refusing_bad_values,
)

ENCODING = "gbk"
MAX_TEXT_BYTES = 64 * 1024 * 1024
# result code → (ISO reason or None for success, message)
RESULT_CODES = {
    "0000": (None, "成功"),
    "1001": ("AM04", "余额不足"),
    "2001": ("AC04", "账户已销户"),
    "2002": ("MD01", "无代扣协议"),
    "2003": ("AC06", "账户冻结"),
    "3001": ("AC01", "账号户名不符"),
    "4001": ("MS02", "客户拒绝扣款"),
    "9999": ("MS03", "其他原因"),
}
CODE_FOR_REASON = {reason: code for code, (reason, _) in RESULT_CODES.items() if reason}


def _unfit(value: str) -> bool:
    return "|" in value or "\r" in value or "\n" in value


def _check_fields(values: list[str]) -> None:
    """Every value of a file fit for a pipe-delimited field: one search of their text, and the
    value at fault named when there is one."""
    if _unfit("".join(values)):
        bad = next(v for v in values if _unfit(v))
        raise ValueError(f"{bad!r} cannot go in a pipe-delimited field")


def _encode(lines: list[str]) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode(ENCODING)


def _decode(data: bytes) -> list[list[str]]:
    if len(data) > MAX_TEXT_BYTES:
        raise BankFileError(f"file is {len(data):,} bytes, above the {MAX_TEXT_BYTES:,} byte limit")
    try:
        text = data.decode(ENCODING)
    except UnicodeDecodeError as exc:
        raise BankFileError(f"not GBK text: {exc.reason} at byte {exc.start}") from None
    rows = [line.split("|") for line in text.split("\r\n") if line]
    if not rows or rows[0][0] != "H":
        raise BankFileError("no header line (H|...) at the top")
    return rows


def render_debit(batch: DebitFile) -> bytes:
    currency = batch.instructions[0].currency
    lines = [f"H|{batch.message_id}|{batch.creditor.account}|{batch.collection_date:%Y%m%d}|{batch.count}|{write_amount(batch.total_minor, currency)}"]
    _check_fields([v for tx in batch.instructions for v in (tx.end_to_end_id, tx.debtor_account, tx.debtor_name, tx.mandate_ref, tx.remittance)])
    for seq, tx in enumerate(batch.instructions, start=1):
        lines.append(f"D|{seq}|{tx.end_to_end_id}|{tx.debtor_account}|{tx.debtor_name}|{write_amount(tx.amount_minor, tx.currency)}|"
                     f"{tx.mandate_ref}|{tx.remittance}")
    return _encode(lines)


@refusing_bad_values
def parse_debit(data: bytes, creditor: Creditor, currency: str = "CNY") -> DebitFile:
    rows = _decode(data)
    head, details = rows[0], rows[1:]
    if len(head) != 6 or any(r[0] != "D" or len(r) != 8 for r in details):
        raise BankFileError("malformed debit file lines")
    instructions = tuple(
        DebitInstruction(r[2], read_amount(r[5], currency, f"line {r[1]}"), currency, r[6], date(1970, 1, 1), r[4], r[3], r[7]) for r in details
    )
    batch = DebitFile(head[1], datetime(1970, 1, 1), datetime.strptime(head[3], "%Y%m%d").date(), creditor, instructions)
    if int(head[4]) != batch.count or read_amount(head[5], currency, "header total") != batch.total_minor:
        raise BankFileError("header count/total do not match the detail lines")
    return batch


def render_result(batch_no: str, results: list[TransactionStatus], currency: str = "CNY") -> bytes:
    ok = [r for r in results if r.status == "settled"]
    lines = [f"H|{batch_no}|{len(results)}|{write_amount(sum(r.amount for r in results), currency)}|{len(ok)}|"
             f"{write_amount(sum(r.amount for r in ok), currency)}"]
    for seq, r in enumerate(results, start=1):
        code = "0000" if r.status == "settled" else CODE_FOR_REASON.get(r.reason or "", "9999")
        lines.append(f"R|{seq}|{r.end_to_end_id}|{write_amount(r.amount, currency)}|{code}|{RESULT_CODES[code][1]}")
    return _encode(lines)


@refusing_bad_values
def parse_result(data: bytes, currency: str = "CNY") -> StatusReport:
    rows = _decode(data)
    head, details = rows[0], rows[1:]
    if len(head) != 6:
        raise BankFileError("header must be H|batch|count|total|succeeded count|succeeded total")
    transactions = []
    for r in details:
        if r[0] != "R" or len(r) != 6:
            raise BankFileError(f"malformed result line: {'|'.join(r)[:80]}")
        if r[4] not in RESULT_CODES:
            raise BankFileError(f"unknown result code {r[4]!r} on line {r[1]}")
        reason = RESULT_CODES[r[4]][0]
        transactions.append(TransactionStatus(r[2], "settled" if reason is None else "rejected", reason,
                                              read_amount(r[3], currency, f"line {r[1]}")))
    try:
        count, total = int(head[2]), read_amount(head[3], currency, "header total")
        ok_count, ok_total = int(head[4]), read_amount(head[5], currency, "header succeeded total")
    except ValueError:
        raise BankFileError("header counts are not numbers") from None
    settled = [t for t in transactions if t.status == "settled"]
    if count != len(transactions) or total != sum(t.amount for t in transactions):
        raise BankFileError(f"header says {count} lines / {head[3]}, the file holds {len(transactions)}")
    if ok_count != len(settled) or ok_total != sum(t.amount for t in settled):
        raise BankFileError("header succeeded count/total do not match the result lines")
    return StatusReport("cn_text_result", f"{head[1]}-RESULT", head[1], count, total, tuple(transactions))
