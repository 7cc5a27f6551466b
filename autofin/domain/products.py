"""Product terms: what a contract freezes when it is signed.

`ProductTerms.from_dict` is the one validator of a product definition (assets/products.yaml);
`to_dict` is its canonical form, stored on each product version and copied onto each contract.
The hash of the canonical form decides whether an edit makes a new version.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from autofin.domain.errors import InputError
from autofin.domain.money import DEFAULT_CURRENCY, D, minor_digits, parse_rate, round_money
from autofin.domain.schedules import MAX_TERM_MONTHS, Method

BUSINESS_TYPES = ("loan", "direct_lease", "sale_leaseback")
FEE_KEYS = ("purchase_tax", "insurance", "gps_fee", "plate_fee", "accessories", "service_fee")
DEFAULT_NON_ACCRUAL_DPD = 90  # the regulators' usual line: over 90 days past due, interest is no longer recognised
ALLOCATION_COMPONENTS = ("penalty", "fee", "interest", "principal")
PENALTY_BASES = ("overdue_amount", "overdue_principal")
# what must be on record before the financed amount is paid out (车辆抵押登记, GPS 安装)
DISBURSEMENT_PRECONDITIONS = ("mortgage", "gps")


@dataclass(frozen=True, slots=True)
class FeeRule:
    financeable: bool
    finance_charge: bool


@dataclass(frozen=True, slots=True)
class PenaltyTerms:
    daily_rate: Decimal
    basis: str
    grace_days: int
    cap_pct: Decimal | None


@dataclass(frozen=True, slots=True)
class SettlementFeeTier:
    below_months: int | None
    pct: Decimal


@dataclass(frozen=True, slots=True)
class BalloonExtension:
    """尾款展期: the balloon re-planned into equal instalments (annuity) of at most `max_months`
    at `annual_rate`, asked for at least `min_days_before` days before the balloon falls due."""

    max_months: int
    annual_rate: Decimal
    min_days_before: int


@dataclass(frozen=True, slots=True)
class PartialPrepayment:
    """部分提前还款: the options the customer may choose, the least principal paid ahead, and the
    least fee (the fee is the early-settlement tier's percentage of the principal paid ahead)."""

    options: tuple[str, ...]
    minimum: Decimal
    fee_minimum: Decimal


@dataclass(frozen=True, slots=True)
class LeaseEnd:
    """租赁期满留购: the price at which the lessee buys the vehicle at the end of a lease (the
    residual value, often nominal), and the VAT inside it (a direct lease sells the vehicle; a
    sale-and-leaseback only returns it, without VAT)."""

    buy_out_price: Decimal
    vat_rate: Decimal


@dataclass(frozen=True, slots=True)
class ProductTerms:
    code: str
    name: str
    name_zh: str
    business_type: str
    method: Method
    currency: str
    annual_rate: Decimal
    term_months: tuple[int, ...]
    min_down_payment_pct: Decimal
    instalment_fee: Decimal
    deposit_pct: Decimal
    vat_rate: Decimal
    roll_due_dates: bool
    penalty: PenaltyTerms
    allocation_order: tuple[str, ...]
    fees: Mapping[str, FeeRule]
    settlement_fee_tiers: tuple[SettlementFeeTier, ...]
    settlement_fee_minimum: Decimal
    balloon_pct: Decimal | None = None
    balloon_pct_range: tuple[Decimal, Decimal] | None = None
    balloon_extension: BalloonExtension | None = None
    disbursement_preconditions: tuple[str, ...] = ()
    # 非应计: past this many days past due the contract's interest and penalty are held in suspense,
    # not recognised as income (None: DEFAULT_NON_ACCRUAL_DPD)
    non_accrual_dpd: int | None = None
    partial_prepayment: PartialPrepayment | None = None
    lease_end: LeaseEnd | None = None
    # what VAT is levied on: the interest (loans, 回租 as a loan service) or the whole rental (直租, a
    # lease of a movable asset), its principal part deferred from the vehicle's purchase to billing
    vat_basis: str = "interest"

    @property
    def non_accrual_after(self) -> int:
        return DEFAULT_NON_ACCRUAL_DPD if self.non_accrual_dpd is None else self.non_accrual_dpd

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ProductTerms:
        code = str(raw.get("code") or "").strip()
        if not code:
            raise InputError("code", "a product needs a code")

        def field(name: str) -> Any:
            if name not in raw:
                raise InputError(f"{code}.{name}", "is missing")
            return raw[name]

        def rate(name: str, value: Any, maximum: Decimal = Decimal(1)) -> Decimal:
            return parse_rate(str(value), f"{code}.{name}", maximum=maximum)

        def amount(name: str, value: Any) -> Decimal:
            number = D(str(value))
            if number < 0 or round_money(number, currency) != number:
                raise InputError(f"{code}.{name}", f"{value} is not a valid {currency} amount")
            return number

        currency = str(raw.get("currency", DEFAULT_CURRENCY))
        minor_digits(currency)
        business_type = field("business_type")
        if business_type not in BUSINESS_TYPES:
            raise InputError(f"{code}.business_type", f"{business_type!r} is not one of {', '.join(BUSINESS_TYPES)}")
        try:
            method = Method(field("method"))
        except ValueError:
            raise InputError(f"{code}.method", f"{raw['method']!r} is not one of {', '.join(m.value for m in Method)}") from None
        terms = tuple(sorted(int(t) for t in field("term_months")))
        if not terms or any(not 0 < t <= MAX_TERM_MONTHS for t in terms):
            raise InputError(f"{code}.term_months", f"terms must be 1 to {MAX_TERM_MONTHS} months")

        p = field("penalty")
        basis = p.get("basis")
        if basis not in PENALTY_BASES:
            raise InputError(f"{code}.penalty.basis", f"{basis!r} is not one of {', '.join(PENALTY_BASES)}")
        grace = int(p.get("grace_days", 0))
        if grace < 0:
            raise InputError(f"{code}.penalty.grace_days", "must not be negative")
        penalty = PenaltyTerms(
            daily_rate=rate("penalty.daily_rate", p.get("daily_rate")),
            basis=basis,
            grace_days=grace,
            cap_pct=None if p.get("cap_pct") is None else rate("penalty.cap_pct", p["cap_pct"], Decimal(10)),
        )

        order = tuple(field("allocation_order"))
        if sorted(order) != sorted(ALLOCATION_COMPONENTS):
            raise InputError(f"{code}.allocation_order", f"must order exactly {', '.join(ALLOCATION_COMPONENTS)}")

        fees: dict[str, FeeRule] = {}
        for key, rule in (raw.get("fees") or {}).items():
            if key not in FEE_KEYS:
                raise InputError(f"{code}.fees.{key}", f"unknown fee item; known: {', '.join(FEE_KEYS)}")
            fees[key] = FeeRule(bool(rule.get("financeable", False)), bool(rule.get("finance_charge", False)))

        es = field("early_settlement")
        tiers = tuple(
            SettlementFeeTier(None if t.get("below_months") is None else int(t["below_months"]), rate("early_settlement.pct", t["pct"]))
            for t in es.get("fee_tiers", [])
        )
        if not tiers or tiers[-1].below_months is not None:
            raise InputError(f"{code}.early_settlement.fee_tiers", "the last tier must have no below_months")

        balloon_pct = balloon_range = None
        if method is Method.BALLOON:
            balloon_pct = rate("balloon_pct", field("balloon_pct"))
            low, high = (rate("balloon_pct_range", v) for v in raw.get("balloon_pct_range", [balloon_pct, balloon_pct]))
            if not (0 < low <= balloon_pct <= high < 1):
                raise InputError(f"{code}.balloon_pct", "must lie inside balloon_pct_range, above 0 and below 1")
            balloon_range = (low, high)
        elif "balloon_pct" in raw:
            raise InputError(f"{code}.balloon_pct", "only a balloon product has a balloon")
        extension = None
        if raw.get("balloon_extension") is not None:
            if method is not Method.BALLOON:
                raise InputError(f"{code}.balloon_extension", "only a balloon product can extend its balloon")
            ext = raw["balloon_extension"]
            extension = BalloonExtension(int(ext.get("max_months", 0)), rate("balloon_extension.annual_rate", ext.get("annual_rate")),
                                         int(ext.get("min_days_before", 0)))
            if not 0 < extension.max_months <= MAX_TERM_MONTHS or extension.min_days_before < 0:
                raise InputError(f"{code}.balloon_extension", f"max_months 1 to {MAX_TERM_MONTHS}, min_days_before not negative")
        preconditions = tuple(raw.get("disbursement_preconditions") or ())
        unknown = [p for p in preconditions if p not in DISBURSEMENT_PRECONDITIONS]
        if unknown or len(set(preconditions)) != len(preconditions):
            raise InputError(f"{code}.disbursement_preconditions", f"each once, of {', '.join(DISBURSEMENT_PRECONDITIONS)}")

        non_accrual = raw.get("non_accrual_dpd")
        if non_accrual is not None and not 0 < int(non_accrual) <= 3650:
            raise InputError(f"{code}.non_accrual_dpd", "a number of days past due, 1 to 3650")

        prepayment = None
        if raw.get("partial_prepayment") is not None:
            pp = raw["partial_prepayment"]
            options = tuple(pp.get("options") or ())
            if not options or any(o not in ("shorten_term", "lower_instalment") for o in options) or method not in (Method.ANNUITY,
                                                                                                               Method.EQUAL_PRINCIPAL):
                raise InputError(f"{code}.partial_prepayment", "options of shorten_term, lower_instalment; on an annuity or "
                                                               "equal-principal product")
            prepayment = PartialPrepayment(options, amount("partial_prepayment.minimum", pp.get("minimum", "0")),
                                           amount("partial_prepayment.fee_minimum", pp.get("fee_minimum", "0")))

        vat_basis = str(raw.get("vat_basis", "interest"))
        if vat_basis not in ("interest", "rental") or (vat_basis == "rental" and business_type != "direct_lease"):
            raise InputError(f"{code}.vat_basis", "interest, or rental for a direct lease (直租 is taxed on the whole rental)")
        lease_end = None
        if raw.get("lease_end") is not None:
            if business_type not in ("direct_lease", "sale_leaseback"):
                raise InputError(f"{code}.lease_end", "only a lease (direct_lease, sale_leaseback) ends with a buy-out")
            le = raw["lease_end"]
            lease_end = LeaseEnd(amount("lease_end.buy_out_price", le.get("buy_out_price")), rate("lease_end.vat_rate", le.get("vat_rate", "0")))

        return cls(
            code=code,
            name=str(field("name")),
            name_zh=str(raw.get("name_zh", "")),
            business_type=business_type,
            method=method,
            currency=currency,
            annual_rate=rate("annual_rate", field("annual_rate")),
            term_months=terms,
            min_down_payment_pct=rate("min_down_payment_pct", raw.get("min_down_payment_pct", "0")),
            instalment_fee=amount("instalment_fee", raw.get("instalment_fee", "0")),
            deposit_pct=rate("deposit_pct", raw.get("deposit_pct", "0")),
            vat_rate=rate("vat_rate", raw.get("vat_rate", "0")),
            roll_due_dates=bool(raw.get("roll_due_dates", False)),
            penalty=penalty,
            allocation_order=order,
            fees=fees,
            settlement_fee_tiers=tiers,
            settlement_fee_minimum=amount("early_settlement.minimum", es.get("minimum", "0")),
            balloon_pct=balloon_pct,
            balloon_pct_range=balloon_range,
            balloon_extension=extension,
            disbursement_preconditions=preconditions,
            non_accrual_dpd=None if non_accrual is None else int(non_accrual),
            partial_prepayment=prepayment,
            lease_end=lease_end,
            vat_basis=vat_basis,
        )

    def to_dict(self) -> dict[str, Any]:
        """Canonical form: plain JSON types, decimals as strings. Round-trips through from_dict."""
        out: dict[str, Any] = {
            "code": self.code,
            "name": self.name,
            "name_zh": self.name_zh,
            "business_type": self.business_type,
            "method": self.method.value,
            "currency": self.currency,
            "annual_rate": str(self.annual_rate),
            "term_months": list(self.term_months),
            "min_down_payment_pct": str(self.min_down_payment_pct),
            "instalment_fee": str(self.instalment_fee),
            "deposit_pct": str(self.deposit_pct),
            "vat_rate": str(self.vat_rate),
            "roll_due_dates": self.roll_due_dates,
            "penalty": {
                "daily_rate": str(self.penalty.daily_rate),
                "basis": self.penalty.basis,
                "grace_days": self.penalty.grace_days,
                "cap_pct": None if self.penalty.cap_pct is None else str(self.penalty.cap_pct),
            },
            "allocation_order": list(self.allocation_order),
            "fees": {k: {"financeable": r.financeable, "finance_charge": r.finance_charge} for k, r in sorted(self.fees.items())},
            "early_settlement": {
                "fee_tiers": [
                    {"pct": str(t.pct)} if t.below_months is None else {"below_months": t.below_months, "pct": str(t.pct)}
                    for t in self.settlement_fee_tiers
                ],
                "minimum": str(self.settlement_fee_minimum),
            },
        }
        if self.balloon_pct is not None:
            out["balloon_pct"] = str(self.balloon_pct)
            out["balloon_pct_range"] = [str(v) for v in self.balloon_pct_range or ()]
        if self.balloon_extension is not None:  # absent keys keep the hash of products defined before them
            ext = self.balloon_extension
            out["balloon_extension"] = {"max_months": ext.max_months, "annual_rate": str(ext.annual_rate), "min_days_before": ext.min_days_before}
        if self.disbursement_preconditions:
            out["disbursement_preconditions"] = list(self.disbursement_preconditions)
        if self.non_accrual_dpd is not None:
            out["non_accrual_dpd"] = self.non_accrual_dpd
        if self.partial_prepayment is not None:
            pp = self.partial_prepayment
            out["partial_prepayment"] = {"options": list(pp.options), "minimum": str(pp.minimum), "fee_minimum": str(pp.fee_minimum)}
        if self.vat_basis != "interest":
            out["vat_basis"] = self.vat_basis
        if self.lease_end is not None:
            out["lease_end"] = {"buy_out_price": str(self.lease_end.buy_out_price), "vat_rate": str(self.lease_end.vat_rate)}
        return out

    def terms_hash(self) -> str:
        canonical = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def settlement_fee_pct(self, months_elapsed: int) -> Decimal:
        for tier in self.settlement_fee_tiers:
            if tier.below_months is None or months_elapsed < tier.below_months:
                return tier.pct
        raise AssertionError("the last tier has no bound")  # from_dict guarantees it
