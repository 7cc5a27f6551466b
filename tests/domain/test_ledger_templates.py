import pytest

from autofin.domain.errors import NegativePostingError, UnbalancedTemplateError, UnknownAccountError, UnknownComponentError
from autofin.domain.ledger import parse_expression, parse_template, post_event
from autofin.reference import chart_of_accounts, voucher_templates

CHART = chart_of_accounts()


def test_every_shipped_template_balances_for_any_amounts():
    templates = voucher_templates()
    amounts = {"principal": 7, "interest": 11, "fee": 13, "penalty": 17, "vat": 2, "credit": 19, "outstanding_principal": 23, "amount": 29}
    for event_type in templates:
        lines = post_event(event_type, amounts, templates)
        assert sum(line.debit_minor for line in lines) == sum(line.credit_minor for line in lines) > 0


def test_expressions():
    assert parse_expression("interest - vat") == (("interest", 1), ("vat", -1))
    assert parse_expression("principal + interest + fee") == (("principal", 1), ("interest", 1), ("fee", 1))
    with pytest.raises(UnknownComponentError, match="bonus"):
        parse_expression("principal + bonus")
    with pytest.raises(UnknownComponentError):
        parse_expression("principal * 2")


def test_an_unbalanced_template_is_refused_when_loaded():
    spec = {"lines": [{"account": "1002", "debit": "principal + interest"}, {"account": "1122.01", "credit": "principal"}]}
    with pytest.raises(UnbalancedTemplateError, match="interest"):
        parse_template("receipt", spec, CHART)


def test_an_unknown_account_is_refused_when_loaded():
    spec = {"lines": [{"account": "9999", "debit": "principal"}, {"account": "1122.01", "credit": "principal"}]}
    with pytest.raises(UnknownAccountError, match="9999"):
        parse_template("receipt", spec, CHART)


def test_negative_lines_are_refused():
    with pytest.raises(NegativePostingError, match=r"6011\.01"):
        post_event("billing", {"interest": 100, "vat": 101}, voucher_templates())
