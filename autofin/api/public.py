"""What the entry API answers: one `*Public` model per shape (after the full-stack FastAPI
template). Every route declares one; the answer is checked against it before it leaves, and a
field the services add or drop without its model changing fails the tests instead of changing
the API silently. Amounts are yuan as decimal strings ("150000.00"), dates and times ISO 8601.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from autofin.api.warm import PacedRoute

Money = str  # yuan, a decimal string with two decimals
Date = str  # YYYY-MM-DD
Timestamp = str  # ISO 8601 with the offset


class Public(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- users


class MePublic(Public):
    username: str
    role: str
    partner_code: str | None


class UserPublic(MePublic):
    is_active: bool


class UserCreatedPublic(MePublic):
    token: str = Field(description="shown once; only its hash is kept")


class TokenPublic(Public):
    username: str
    token: str


# ---------------------------------------------------------------- partners


class ExposurePublic(Public):
    disbursed: Money
    committed: Money
    contracts: Money
    applications: Money
    total: Money
    headroom: Money


class PartnerPublic(Public):
    partner_code: str
    name: str
    kind: str
    rating: str
    status: str
    region: str
    city: str
    credit_limit: Money
    currency: str
    settlement_bank: str | None
    settlement_account_no: str | None
    settlement_account_name: str | None
    is_blacklisted: bool
    is_fraud_flagged: bool
    exposure: ExposurePublic | None = Field(default=None, description="on a single partner, not in lists")


class PartnerBlacklistedPublic(PartnerPublic):
    applications_flagged: int


class PartnerChangePublic(Public):
    field: str
    old: str | None
    new: str | None
    reason: str | None
    at: Timestamp


class RowErrorPublic(Public):
    row: int
    field: str
    reason: str


class PartnerBatchPublic(Public):
    applied: int
    errors: list[RowErrorPublic]


# ---------------------------------------------------------------- customers and vehicles


class CustomerPublic(Public):
    customer_id: int
    kind: str
    name: str
    id_type: str
    id_number_masked: str
    mobile_masked: str | None
    birth_date: Date | None
    city: str | None
    is_blacklisted: bool


class MandatePublic(Public):
    mandate_ref: str
    bank_code: str
    debtor_name: str
    debtor_account: str = Field(description="masked")
    signed_date: Date
    status: str = Field(description="active, revoked, or invalid (stopped by the bank: AC04, MD01, ...)")
    status_reason: str | None


class MandatesPublic(Public):
    contract_no: str
    mandates: list[MandatePublic]


class PriceRangePublic(Public):
    min: Money
    max: Money


class VehiclePublic(Public):
    vehicle_id: int
    vin: str
    model_code: str
    brand: str
    model_name: str
    condition: str
    price: Money
    inventory_status: str
    branch: str | None
    reference_price: PriceRangePublic | None


# ---------------------------------------------------------------- plans and applications


class PlanRowPublic(Public):
    seq: int
    due_date: Date
    opening_balance: Money
    principal: Money
    interest: Money
    fee: Money
    payment: Money
    balance: Money


class PlanPublic(Public):
    product_code: str
    financed_amount: Money
    currency: str
    method: str
    term_months: int
    annual_rate: str = Field(description="nominal, a fraction (0.0599)")
    apr: str = Field(description="every finance charge counted, a fraction")
    effective_annual_rate: str
    down_payment: Money
    deposit: Money
    upfront_amount: Money
    balloon: Money
    total_interest: Money
    total_fees: Money
    total_payable: Money
    schedule: list[PlanRowPublic]


class ApplicationSummaryPublic(Public):
    application_no: str
    status: str
    business_type: str
    partner_code: str
    customer_id: int
    financed_amount: Money
    is_flagged: bool
    created_at: Timestamp


class ItemPublic(Public):
    key: str
    amount: Money
    financed: bool


class DocumentPublic(Public):
    document_id: int
    doc_type: str
    file_name: str
    content_type: str
    size_bytes: int
    sha256: str


class RuleHitPublic(Public):
    rule: str
    outcome: str
    reason: str | None
    description: str | None
    error: str | None = Field(default=None, description="the rule could not be evaluated (a missing input): why")


class ScorePartPublic(Public):
    characteristic: str
    value: Any
    points: int


class DecisionPublic(Public):
    kind: str
    outcome: str
    reason_code: str | None
    rule_set_version: str | None
    score: int | None
    grade: str | None
    decided_at: Timestamp
    rule_hits: list[RuleHitPublic]


class ApplicationPublic(Public):
    application_no: str
    status: str
    business_type: str
    partner_code: str
    customer_id: int
    vehicle_id: int
    price: Money
    down_payment: Money
    financed_amount: Money
    term_months: int
    start_date: Date | None
    monthly_income: Money | None
    items: list[ItemPublic]
    is_flagged: bool
    flag_reason: str | None
    submitted_at: Timestamp | None
    plan: PlanPublic | None
    documents: list[DocumentPublic]
    decisions: list[DecisionPublic]


class PreApprovalPublic(Public):
    application_no: str
    outcome: str
    status: str
    reason_code: str | None
    rule_set_version: str
    score: int
    grade: str
    approval_route: list[str] | None
    rule_hits: list[RuleHitPublic]
    scorecard: list[ScorePartPublic]
    inputs: dict[str, Any] = Field(description="every fact the rules and the scorecard saw")


# ---------------------------------------------------------------- approval


class TaskPublic(Public):
    task_id: int
    tier: str
    tier_seq: int
    route: list[str]
    status: str
    assignee: str | None
    locked_by: str | None
    lock_expires_at: Timestamp | None
    tags: list[str]
    outcome: str | None
    reason_code: str | None
    comment: str | None
    decided_by: str | None
    decided_at: Timestamp | None
    turnaround_seconds: int | None
    created_at: Timestamp | None
    application_no: str
    business_type: str
    partner_code: str
    financed_amount: Money


class TaskDecidedPublic(Public):
    task_id: int
    status: str
    application_no: str
    application_status: str
    next_tier: str | None = None
    contract_no: str | None = None
    contract_status: str | None = None


class RefusedItemPublic(Public):
    """One item of a batch that was refused: the status code a single request would have had, and why."""

    ok: bool
    status_code: int
    detail: str


class TaskRefusedPublic(RefusedItemPublic):
    task_id: int


class TaskDecidedItemPublic(TaskDecidedPublic):
    ok: bool


class TaskDecisionsPublic(Public):
    decided: int
    refused: int
    results: list[TaskDecidedItemPublic | TaskRefusedPublic]


# ---------------------------------------------------------------- contracts and disbursements


class PayoutPublic(Public):
    payout_id: int
    kind: str = Field(description="disbursement | refund | deposit_refund")
    contract_no: str | None
    disbursement_id: int | None
    request_id: int | None
    payee_kind: str = Field(description="dealer | tax | insurer | gps | customer")
    payee_name: str
    payee_account_no: str
    payee_bank: str
    amount: Money
    currency: str
    bank_code: str = Field(description="the paying bank, whose pain.001 file carries it")
    end_to_end_id: str | None
    attempt: int
    status: str = Field(description="pending | sent | paid | failed | retried | cancelled")
    reason_code: str | None = Field(description="the bank's ISO reason code of a failure (AC01, AC04, ...)")
    business_date: Date
    paid_date: Date | None
    created_at: Timestamp | None


class DisbursementPublic(Public):
    disbursement_id: int
    contract_no: str | None
    status: str
    amount: Money
    currency: str
    payee_bank: str
    payee_account_no: str
    payee_account_name: str
    locked_by: str | None
    lock_expires_at: Timestamp | None
    approved_by: str | None
    approved_at: Timestamp | None
    sent_at: Timestamp | None
    paid_date: Date | None
    failure_reason: str | None
    fraud_reason: str | None
    created_at: Timestamp | None
    payouts: list[PayoutPublic] = Field(default=[], description="one per payee and attempt (in the single view)")


class DisbursementPaidPublic(DisbursementPublic):
    contract_status: str | None = None


class DisbursementItemPublic(DisbursementPublic):
    ok: bool


class DisbursementRefusedPublic(RefusedItemPublic):
    disbursement_id: int


class DisbursementApprovalsPublic(Public):
    approved: int
    refused: int
    results: list[DisbursementItemPublic | DisbursementRefusedPublic]


class ContractSummaryPublic(Public):
    contract_no: str
    status: str
    business_type: str
    partner_code: str
    financed_amount: Money
    start_date: Date


class ProductRefPublic(Public):
    product_code: str | None
    product_version: int | None
    terms_hash: str | None
    preconditions: list[str]


class SignaturePublic(Public):
    signer_name: str
    signer_id: str
    method: str
    provider: str
    provider_ref: str
    document_sha256: str
    signed_at: Timestamp | None


class ConditionPublic(Public):
    kind: str
    reference: str


class InstalmentPublic(Public):
    """An instalment; before the payout, the plan's row (status planned, no penalty or payment yet)."""

    seq: int
    due_date: Date
    principal: Money
    interest: Money
    fee: Money
    penalty: Money | None = None
    paid: Money | None = None
    status: str


