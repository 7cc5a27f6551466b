"""A document's label-and-value field (contract_pdf._field, also the default notice's): a value
that fits on its line is drawn as one cell, which must give the very bytes multi_cell gives it;
a longer value, or one holding a line break, still wraps inside the margins."""

from datetime import UTC, datetime

import pytest
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from autofin.origination.contract_pdf import LABEL_WIDTH, _field, font_path


def _pdf(draw) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_creation_date(datetime(2026, 12, 4, tzinfo=UTC))
    pdf.add_font("noto", "", str(font_path()))
    pdf.add_page()
    pdf.set_font("noto", size=9)
    draw(pdf)
    pdf.cell(0, 6, "after")  # where the next line starts shows too
    return bytes(pdf.output())


def _wrapped(pdf: FPDF, label: str, value: str) -> None:  # the field as it was: always multi_cell
    pdf.cell(LABEL_WIDTH, 6, label)
    pdf.multi_cell(0, 6, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


@pytest.mark.parametrize("value", [
    "AF202500000042",
    "欧阳·娜娜 Nana  (330106********1234)",
    "",
    "大众 速腾 Sagitar 1.4T  VIN LFV2A21K000000042 " * 4,  # longer than the line
    "杭州市西湖区\n文三路 90 号",  # a line break of its own
    "x" * 500,  # one word longer than the line
])
def test_a_field_draws_the_same_bytes_as_wrapping_it_did(value):
    assert _pdf(lambda pdf: _field(pdf, "车辆 Vehicle", value)) == _pdf(lambda pdf: _wrapped(pdf, "车辆 Vehicle", value))
