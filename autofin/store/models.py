"""Typed models of the transactional store.

Conventions (DESIGN.md): tables singular snake_case; keys `<table>_id`; dates `<x>_date`,
timestamps `<x>_at`, flags `is_<x>`; money `<x>_minor` (BIGINT minor units) beside a `currency`
column; rates `<x>_ppm` (integer millionths). Status columns hold lower-case words; the allowed
values are listed beside each model and checked by the code that moves them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, Boolean, Date, DateTime, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint, func, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column

# SQLite only makes "INTEGER PRIMARY KEY" an alias of the rowid; PostgreSQL gets BIGINT identities.
BigId = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar = {int: BigInteger, dict[str, Any]: Json, list[Any]: Json}


# PostgreSQL writes an updated row as a new version. With room on its page, and no indexed column
# changed, the new version stays on the page and no index is touched (a HOT update); on a full page
# (fillfactor 100, as a bulk load leaves them) every nightly update writes a version elsewhere and
# an entry in every index of the table. The tables the night updates row by row keep that room: the
# penalty accrued (instalment_penalty), the postings (subledger_balance), the worst DPD of the open
# cases (collection_case), the DPD of the contracts past due (contract_dpd), the suspense of the
# non-accrual ones (contract_suspense), the date each contract was last billed (contract_last_bill).
# A 200k A/B, when the penalty was kept on the instalment: penalties 5 s -> 1.8 s a night. The
# instalment itself is not among them (since 0022): the night's updates of it change its status
# (billing, most of allocation's), which its partial indexes name, so they are never HOT.
HOT_UPDATES = {"contract_dpd": 70, "contract_suspense": 70, "instalment_penalty": 70, "subledger_balance": 70, "collection_case": 80,
               "contract_last_bill": 80}


def pk() -> Mapped[int]:
    return mapped_column(BigId, primary_key=True, autoincrement=True)


def fk(target: str, *, nullable: bool = False, index: bool = True) -> Mapped[Any]:
    return mapped_column(BigId, ForeignKey(target), nullable=nullable, index=index)


def money(default: int | None = 0) -> Mapped[int]:
    return mapped_column(BigInteger, nullable=False, server_default=None if default is None else str(default))


def currency() -> Mapped[str]:
    return mapped_column(String(3), nullable=False, server_default="CNY")


def created_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


# ---------------------------------------------------------------- parties and assets


class Partner(Base):
    """Dealer or agent. kind: dealer|agent. rating: A|B|C|D. status: pending|active|suspended|exiting|exited."""

    __tablename__ = "partner"
    partner_id: Mapped[int] = pk()
    partner_code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    rating: Mapped[str] = mapped_column(String(1))
    credit_limit_minor: Mapped[int] = money()
    currency: Mapped[str] = currency()
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    region: Mapped[str] = mapped_column(String(32))
    city: Mapped[str] = mapped_column(String(64))
    settlement_bank: Mapped[str | None] = mapped_column(String(100))
    settlement_account_no: Mapped[str | None] = mapped_column(String(64))
    settlement_account_name: Mapped[str | None] = mapped_column(String(200))
    is_blacklisted: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[datetime] = created_at()
    # set by a disbursement reviewer's fraud feedback (with a partner_history row saying which contract)
    is_fraud_flagged: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class PartnerHistory(Base):
    """Every change of a partner's rating, credit limit, status, blacklist flag or settlement account,
    with who made it and why. field: rating|credit_limit_minor|status|is_blacklisted|settlement_account|is_fraud_flagged."""

    __tablename__ = "partner_history"
    partner_history_id: Mapped[int] = pk()
    partner_id: Mapped[int] = fk("partner.partner_id")
    field: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[str | None] = mapped_column(String(200))
    new_value: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[int | None] = fk("app_user.user_id", nullable=True, index=False)
    changed_at: Mapped[datetime] = created_at()


class Customer(Base):
    """kind: individual (id_type resident_id) | company (id_type uscc)."""

    __tablename__ = "customer"
    __table_args__ = (UniqueConstraint("id_type", "id_number"),)
    customer_id: Mapped[int] = pk()
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    id_type: Mapped[str] = mapped_column(String(16))
    id_number: Mapped[str] = mapped_column(String(32))
    mobile: Mapped[str | None] = mapped_column(String(20), index=True)
    birth_date: Mapped[date | None] = mapped_column(Date)
    city: Mapped[str | None] = mapped_column(String(64))
    is_blacklisted: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # the partner that brought the customer in (their data scope); null for migrated customers
    partner_id: Mapped[int | None] = fk("partner.partner_id", nullable=True)
    created_at: Mapped[datetime] = created_at()


class Vehicle(Base):
    """condition: new|used. inventory_status: in_stock|reserved|abnormal|purchase_in_transit|
    transfer_in_transit|leased|repossessed|disposed."""

    __tablename__ = "vehicle"
    vehicle_id: Mapped[int] = pk()
    vin: Mapped[str] = mapped_column(String(17), unique=True)
    model_code: Mapped[str] = mapped_column(String(32))
    brand: Mapped[str] = mapped_column(String(64))
    model_name: Mapped[str] = mapped_column(String(100))
    condition: Mapped[str] = mapped_column(String(8))
    price_minor: Mapped[int] = money(None)
    currency: Mapped[str] = currency()
    inventory_status: Mapped[str] = mapped_column(String(24), server_default="in_stock")
    partner_id: Mapped[int | None] = fk("partner.partner_id", nullable=True)
    branch: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at()


# ---------------------------------------------------------------- products


class Product(Base):
    __tablename__ = "product"
    product_id: Mapped[int] = pk()
    product_code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    business_type: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = created_at()


class ProductVersion(Base):
    """Immutable: a product edit is a new version; contracts point at the version they were signed under."""

    __tablename__ = "product_version"
    __table_args__ = (UniqueConstraint("product_id", "version"),)
    product_version_id: Mapped[int] = pk()
    product_id: Mapped[int] = fk("product.product_id")
    version: Mapped[int] = mapped_column(Integer)
    terms: Mapped[dict[str, Any]]
    terms_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at()


# ---------------------------------------------------------------- origination


class Application(Base):
    """business_type: loan|direct_lease|sale_leaseback. status: draft|submitted|pre_approved|referred|
    rejected|in_approval|approved|contracted|cancelled."""

    __tablename__ = "application"
    __table_args__ = (Index("ix_application_partner_exposure", "partner_id", "status", "financed_minor"),)
    application_id: Mapped[int] = pk()
    application_no: Mapped[str] = mapped_column(String(32), unique=True)
    business_type: Mapped[str] = mapped_column(String(16))
    partner_id: Mapped[int] = fk("partner.partner_id")
    customer_id: Mapped[int] = fk("customer.customer_id")
    vehicle_id: Mapped[int | None] = fk("vehicle.vehicle_id", nullable=True)
    product_version_id: Mapped[int] = fk("product_version.product_version_id")
    status: Mapped[str] = mapped_column(String(16), server_default="draft", index=True)
    price_minor: Mapped[int] = money(None)
    down_payment_minor: Mapped[int] = money()
    deposit_minor: Mapped[int] = money()
    financed_minor: Mapped[int] = money()
    currency: Mapped[str] = currency()
    term_months: Mapped[int] = mapped_column(Integer)
    plan: Mapped[dict[str, Any] | None]
    monthly_income_minor: Mapped[int | None] = mapped_column(BigInteger)
    start_date: Mapped[date | None] = mapped_column(Date)
    is_flagged: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    flag_reason: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[int | None] = fk("app_user.user_id", nullable=True, index=False)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()


class Document(Base):
    """An uploaded image or file of an application, stored content-addressed under
    data/documents/<sha256[:2]>/<sha256>. doc_type: id_card|driving_licence|invoice|photo|
    income_proof|other."""

    __tablename__ = "document"
    document_id: Mapped[int] = pk()
    application_id: Mapped[int] = fk("application.application_id")
    doc_type: Mapped[str] = mapped_column(String(24))
    file_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    uploaded_by: Mapped[int | None] = fk("app_user.user_id", nullable=True, index=False)
    created_at: Mapped[datetime] = created_at()


class ApplicationItem(Base):
    """A fee item of an application (purchase_tax, insurance, gps_fee, ...), financed or paid upfront."""

    __tablename__ = "application_item"
    application_item_id: Mapped[int] = pk()
    application_id: Mapped[int] = fk("application.application_id")
    item_key: Mapped[str] = mapped_column(String(32))
    amount_minor: Mapped[int] = money(None)
    is_financed: Mapped[bool] = mapped_column(Boolean)


class Decision(Base):
    """kind: pre_approval|approval. outcome: pass|refer|reject|approve|return."""

    __tablename__ = "decision"
    # the dealer's pre-approvals of the last 30 days, read from an index (antifraud: the reject rate)
    __table_args__ = (Index("ix_decision_partner_window", "partner_id", "kind", "decided_at", "outcome"),)
    decision_id: Mapped[int] = pk()
    application_id: Mapped[int] = fk("application.application_id")
    partner_id: Mapped[int] = fk("partner.partner_id", index=False)  # the application's dealer, kept with the decision
    kind: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    reason_code: Mapped[str | None] = mapped_column(String(32))
    rule_set_version: Mapped[str | None] = mapped_column(String(32))
    score: Mapped[int | None] = mapped_column(Integer)
    grade: Mapped[str | None] = mapped_column(String(4))
    details: Mapped[dict[str, Any] | None]
    decided_by: Mapped[int | None] = fk("app_user.user_id", nullable=True, index=False)
    decided_at: Mapped[datetime] = created_at()


class ApprovalTask(Base):
    """One tier's review of an application (assets/approval_matrix.yaml gives the tiers, `route`).
    tier: credit_officer|credit_manager|credit_director. status: open|claimed|approved|rejected|returned|cancelled.
    A claim is a lock with an owner and an expiry; turnaround is from the task's creation to its decision."""

    __tablename__ = "approval_task"
    approval_task_id: Mapped[int] = pk()
    application_id: Mapped[int] = fk("application.application_id")
    tier: Mapped[str] = mapped_column(String(24))
    tier_seq: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), server_default="open", index=True)
    assignee_user_id: Mapped[int | None] = fk("app_user.user_id", nullable=True, index=False)
    lock_owner_user_id: Mapped[int | None] = fk("app_user.user_id", nullable=True, index=False)
    lock_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    tags: Mapped[list[Any] | None]
    outcome: Mapped[str | None] = mapped_column(String(16))
    reason_code: Mapped[str | None] = mapped_column(String(32))
    decided_by: Mapped[int | None] = fk("app_user.user_id", nullable=True, index=False)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()
    route: Mapped[list[Any] | None]
    comment: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    turnaround_seconds: Mapped[int | None] = mapped_column(Integer)