class ContractPublic(Public):
    contract_no: str
    application_no: str | None
    status: str
    partner_code: str
    business_type: str
    method: str
    financed_amount: Money
    balloon: Money
    term_months: int
    start_date: Date
    maturity_date: Date
    signed_at: Timestamp | None
    activated_date: Date | None
    closed_date: Date | None
    credit: Money = Field(description="customer credit: overpaid, not yet used or refunded")
    deposit_held: Money = Field(description="保证金 received at activation and not yet set against bills or refunded")
    dpd: int
    bucket: str
    document_sha256: str | None
    schedule_version: int
    product: ProductRefPublic
    signatures: list[SignaturePublic]
    conditions: list[ConditionPublic]
    disbursement: DisbursementPublic | None
    schedule: list[InstalmentPublic]


class VoucherLinePublic(Public):
    account: str
    debit: Money
    credit: Money


class VoucherPublic(Public):
    """One money event's voucher. A summary voucher (`summary`) carries all of a day's events of its type
    from the night's bulk steps: shown here with this event's own share of its lines."""

    entry_id: int | None
    voucher_no: str | None
    summary: bool
    date: Date
    event_type: str
    lines: list[VoucherLinePublic]
    debit: Money
    credit: Money


class SettlementQuotePublic(Public):
    contract_no: str
    as_of: Date
    unpaid_billed: Money
    penalties: Money
    outstanding_principal: Money
    accrued_interest: Money
    settlement_fee: Money
    months_elapsed: int
    total: Money
    customer_credit: Money
    note: str


