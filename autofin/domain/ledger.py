"""Ledger core: chart of accounts, voucher templates, posting, trial balance.

A money event carries its amounts as named components (integer minor units). A voucher template
is a list of lines, each an account, a side and a linear combination of components, e.g.
`credit: interest - vat`. A template is balanced when, for every component, the coefficients on
the debit side equal those on the credit side: then it balances for *any* amounts, which is
checked once when the template is loaded, not hoped for at posting time.

`post_event` is the reference posting of one event; the store posts thousands at once with the
same template compiled to SQL (`line_sql_expression`), and tests hold the two equal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from autofin.domain.errors import (
    InputError,
    NegativePostingError,
    UnbalancedTemplateError,
    UnknownAccountError,
    UnknownComponentError,
    UnknownEventTypeError,
)

# The amount components a money event carries (columns `<component>_minor` of money_event).
# `amount` is the one sum of an event that has no parts: a collection cost, a commission, a change of
# the allowance, a recovery after write-off.
COMPONENTS = ("principal", "interest", "fee", "penalty", "vat", "credit", "outstanding_principal", "amount", "principal_vat")
EVENT_TYPES = (
    "opening_balance",
    "disbursement",
    "disbursement_payout",
    "payout_paid",
    "billing",
    "penalty_accrual",
    "receipt",
    "credit_offset",
    "reversal",
    "refund",
    "early_settlement",
    "partial_prepayment",
    "buy_out",
    "write_off",
    "collection_cost",
    "cost_recovery",
    "agency_commission",
    "provision",
    "provision_release",
    "recovery",
    "billing_non_accrual",
    "penalty_suspended",
    "suspense_release",
    "waiver",
    "unidentified_receipt",
    "suspense_match",
    "deposit_received",
    "deposit_applied",
    "deposit_refund",
)
ACCOUNT_TYPES = {"asset": "debit", "expense": "debit", "liability": "credit", "equity": "credit", "income": "credit"}


@dataclass(frozen=True, slots=True)
class Account:
    code: str
    name: str
    name_zh: str
    type: str

    @property
    def normal_side(self) -> str:
        return ACCOUNT_TYPES[self.type]


@dataclass(frozen=True, slots=True)
class TemplateLine:
    account: str
    side: str  # "debit" | "credit"
    coefficients: tuple[tuple[str, int], ...]  # ((component, ±1), ...)
    expression: str


@dataclass(frozen=True, slots=True)
class Template:
    event_type: str
    description: str
    lines: tuple[TemplateLine, ...]


@dataclass(frozen=True, slots=True)
class JournalLine:
    line_no: int
    account: str
    debit_minor: int
    credit_minor: int


_TERM = re.compile(r"\s*([+-]?)\s*([a-z_]+)\s*")


def parse_expression(expression: str) -> tuple[tuple[str, int], ...]:
    """'interest - vat' → (('interest', 1), ('vat', -1)). Only sums and differences of components."""
    terms: dict[str, int] = {}
    pos, text = 0, expression.strip()
    while pos < len(text):
        match = _TERM.match(text, pos)
        if not match or (pos > 0 and not match.group(1)):
            raise UnknownComponentError(f"cannot read {expression!r}: write components joined by + and -")
        sign, name = (-1 if match.group(1) == "-" else 1), match.group(2)
        if name not in COMPONENTS:
            raise UnknownComponentError(f"{name!r} in {expression!r} is not a component; known: {', '.join(COMPONENTS)}")
        terms[name] = terms.get(name, 0) + sign
        pos = match.end()
    if not terms:
        raise UnknownComponentError(f"empty amount expression {expression!r}")
    return tuple((k, v) for k, v in terms.items() if v)


def parse_chart(raw: Iterable[Mapping[str, str]]) -> dict[str, Account]:
    chart: dict[str, Account] = {}
    for item in raw:
        account = Account(str(item["code"]), item["name"], item.get("name_zh", ""), item["type"])
        if account.type not in ACCOUNT_TYPES:
            raise InputError(f"account {account.code}.type", f"{account.type!r} is not one of {', '.join(ACCOUNT_TYPES)}")
        if account.code in chart:
            raise InputError(f"account {account.code}", "appears twice in the chart")
        chart[account.code] = account
    return chart


def parse_template(event_type: str, raw: Mapping, chart: Mapping[str, Account]) -> Template:
    if event_type not in EVENT_TYPES:
        raise UnknownEventTypeError(f"template for unknown event type {event_type!r}; known: {', '.join(EVENT_TYPES)}")
    lines = []
    for item in raw["lines"]:
        account = str(item["account"])
        if account not in chart:
            raise UnknownAccountError(f"{event_type}: account {account!r} is not in the chart of accounts")
        sides = [s for s in ("debit", "credit") if s in item]
        if len(sides) != 1:
            raise UnbalancedTemplateError(f"{event_type}: line on {account} must have exactly one of debit or credit")
        side = sides[0]
        lines.append(TemplateLine(account, side, parse_expression(str(item[side])), str(item[side])))
    for component in COMPONENTS:
        debit = sum(dict(line.coefficients).get(component, 0) for line in lines if line.side == "debit")
        credit = sum(dict(line.coefficients).get(component, 0) for line in lines if line.side == "credit")
        if debit != credit:
            raise UnbalancedTemplateError(
                f"{event_type}: component {component!r} appears {debit}× on the debit side and {credit}× on the credit side"
            )
    return Template(event_type, str(raw.get("description", "")), tuple(lines))


def parse_templates(raw: Mapping[str, Mapping], chart: Mapping[str, Account]) -> dict[str, Template]:
    templates = {event_type: parse_template(event_type, spec, chart) for event_type, spec in raw.items()}
    missing = [t for t in EVENT_TYPES if t not in templates]
    if missing:
        raise UnknownEventTypeError(f"no voucher template for {', '.join(missing)}")
    return templates


def line_amount(line: TemplateLine, amounts: Mapping[str, int]) -> int:
    return sum(coef * int(amounts.get(component, 0)) for component, coef in line.coefficients)


def post_event(event_type: str, amounts: Mapping[str, int], templates: Mapping[str, Template]) -> list[JournalLine]:
    """The journal lines of one money event: balanced, zero lines left out, negative lines refused."""
    try:
        template = templates[event_type]
    except KeyError:
        raise UnknownEventTypeError(f"no voucher template for {event_type!r}") from None
    out = []
    for line_no, line in enumerate(template.lines, start=1):
        amount = line_amount(line, amounts)
        if amount < 0:
            raise NegativePostingError(f"{event_type}: line {line_no} on {line.account} would post {amount} ({line.expression})")
        if amount:
            debit = amount if line.side == "debit" else 0
            out.append(JournalLine(line_no, line.account, debit, amount - debit))
    return out


def line_sql_expression(line: TemplateLine, table_alias: str) -> str:
    """The line's amount as SQL over `<alias>.<component>_minor` columns (components are a closed set)."""
    parts = [f"{'+' if coef > 0 else '-'} {table_alias}.{component}_minor" for component, coef in line.coefficients]
    return " ".join(parts).lstrip("+ ")


@dataclass(frozen=True, slots=True)
class TrialBalanceRow:
    account: str
    name: str
    debit_minor: int
    credit_minor: int

    @property
    def balance_minor(self) -> int:
        """Debit-positive balance."""
        return self.debit_minor - self.credit_minor


def trial_balance(sums: Iterable[tuple[str, int, int]], chart: Mapping[str, Account]) -> list[TrialBalanceRow]:
    """Rows per account from (account, Σ debit, Σ credit), in chart order; accounts with no postings left out."""
    by_account = {code: (d, c) for code, d, c in sums}
    unknown = set(by_account) - set(chart)
    if unknown:
        raise UnknownAccountError(f"postings on accounts outside the chart: {', '.join(sorted(unknown))}")
    return [
        TrialBalanceRow(code, account.name, *by_account[code]) for code, account in chart.items() if code in by_account
    ]