# ---------------------------------------------------------------- contracts and servicing


class ContractDpd(Base):
    """Days past due (DPD) and bucket of each contract past due: the age of its oldest billed
    instalment still unpaid (servicing.delinquency). A row for each contract past due, none for a
    current one (bucket 'current', DPD 0); a written-off contract keeps the row it was written off
    with. Kept beside the contract, not on it: delinquency rewrites these every night for every
    contract past due (~125k at 1M), and written in place they dirtied a page of the wide contract
    table each (1.9-2.2 s a night with a 1.3-1.5 s commit, against 0.1 s here: bench/results.md,
    2026-12-02 03:00). The table is also the past-due set the nightly steps start from. SQL readers
    of a contract `c` join store.ledger.DPD_JOIN and read DPD and BUCKET; the ORM reads Contract.dpd
    and Contract.bucket."""

    __tablename__ = "contract_dpd"
    __table_args__ = ({"postgresql_with": {"fillfactor": HOT_UPDATES["contract_dpd"]}},)
    contract_id: Mapped[int] = mapped_column(BigId, ForeignKey("contract.contract_id"), primary_key=True, autoincrement=False)
    dpd: Mapped[int] = mapped_column(Integer)
    bucket: Mapped[str] = mapped_column(String(8))  # M1|M2|M3|M4+


class ContractLastBill(Base):
    """The business date each contract was last billed: the latest billed_date of its instalments,
    a row for each contract ever billed. Billing writes instalment.billed_date and nothing else
    does (a schedule changed after the fact re-plans or drops unbilled instalments only), so billing
    keeps this row in the same transaction and it stays exact. The representment rule ("anything
    billed since the failed debit?") reads one row per failed contract here, where it read every
    instalment of the contract (3.9 s of a 1M Friday's 5.7 s debit step, bench/results.md 2026-12-03
    08:27); the full-book check holds every row to the instalments."""

    __tablename__ = "contract_last_bill"
    __table_args__ = ({"postgresql_with": {"fillfactor": HOT_UPDATES["contract_last_bill"]}},)
    contract_id: Mapped[int] = mapped_column(BigId, ForeignKey("contract.contract_id"), primary_key=True, autoincrement=False)
    billed_date: Mapped[date] = mapped_column(Date)


class ContractSuspense(Base):
    """非应计: the interest (net of VAT) billed and the penalty accrued while a contract was non-accrual
    (past its non_accrual_dpd), held in suspense (2241.03) instead of income, until the contract is
    current again (collections releases it to income), or waived, or written off. A row for each
    contract holding some, none for the others. Kept beside the contract, not on it: the penalties
    step adds to it every night for every non-accrual contract (~20k at 1M), and on the wide
    contract row each addition dirtied a page of the contract table (18,350 of the 35,473 pages the
    1M Sunday's penalties wrote: bench/results.md, 2026-12-02 21:30). The ORM reads
    Contract.suspended_interest_minor and Contract.suspended_penalty_minor; store.ledger's
    hold_in_suspense and take_from_suspense write it."""

    __tablename__ = "contract_suspense"
    __table_args__ = ({"postgresql_with": {"fillfactor": HOT_UPDATES["contract_suspense"]}},)
    contract_id: Mapped[int] = mapped_column(BigId, ForeignKey("contract.contract_id"), primary_key=True, autoincrement=False)
    interest_minor: Mapped[int] = money()
    penalty_minor: Mapped[int] = money()


# what the nightly penalties read of a contract, after its key: its frozen penalty terms and what its
# money events need (the Contract's ix_contract_penalty_terms)
PENALTY_TERMS = ("contract_id", "currency", "penalty_basis", "penalty_rate_ppm", "penalty_cap_ppm", "grace_days", "non_accrual_dpd")