class SettledPublic(Public):
    contract_no: str
    status: str
    receipt_id: int
    amount: Money
    quote: SettlementQuotePublic
    vouchers: int
    voucher_debit: Money
    voucher_credit: Money


class PrepaymentRowPublic(Public):
    seq: int
    due_date: Date
    principal: Money
    interest: Money
    fee: Money
    payment: Money


class PrepaymentQuotePublic(Public):
    contract_no: str
    as_of: Date
    option: str = Field(description="shorten_term | lower_instalment")
    principal: Money
    accrued_interest: Money = Field(description="interest on the principal paid ahead since the last due date")
    fee: Money = Field(description="the early-settlement tier's percentage of the principal, at least the product's minimum")
    total: Money
    outstanding_before: Money
    outstanding_after: Money
    instalment_before: Money
    instalment_after: Money
    instalments_left: int
    maturity_date: Date
    schedule: list[PrepaymentRowPublic]


class PrepaidPublic(Public):
    contract_no: str
    receipt_id: int
    amount: Money
    quote: PrepaymentQuotePublic
    schedule_version: int
    voucher_debit: Money
    voucher_credit: Money


class BuyOutQuotePublic(Public):
    contract_no: str
    business_type: str
    buy_out: Money = Field(description="the residual value the lessee pays for the vehicle (留购价), from the frozen terms")
    vat_rate: str
    vat: Money = Field(description="the VAT inside the price: 13% for a direct lease, none for a sale-and-leaseback (as data)")
    payable_now: bool
    status: str


class TitleTransferPublic(Public):
    title_transfer_id: int
    contract_no: str
    vehicle_id: int | None
    buy_out: Money
    vat: Money
    reference: str
    bought_out_date: Date
    status: str = Field(description="open | done")
    registration_no: str | None
    transferred_date: Date | None
    created_at: Timestamp | None
    voucher_debit: Money | None = None


# ---------------------------------------------------------------- post-lease


class ReceiptPublic(Public):
    receipt_id: int
    contract_no: str
    source: str
    reference: str
    amount: Money
    value_date: Date
    business_date: Date
    status: str
    payer_name: str | None
    created_at: Timestamp | None


class PaymentBatchPublic(Public):
    entered: int
    total: Money | None = None
    receipts: list[ReceiptPublic] = Field(default_factory=list)
    errors: list[RowErrorPublic]


