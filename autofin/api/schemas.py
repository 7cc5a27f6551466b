"""Request bodies of the entry API. Amounts are yuan as JSON numbers or decimal strings with at
most two decimals ("150000.00"); percentages are numbers from 0 to 100; dates are ISO 8601.
Responses carry amounts as decimal strings, never binary floats."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import Path, Query, UploadFile
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator

from autofin.domain.text import ascii_only, checked_text
from autofin.origination.access import ROLES
from autofin.origination.applications import ApplicationRequest, DocumentRefused, QuoteItem, QuoteRequest
from autofin.origination.approval import TaskDecision
from autofin.origination.contracts import DebitAccount

MAX_ID = 2**63 - 1  # the stores' BIGINT: a larger number is refused as input, not overflowed in the driver
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=1000)]
MAX_BATCH_BYTES = 5 * 1024 * 1024


def read_upload(file: UploadFile, limit: int = MAX_BATCH_BYTES) -> bytes:
    """An uploaded table's bytes, refused (413) past `limit` after reading one byte more at most."""
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise DocumentRefused(413, f"larger than {limit} bytes")
    return data


PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def _ascii_number(value: object) -> object:
    """A number given as text is plain decimal in ASCII digits ('150000.00'): Decimal would also
    read '１２', '٣', '1e5' and 'NaN', and fail on '²'."""
    if isinstance(value, str) and not PLAIN_NUMBER.fullmatch(value.strip()):
        ascii_only(value, "amount", "an amount")
        raise ValueError(f"{value[:40]!r} is not a plain decimal number (digits, at most one point)")
    return value


Amount = Annotated[Decimal, BeforeValidator(_ascii_number), Field(ge=0, max_digits=15, decimal_places=2, examples=["150000.00"])]
Percent = Annotated[Decimal, BeforeValidator(_ascii_number), Field(ge=0, le=100, max_digits=9, decimal_places=4, examples=["30"])]
Reason = Annotated[str | None, Field(default=None, max_length=500)]
Role = Literal[ROLES]  # type: ignore[valid-type]