class Contract(Base):
    """A signed contract with a frozen copy of its terms (`terms`, and the columns the nightly
    steps compute with). status: pending_signature|signed|active|settled_early|paid_off|
    terminated|written_off. bucket: current|M1|M2|M3|M4+."""

    __tablename__ = "contract"
    # Each partial index holds the few contracts a nightly step reads, led by the status the step
    # asks for: an index that does not name it loses to the status index (SQLite, without statistics,
    # chose the status index and read the ~900k active contracts at 1M for none or a few thousand).
    __table_args__ = (
        # a partner's exposure, summed at every submit, read from the index alone (partners.exposure)
        Index("ix_contract_partner_exposure", "partner_id", "status", "financed_minor"),
        # those holding a deposit, read each night for those past maturity with bills unpaid
        Index("ix_contract_deposit_held", "status", "maturity_date", sqlite_where=text("deposit_held_minor > 0"),
              postgresql_where=text("deposit_held_minor > 0")),
        # those holding customer credit, offered to their bills each night (allocation)
        Index("ix_contract_credit", "status", sqlite_where=text("credit_minor > 0"), postgresql_where=text("credit_minor > 0")),
        # none, unless something is wrong: the close checks the whole book for negative credit each night
        Index("ix_contract_negative_credit", "credit_minor", sqlite_where=text("credit_minor < 0"), postgresql_where=text("credit_minor < 0")),
        # the frozen penalty terms, ~40 bytes a contract beside the ~350 of its row: each night's penalties
        # read them for every contract past due (~110k at 1M, as many pages of the table; 0040)
        Index("ix_contract_penalty_terms", *PENALTY_TERMS),
    )
    contract_id: Mapped[int] = pk()
    contract_no: Mapped[str] = mapped_column(String(32), unique=True)
    application_id: Mapped[int | None] = fk("application.application_id", nullable=True)
    partner_id: Mapped[int] = fk("partner.partner_id")
    customer_id: Mapped[int] = fk("customer.customer_id")
    vehicle_id: Mapped[int | None] = fk("vehicle.vehicle_id", nullable=True)
    product_version_id: Mapped[int] = fk("product_version.product_version_id")
    business_type: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(20), index=True)
    currency: Mapped[str] = currency()
    price_minor: Mapped[int] = money()
    down_payment_minor: Mapped[int] = money()
    deposit_minor: Mapped[int] = money()
    financed_minor: Mapped[int] = money(None)
    balloon_minor: Mapped[int] = money()
    term_months: Mapped[int] = mapped_column(Integer)
    # frozen terms, as columns for set-based steps (the full copy is `terms`)
    annual_rate_ppm: Mapped[int] = mapped_column(Integer)
    penalty_rate_ppm: Mapped[int] = mapped_column(Integer)
    penalty_basis: Mapped[str] = mapped_column(String(20))
    penalty_cap_ppm: Mapped[int | None] = mapped_column(Integer)
    grace_days: Mapped[int] = mapped_column(Integer)
    # 非应计: past this many days past due, interest billed and penalty accrued go to suspense (2241.03),
    # kept per contract below, released to income when the contract is current again
    non_accrual_dpd: Mapped[int] = mapped_column(Integer, server_default="90")
    vat_basis: Mapped[str] = mapped_column(String(8), server_default="interest")  # interest | rental (直租), frozen from the product
    vat_rate_ppm: Mapped[int] = mapped_column(Integer)
    allocation_order: Mapped[str] = mapped_column(String(64))
    is_roll_due_dates: Mapped[bool] = mapped_column(Boolean)
    terms: Mapped[dict[str, Any]]
    start_date: Mapped[date] = mapped_column(Date)
    maturity_date: Mapped[date] = mapped_column(Date)
    signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    activated_date: Mapped[date | None] = mapped_column(Date)
    closed_date: Mapped[date | None] = mapped_column(Date)
    credit_minor: Mapped[int] = money()
    deposit_held_minor: Mapped[int] = money()  # 保证金 received at activation and not yet applied or refunded (2241.04)
    # read-only, from contract_dpd (delinquency writes it)
    dpd: Mapped[int] = column_property(func.coalesce(
        select(ContractDpd.dpd).where(ContractDpd.contract_id == contract_id).correlate_except(ContractDpd).scalar_subquery(), 0).label("dpd"))
    bucket: Mapped[str] = column_property(func.coalesce(
        select(ContractDpd.bucket).where(ContractDpd.contract_id == contract_id).correlate_except(ContractDpd).scalar_subquery(),
        "current").label("bucket"))
    # read-only, from contract_suspense (billing and penalties add to it, collections releases it)
    suspended_interest_minor: Mapped[int] = column_property(func.coalesce(
        select(ContractSuspense.interest_minor).where(ContractSuspense.contract_id == contract_id).correlate_except(ContractSuspense)
        .scalar_subquery(), 0).label("suspended_interest_minor"))
    suspended_penalty_minor: Mapped[int] = column_property(func.coalesce(
        select(ContractSuspense.penalty_minor).where(ContractSuspense.contract_id == contract_id).correlate_except(ContractSuspense)
        .scalar_subquery(), 0).label("suspended_penalty_minor"))
    is_migrated: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[datetime] = created_at()
    # the financing plan as approved (schedule included), frozen; instalment rows are written from it on activation
    plan: Mapped[dict[str, Any] | None]
    document_sha256: Mapped[str | None] = mapped_column(String(64))
    schedule_version: Mapped[int] = mapped_column(Integer, server_default="1")


class ContractSignature(Base):
    """A signature of the contract document: which document (its sha256), who, when, how.
    method: the provider's method (e.g. sms_otp)."""

    __tablename__ = "contract_signature"
    contract_signature_id: Mapped[int] = pk()
    contract_id: Mapped[int] = fk("contract.contract_id")
    document_sha256: Mapped[str] = mapped_column(String(64))
    signer_name: Mapped[str] = mapped_column(String(200))
    signer_id_number: Mapped[str] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(24))
    provider: Mapped[str] = mapped_column(String(32))
    provider_ref: Mapped[str] = mapped_column(String(64), unique=True)
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[int | None] = fk("app_user.user_id", nullable=True, index=False)


class ContractCondition(Base):
    """A precondition of disbursement met (the product lists which): kind: mortgage|gps."""

    __tablename__ = "contract_condition"
    __table_args__ = (UniqueConstraint("contract_id", "kind"),)
    contract_condition_id: Mapped[int] = pk()
    contract_id: Mapped[int] = fk("contract.contract_id", index=False)
    kind: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str] = mapped_column(String(64))
    recorded_by: Mapped[int | None] = fk("app_user.user_id", nullable=True, index=False)
    recorded_at: Mapped[datetime] = created_at()


class Disbursement(Base):
    """The financed amount paid to the dealer's settlement account (放款).
    status: requested|in_review|approved|sent|paid|failed|blocked. A review claim is a lock with an
    owner and an expiry; suspected fraud blocks the payment."""

    __tablename__ = "disbursement"
    disbursement_id: Mapped[int] = pk()
    contract_id: Mapped[int] = fk("contract.contract_id")
    amount_minor: Mapped[int] = money(None)
    currency: Mapped[str] = currency()
    status: Mapped[str] = mapped_column(String(12), index=True)
    payee_bank: Mapped[str] = mapped_column(String(100))
    payee_account_no: Mapped[str] = mapped_column(String(64))
    payee_account_name: Mapped[str] = mapped_column(String(200))
    lock_owner_user_id: Mapped[int | None] = fk("app_user.user_id", nullable=True, index=False)
    lock_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    requested_by: Mapped[int | None] = fk("app_user.user_id", nullable=True, index=False)
    approved_by: Mapped[int | None] = fk("app_user.user_id", nullable=True, index=False)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    payment_ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_date: Mapped[date | None] = mapped_column(Date)
    failure_reason: Mapped[str | None] = mapped_column(String(200))
    fraud_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at()


class PostLeaseRequest(Base):
    """A post-lease exception awaiting its approval chain (assets/approval_matrix.yaml), executed on
    the last approval. kind: reversal|refund|balloon_extension|collection_cost|write_off. status: pending|executed|rejected.
    `level` is the number of approvals given so far."""

    __tablename__ = "post_lease_request"
    post_lease_request_id: Mapped[int] = pk()
    kind: Mapped[str] = mapped_column(String(24))
    contract_id: Mapped[int] = fk("contract.contract_id")
    receipt_id: Mapped[int | None] = fk("receipt.receipt_id", nullable=True, index=False)
    amount_minor: Mapped[int] = money()
    currency: Mapped[str] = currency()
    details: Mapped[dict[str, Any]]
    chain: Mapped[list[Any]]
    level: Mapped[int] = mapped_column(Integer, server_default="0")
    status: Mapped[str] = mapped_column(String(12), index=True)
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[int] = fk("app_user.user_id", index=False)
    executed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()


class PostLeaseApproval(Base):
    """One level's decision on a post-lease request. decision: approve|reject."""

    __tablename__ = "post_lease_approval"
    __table_args__ = (UniqueConstraint("post_lease_request_id", "level"),)
    post_lease_approval_id: Mapped[int] = pk()
    post_lease_request_id: Mapped[int] = fk("post_lease_request.post_lease_request_id", index=False)
    level: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(24))
    decision: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[int] = fk("app_user.user_id", index=False)
    decided_at: Mapped[datetime] = created_at()


class ScheduleHistory(Base):
    """A contract's schedule as it was before a re-plan (balloon extension), kept whole."""

    __tablename__ = "schedule_history"
    __table_args__ = (UniqueConstraint("contract_id", "schedule_version"),)
    schedule_history_id: Mapped[int] = pk()
    contract_id: Mapped[int] = fk("contract.contract_id", index=False)
    schedule_version: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200))
    post_lease_request_id: Mapped[int | None] = fk("post_lease_request.post_lease_request_id", nullable=True, index=False)
    instalments: Mapped[list[Any]]
    created_at: Mapped[datetime] = created_at()


