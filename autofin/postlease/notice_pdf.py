"""The default notice letter (违约通知函) as PDF: who, which contract and vehicle, what is overdue
instalment by instalment, the penalty so far, the total to pay and by when, and what follows if it
is not paid. Chinese and English, in the contract document's font; the same facts and date render
to the same bytes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from fpdf import FPDF
from fpdf.enums import MethodReturnValue, XPos, YPos
from sqlalchemy import Connection, text

from autofin.domain.money import format_minor
from autofin.origination.contract_pdf import _field, font_path
from autofin.store.engine import as_date, integer_key
from autofin.store.ledger import PENALTY, PENALTY_JOIN

PAY_WITHIN_DAYS = 7
COLUMNS = (("seq", "期数 No.", 18), ("due_date", "应还日 Due", 30), ("unpaid", "未还租金 Unpaid", 40), ("penalty", "罚息 Penalty", 34),
           ("dpd", "逾期天数 Days", 28))


def notice_facts(conn: Connection, contract_id: int, today: date) -> dict[str, Any]:
    return notices_facts(conn, [contract_id], today)[0]


def notices_facts(conn: Connection, contract_ids: Sequence[int], today: date) -> list[dict[str, Any]]:
    """The facts of each contract's notice, in the order given: two queries for the whole night's
    letters (a pair per letter was 9 s of a night with 10k letters)."""
    conn.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS tmp_notice (contract_id {integer_key(conn)})"))
    conn.execute(text("DELETE FROM tmp_notice"))
    if contract_ids:
        conn.execute(text("INSERT INTO tmp_notice (contract_id) VALUES (:c) ON CONFLICT DO NOTHING"), [{"c": c} for c in contract_ids])
    heads = {r.contract_id: r for r in conn.execute(text(
        "SELECT c.contract_id, c.contract_no, c.currency, cu.name, cu.id_number, v.vin, v.model_name FROM tmp_notice t "
        "CROSS JOIN contract c JOIN customer cu ON cu.customer_id = c.customer_id LEFT JOIN vehicle v ON v.vehicle_id = c.vehicle_id "
        "WHERE c.contract_id = t.contract_id"))}
    overdue: dict[int, list[dict[str, Any]]] = {}
    for i in conn.execute(text(
            "SELECT i.contract_id, i.seq, i.due_date, i.principal_minor + i.interest_minor + i.fee_minor - i.paid_principal_minor "
            f"- i.paid_interest_minor - i.paid_fee_minor AS unpaid, {PENALTY} - i.paid_penalty_minor AS penalty "
            f"FROM tmp_notice t CROSS JOIN instalment i {PENALTY_JOIN} WHERE i.contract_id = t.contract_id AND i.status = 'billed' AND i.due_date < :d "
            "ORDER BY i.contract_id, i.seq"), {"d": today}):
        due = as_date(i.due_date)
        overdue.setdefault(i.contract_id, []).append({"seq": i.seq, "due_date": due.isoformat(), "unpaid_minor": int(i.unpaid),
                                                      "penalty_minor": int(i.penalty), "dpd": (today - due).days})
    out = []
    for contract_id in contract_ids:
        c, rows = heads[contract_id], overdue.get(contract_id, [])
        unpaid = sum(o["unpaid_minor"] for o in rows)
        penalty = sum(o["penalty_minor"] for o in rows)
        masked = c.id_number[:6] + "*" * (len(c.id_number) - 10) + c.id_number[-4:]
        out.append({"contract_no": c.contract_no, "customer_name": c.name, "customer_id_masked": masked,
                    "vehicle": f"{c.model_name or ''}  VIN {c.vin or '-'}", "currency": c.currency, "issued": today.isoformat(),
                    "pay_by": (today + timedelta(days=PAY_WITHIN_DAYS)).isoformat(), "overdue": rows,
                    "unpaid_minor": unpaid, "penalty_minor": penalty, "total_minor": unpaid + penalty})
    return out


def render(facts: Mapping[str, Any]) -> bytes:
    """One letter as a PDF."""
    return render_batch([facts], title=f"Default notice {facts['contract_no']}")[0]


def render_batch(letters: Sequence[Mapping[str, Any]], title: str = "Default notices") -> tuple[bytes, list[int]]:
    """Letters as one PDF, a page (or more) each: the night's print file for the mailing house, and
    the page each letter starts on. The CJK font is read and subset once for the whole batch
    (0.4 s; a PDF per letter cost that each; a letter in a batch costs about 7 ms)."""
    pdf = FPDF(format="A4")
    issued = date.fromisoformat(letters[0]["issued"]) if letters else date(2000, 1, 1)
    pdf.set_creation_date(datetime.combine(issued, time(0), tzinfo=UTC))
    pdf.set_title(title)
    pdf.set_author("autofin")
    pdf.add_font("noto", "", str(font_path()))
    first_pages = []
    paragraphs: dict[str, list[str]] = {}
    for facts in letters:
        first_pages.append(pdf.page_no() + 1)  # the letter begins on a new page
        _letter(pdf, facts, paragraphs)
    return bytes(pdf.output()), first_pages


OPENING = ("您在上述合同项下的下列租金已逾期未付。根据合同约定，我司已按日计收罚息。\n"
           "The following instalments under the contract above are past due and unpaid. "
           "Penalty interest accrues daily as the contract provides.")
CLOSING = ("请于上述日期前付清全部欠款。逾期仍未付清的，我司有权依合同宣布全部未付租金提前到期、收回车辆并处置，"
           "或委托第三方催收、提起诉讼，由此产生的费用由您承担。\n"
           "Please pay the whole amount by the date above. If it remains unpaid, we may declare every unpaid instalment "
           "due at once, repossess and sell the vehicle, instruct a collection agency or go to court, at your cost, "
           "as the contract provides.")


def _paragraph(pdf: FPDF, text: str, broken: dict[str, list[str]]) -> None:
    """A paragraph every letter has, its lines broken once per print file (fpdf measures a string a
    character at a time while it breaks lines: two paragraphs were 5 of a letter's 7 ms)."""
    if text not in broken:
        broken[text] = cast(list[str], pdf.multi_cell(0, 5, text, align="L", dry_run=True, output=MethodReturnValue.LINES))
    for line in broken[text]:
        pdf.cell(pdf.epw, 5, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _letter(pdf: FPDF, facts: Mapping[str, Any], paragraphs: dict[str, list[str]]) -> None:
    cur = facts["currency"]
    pdf.add_page()
    pdf.set_font("noto", size=15)
    pdf.cell(0, 10, "违约通知函  Notice of Default", new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="C")
    pdf.set_font("noto", size=9)
    for label, value in (("致 To", f"{facts['customer_name']}  ({facts['customer_id_masked']})"),
                         ("合同编号 Contract no.", facts["contract_no"]), ("车辆 Vehicle", facts["vehicle"]),
                         ("日期 Date", facts["issued"])):
        _field(pdf, label, str(value))
    pdf.ln(2)
    _paragraph(pdf, OPENING, paragraphs)
    pdf.ln(2)
    for _, title, width in COLUMNS:
        pdf.cell(width, 6, title, border=1)
    pdf.ln()
    for o in facts["overdue"]:
        values = {"seq": str(o["seq"]), "due_date": o["due_date"], "unpaid": format_minor(o["unpaid_minor"], cur),
                  "penalty": format_minor(o["penalty_minor"], cur), "dpd": str(o["dpd"])}
        for key, _, width in COLUMNS:
            pdf.cell(width, 6, values[key], border=1, align="R" if key != "due_date" else "L")
        pdf.ln()
    pdf.ln(2)
    _field(pdf, "逾期租金 Unpaid instalments", format_minor(facts["unpaid_minor"], cur))
    _field(pdf, "罚息 Penalty interest", format_minor(facts["penalty_minor"], cur))
    _field(pdf, "合计应付 Total to pay", f"{format_minor(facts['total_minor'], cur)} {cur}")
    _field(pdf, "最迟付款日 Pay by", facts["pay_by"])
    pdf.ln(2)
    _paragraph(pdf, CLOSING, paragraphs)
