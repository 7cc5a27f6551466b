"""The contract document as PDF (fpdf2): parties, vehicle, the financing plan and the whole
schedule, in Chinese and English. The one place that knows its layout.

The font is Noto Sans CJK (the `cvttf-notosanscjk-regular` wheel, SIL OFL): names and product
terms are Chinese, which the PDF core fonts cannot show. The creation date is the contract's,
so the same contract renders to the same bytes (its sha256 is what the customer signs).
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

FONT_PACKAGE = "cvttf_NotoSansCJK_Regular"
FONT_FILE = "NotoSansCJKtc-Regular.otf"
SCHEDULE_COLUMNS = (("seq", "期数 No.", 16), ("due_date", "应还日 Due", 28), ("principal", "本金 Principal", 34),
                    ("interest", "利息 Interest", 30), ("fee", "费用 Fee", 22), ("payment", "应还 Payment", 32), ("balance", "余额 Balance", 28))


@cache
def font_path() -> Path:
    return Path(str(importlib.resources.files(FONT_PACKAGE).joinpath(FONT_FILE)))


LABEL_WIDTH = 62


def _field(pdf: FPDF, label: str, value: str) -> None:
    """A label and its value, the value wrapped inside the page's margins however long it is. A
    value that fits on its line is a cell: the same bytes as multi_cell's one line, without its line
    breaking, which measures the text a character at a time (a third of a default notice's 3 ms)."""
    pdf.cell(LABEL_WIDTH, 6, label)
    if "\n" not in value and pdf.get_string_width(value) < pdf.w - pdf.r_margin - pdf.x - 2 * pdf.c_margin:
        pdf.cell(0, 6, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    else:
        pdf.multi_cell(0, 6, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render(contract: Mapping[str, Any], created_at: datetime) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_creation_date(created_at.astimezone(UTC) if created_at.tzinfo else created_at.replace(tzinfo=UTC))
    pdf.set_title(f"Contract {contract['contract_no']}")
    pdf.set_author("autofin")
    pdf.add_font("noto", "", str(font_path()))
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("noto", size=15)
    pdf.cell(0, 10, f"{contract['title_zh']}  {contract['title']}", new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="C")
    pdf.set_font("noto", size=9)
    plan = contract["plan"]
    lines = [
        ("合同编号 Contract no.", contract["contract_no"]),
        ("申请编号 Application no.", contract["application_no"]),
        ("承租人/借款人 Customer", f"{contract['customer_name']}  ({contract['customer_id_masked']})"),
        ("合作商 Dealer", f"{contract['partner_name']}  ({contract['partner_code']})"),
        ("车辆 Vehicle", f"{contract['vehicle']}  VIN {contract['vin']}"),
        ("产品 Product", f"{contract['product_name_zh']} {contract['product_code']} v{contract['product_version']}"),
        ("车价 Price", contract["price"]),
        ("首付 Down payment", contract["down_payment"]),
        ("保证金 Deposit", contract["deposit"]),
        ("融资额 Financed amount", plan["financed_amount"]),
        ("尾款 Balloon", plan["balloon"]),
        ("期限 Term", f"{plan['term_months']} 月 months, {plan['method']}"),
        ("年利率 Annual rate / APR", f"{plan['annual_rate']} / {plan['apr']}"),
        ("罚息 Penalty interest", f"{contract['penalty']}"),
        ("起租日 Start / 到期日 Maturity", f"{contract['start_date']} / {contract['maturity_date']}"),
        ("应还总额 Total payable", plan["total_payable"]),
    ]
    for label, value in lines:
        _field(pdf, label, str(value))
    for n, (key, item) in enumerate((contract.get("fees") or {}).items()):  # one line each: every item visible, however many
        _field(pdf, "费用项 Fee items" if n == 0 else "",
               f"{key}  {item['amount']}  {'融资 financed' if item['financed'] else '首付时支付 paid upfront'}")
    pdf.ln(3)
    pdf.set_font("noto", size=11)
    pdf.cell(0, 8, "还款计划 Repayment schedule", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("noto", size=8)
    for _, title, width in SCHEDULE_COLUMNS:
        pdf.cell(width, 6, title, border=1, align="C")
    pdf.ln()
    for row in plan["schedule"]:
        for key, _, width in SCHEDULE_COLUMNS:
            pdf.cell(width, 5, str(row["balance" if key == "balance" else key]), border=1, align="R" if key != "due_date" else "C")
        pdf.ln()
    pdf.ln(4)
    pdf.set_font("noto", size=9)
    pdf.multi_cell(0, 5, "本合同以电子签名方式签署，签署记录保存本文件的 SHA-256 摘要、签署人、时间与方式。\n"
                         "This contract is signed electronically; the signature record keeps this document's SHA-256, "
                         "the signer, the time and the method.")
    return bytes(pdf.output())