class InstalmentPenalty(Base):
    """The penalty interest (罚息) booked on an instalment, and how far it is accrued; a row for each
    instalment that has ever accrued one (none: no penalty). Kept beside the instalment, not on it:
    the penalties step rewrites these every night for every overdue instalment (~220k at 1M), and
    written in place they dirtied a page of the wide instalment table for each contract past due
    (4.0-4.7 s a night with the commit, against 0.2 s here: bench/results.md, 2026-12-02 03:00).
    Readers join it on the instalment (store.ledger.PENALTY_JOIN, PENALTY)."""

    __tablename__ = "instalment_penalty"
    __table_args__ = ({"postgresql_with": {"fillfactor": HOT_UPDATES["instalment_penalty"]}},)
    instalment_id: Mapped[int] = mapped_column(BigId, ForeignKey("instalment.instalment_id"), primary_key=True, autoincrement=False)
    penalty_minor: Mapped[int] = money()
    # the penalty accrued so far before rounding: Σ basis × daily rate (ppm) × days, in millionths of
    # the minor unit. penalty_minor is this rounded once (capped), never a sum of nightly roundings
    accrued_micro: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    # the last date penalty interest has been accrued for (the nightly step accrues the days since)
    through_date: Mapped[date | None] = mapped_column(Date)


# the billed instalments that could be paid beyond what they owe (servicing.checks.no_negative_balances)
OVERPAID_CANDIDATES = ("status = 'billed' AND (paid_principal_minor > principal_minor OR paid_interest_minor > interest_minor "
                       "OR paid_fee_minor > fee_minor OR paid_penalty_minor > 0)")


# the columns of a billed instalment that its partial index carries after its key (0038): what the
# night's readers of the billed instalments read, so that each reads the index alone
BILLED_AMOUNTS = ("seq", "principal_minor", "interest_minor", "fee_minor", "paid_principal_minor", "paid_interest_minor", "paid_fee_minor",
                  "paid_penalty_minor")


class Instalment(Base):
    """One scheduled instalment and what has been billed and paid of it.
    status: scheduled (not yet due) | billed (due, something unpaid) | paid | settled (not yet due
    when the contract was settled early: its principal was paid in the settlement, its interest waived) |
    written_off (what it still owed was written off with its contract)."""

    __tablename__ = "instalment"
    __table_args__ = (
        # on SQLite the table is kept in due-date order, keyed (due_date, instalment_id) without a rowid
        # (migration 0028); instalment_id, which every reference names, is unique by an index of its own,
        # and so is (contract_id, seq): indexes, not table constraints, that a bulk load can drop and rebuild
        UniqueConstraint("contract_id", "seq").ddl_if(dialect="postgresql"),
        Index("ux_instalment_contract_id_seq", "contract_id", "seq", unique=True).ddl_if(dialect="sqlite"),
        Index("uq_instalment_instalment_id", "instalment_id", unique=True).ddl_if(dialect="sqlite"),
        # the billing step reads only instalments not yet billed, by due date
        Index("ix_instalment_scheduled_due", "due_date", sqlite_where=text("status = 'scheduled'"), postgresql_where=text("status = 'scheduled'")),
        # arrears, penalties and allocation read only billed-and-unpaid instalments; the DPD of each contract
        # (the oldest due date it owes on: delinquency, and the close's check of it) from the index alone: the
        # status is in it too, as SQLite 3.40 takes a column named only in the index's condition as not covered (0029),
        # and second, so that `contract_id = X AND status = 'billed'` matches two of its columns and SQLite takes it
        # rather than the (contract_id, seq) index of every instalment of the contract (0031). The sequence, the
        # amounts and what was paid of them follow (0038): the penalties' basis, the allocation's waterfall, the
        # close's check of overpayment and the arrears read the index alone, not a row of the table (kept in
        # due-date order, 0028) for each billed instalment
        Index("ix_instalment_billed_contract", "contract_id", "status", "due_date", *BILLED_AMOUNTS, sqlite_where=text("status = 'billed'"),
              postgresql_where=text("status = 'billed'")),
        # the billed instalments the close's check of overpayment reads, over the whole book each night: paid
        # beyond an amount, or with penalty paid (what penalty is booked lives in instalment_penalty). A
        # handful: the others never enter the index
        Index("ix_instalment_overpaid_candidates", "contract_id", sqlite_where=text(OVERPAID_CANDIDATES),
              postgresql_where=text(OVERPAID_CANDIDATES)),
    )
    instalment_id: Mapped[int] = pk()
    contract_id: Mapped[int] = fk("contract.contract_id", index=False)
    seq: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12))
    principal_minor: Mapped[int] = money(None)
    interest_minor: Mapped[int] = money(None)
    fee_minor: Mapped[int] = money()
    principal_vat_minor: Mapped[int] = money()  # a direct lease's VAT on this rental's principal, deferred on 2221.05 until billed
    paid_principal_minor: Mapped[int] = money()
    paid_interest_minor: Mapped[int] = money()
    paid_fee_minor: Mapped[int] = money()
    paid_penalty_minor: Mapped[int] = money()  # of the penalty booked on it (InstalmentPenalty)
    # the penalty booked on it, as the ORM reads it (0 when none ever was): written only by the penalties step, to instalment_penalty
    penalty_minor: Mapped[int] = column_property(func.coalesce(
        select(InstalmentPenalty.penalty_minor).where(InstalmentPenalty.instalment_id == instalment_id)
        .correlate_except(InstalmentPenalty).scalar_subquery(), 0).label("penalty_minor"))
    billed_date: Mapped[date | None] = mapped_column(Date)
    paid_date: Mapped[date | None] = mapped_column(Date)


class Mandate(Base):
    """Direct-debit mandate (代扣授权). status: active|revoked|invalid."""

    __tablename__ = "mandate"
    # one in force per contract (replacing it revokes the others): the debit orders read each contract's one
    __table_args__ = (Index("uq_mandate_active", "contract_id", unique=True, sqlite_where=text("status = 'active'"),
                            postgresql_where=text("status = 'active'")),)
    mandate_id: Mapped[int] = pk()
    contract_id: Mapped[int] = fk("contract.contract_id")
    mandate_ref: Mapped[str] = mapped_column(String(35), unique=True)
    bank_code: Mapped[str] = mapped_column(String(16))
    debtor_name: Mapped[str] = mapped_column(String(200))
    debtor_account: Mapped[str] = mapped_column(String(34))
    signed_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), server_default="active")
    status_reason: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = created_at()


class DebitBatch(Base):
    """One outbound debit file. status: written|uploaded|answered."""

    __tablename__ = "debit_batch"
    debit_batch_id: Mapped[int] = pk()
    bank_code: Mapped[str] = mapped_column(String(16))
    business_date: Mapped[date] = mapped_column(Date, index=True)
    message_id: Mapped[str] = mapped_column(String(35), unique=True)
    file_name: Mapped[str] = mapped_column(String(200))
    tx_count: Mapped[int] = mapped_column(Integer)
    ctrl_sum_minor: Mapped[int] = money(None)
    currency: Mapped[str] = currency()
    status: Mapped[str] = mapped_column(String(12), server_default="written")
    created_at: Mapped[datetime] = created_at()


class DebitOrder(Base):
    """status: pending|sent|settled|rejected|returned."""

    __tablename__ = "debit_order"
    # by status, then file, then contract: the contracts with a debit in flight, the files with one, and
    # each file's orders by state, all from the index alone
    __table_args__ = (Index("ix_debit_order_status_batch", "status", "debit_batch_id", "contract_id"),)
    debit_order_id: Mapped[int] = pk()
    debit_batch_id: Mapped[int | None] = fk("debit_batch.debit_batch_id", nullable=True)
    contract_id: Mapped[int] = fk("contract.contract_id")
    mandate_id: Mapped[int] = fk("mandate.mandate_id", index=False)
    end_to_end_id: Mapped[str] = mapped_column(String(35), unique=True)
    amount_minor: Mapped[int] = money(None)
    currency: Mapped[str] = currency()
    business_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), server_default="pending")
    reason_code: Mapped[str | None] = mapped_column(String(8))
    attempt: Mapped[int] = mapped_column(Integer, server_default="1")
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()