class Body(BaseModel):
    """A request body: unknown fields refused, text stripped, and no text field holding a control
    character (but tab and line breaks) or a lone surrogate."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _plain_text(cls, value: object, info: ValidationInfo) -> object:
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                checked_text(item, info.field_name or "body")
        return value


class UserIn(Body):
    username: str = Field(min_length=1, max_length=64)
    role: Role
    partner_code: str | None = None


class PartnerIn(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "partner_code": "D90001", "name": "杭州新星汽车销售服务有限公司", "kind": "dealer", "rating": "C", "region": "华东", "city": "杭州",
        "credit_limit": "5000000.00", "settlement_bank": "ICBC", "settlement_account_no": "1202020209000012345",
        "settlement_account_name": "杭州新星汽车销售服务有限公司"}]})
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
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"kind": "individual", "name": "张三", "id_number": "330106199005171230", "mobile": "13912345678", "city": "杭州"}]})
    kind: Literal["individual", "company"] = "individual"
    name: str = Field(min_length=1, max_length=200)
    id_number: str = Field(min_length=1, max_length=32, description="resident id (GB 11643) or unified social credit code")
    mobile: str | None = Field(default=None, max_length=20)
    city: str | None = Field(default=None, max_length=64)


class VehicleIn(Body):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"vin": "LFVTST019RA000001", "model_code": "VW-SAGITAR", "condition": "new", "price": "150000.00", "inventory_status": "in_stock"}]})
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
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"product_code": "NCL-ANN", "price": "150000.00", "down_payment_pct": "30", "term_months": 36,
         "items": [{"key": "gps_fee", "amount": "1200.00", "financed": True}]}]})
    product_code: str = Field(min_length=1, max_length=32, examples=["NCL-ANN"])
    price: Amount | None = Field(default=None, description="the vehicle's price (applications default to the vehicle's)")
    down_payment: Amount | None = None
    down_payment_pct: Percent | None = None
    term_months: int = Field(ge=1, le=120)
    items: list[ItemIn] = Field(default_factory=list, max_length=20)
    start_date: date | None = None
    balloon_pct: Percent | None = None


    def to_request(self) -> QuoteRequest:
        return QuoteRequest(**self._fields())

    def _fields(self) -> dict:
        return {**self.model_dump(exclude={"items"}), "items": tuple(QuoteItem(**i.model_dump()) for i in self.items)}


class ApplicationIn(QuoteIn):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"product_code": "NCL-ANN", "customer_id": 1, "vehicle_id": 1, "down_payment_pct": "30", "term_months": 36,
         "monthly_income": "60000.00", "items": [{"key": "gps_fee", "amount": "1200.00", "financed": True}]}]})
    partner_code: str | None = Field(default=None, description="the applying partner (dealers: their own, implied)")
    customer_id: Id
    vehicle_id: Id
    business_type: Literal["loan", "direct_lease", "sale_leaseback"] | None = None
    monthly_income: Amount | None = Field(default=None, description="declared monthly income, for debt-to-income")

    def to_request(self) -> ApplicationRequest:
        return ApplicationRequest(**self._fields())


class CancelIn(Body):
    reason: Reason


# ---------------------------------------------------------------- entry API part 2

Sha256 = Annotated[str, Field(pattern="^[0-9a-f]{64}$", description="lower-case hex SHA-256")]
Required = Annotated[str, Field(min_length=1, max_length=500)]


class DecisionIn(Body):
    decision: Literal["approve", "reject", "return"]
    reason_code: str | None = Field(default=None, max_length=32, description="required to reject; see GET /reference/approval-matrix")
    comment: str | None = Field(default=None, max_length=2000, description="required to return: what is missing")


class TaskDecisionIn(DecisionIn):
    task_id: Id

    def to_decision(self) -> TaskDecision:
        return TaskDecision(**self.model_dump())


class BatchDecisionIn(Body):
    decisions: list[TaskDecisionIn] = Field(min_length=1, max_length=200)


class TagsIn(Body):
    tags: list[Annotated[str, Field(max_length=32)]] = Field(max_length=20)


class ReassignIn(Body):
    to_user: str = Field(min_length=1, max_length=64)
    reason: Reason


class DebitAccountIn(Body):
    bank_code: str = Field(min_length=1, max_length=16, examples=["ICBC"])
    account_no: str = Field(pattern="^[0-9]{12,19}$")


class SignIn(Body):
    document_sha256: Sha256 = Field(description="the sha256 of the document the customer was shown (GET /contracts/{no}/document)")
    method: Literal["sms_otp", "face_verification"] = "sms_otp"
    otp: str | None = Field(default=None, max_length=8)
    debit_account: DebitAccountIn | None = Field(default=None, description="the direct-debit mandate signed with the contract")

    def account(self) -> DebitAccount | None:
        return None if self.debit_account is None else DebitAccount(**self.debit_account.model_dump())


class ConditionIn(Body):
    kind: Literal["mortgage", "gps"]
    reference: str = Field(min_length=1, max_length=64, description="mortgage registration no. or GPS device id")


class DisbursementResultIn(Body):
    status: Literal["paid"]
    paid_date: date | None = None
    reason: str | None = Field(default=None, max_length=200)


class FraudIn(Body):
    reason: Required


class ContractCancelIn(Body):
    reason: Required


class BatchApproveIn(Body):
    disbursement_ids: list[Id] = Field(min_length=1, max_length=200)


class PaymentIn(Body):
    contract_no: str = Field(min_length=1, max_length=32)
    amount: Amount
    value_date: date
    source: Literal["transfer", "corporate"] = "transfer"
    reference: str = Field(min_length=1, max_length=50, description="the bank's reference of the transfer")
    payer_name: str | None = Field(default=None, max_length=200)


class SettlementIn(Body):
    amount: Amount
    reference: str = Field(min_length=1, max_length=50)


class PrepaymentIn(Body):
    principal: Amount = Field(description="the principal paid ahead of the schedule")
    option: Literal["shorten_term", "lower_instalment"]
    amount: Amount = Field(description="the money received: the quote's total")
    reference: str = Field(min_length=1, max_length=50)


class TitleTransferDoneIn(Body):
    registration_no: str = Field(min_length=1, max_length=64, description="the registration certificate's number after the transfer")


class ReversalIn(Body):
    reason: Required
    reopen: bool = Field(default=False, description="allow reopening a contract the receipt helped pay off")


class RefundIn(Body):
    amount: Amount
    reason: Required
    payee_bank: str = Field(min_length=1, max_length=100)
    payee_account_no: str = Field(pattern="^[0-9]{12,19}$")
    payee_account_name: str = Field(min_length=1, max_length=200)


class ExtensionIn(Body):
    months: int = Field(ge=1, le=120)
    reason: Required


class PostLeaseDecisionIn(Body):
    decision: Literal["approve", "reject"]
    comment: str | None = Field(default=None, max_length=2000)


# ---------------------------------------------------------------- collections


class AssignIn(Body):
    username: str = Field(min_length=1, max_length=64, description="a collector or post-loan supervisor")
    group: str | None = Field(default=None, max_length=24, description="default: the member's group (assets/collections.yaml)")


class AssignByRulesIn(Body):
    """Which cases to deal by the rules: every open case nobody is on, or the open cases named."""

    unassigned: bool = Field(default=False, description="every open case nobody is on")
    case_ids: list[Id] | None = Field(default=None, min_length=1, max_length=1000, description="re-deal these open cases")

    @field_validator("case_ids")
    @classmethod
    def _one_of(cls, value: list[int] | None, info: ValidationInfo) -> list[int] | None:
        if value is not None and info.data.get("unassigned"):
            raise ValueError("name the cases or ask for the unassigned ones, not both")
        return value


class CaseStatusIn(Body):
    collection_status: str | None = Field(default=None, max_length=16, description="催收状态, a code of assets/collections.yaml")
    category: str | None = Field(default=None, max_length=24, description="催收类别, a code of assets/collections.yaml")


class ContactIn(Body):
    kind: Literal["call", "sms", "email", "letter", "visit"]
    outcome: str = Field(min_length=1, max_length=8, description="an outcome code of assets/collections.yaml (PTP, RPC, NA, ...)")
    party: Literal["customer", "guarantor", "relative", "employer", "other"] = "customer"
    note: str | None = Field(default=None, max_length=2000)


class PromiseIn(Body):
    amount: Amount
    promised_date: date


class OutsourceIn(Body):
    agency: str = Field(min_length=1, max_length=16)
    days: int = Field(ge=1, le=366)
    commission_rate: Decimal | None = Field(default=None, ge=0, le=1, max_digits=7, decimal_places=6,
                                            description="default: the agency's agreed rate; never above it")


class RecallIn(Body):
    reason: Reason = None


class AgencyResultIn(Body):
    outcome: str = Field(min_length=1, max_length=8)
    note: str | None = Field(default=None, max_length=2000)


class RepossessionOrderIn(Body):
    agent: str = Field(min_length=1, max_length=16, description="a repossession agent of assets/collections.yaml")
    note: str | None = Field(default=None, max_length=2000)


class RepossessedIn(Body):
    repossessed_date: date
    storage_location: str = Field(min_length=1, max_length=200)


class ValuationIn(Body):
    valuation: Amount
    valuer: str = Field(min_length=1, max_length=200)


class SaleIn(Body):
    price: Amount
    buyer: str = Field(min_length=1, max_length=200)


class CostIn(Body):
    category: str = Field(min_length=1, max_length=16, description="a cost category of assets/collections.yaml")
    amount: Amount
    payee: str = Field(min_length=1, max_length=200)
    reason: Required


class WriteOffIn(Body):
    reason: Required


class LawsuitIn(Body):
    court: str = Field(min_length=1, max_length=200)
    claim: Amount
    filed_date: date
    court_case_no: str | None = Field(default=None, max_length=64)


class HearingIn(Body):
    hearing_date: date
    court_case_no: str | None = Field(default=None, max_length=64)


class JudgementIn(Body):
    judgement_date: date
    awarded: Amount
    note: str | None = Field(default=None, max_length=2000)


class LawsuitCloseIn(Body):
    result: Literal["paid", "settled", "enforcement_failed", "withdrawn", "lost"]
    note: str | None = Field(default=None, max_length=2000)


class VisitIn(Body):
    visitor: str = Field(min_length=1, max_length=64, description="the collector who goes")
    address_note: str | None = Field(default=None, max_length=500)


class VisitReportIn(Body):
    outcome: Literal["VIS", "VNF"]
    findings: str = Field(min_length=1, max_length=2000)


class VisitReviewIn(Body):
    decision: Literal["approve", "return"]
    comment: str | None = Field(default=None, max_length=2000)


class ContactChangeIn(Body):
    mobile: str | None = Field(default=None, max_length=20)
    city: str | None = Field(default=None, max_length=64)
    reason: Required


class MandateIn(Body):
    """A new direct-debit mandate (代扣授权) on a new account, signed by the customer."""

    bank_code: str = Field(min_length=1, max_length=16, examples=["ICBC"])
    account_no: str = Field(pattern="^[0-9]{12,19}$")
    method: Literal["sms_otp", "face_verification"] = "sms_otp"
    otp: str | None = Field(default=None, max_length=8)
    reason: Required


class WaiverIn(Body):
    """What is waived (减免), in yuan, each at most what the contract's billed instalments owe of it."""

    penalty: Amount = Decimal("0")
    interest: Amount = Decimal("0")
    fee: Amount = Decimal("0")
    reason: Required


class BreakResolveIn(Body):
    reason: Required


class BreakToSuspenseIn(Body):
    payer_name: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=2000)


class UnidentifiedIn(Body):
    bank_code: str = Field(min_length=1, max_length=16)
    reference: str = Field(min_length=1, max_length=50, description="the bank's reference of the transfer")
    amount: Amount
    value_date: date
    payer_name: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=2000)


class PayeeAccountIn(Body):
    name: str = Field(min_length=1, max_length=140)
    account_no: str = Field(min_length=1, max_length=34)
    bank: str = Field(min_length=1, max_length=140)


class PayoutRetryIn(Body):
    account: PayeeAccountIn | None = Field(default=None, description="the corrected account; none: the same (a dealer's: its partner record's)")
    reason: Required


class MatchIn(Body):
    contract_no: str = Field(min_length=1, max_length=32)
    reason: Required


class DepositOffsetIn(Body):
    amount: Amount
    reason: Required


class DepositRefundIn(RefundIn):
    """The deposit paid back, to the customer's account."""