class ApprovalStepPublic(Public):
    level: int
    role: str
    decision: str
    comment: str | None
    by: str
    at: Timestamp | None


class PostLeaseRequestPublic(Public):
    request_id: int
    kind: str
    contract_no: str
    receipt_id: int | None
    amount: Money
    status: str
    chain: list[str]
    level: int
    next_role: str | None
    reason: str | None
    details: dict[str, Any]
    requested_by: str
    created_at: Timestamp | None
    executed_at: Timestamp | None
    approvals: list[ApprovalStepPublic]


class PostLeaseDecidedPublic(PostLeaseRequestPublic):
    executed: dict[str, Any] | None = Field(description="what the last approval did (reversal, refund, extension), with its voucher")


# ---------------------------------------------------------------- collections


class CaseVehiclePublic(Public):
    vin: str
    model: str | None
    inventory_status: str


class LastContactPublic(Public):
    date: Date
    kind: str
    outcome: str


class OpenPromisePublic(Public):
    amount: Money
    promised_date: Date


class CasePublic(Public):
    """A collection case at a glance: where it is, who works it, what the contract owes, the vehicle."""

    case_id: int
    contract_no: str
    status: str
    stage: str
    collection_status: str
    category: str | None
    group: str | None
    assignee: str | None
    opened_date: Date
    closed_date: Date | None
    close_reason: str | None
    dpd: int
    bucket: str
    worst_bucket: str
    contract_status: str
    arrears: Money = Field(description="billed and unpaid principal, interest and fees")
    penalty: Money = Field(description="penalty interest accrued and unpaid")
    customer_name: str
    mobile: str | None
    partner_code: str
    region: str | None
    vehicle: CaseVehiclePublic | None
    last_contact: LastContactPublic | None
    open_promise: OpenPromisePublic | None
    agency: str | None


class ContactPublic(Public):
    contact_id: int
    date: Date
    kind: str
    outcome: str
    party: str
    note: str | None
    agency: str | None
    by: str
    at: Timestamp | None


class PromisePublic(Public):
    promise_id: int
    case_id: int
    amount: Money
    made_date: Date
    promised_date: Date
    status: str
    paid: Money = Field(description="paid by the customer since the promise was made")
    resolved_date: Date | None


class OutsourcingPublic(Public):
    outsourcing_id: int
    case_id: int
    agency: str
    start_date: Date
    end_date: Date
    commission_rate: str
    status: str
    ended_date: Date | None
    recovered: Money
    commission: Money


class RepossessionPublic(Public):
    repossession_id: int
    case_id: int
    status: str
    agent: str
    ordered_date: Date
    repossessed_date: Date | None
    storage_location: str | None
    valuation: Money | None
    valued_date: Date | None
    valuer: str | None
    sale_price: Money | None
    sale_date: Date | None
    buyer: str | None
    costs_recovered: Money
    receipt_id: int | None = Field(description="the receipt of the proceeds left after the costs, applied by the waterfall")
    note: str | None


class CostPublic(Public):
    cost_id: int
    category: str
    payee: str
    amount: Money
    recovered: Money
    date: Date
    request_id: int


class LitigationPublic(Public):
    litigation_id: int
    case_id: int
    status: str
    court: str
    court_case_no: str | None
    claim: Money
    filed_date: Date
    hearing_date: Date | None
    judgement_date: Date | None
    awarded: Money | None
    judgement_note: str | None
    closed_date: Date | None
    close_result: str | None
    close_note: str | None


class VisitPublic(Public):
    visit_id: int
    case_id: int
    status: str
    visitor: str
    address_note: str | None
    dispatched_date: Date
    reported_date: Date | None
    outcome: str | None
    findings: str | None
    review_comment: str | None
    reviewed_date: Date | None


class CaseDetailPublic(CasePublic):
    contacts: list[ContactPublic]
    promises: list[PromisePublic]
    outsourcing: list[OutsourcingPublic]
    repossessions: list[RepossessionPublic]
    costs: list[CostPublic]
    litigation: list[LitigationPublic]
    visits: list[VisitPublic]


class CaseContactedPublic(CaseDetailPublic):
    contact_id: int


class BreakPublic(Public):
    break_id: int
    business_date: Date
    bank_code: str
    kind: str
    reference: str | None
    bank_amount: Money
    book_amount: Money
    status: str
    resolution: str | None
    resolved_at: Timestamp | None