class TitleTransfer(Base):
    """租赁期满留购: a lease's buy-out at its residual value, and the task of transferring the
    vehicle's title to the lessee (过户) that it opens. status: open|done."""

    __tablename__ = "title_transfer"
    title_transfer_id: Mapped[int] = pk()
    contract_id: Mapped[int] = fk("contract.contract_id", index=False)
    vehicle_id: Mapped[int | None] = fk("vehicle.vehicle_id", nullable=True, index=False)
    buy_out_minor: Mapped[int] = money(None)
    vat_minor: Mapped[int] = money()
    currency: Mapped[str] = currency()
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    bought_out_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(8), server_default="open", index=True)
    registration_no: Mapped[str | None] = mapped_column(String(64))
    transferred_date: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[int | None] = fk("app_user.user_id", nullable=True, index=False)
    done_by: Mapped[int | None] = fk("app_user.user_id", nullable=True, index=False)
    created_at: Mapped[datetime] = created_at()
    __table_args__ = (UniqueConstraint("contract_id"),)


class PayoutBatch(Base):
    """One outbound credit-transfer file (pain.001). status: written|uploaded."""

    __tablename__ = "payout_batch"
    payout_batch_id: Mapped[int] = pk()
    bank_code: Mapped[str] = mapped_column(String(16))
    business_date: Mapped[date] = mapped_column(Date, index=True)
    message_id: Mapped[str] = mapped_column(String(35), unique=True)
    file_name: Mapped[str] = mapped_column(String(200))
    tx_count: Mapped[int] = mapped_column(Integer)
    ctrl_sum_minor: Mapped[int] = money(None)
    currency: Mapped[str] = currency()
    status: Mapped[str] = mapped_column(String(12), server_default="written")
    created_at: Mapped[datetime] = created_at()


class Payout(Base):
    """Money paid out by credit transfer (pain.001): one payee's share of a disbursement (dealer, tax,
    insurer, GPS supplier), a refund of customer credit or of a deposit.
    kind: disbursement|refund|deposit_refund. status: pending|sent|paid|failed|retried|cancelled.
    A failed payout is sent again as a new row (attempt + 1, its own end-to-end id); the failed one
    becomes `retried`, so every id the bank saw keeps its answer."""

    __tablename__ = "payout"
    payout_id: Mapped[int] = pk()
    kind: Mapped[str] = mapped_column(String(16))
    contract_id: Mapped[int] = fk("contract.contract_id")
    disbursement_id: Mapped[int | None] = fk("disbursement.disbursement_id", nullable=True)
    post_lease_request_id: Mapped[int | None] = fk("post_lease_request.post_lease_request_id", nullable=True)
    payee_kind: Mapped[str] = mapped_column(String(16))
    payee_name: Mapped[str] = mapped_column(String(140))
    payee_account_no: Mapped[str] = mapped_column(String(34))
    payee_bank: Mapped[str] = mapped_column(String(140))
    amount_minor: Mapped[int] = money(None)
    currency: Mapped[str] = currency()
    bank_code: Mapped[str] = mapped_column(String(16))
    end_to_end_id: Mapped[str | None] = mapped_column(String(35), unique=True)
    attempt: Mapped[int] = mapped_column(Integer, server_default="1")
    payout_batch_id: Mapped[int | None] = fk("payout_batch.payout_batch_id", nullable=True)
    business_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), server_default="pending", index=True)
    reason_code: Mapped[str | None] = mapped_column(String(8))
    paid_date: Mapped[date | None] = mapped_column(Date)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at()


class BankFile(Base):
    """Every file exchanged with a bank. direction: out|in. status: registered|uploaded|applied|quarantined.
    A file (by hash) and a message id are accepted once; quarantined copies are kept as rows too."""

    __tablename__ = "bank_file"
    __table_args__ = (
        Index("uq_bank_file_sha256_accepted", "sha256", unique=True,
              sqlite_where=text("status <> 'quarantined'"), postgresql_where=text("status <> 'quarantined'")),
        Index("uq_bank_file_message_accepted", "bank_code", "direction", "file_type", "message_id", unique=True,
              sqlite_where=text("status <> 'quarantined'"), postgresql_where=text("status <> 'quarantined'")),
    )
    bank_file_id: Mapped[int] = pk()
    bank_code: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(3))
    file_type: Mapped[str] = mapped_column(String(24))
    file_name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    message_id: Mapped[str | None] = mapped_column(String(35))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(Text)
    business_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = created_at()


class Receipt(Base):
    """Money received for a contract. source: debit|transfer|corporate|settlement|disposal (the sale of
    its repossessed vehicle), or credit (the contract's customer credit applied to its bills) or waiver
    (penalty, interest or fees waived, 减免) or deposit (the customer's deposit set against the bills,
    保证金冲抵): no new money. status: unapplied|applied|reversed."""

    __tablename__ = "receipt"
    __table_args__ = (
        # the collected debits by value date: reconciliation reads those whose statement day passed tonight
        Index("ix_receipt_debit_value_date", "value_date", sqlite_where=text("source = 'debit'"), postgresql_where=text("source = 'debit'")),
        # the receipts the night's allocation has still to apply, by contract: an applied receipt leaves it (an
        # index of every receipt's status moved each applied one from one key to another, and grew with history)
        Index("ix_receipt_unapplied", "contract_id", "business_date", sqlite_where=text("status = 'unapplied'"),
              postgresql_where=text("status = 'unapplied'")),
    )
    receipt_id: Mapped[int] = pk()
    contract_id: Mapped[int] = fk("contract.contract_id")
    source: Mapped[str] = mapped_column(String(12))
    source_ref: Mapped[str] = mapped_column(String(64), unique=True)
    amount_minor: Mapped[int] = money(None)
    currency: Mapped[str] = currency()
    value_date: Mapped[date] = mapped_column(Date)
    business_date: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(12), server_default="unapplied")
    payer_name: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[int | None] = fk("app_user.user_id", nullable=True, index=False)
    created_at: Mapped[datetime] = created_at()


class Allocation(Base):
    """A part of a receipt applied to a component of an instalment (or to customer credit).
    component: penalty|fee|interest|principal|credit, or recovery (money for a written-off contract)."""

    __tablename__ = "allocation"
    allocation_id: Mapped[int] = pk()
    receipt_id: Mapped[int] = fk("receipt.receipt_id")
    instalment_id: Mapped[int | None] = fk("instalment.instalment_id", nullable=True)
    component: Mapped[str] = mapped_column(String(12))
    amount_minor: Mapped[int] = money(None)
    business_date: Mapped[date] = mapped_column(Date)


