"""Paying a contract out (放款分账): the financed amount split by payee, from its financed items.

dealer   = financed − Σ financed items paid to others − Σ retained items
tax, insurer, gps: their items, each payee once (items of one payee add up)
retained: our own fees the customer financed; kept, never paid out

Pure: the split and the reading of assets/payees.yaml; the payouts themselves live in the store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from autofin.domain.errors import InputError
from autofin.domain.products import FEE_KEYS

PAYEE_KINDS = ("dealer", "tax", "insurer", "gps")
RETAINED = "retained"
NAME_MAX, ACCOUNT_MAX = 140, 34  # pain.001's Max140Text and Max34Text


@dataclass(frozen=True)
class PayeeAccount:
    name: str
    account: str
    bank: str


@dataclass(frozen=True)
class PayeeSetup:
    items: Mapping[str, str]  # fee item → payee kind or `retained`
    accounts: Mapping[str, PayeeAccount]  # payee kind (not the dealer) → account


@dataclass(frozen=True)
class Split:
    shares: tuple[tuple[str, int], ...]  # (payee kind, amount) in PAYEE_KINDS order, amounts > 0
    retained_minor: int

    @property
    def paid_out_minor(self) -> int:
        return sum(amount for _, amount in self.shares)


def checked_account(where: str, name: str, account: str, bank: str) -> PayeeAccount:
    """An account a credit transfer can carry: a name and bank of at most 140 characters, an
    account number of at most 34 (pain.001's limits), none of them empty."""
    name, account, bank = (str(v or "").strip() for v in (name, account, bank))
    if not name or len(name) > NAME_MAX:
        raise InputError(f"{where}.name", f"the payee's name, 1 to {NAME_MAX} characters")
    if not account or len(account) > ACCOUNT_MAX or not account.replace("-", "").isalnum():
        raise InputError(f"{where}.account", f"the account number, 1 to {ACCOUNT_MAX} letters or digits")
    if not bank or len(bank) > NAME_MAX:
        raise InputError(f"{where}.bank", f"the payee's bank, 1 to {NAME_MAX} characters")
    return PayeeAccount(name, account, bank)


def parse_payees(raw: Mapping[str, Any]) -> PayeeSetup:
    items = dict(raw.get("items") or {})
    for key, payee in items.items():
        if key not in FEE_KEYS:
            raise InputError(f"items.{key}", f"unknown fee item; known: {', '.join(FEE_KEYS)}")
        if payee not in (*PAYEE_KINDS, RETAINED):
            raise InputError(f"items.{key}", f"payee {payee!r} is not one of {', '.join((*PAYEE_KINDS, RETAINED))}")
    missing = [k for k in FEE_KEYS if k not in items]
    if missing:
        raise InputError("items", f"no payee for {', '.join(missing)}")
    accounts = {kind: checked_account(f"payees.{kind}", **(raw.get("payees") or {}).get(kind) or {})
                for kind in sorted(set(items.values()) - {"dealer", RETAINED})}
    return PayeeSetup(items, accounts)


def split_disbursement(financed_minor: int, financed_items: Sequence[tuple[str, int]], setup: PayeeSetup) -> Split:
    """The financed amount by payee. Refused when the items take more than the financed amount
    (nothing would be left for the dealer) or an amount is negative."""
    by_payee = dict.fromkeys(PAYEE_KINDS, 0)
    retained = 0
    for key, amount in financed_items:
        if amount < 0:
            raise InputError(f"items.{key}", "a negative item amount")
        payee = setup.items[key]
        if payee == RETAINED:
            retained += amount
        elif payee != "dealer":
            by_payee[payee] += amount
    dealer = financed_minor - retained - sum(by_payee.values())
    if dealer <= 0:
        raise InputError("financed", f"the financed items ({financed_minor - dealer} fen) leave nothing of {financed_minor} fen for the dealer")
    by_payee["dealer"] = dealer
    return Split(tuple((k, by_payee[k]) for k in PAYEE_KINDS if by_payee[k]), retained)