class UnidentifiedPublic(Public):
    unidentified_id: int
    bank_code: str
    reference: str
    amount: Money
    value_date: Date
    business_date: Date
    payer_name: str | None
    status: str
    break_id: int | None
    receipt_id: int | None
    note: str | None


class CollectionSetupPublic(Public):
    version: str
    stages: dict[str, str]
    statuses: dict[str, str]
    categories: dict[str, str]
    contact_kinds: list[str]
    outcomes: dict[str, str]
    groups: dict[str, dict[str, Any]] = Field(description="code → name and members (usernames)")
    assignment: list[dict[str, Any]] = Field(description="the rules in order: conditions (amounts in yuan) and the group")
    agencies: dict[str, dict[str, Any]]
    repossession_agents: dict[str, str]
    cost_categories: dict[str, str]
    reminders: list[dict[str, Any]]
    provisioning: dict[str, str] = Field(description="bucket → rate")


class AssignmentRunPublic(Public):
    cases_assigned: int
    cases_left_in_group_queue: int
    assigned_by_group: dict[str, int]


# ---------------------------------------------------------------- reference


class VehicleModelPublic(Public):
    model_config = ConfigDict(extra="allow")  # the reference file's columns (brand, name, wmi, ...)

    model_code: str
    price_min: Money
    price_max: Money


class GradePublic(Public):
    grade: str
    min: int


class RulePublic(Public):
    id: str
    outcome: str
    reason: str | None
    when: str
    description: str | None


class RuleSetPublic(Public):
    rule_set: str
    version: str
    grades: list[GradePublic]
    rules: list[RulePublic]


class RoutePublic(Public):
    when: dict[str, Any]
    tiers: list[str]


class ApprovalMatrixPublic(Public):
    version: str
    lock_minutes: int
    routes: list[RoutePublic]
    reject_reasons: dict[str, str]
    post_lease: dict[str, list[str]]
    waiver: list[dict[str, Any]] = Field(description="减免: the chain by amount waived, the first tier whose up_to (yuan) it does not exceed")


class HealthPublic(Public):
    status: str


class ProductPublic(Public):
    model_config = ConfigDict(extra="allow")  # the product's terms, as the catalogue states them

    product_code: str
    product_version_id: int


class ErrorPublic(Public):
    detail: str


class TransitionErrorPublic(Public):
    """409 for a status that does not allow the request: where the object is and where it may go."""

    detail: str
    current_status: str | None = None
    allowed: list[str] | None = None


def error_answers(methods: set[str], path: str, dependencies: list[Any]) -> dict[int | str, dict[str, Any]]:
    """The error answers a route can give (app.py says when each is given); 422 FastAPI adds itself."""
    writes = bool(methods - {"GET", "HEAD"})
    answers: dict[int | str, dict[str, Any]] = {
        401: {"model": ErrorPublic, "description": "no token, or one that is not a live user's (with WWW-Authenticate: Bearer)"}}
    if dependencies:
        answers[403] = {"model": ErrorPublic, "description": "the caller's role may not do this, or its partner is blacklisted"}
    if "{" in path:
        answers[404] = {"model": ErrorPublic, "description": "not found, or outside the caller's data scope (the same answer)"}
    if writes:
        answers[409] = {"model": TransitionErrorPublic,
                        "description": "the object's status does not allow this (current_status, allowed), or a duplicate or a conflict"}
        answers[413] = {"model": ErrorPublic, "description": "the body is above its limit (256 KiB; 12 MiB for an upload)"}
        answers[503] = {"model": ErrorPublic, "description": "the store was busy; nothing was written: retry (Retry-After)"}
    return answers


class PublicRouter(APIRouter):
    """The routers of the API: every route declares its error answers (`error_answers`), an answer
    carries the keys its service gave and no others (a field a model declares optional, `next_tier`,
    `exposure`..., that the service leaves out stays out of the JSON, not null), a route's first
    request in a process runs alone, and the requests that change the store take turns (`warm.PacedRoute`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(route_class=PacedRoute, **kwargs)

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        kwargs["response_model_exclude_unset"] = True
        methods = set(kwargs.get("methods") or ["GET"])
        kwargs["responses"] = {**error_answers(methods, path, list(kwargs.get("dependencies") or [])), **(kwargs.get("responses") or {})}
        super().add_api_route(path, endpoint, **kwargs)