class CollectionCase(Base):
    """Opened by the nightly delinquency step when a contract falls past due; closed when it is
    current again (close_reason cured), paid off, or written off. status: open|closed.
    stage (assets/collections.yaml): soft|outsourced|repossession|disposal|written_off, moved by
    events only. collection_status and category: the collector's, from the same file. A case is
    worked by its group and assignee (claimed by a collector, or assigned by a supervisor or by
    the assignment rules)."""

    __tablename__ = "collection_case"
    # one open case per contract; also how the night finds a contract's open case (by the status
    # index alone SQLite read every open case for each contract: 16 s of a 200k one-due-day night)
    __table_args__ = (Index("uq_collection_case_open", "contract_id", unique=True, sqlite_where=text("status = 'open'"),
                            postgresql_where=text("status = 'open'")),
                      {"postgresql_with": {"fillfactor": HOT_UPDATES["collection_case"]}})
    collection_case_id: Mapped[int] = pk()
    contract_id: Mapped[int] = fk("contract.contract_id")
    status: Mapped[str] = mapped_column(String(8), index=True)
    opened_date: Mapped[date] = mapped_column(Date)
    closed_date: Mapped[date | None] = mapped_column(Date)
    bucket_at_open: Mapped[str] = mapped_column(String(8))
    worst_bucket: Mapped[str] = mapped_column(String(8))
    worst_dpd: Mapped[int] = mapped_column(Integer)
    close_reason: Mapped[str | None] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(16), server_default="soft")
    collection_status: Mapped[str] = mapped_column(String(16), server_default="new")
    category: Mapped[str | None] = mapped_column(String(24))
    group_code: Mapped[str | None] = mapped_column(String(24))
    # an app_user id (no foreign key: the column joined an existing table, which SQLite cannot alter to add one)
    assignee_user_id: Mapped[int | None] = mapped_column(BigId, nullable=True, index=True)
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CollectionContact(Base):
    """One contact attempt or result (联系记录): kind call|sms|email|letter|visit|agency with an
    outcome code (assets/collections.yaml). An agency's reported results are logged as kind agency."""

    __tablename__ = "collection_contact"
    collection_contact_id: Mapped[int] = pk()
    collection_case_id: Mapped[int] = fk("collection_case.collection_case_id")
    contract_id: Mapped[int] = fk("contract.contract_id", index=False)
    kind: Mapped[str] = mapped_column(String(8))
    outcome: Mapped[str] = mapped_column(String(8))
    party: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    agency_code: Mapped[str | None] = mapped_column(String(16))
    business_date: Mapped[date] = mapped_column(Date, index=True)
    created_by: Mapped[int] = fk("app_user.user_id", index=False)
    created_at: Mapped[datetime] = created_at()


class PromiseToPay(Base):
    """A customer's promise to pay an amount by a date (承诺还款). status: open|kept|broken, set by the
    nightly collections step from the money received since the promise was made; cancelled when
    its contract is written off."""

    __tablename__ = "promise_to_pay"
    __table_args__ = (Index("ix_promise_to_pay_open", "promised_date", sqlite_where=text("status = 'open'"),
                            postgresql_where=text("status = 'open'")),)
    promise_to_pay_id: Mapped[int] = pk()
    collection_case_id: Mapped[int] = fk("collection_case.collection_case_id")
    contract_id: Mapped[int] = fk("contract.contract_id", index=False)
    amount_minor: Mapped[int] = money(None)
    currency: Mapped[str] = currency()
    made_date: Mapped[date] = mapped_column(Date)
    promised_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), server_default="open")
    paid_minor: Mapped[int] = money()
    resolved_date: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[int] = fk("app_user.user_id", index=False)
    created_at: Mapped[datetime] = created_at()


class CaseOutsourcing(Base):
    """A case sent to a collection agency (委外) for a period at a commission rate.
    status: active|recalled|expired|closed (the contract current, paid off or written off)."""

    __tablename__ = "case_outsourcing"
    case_outsourcing_id: Mapped[int] = pk()
    collection_case_id: Mapped[int] = fk("collection_case.collection_case_id")
    contract_id: Mapped[int] = fk("contract.contract_id")
    agency_code: Mapped[str] = mapped_column(String(16), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    commission_rate_ppm: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(8), index=True)
    ended_date: Mapped[date | None] = mapped_column(Date)
    recovered_minor: Mapped[int] = money()
    commission_minor: Mapped[int] = money()
    currency: Mapped[str] = currency()
    assigned_by: Mapped[int] = fk("app_user.user_id", index=False)
    created_at: Mapped[datetime] = created_at()


class AgencyRecovery(Base):
    """What an agency recovered on one assignment on one business date, and its commission on it."""

    __tablename__ = "agency_recovery"
    case_outsourcing_id: Mapped[int] = mapped_column(BigId, ForeignKey("case_outsourcing.case_outsourcing_id"), primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    recovered_minor: Mapped[int] = money(None)
    commission_minor: Mapped[int] = money(None)


class Repossession(Base):
    """A vehicle's repossession and disposal (收车, 车辆处置). status: ordered → repossessed → valued →
    sold, or cancelled (before the vehicle is taken) or released (given back to the customer).
    The vehicle's inventory status follows these events only."""

    __tablename__ = "repossession"
    repossession_id: Mapped[int] = pk()
    collection_case_id: Mapped[int] = fk("collection_case.collection_case_id")
    contract_id: Mapped[int] = fk("contract.contract_id")
    vehicle_id: Mapped[int] = fk("vehicle.vehicle_id")
    status: Mapped[str] = mapped_column(String(12), index=True)
    agent_code: Mapped[str] = mapped_column(String(16))
    ordered_date: Mapped[date] = mapped_column(Date)
    repossessed_date: Mapped[date | None] = mapped_column(Date)
    storage_location: Mapped[str | None] = mapped_column(String(200))
    valuation_minor: Mapped[int | None] = mapped_column(BigInteger)
    valued_date: Mapped[date | None] = mapped_column(Date)
    valuer: Mapped[str | None] = mapped_column(String(200))
    sale_minor: Mapped[int | None] = mapped_column(BigInteger)
    sale_date: Mapped[date | None] = mapped_column(Date)
    buyer: Mapped[str | None] = mapped_column(String(200))
    costs_recovered_minor: Mapped[int] = money()
    receipt_id: Mapped[int | None] = fk("receipt.receipt_id", nullable=True, index=False)
    currency: Mapped[str] = currency()
    note: Mapped[str | None] = mapped_column(Text)
    ordered_by: Mapped[int] = fk("app_user.user_id", index=False)
    created_at: Mapped[datetime] = created_at()


class Litigation(Base):
    """A lawsuit on a case (诉讼登记): filed → hearing → judged → closed. close_result:
    paid|settled|enforcement_failed|withdrawn|lost. Its costs are asked for and approved as
    collection costs of category legal."""

    __tablename__ = "litigation"
    litigation_id: Mapped[int] = pk()
    collection_case_id: Mapped[int] = fk("collection_case.collection_case_id")
    contract_id: Mapped[int] = fk("contract.contract_id")
    status: Mapped[str] = mapped_column(String(12), index=True)
    court: Mapped[str] = mapped_column(String(200))
    court_case_no: Mapped[str | None] = mapped_column(String(64))
    claim_minor: Mapped[int] = money(None)
    currency: Mapped[str] = currency()
    filed_date: Mapped[date] = mapped_column(Date)
    hearing_date: Mapped[date | None] = mapped_column(Date)
    judgement_date: Mapped[date | None] = mapped_column(Date)
    awarded_minor: Mapped[int | None] = mapped_column(BigInteger)
    judgement_note: Mapped[str | None] = mapped_column(Text)
    closed_date: Mapped[date | None] = mapped_column(Date)
    close_result: Mapped[str | None] = mapped_column(String(24))
    close_note: Mapped[str | None] = mapped_column(Text)
    filed_by: Mapped[int] = fk("app_user.user_id", index=False)
    created_at: Mapped[datetime] = created_at()


class FieldVisit(Base):
    """A home visit (家访): dispatched to a collector, reported by them (an outcome and findings, also
    logged as a visit contact), reviewed by a supervisor. status: dispatched|reported|approved; a
    report sent back returns it to dispatched."""

    __tablename__ = "field_visit"
    field_visit_id: Mapped[int] = pk()
    collection_case_id: Mapped[int] = fk("collection_case.collection_case_id")
    contract_id: Mapped[int] = fk("contract.contract_id", index=False)
    status: Mapped[str] = mapped_column(String(12), index=True)
    visitor_user_id: Mapped[int] = fk("app_user.user_id")
    address_note: Mapped[str | None] = mapped_column(String(500))
    dispatched_date: Mapped[date] = mapped_column(Date)
    dispatched_by: Mapped[int] = fk("app_user.user_id", index=False)
    reported_date: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[str | None] = mapped_column(String(8))
    findings: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[int | None] = fk("app_user.user_id", nullable=True, index=False)
    review_comment: Mapped[str | None] = mapped_column(Text)
    reviewed_date: Mapped[date | None] = mapped_column(Date)


class CollectionCost(Base):
    """A collection cost approved and posted (category from assets/collections.yaml); a sale of
    the repossessed vehicle recovers it first (recovered_minor)."""

    __tablename__ = "collection_cost"
    collection_cost_id: Mapped[int] = pk()
    collection_case_id: Mapped[int] = fk("collection_case.collection_case_id")
    contract_id: Mapped[int] = fk("contract.contract_id")
    category: Mapped[str] = mapped_column(String(16))
    payee: Mapped[str] = mapped_column(String(200))
    amount_minor: Mapped[int] = money(None)
    recovered_minor: Mapped[int] = money()
    currency: Mapped[str] = currency()
    business_date: Mapped[date] = mapped_column(Date)
    post_lease_request_id: Mapped[int] = fk("post_lease_request.post_lease_request_id", index=False)


class Notification(Base):
    """A reminder or notice for a customer (提醒, 违约通知函), generated by the nightly collections
    step from the rules in assets/collections.yaml and handed to the notification adapter.
    channel: sms|email|letter. status: queued|held|sent|failed|cancelled. One per rule, contract and
    reference date. An overdue reminder that falls due while a debit for the contract is at the bank
    is held (held_since: that night) and sent or cancelled on the night the answer is in;
    business_date is the night the row last changed."""

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("rule_code", "contract_id", "ref_date"),
        # the letters step reads the letters still queued, not every notification of the store's history (0030)
        Index("ix_notification_queued_letters", "business_date", sqlite_where=text("status = 'queued' AND channel = 'letter'"),
              postgresql_where=text("status = 'queued' AND channel = 'letter'")),
        # the night reads the reminders held for a debit in flight, not every notification (0037)
        Index("ix_notification_held", "rule_code", "contract_id", sqlite_where=text("status = 'held'"), postgresql_where=text("status = 'held'")),
    )
    notification_id: Mapped[int] = pk()
    rule_code: Mapped[str] = mapped_column(String(16))
    contract_id: Mapped[int] = fk("contract.contract_id")
    channel: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    ref_date: Mapped[date] = mapped_column(Date)
    business_date: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(12), server_default="queued")
    provider_ref: Mapped[str | None] = mapped_column(String(64))
    held_since: Mapped[date | None] = mapped_column(Date)


