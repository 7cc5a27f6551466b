from datetime import date, datetime

import pytest

from autofin.bankfiles import cn_text
from autofin.bankfiles.records import BankFileError, Creditor, DebitFile, DebitInstruction, TransactionStatus
from tests.bankfiles.golden import assert_golden

CREDITOR = Creditor("上海汽车金融有限公司", "1001234509876543210", "ICBKCNBJ", "ICBC-DD-0001")


def batch():
    txs = tuple(DebitInstruction(f"E2E{n}", amount, "CNY", f"MDT{n}", date(2024, 1, 1), name, f"622202{n:013d}", f"AF{n:08d}")
                for n, (amount, name) in enumerate([(501308, "王伟"), (376500, "李娜")], start=1))
    return DebitFile("AFICBC20261123001", datetime(2026, 11, 23, 1, 0), date(2026, 11, 23), CREDITOR, txs)


def test_debit_file_is_gbk_with_a_summary_line():
    data = cn_text.render_debit(batch())
    assert_golden(data, "cn_text_icbc_20261123.txt")
    text = data.decode("gbk")
    assert text.splitlines()[0] == "H|AFICBC20261123001|1001234509876543210|20261123|2|8778.08"
    assert "王伟" in text and data.count(b"\r\n") == 3
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert cn_text.parse_debit(data, CREDITOR).instructions[1].amount_minor == 376500


@pytest.mark.parametrize(("field", "value"), [("debtor_name", "王|伟"), ("remittance", "AF1\r\nD|9|X"), ("mandate_ref", "MDT\n1"),
                                              ("debtor_account", "6222|0"), ("end_to_end_id", "E2E|1")])
def test_a_value_that_would_break_the_lines_is_refused_by_name(field, value):
    good = batch()
    txs = (good.instructions[0], good.instructions[1]._replace(**{field: value}))
    with pytest.raises(ValueError, match="cannot go in a pipe-delimited field") as refused:
        cn_text.render_debit(DebitFile(good.message_id, good.created_at, good.collection_date, CREDITOR, txs))
    assert repr(value) in str(refused.value)


def test_result_file_maps_codes_to_iso_reasons():
    results = [TransactionStatus("E2E1", "settled", None, 501308), TransactionStatus("E2E2", "rejected", "AM04", 376500)]
    data = cn_text.render_result("AFICBC20261123001", results)
    assert_golden(data, "cn_text_icbc_20261123_result.txt")
    assert data.decode("gbk").splitlines()[2] == "R|2|E2E2|3765.00|1001|余额不足"
    report = cn_text.parse_result(data)
    assert report.original_message_id == "AFICBC20261123001"
    assert report.transactions == tuple(results)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"H|B1|1|10.00|1|10.00\r\nR|1|E1|10.00|0000|\xff\xff\r\n", "not GBK"),
        ("R|1|E1|10.00|0000|x\r\n".encode("gbk"), "no header"),
        ("H|B1|2|10.00|1|10.00\r\nR|1|E1|10.00|0000|成功\r\n".encode("gbk"), "header says 2"),
        ("H|B1|1|10.00|1|10.00\r\nR|1|E1|10.00|7777|?\r\n".encode("gbk"), "unknown result code"),
        ("H|B1|1|10.00|1|10.00\r\nR|1|E1|ten|0000|成功\r\n".encode("gbk"), "not an amount"),
    ],
)
def test_bad_result_files(data, reason):
    with pytest.raises(BankFileError, match=reason):
        cn_text.parse_result(data)
