"""Request bodies of the entry API. Amounts are yuan as JSON numbers or decimal strings with at
most two decimals ("150000.00"); percentages are numbers from 0 to 100; dates are ISO 8601.
Responses carry amounts as decimal strings, never binary floats."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from autofin.origination.access import ROLES

Amount = Annotated[Decimal, Field(ge=0, max_digits=15, decimal_places=2, examples=["150000.00"])]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=9, decimal_places=4, examples=["30"])]
Reason = Annotated[str | None, Field(default=None, max_length=500)]
Role = Literal[ROLES]  # type: ignore[valid-type]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class UserIn(Body):
    username: str = Field(min_length=1, max_length=64)
    role: Role
    partner_code: str | None = None


class PartnerIn(Body):
    partner_code: str = Field(min_length=2, max_length=32, examples=["D10001"])
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["dealer", "agent"] = "dealer"
    rating: Literal["A", "B", "C", "D"] = "C"
    region: str = Field(min_length=1, max_length=32)
    city: str = Field(min_length=1, max_length=64)
    credit_limit: Amount = Decimal(0)
    settlement_bank: str | None = None
    settlement_account_no: str | None = None
    settlement_account_name: str | None = None


class ReviewIn(Body):
    approve: bool
    reason: Reason


class PartnerStatusIn(Body):
    status: Literal["active", "suspended", "exiting"]
    reason: Reason


class RatingIn(Body):
    rating: Literal["A", "B", "C", "D"]
    reason: Reason


class LimitIn(Body):
    credit_limit: Amount
    reason: Reason


class AccountIn(Body):
    settlement_bank: str = Field(min_length=1, max_length=100)
    settlement_account_no: str = Field(min_length=8, max_length=30)
    settlement_account_name: str = Field(min_length=1, max_length=200)
    reason: Reason


class BlacklistIn(Body):
    blacklisted: bool
    reason: Reason


class CustomerIn(Body):
    kind: Literal["individual", "company"] = "individual"
    name: str = Field(min_length=1, max_length=200)
    id_number: str = Field(min_length=1, max_length=32, description="resident id (GB 11643) or unified social credit code")
    mobile: str | None = Field(default=None, max_length=20)
    city: str | None = Field(default=None, max_length=64)


class VehicleIn(Body):
    vin: str = Field(min_length=1, max_length=17)
    model_code: str = Field(min_length=1, max_length=32, description="see GET /reference/vehicle-models")
    condition: Literal["new", "used"] = "new"
    price: Amount
    inventory_status: Literal["in_stock", "purchase_in_transit"] = "in_stock"
    partner_code: str | None = Field(default=None, description="whose inventory (dealers: their own, implied)")
    branch: str | None = Field(default=None, max_length=64)


class VehicleStatusIn(Body):
    inventory_status: str
    reason: Reason


class ItemIn(Body):
    key: str = Field(min_length=1, max_length=32, examples=["purchase_tax"])
    amount: Amount
    financed: bool = False


class QuoteIn(Body):
    product_code: str = Field(min_length=1, max_length=32, examples=["NCL-ANN"])
    price: Amount | None = Field(default=None, description="the vehicle's price (applications default to the vehicle's)")
    down_payment: Amount | None = None
    down_payment_pct: Percent | None = None
    term_months: int = Field(ge=1, le=120)
    items: list[ItemIn] = Field(default_factory=list, max_length=20)
    start_date: date | None = None
    balloon_pct: Percent | None = None


class ApplicationIn(QuoteIn):
    partner_code: str | None = Field(default=None, description="the applying partner (dealers: their own, implied)")
    customer_id: int = Field(ge=1)
    vehicle_id: int = Field(ge=1)
    business_type: Literal["loan", "direct_lease", "sale_leaseback"] | None = None
    monthly_income: Amount | None = Field(default=None, description="declared monthly income, for debt-to-income")


class CancelIn(Body):
    reason: Reason