class ProvisionRun(Base):
    """The allowance for credit losses a bucket needs on a business date: its contracts' exposure ×
    the bucket's rate (assets/collections.yaml). The nightly true-up posts the change of the total."""

    __tablename__ = "provision_run"
    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(8), primary_key=True)
    contracts: Mapped[int] = mapped_column(Integer)
    exposure_minor: Mapped[int] = money(None)
    rate_ppm: Mapped[int] = mapped_column(Integer)
    required_minor: Mapped[int] = money(None)


class ProvisionExposure(Base):
    """Each active contract's bucket as the last provisioning saw it and, while it is current, its
    exposure (its sub-ledger balance owed). The nightly provisioning updates only the contracts that
    changed (posted to while current, or moved to another bucket by the days). A contract past due
    has no exposure kept here (NULL): its penalty moves it every night, and the night adds those up
    from the sub-ledger through the index of the rows past due (0039). The full-book check holds
    these rows to the book."""

    __tablename__ = "provision_exposure"
    # no index on the exposure: every night rewrites the current contracts posted to (migration 0021)
    __table_args__ = (Index("ix_provision_exposure_past_due", "contract_id", sqlite_where=text("bucket <> 'current'"),
                            postgresql_where=text("bucket <> 'current'")),)
    contract_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    currency: Mapped[str] = currency()
    bucket: Mapped[str] = mapped_column(String(8))
    exposure_minor: Mapped[int | None] = mapped_column(BigInteger)


class ProvisionTotal(Base):
    """The current bucket's exposure by currency: provision_exposure's current rows added up. The
    nightly provisioning takes the current rows it rewrites out of these totals and adds them back
    rewritten, so the allowance reads a few rows instead of a sum over every current contract (0.4–0.9 s
    a night at 1M); the full-book check adds the rows up again. Keyed by bucket too, though only
    'current' is kept since 0039 (the buckets past due are added up each night)."""

    __tablename__ = "provision_total"
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(8), primary_key=True)
    contracts: Mapped[int] = mapped_column(BigInteger)
    exposure_minor: Mapped[int] = money(None)


class BucketSnapshot(Base):
    """Each active contract's delinquency at a month end, for month-over-month roll rates."""

    __tablename__ = "bucket_snapshot"
    snapshot_date: Mapped[date] = mapped_column(Date, primary_key=True)
    contract_id: Mapped[int] = mapped_column(BigId, ForeignKey("contract.contract_id"), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(8))
    dpd: Mapped[int] = mapped_column(Integer)
    principal_outstanding_minor: Mapped[int] = money()


class BankStatementLine(Base):
    """An entry of a bank statement (camt.053) for reconciliation. status: matched|break, or suspense
    (booked to the unidentified receipts)."""

    __tablename__ = "bank_statement_line"
    # the lines still open, which reconciliation reads every night (not every line of the book's history)
    __table_args__ = (Index("ix_bank_statement_line_open", "booking_date", sqlite_where=text("status = 'break'"),
                            postgresql_where=text("status = 'break'")),)
    bank_statement_line_id: Mapped[int] = pk()
    bank_file_id: Mapped[int] = fk("bank_file.bank_file_id")
    bank_code: Mapped[str] = mapped_column(String(16))
    booking_date: Mapped[date] = mapped_column(Date, index=True)
    amount_minor: Mapped[int] = money(None)
    currency: Mapped[str] = currency()
    is_credit: Mapped[bool] = mapped_column(Boolean)
    reference: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(8), server_default="break")


class ReconciliationBreak(Base):
    """Something the bank and the books disagree on, listed until someone resolves it (with a reason,
    or by booking an unmatched credit to the unidentified receipts).
    kind: unmatched_statement_line|missing_from_statement|amount_mismatch. status: open|resolved."""

    __tablename__ = "reconciliation_break"
    reconciliation_break_id: Mapped[int] = pk()
    business_date: Mapped[date] = mapped_column(Date, index=True)
    bank_code: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(64), index=True)
    bank_minor: Mapped[int] = money()
    book_minor: Mapped[int] = money()
    status: Mapped[str] = mapped_column(String(8), server_default="open")
    # how it was resolved (a reason, or the unidentified receipt it was booked to), by whom and when
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[int | None] = mapped_column(BigId, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class UnidentifiedReceipt(Base):
    """Money in the bank that cannot be matched to a contract (待查明款项), held on 2241.02 until it is
    matched to one (a receipt the night's allocation applies) or sent back. status: open|matched."""

    __tablename__ = "unidentified_receipt"
    unidentified_receipt_id: Mapped[int] = pk()
    bank_code: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    amount_minor: Mapped[int] = money(None)
    currency: Mapped[str] = currency()
    value_date: Mapped[date] = mapped_column(Date)
    business_date: Mapped[date] = mapped_column(Date)
    payer_name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(8), index=True)
    reconciliation_break_id: Mapped[int | None] = fk("reconciliation_break.reconciliation_break_id", nullable=True, index=False)
    contract_id: Mapped[int | None] = fk("contract.contract_id", nullable=True, index=False)
    receipt_id: Mapped[int | None] = fk("receipt.receipt_id", nullable=True, index=False)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int] = fk("app_user.user_id", index=False)
    created_at: Mapped[datetime] = created_at()


class VoucherExport(Base):
    """The day's vouchers as the ledger system's interchange file."""

    __tablename__ = "voucher_export"
    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    file_name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    entries: Mapped[int] = mapped_column(Integer)
    lines: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_at()


# ---------------------------------------------------------------- ledger


class MoneyEvent(Base):
    """Every money event, with its amounts by component (see assets/accounting/templates.yaml).
    `event_key` makes recording idempotent; `batch_id` groups the events posted together."""

    __tablename__ = "money_event"
    # a day's events by batch from the index alone (the vouchers step counts them)
    __table_args__ = (Index("ix_money_event_date_batch", "business_date", "batch_id"),)
    money_event_id: Mapped[int] = pk()
    event_type: Mapped[str] = mapped_column(String(24))
    event_key: Mapped[str] = mapped_column(String(96), unique=True)
    contract_id: Mapped[int | None] = fk("contract.contract_id", nullable=True)
    business_date: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = currency()
    principal_minor: Mapped[int] = money()
    interest_minor: Mapped[int] = money()
    fee_minor: Mapped[int] = money()
    penalty_minor: Mapped[int] = money()
    vat_minor: Mapped[int] = money()
    credit_minor: Mapped[int] = money()
    outstanding_principal_minor: Mapped[int] = money()
    amount_minor: Mapped[int] = money()
    principal_vat_minor: Mapped[int] = money()
    batch_id: Mapped[str] = mapped_column(String(48), index=True)
    created_at: Mapped[datetime] = created_at()


class JournalEntry(Base):
    """A voucher. Most carry one money event (`money_event_id`, its `batch_id`); a summary voucher
    carries every event of one date, event type and currency that the night's bulk batches
    registered in summary_batch (`money_event_id` and `contract_id` NULL, `events` how many).
    `exported_on` is the business date of the ledger export that carried it (NULL until then) and
    `voucher_no` the number that export gave it: every entry goes out exactly once, in the first
    export on or after its date."""

    __tablename__ = "journal_entry"
    __table_args__ = (
        Index("ix_journal_entry_unexported", "entry_date", sqlite_where=text("exported_on IS NULL"),
              postgresql_where=text("exported_on IS NULL")),
        Index("uq_journal_entry_voucher_no", "voucher_no", unique=True),
    )
    journal_entry_id: Mapped[int] = pk()
    money_event_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("money_event.money_event_id"), unique=True, nullable=True)
    entry_date: Mapped[date] = mapped_column(Date, index=True)
    event_type: Mapped[str] = mapped_column(String(24))
    contract_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    batch_id: Mapped[str | None] = mapped_column(String(48), nullable=True, index=True)
    events: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    exported_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    voucher_no: Mapped[str | None] = mapped_column(String(20), nullable=True)
    created_at: Mapped[datetime] = created_at()


class JournalLine(Base):
    __tablename__ = "journal_line"
    __table_args__ = (Index("ix_journal_line_account_date", "account_code", "entry_date"),)
    journal_line_id: Mapped[int] = pk()
    journal_entry_id: Mapped[int] = fk("journal_entry.journal_entry_id")
    line_no: Mapped[int] = mapped_column(Integer)
    account_code: Mapped[str] = mapped_column(String(16))
    entry_date: Mapped[date] = mapped_column(Date)
    debit_minor: Mapped[int] = money()
    credit_minor: Mapped[int] = money()
    currency: Mapped[str] = currency()


class SummaryBatch(Base):
    """A group of one bulk batch's money events (one date, event type and currency) posted to the
    running totals and waiting for, or carried by, a summary voucher (`journal_entry_id`, written
    by the vouchers step for every such group of the date at once, so a night run whole or in
    contract shards has the same vouchers)."""

    __tablename__ = "summary_batch"
    __table_args__ = (
        Index("ix_summary_batch_unwritten", "entry_date", sqlite_where=text("journal_entry_id IS NULL"),
              postgresql_where=text("journal_entry_id IS NULL")),
    )
    batch_id: Mapped[str] = mapped_column(String(48), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(24), primary_key=True)
    entry_date: Mapped[date] = mapped_column(Date, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    events: Mapped[int] = mapped_column(Integer, nullable=False)
    journal_entry_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("journal_entry.journal_entry_id"), nullable=True)


class LedgerTotal(Base):
    """Each posted batch's debits and credits per entry date, account and currency, written by
    `post_batch` with the lines in the same transaction. The trial balance and the ledger side of
    the nightly sub-ledger tie add up these few rows a day instead of every journal line (tens of
    millions after a year); the full-book check holds them equal to the lines."""

    __tablename__ = "ledger_total"
    __table_args__ = (UniqueConstraint("batch_id", "entry_date", "account_code", "currency", name="uq_ledger_total"),)
    ledger_total_id: Mapped[int] = pk()
    batch_id: Mapped[str] = mapped_column(String(48))
    entry_date: Mapped[date] = mapped_column(Date, index=True)
    account_code: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = currency()
    debit_minor: Mapped[int] = money()
    credit_minor: Mapped[int] = money()


class SubledgerBalance(Base):
    """One contract's side of the GL control accounts (store.ledger.KEPT_ACCOUNTS): unbilled
    principal (1531), billed and unpaid principal, interest, fee and penalty (1122.0x), the deferred
    VAT of a direct lease (2221.05), the customer's credit, suspense and deposit (2241.0x). Kept by
    `post_batch`, which adds each batch's events' effect on those accounts, so the nightly tie and the
    provisioning read one row per contract, never the instalments; the full-book check holds every
    row to what the contract's instalments say."""

    __tablename__ = "subledger_balance"
    __table_args__ = ({"postgresql_with": {"fillfactor": HOT_UPDATES["subledger_balance"]}},)
    contract_id: Mapped[int] = mapped_column(BigId, ForeignKey("contract.contract_id"), primary_key=True, autoincrement=False)
    unbilled_principal_minor: Mapped[int] = money()
    principal_minor: Mapped[int] = money()
    interest_minor: Mapped[int] = money()
    fee_minor: Mapped[int] = money()
    penalty_minor: Mapped[int] = money()
    credit_minor: Mapped[int] = money()
    suspense_minor: Mapped[int] = money()  # interest and penalty held in suspense (2241.03), credit-positive
    deposit_minor: Mapped[int] = money()  # the customer's deposit held (2241.04), credit-positive
    deferred_vat_minor: Mapped[int] = money()  # VAT on the unbilled principal of a direct lease (2221.05), credit-positive


class SubledgerDirty(Base):
    """Contracts with money events posted since the last day close (`post_batch` adds them): the
    close's per-contract checks and the provisioning's re-read look at these, and the close takes
    them off. `recheck`: posted to by a batch of per-event vouchers (the API's money moves, the
    collections step's, reversals: a few a night), so the close also holds the contract's kept
    sub-ledger balance to its instalments; the bulk steps' contracts are held to theirs by the
    full-book check."""

    __tablename__ = "subledger_dirty"
    contract_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    recheck: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))


# ---------------------------------------------------------------- operations


class BusinessDay(Base):
    """status: open|closed. is_bank_day: whether the banks work on the date (the calendar's answer
    when the cycle opened it); NULL for the cut-over day, which a book load closed without opening."""

    __tablename__ = "business_day"
    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    status: Mapped[str] = mapped_column(String(8))
    is_bank_day: Mapped[bool | None] = mapped_column(Boolean)
    opened_at: Mapped[datetime] = created_at()
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StepRun(Base):
    """The completion mark of a nightly step for a business date (and shard), written in the
    same transaction as the step's effects."""

    __tablename__ = "step_run"
    __table_args__ = (UniqueConstraint("step", "business_date", "shard"),)
    step_run_id: Mapped[int] = pk()
    step: Mapped[str] = mapped_column(String(32))
    business_date: Mapped[date] = mapped_column(Date)
    shard: Mapped[str] = mapped_column(String(16), server_default="all")
    status: Mapped[str] = mapped_column(String(8))
    counts: Mapped[dict[str, Any] | None]
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime] = created_at()


class AppUser(Base):
    """role: dealer|sales|credit_officer|credit_manager|credit_director|finance|
    post_loan_supervisor|collector|finance_director|admin|auditor. The API token is stored hashed."""

    __tablename__ = "app_user"
    user_id: Mapped[int] = pk()
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(24))
    partner_id: Mapped[int | None] = fk("partner.partner_id", nullable=True, index=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = created_at()


class IdempotencyKey(Base):
    """The first response to a create request that carried an Idempotency-Key header, replayed
    for the same key (per user); the same key with a different request is refused."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("user_id", "idem_key"),)
    idempotency_key_id: Mapped[int] = pk()
    user_id: Mapped[int] = fk("app_user.user_id", index=False)
    idem_key: Mapped[str] = mapped_column(String(128))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(200))
    request_sha256: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = created_at()


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_entity", "entity", "entity_id"),)
    audit_event_id: Mapped[int] = pk()
    occurred_at: Mapped[datetime] = created_at()
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
