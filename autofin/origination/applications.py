"""Applications (进件): the financing plan from the calculator, documents, submission and
pre-approval (bureau, anti-fraud, rules and scorecard), cancellation."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from autofin.domain.errors import InputError
from autofin.domain.lifecycle import APPLICATION
from autofin.domain.money import D, format_minor, from_minor, to_minor
from autofin.domain.products import ProductTerms
from autofin.domain.quotes import FEE_KEYS, FinancingPlan, plan_as_dict, plan_for_product
from autofin.domain.rules import PreApproval, RuleSet, pre_approve
from autofin.files import write_atomically
from autofin.origination.access import Principal, scope
from autofin.origination.antifraud import SimulatedWatchlist, Watchlist, fraud_facts
from autofin.origination.approval import cancel_open_tasks, open_first_task
from autofin.origination.audit import audit, audit_steps, jsonable
from autofin.origination.bureau import CreditBureau, SimulatedBureau
from autofin.origination.errors import Conflict, NotFound, referenced
from autofin.origination.esign import SignatureProvider, SimulatedSignatures
from autofin.origination.parties import get_customer, get_vehicle
from autofin.origination.partners import acting_partner, amount_minor, exposure
from autofin.reference import calendar, rule_set, vehicle_models
from autofin.settings import data_dir
from autofin.store.models import Application, ApplicationItem, Customer, Decision, Document, Partner, Vehicle
from autofin.store.products import latest_version

BUSINESS_TYPES = ("loan", "direct_lease", "sale_leaseback")
DOC_TYPES = ("id_card", "driving_licence", "business_licence", "credit_authorization", "invoice", "photo", "income_proof", "other")
# the customer's signed credit-report authorization (征信授权书) is the consent every bureau query records
CONSENT = "credit_authorization"
REQUIRED_DOCUMENTS = {"individual": ("id_card", CONSENT), "company": ("business_licence", CONSENT)}
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
# the types accepted, by their leading bytes (the client's Content-Type is not trusted)
SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"%PDF-", "application/pdf"))
USED_VALUE_RANGE = (Decimal("0.45"), Decimal("0.85"))  # used vehicles against the new reference range (vehicle_models.yaml)
OPEN_FOR_DOCUMENTS = ("draft", "submitted", "pre_approved", "referred", "in_approval")


@dataclass
class Adapters:
    """The outside services pre-approval calls; simulators unless production wires real ones."""

    bureau: CreditBureau = field(default_factory=SimulatedBureau)
    watchlist: Watchlist = field(default_factory=SimulatedWatchlist)
    signatures: SignatureProvider = field(default_factory=SimulatedSignatures)


# ---------------------------------------------------------------- plans


def product_version(conn: Connection, code: str) -> tuple[int, ProductTerms]:
    found = latest_version(conn, code)
    if found is None:
        raise InputError("product_code", f"unknown product {code!r}; see GET /products")
    return found


@dataclass(frozen=True, kw_only=True)
class QuoteItem:
    """A fee or charge of the plan (purchase tax, insurance, GPS...), financed or paid upfront; yuan."""

    key: str
    amount: Decimal
    financed: bool = False


@dataclass(frozen=True, kw_only=True)
class QuoteRequest:
    """What a quote asks for: amounts in yuan, percentages from 0 to 100."""

    product_code: str
    term_months: int
    price: Decimal | None = None
    down_payment: Decimal | None = None
    down_payment_pct: Decimal | None = None
    items: tuple[QuoteItem, ...] = ()
    start_date: date | None = None
    balloon_pct: Decimal | None = None


@dataclass(frozen=True, kw_only=True)
class ApplicationRequest(QuoteRequest):
    """What an application asks for: the plan, for a customer and a vehicle, by a partner (a dealer's
    own, implied); the price defaults to the vehicle's."""

    customer_id: int
    vehicle_id: int
    partner_code: str | None = None
    business_type: str | None = None
    monthly_income: Decimal | None = None


def plan_view(product: ProductTerms, plan: FinancingPlan) -> dict[str, Any]:
    """The plan as the API shows it and the application keeps it."""
    return {**plan_as_dict(plan), "product_code": product.code}


def quote(product: ProductTerms, request: QuoteRequest, *, today: date) -> FinancingPlan:
    """The plan for the request's price, down payment, term and fee items under the product's rules."""
    if request.price is None:
        raise InputError("price", "required for a quote")
    items: dict[str, tuple[Decimal, bool]] = {}
    for n, item in enumerate(request.items):
        if item.key in items:
            raise InputError(f"items.{n}.key", f"{item.key} appears twice")
        items[item.key] = (from_minor(amount_minor(f"items.{n}.amount", item.amount)), item.financed)
    try:
        return plan_for_product(
            product,
            price=from_minor(amount_minor("price", request.price, positive=True)),
            term_months=request.term_months,
            start_date=request.start_date or today,
            down_payment_pct=None if request.down_payment_pct is None else request.down_payment_pct / 100,
            down_payment=None if request.down_payment is None else from_minor(amount_minor("down_payment", request.down_payment)),
            fees=items,
            balloon_pct=None if request.balloon_pct is None else request.balloon_pct / 100,
            calendar=calendar(),
        )
    except InputError as exc:  # the domain names a fee by its key; the request has it as items[n]
        if exc.field != "fee" and not exc.field.startswith("fee."):
            raise
        key = exc.field.partition(".")[2]
        index = next((i for i, item in enumerate(request.items) if (item.key == key if key else item.key not in FEE_KEYS)), None)
        part = "financed" if "finance" in exc.reason else "key"
        raise InputError("items" if index is None else f"items.{index}.{part}", exc.reason) from None


# ---------------------------------------------------------------- applications


_BY_NUMBER: dict[int | None, Any] = {}  # the statement by the caller's partner scope (what `scope` depends on)


def get_application(conn: Connection, who: Principal, application_no: str) -> Any:
    query = _BY_NUMBER.get(who.partner_scope)
    if query is None:  # built once a scope: building it each call was half its cost (~0.12 of 0.23 ms)
        query = _BY_NUMBER[who.partner_scope] = select(Application).where(Application.application_no == bindparam("application_no"),
                                                                          scope(who, Application))
    row = conn.execute(query, {"application_no": application_no}).first()
    if row is None:
        raise NotFound("application", application_no)
    return row


def list_applications(conn: Connection, who: Principal, *, status: str | None, partner_code: str | None, flagged: bool | None,
                      limit: int, offset: int) -> list[dict[str, Any]]:
    query = (select(Application.application_no, Application.status, Application.business_type, Partner.partner_code,
                    Application.customer_id, Application.financed_minor, Application.is_flagged, Application.created_at)
             .join(Partner, Partner.partner_id == Application.partner_id).where(scope(who, Application))
             .order_by(Application.application_id.desc()).limit(limit).offset(offset))
    if status:
        query = query.where(Application.status == status)
    if partner_code:
        query = query.where(Partner.partner_code == partner_code)
    if flagged is not None:
        query = query.where(Application.is_flagged == flagged)
    return [{"application_no": r.application_no, "status": r.status, "business_type": r.business_type, "partner_code": r.partner_code,
             "customer_id": r.customer_id, "financed_amount": format_minor(r.financed_minor), "is_flagged": bool(r.is_flagged),
             "created_at": r.created_at.isoformat()} for r in conn.execute(query).all()]


def get_document(conn: Connection, who: Principal, application_no: str, document_id: int) -> Any:
    """A document of an application the caller may see."""
    row = get_application(conn, who, application_no)
    doc = conn.execute(select(Document).where(Document.document_id == document_id, Document.application_id == row.application_id)).first()
    if doc is None:
        raise NotFound("document", document_id)
    return doc


def _require_able(partner: Any, doing: str) -> None:
    """Only an active partner that is not blacklisted applies and submits."""
    if partner.status != "active" or partner.is_blacklisted:
        raise Conflict(f"partner {partner.partner_code} is {'blacklisted' if partner.is_blacklisted else partner.status}; it cannot {doing}")


def _inputs(conn: Connection, who: Principal, request: ApplicationRequest, today: date) -> dict[str, Any]:
    """Validated columns of an application (and its items) from a request."""
    partner = acting_partner(conn, who, request.partner_code)
    _require_able(partner, "apply")
    customer = referenced("customer_id", lambda: get_customer(conn, who, request.customer_id))
    vehicle = referenced("vehicle_id", lambda: get_vehicle(conn, who, request.vehicle_id))
    if vehicle.partner_id not in (None, partner.partner_id):
        raise InputError("vehicle_id", f"vehicle {vehicle.vin} is not in {partner.partner_code}'s inventory")
    version_id, product = product_version(conn, request.product_code)
    business_type = request.business_type or product.business_type
    if business_type not in BUSINESS_TYPES:
        raise InputError("business_type", f"one of {', '.join(BUSINESS_TYPES)}")
    if business_type != product.business_type:
        raise InputError("product_code", f"{product.code} is a {product.business_type} product, not {business_type}")
    start = request.start_date or today
    if start < today:
        raise InputError("start_date", f"{start} is in the past")
    plan = quote(product, replace(request, price=from_minor(vehicle.price_minor) if request.price is None else request.price,
                                  start_date=start), today=today)
    income = request.monthly_income
    return {
        "partner": partner,
        "customer": customer,
        "vehicle": vehicle,
        "items": [(fee.key, to_minor(fee.amount), fee.financed) for fee in plan.request.fees],
        "values": {
            "business_type": business_type, "partner_id": partner.partner_id, "customer_id": customer.customer_id,
            "vehicle_id": vehicle.vehicle_id, "product_version_id": version_id, "price_minor": to_minor(plan.request.price),
            "down_payment_minor": to_minor(plan.request.down_payment), "deposit_minor": to_minor(plan.request.deposit),
            "financed_minor": to_minor(plan.financed_amount), "term_months": plan.request.term_months, "start_date": start,
            "plan": plan_view(product, plan), "monthly_income_minor": None if income is None else amount_minor("monthly_income", income, positive=True),
        },
    }


def create_application(conn: Connection, who: Principal, *, request: ApplicationRequest, today: date) -> Any:
    inputs = _inputs(conn, who, request, today)
    application_id = conn.execute(
        # the number carries the id, so it is set right after the insert, in the same transaction
        insert(Application).values(application_no=f"new-{uuid.uuid4().hex[:24]}", status="draft", created_by=who.user_id, **inputs["values"])
        .returning(Application.application_id)
    ).scalar_one()
    number = f"AP{today:%Y%m%d}{application_id:08d}"
    conn.execute(update(Application).where(Application.application_id == application_id).values(application_no=number))
    _write_items(conn, application_id, inputs["items"])
    audit(conn, who, "application.create", "application", number, None, _audited(inputs["values"]))
    return conn.execute(select(Application).where(Application.application_id == application_id)).one()


def update_application(conn: Connection, who: Principal, row: Any, *, request: ApplicationRequest, today: date) -> Any:
    """A draft's inputs replaced whole, and its plan recomputed."""
    if row.status != "draft":
        raise Conflict(f"application {row.application_no} is {row.status}; only a draft can be edited")
    inputs = _inputs(conn, who, request, today)
    conn.execute(update(Application).where(Application.application_id == row.application_id).values(**inputs["values"]))
    conn.execute(delete(ApplicationItem).where(ApplicationItem.application_id == row.application_id))
    _write_items(conn, row.application_id, inputs["items"])
    after = _audited(inputs["values"])
    audit(conn, who, "application.update", "application", row.application_no, {k: getattr(row, k) for k in after}, after)
    return conn.execute(select(Application).where(Application.application_id == row.application_id)).one()


def _audited(values: Mapping[str, Any]) -> dict[str, Any]:
    """The columns an audit row carries (the plan is derived from them, and long)."""
    return {k: v for k, v in values.items() if k != "plan"}


def _write_items(conn: Connection, application_id: int, items: list[tuple[str, int, bool]]) -> None:
    if items:
        conn.execute(insert(ApplicationItem), [
            {"application_id": application_id, "item_key": k, "amount_minor": a, "is_financed": f} for k, a, f in items])


def _move(conn: Connection, who: Principal, row: Any, target: str, **values: Any) -> None:
    APPLICATION.check(row.status, target)
    conn.execute(update(Application).where(Application.application_id == row.application_id).values(status=target, **values))
    audit(conn, who, f"application.{target}", "application", row.application_no, {"status": row.status}, {"status": target, **values})


def cancel(conn: Connection, who: Principal, row: Any, reason: str | None) -> Any:
    _move(conn, who, row, "cancelled", flag_reason=(reason or None) and reason[:200])
    cancel_open_tasks(conn, row.application_id)
    return conn.execute(select(Application).where(Application.application_id == row.application_id)).one()


def reference_range(model: Mapping[str, Any] | None, condition: str) -> tuple[Decimal, Decimal] | None:
    if model is None:
        return None
    if condition == "used":
        return model["price_min"] * USED_VALUE_RANGE[0], model["price_max"] * USED_VALUE_RANGE[1]
    return model["price_min"], model["price_max"]


def _age(birth: date | None, on: date) -> int | None:
    if birth is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    return None if not denominator else (numerator / denominator).quantize(Decimal("0.0001"))


_APPLICATION = select(Application).where(Application.application_id == bindparam("id"))
_PARTNER = select(Partner).where(Partner.partner_id == bindparam("id"))
_CUSTOMER = select(Customer).where(Customer.customer_id == bindparam("id"))
_VEHICLE = select(Vehicle).where(Vehicle.vehicle_id == bindparam("id"))
# the application's documents, oldest first: which types it has, and the latest consent the bureau is queried on
_DOCUMENTS = (select(Document.doc_type, Document.document_id, Document.sha256, Document.created_at)
              .where(Document.application_id == bindparam("id")).order_by(Document.document_id))
_DECISION = insert(Decision)
_SUBMITTED = (update(Application).where(Application.application_id == bindparam("id"))
              .values(status=bindparam("status"), submitted_at=bindparam("submitted_at")))


@dataclass(frozen=True)
class Decided:
    """A pre-approval decided on one read of the store (`decide`), not yet recorded (`record`)."""

    row: Any  # the application as the decision read it
    rules: RuleSet
    facts: dict[str, Any]
    result: PreApproval
    consent: Any  # the credit authorization the bureau query recorded
    bureau_source: str


def decide(conn: Connection, who: Principal, row: Any, now: datetime, today: date, adapters: Adapters) -> Decided:
    """Pre-approval on a read of the store: documents present, partner able and within its limit,
    then bureau, anti-fraud, scorecard and rules. Nothing is written, so the bureau's query (a call
    to an outside service), the anti-fraud counts and the rules hold no writer's lock (`record`
    writes the outcome)."""
    APPLICATION.check(row.status, "submitted")
    partner = conn.execute(_PARTNER, {"id": row.partner_id}).one()
    _require_able(partner, "submit")
    customer = conn.execute(_CUSTOMER, {"id": row.customer_id}).one()
    vehicle = conn.execute(_VEHICLE, {"id": row.vehicle_id}).first()
    documents = conn.execute(_DOCUMENTS, {"id": row.application_id}).all()
    have = {d.doc_type for d in documents}
    missing = [d for d in REQUIRED_DOCUMENTS[customer.kind] if d not in have]
    if missing:
        raise InputError("documents", f"upload {', '.join(missing)} before submitting")
    exp = exposure(conn, partner.partner_id)
    _within_limit(partner, exp, row)

    consent = next(d for d in reversed(documents) if d.doc_type == CONSENT)  # present: a required document
    consent_ref = f"document {consent.document_id} sha256:{consent.sha256}"
    report = adapters.bureau.query(customer.kind, customer.id_number, consent=consent_ref)
    model = vehicle_models().get(vehicle.model_code) if vehicle is not None else None
    ref = reference_range(model, vehicle.condition) if vehicle is not None else None
    price, down, financed = from_minor(row.price_minor), from_minor(row.down_payment_minor), from_minor(row.financed_minor)
    payment = max(D(r["payment"]) for r in row.plan["schedule"][:-1] or row.plan["schedule"])
    income = None if row.monthly_income_minor is None else from_minor(row.monthly_income_minor)
    age = _age(customer.birth_date, today)
    facts = {
        "application": {
            "business_type": row.business_type, "product_code": row.plan.get("product_code"), "price": price, "down_payment": down,
            "down_payment_pct": _ratio(down, price), "financed": financed, "term_months": row.term_months,
            "monthly_payment": payment, "monthly_income": income,
            "dti": None if income is None else _ratio(payment + report.monthly_debt, income), "ltv": _ratio(financed, price),
        },
        "customer": {"kind": customer.kind, "age": age,
                     "age_at_maturity": _age(customer.birth_date, date.fromisoformat(row.plan["schedule"][-1]["due_date"])),
                     "city": customer.city},
        "vehicle": {
            "condition": None if vehicle is None else vehicle.condition, "model_code": None if vehicle is None else vehicle.model_code,
            "reference_min": None if ref is None else ref[0], "reference_max": None if ref is None else ref[1],
            "price_in_range": ref is not None and ref[0] <= price <= ref[1],
        },
        "partner": _partner_facts(partner, exp, row),
        "bureau": {k: v for k, v in report.facts().items() if k != "source"},
        "fraud": fraud_facts(conn, row, customer, partner, vehicle, ref, now, adapters.watchlist),
    }
    rules = rule_set()
    return Decided(row, rules, facts, pre_approve(rules, facts), consent, report.source)


def record(conn: Connection, who: Principal, decided: Decided, now: datetime) -> dict[str, Any]:
    """The decision, the application's new status, the audit rows and the first approval task, in
    the caller's write transaction. What the decision may not have raced is read again here: the
    application must be exactly as it was decided (else 409: submit it again), and the partner able
    and within its limit as of now. Should the partner's facts have moved meanwhile (its exposure by
    another submit, its rating), the rules run again on them. The bureau report, the anti-fraud
    counts and the rest are what the decision saw, and are recorded as such."""
    # locked on PostgreSQL (SQLite has one writer): a second record of this application or another
    # of this partner waits for this one's commit, and then reads what it wrote
    row = conn.execute(_APPLICATION.with_for_update(), {"id": decided.row.application_id}).one()
    if tuple(row) != tuple(decided.row):
        raise Conflict(f"application {row.application_no} changed while it was being decided (now {row.status}); submit it again")
    partner = conn.execute(_PARTNER.with_for_update(), {"id": row.partner_id}).one()
    _require_able(partner, "submit")
    exp = exposure(conn, partner.partner_id)
    _within_limit(partner, exp, row)
    facts, result = decided.facts, decided.result
    partner_now = _partner_facts(partner, exp, row)
    if partner_now != facts["partner"]:
        facts = {**facts, "partner": partner_now}
        result = pre_approve(decided.rules, facts)
    rules, consent = decided.rules, decided.consent
    details = {
        "rule_set": rules.name, "rule_set_version": rules.version, "rule_set_sha256": rules.sha256, "rules_evaluated": result.evaluated,
        "rule_hits": [{"rule": h.rule, "outcome": h.outcome, "reason": h.reason, "description": h.description, **({"error": h.error} if h.error else {})}
                      for h in result.hits],
        "scorecard": [{"characteristic": name, "value": value, "points": points} for name, value, points in result.score.parts],
        "inputs": facts, "bureau_source": decided.bureau_source,
        "bureau_consent": {"document_id": consent.document_id, "sha256": consent.sha256, "uploaded_at": consent.created_at},
    }
    details = jsonable(details)
    conn.execute(_DECISION, {
        "application_id": row.application_id, "partner_id": row.partner_id, "kind": "pre_approval", "outcome": result.outcome,
        "reason_code": result.reason_code,
        "rule_set_version": rules.label, "score": result.score.points, "grade": result.score.grade, "details": details, "decided_by": None})
    status = {"pass": "pre_approved", "refer": "referred", "reject": "rejected"}[result.outcome]
    APPLICATION.check("submitted", status)
    conn.execute(_SUBMITTED, {"id": row.application_id, "status": status, "submitted_at": now})
    audit_steps(conn, who, "application", row.application_no, [
        ("application.submitted", {"status": row.status}, {"status": "submitted"}),
        (f"application.{status}", {"status": "submitted"}, {"status": status, "reason_code": result.reason_code, "grade": result.score.grade}),
    ])
    route = None
    if result.outcome in ("pass", "refer"):  # the matrix's first tier takes it on
        route = open_first_task(conn, row.application_id, outcome=result.outcome, grade=result.score.grade,
                                business_type=row.business_type, financed_minor=row.financed_minor, now=now)
    return {"outcome": result.outcome, "status": status, "reason_code": result.reason_code, "rule_set_version": rules.label,
            "score": result.score.points, "grade": result.score.grade, "approval_route": route,
            **{k: details[k] for k in ("rule_hits", "scorecard", "inputs")}}


def _within_limit(partner: Any, exp: dict[str, int], row: Any) -> None:
    if exp["total_minor"] + row.financed_minor > partner.credit_limit_minor:
        raise InputError(
            "financed_amount",
            f"partner {partner.partner_code}'s exposure {format_minor(exp['total_minor'])} + this application "
            f"{format_minor(row.financed_minor)} = {format_minor(exp['total_minor'] + row.financed_minor)} exceeds its credit limit "
            f"{format_minor(partner.credit_limit_minor)}",
        )


def _partner_facts(partner: Any, exp: dict[str, int], row: Any) -> dict[str, Any]:
    return {"rating": partner.rating, "status": partner.status, "credit_limit": from_minor(partner.credit_limit_minor),
            "exposure": from_minor(exp["total_minor"]), "exposure_after": from_minor(exp["total_minor"] + row.financed_minor)}


# ---------------------------------------------------------------- documents


def sniff(data: bytes) -> str | None:
    return next((kind for magic, kind in SIGNATURES if data.startswith(magic)), None)


def store_document(conn: Connection, who: Principal, row: Any, doc_type: str, file_name: str, data: bytes) -> Any:
    """Checked before anything is stored: the application open, the type known, the size and the
    content type within limits. The bytes go to data/documents/<sha[:2]>/<sha> (content-addressed:
    the same file uploaded twice is stored once)."""
    if doc_type not in DOC_TYPES:
        raise InputError("doc_type", f"one of {', '.join(DOC_TYPES)}")
    if row.status not in OPEN_FOR_DOCUMENTS:
        raise Conflict(f"application {row.application_no} is {row.status}; documents are taken while it is open")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentRefused(413, f"{len(data)} bytes; the limit is {MAX_DOCUMENT_BYTES}")
    if not data:
        raise InputError("file", "the file is empty")
    content_type = sniff(data)
    if content_type is None:
        raise DocumentRefused(415, "not a JPEG, PNG or PDF file (judged by its content)")
    digest = hashlib.sha256(data).hexdigest()
    path = document_path(digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, data)
    document_id = conn.execute(insert(Document).values(
        application_id=row.application_id, doc_type=doc_type, file_name=(file_name or "upload")[:200], content_type=content_type,
        size_bytes=len(data), sha256=digest, uploaded_by=who.user_id).returning(Document.document_id)).scalar_one()
    audit(conn, who, "document.upload", "application", row.application_no, None,
          {"document_id": document_id, "doc_type": doc_type, "sha256": digest, "size_bytes": len(data)})
    return conn.execute(select(Document).where(Document.document_id == document_id)).one()


def document_path(digest: str):  # noqa: ANN201
    return data_dir() / "documents" / digest[:2] / digest


class DocumentRefused(Exception):
    """An upload refused for its size (413) or its type (415) before it is stored."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        self.reason = reason
        super().__init__(reason)


# ---------------------------------------------------------------- views


def view(conn: Connection, row: Any) -> dict[str, Any]:
    partner_code = conn.execute(select(Partner.partner_code).where(Partner.partner_id == row.partner_id)).scalar_one()
    items = conn.execute(select(ApplicationItem).where(ApplicationItem.application_id == row.application_id)).all()
    docs = conn.execute(select(Document).where(Document.application_id == row.application_id).order_by(Document.document_id)).all()
    decisions = conn.execute(select(Decision).where(Decision.application_id == row.application_id).order_by(Decision.decision_id)).all()
    return {
        "application_no": row.application_no, "status": row.status, "business_type": row.business_type, "partner_code": partner_code,
        "customer_id": row.customer_id, "vehicle_id": row.vehicle_id, "price": format_minor(row.price_minor),
        "down_payment": format_minor(row.down_payment_minor), "financed_amount": format_minor(row.financed_minor),
        "term_months": row.term_months, "start_date": row.start_date.isoformat() if row.start_date else None,
        "monthly_income": None if row.monthly_income_minor is None else format_minor(row.monthly_income_minor),
        "items": [{"key": i.item_key, "amount": format_minor(i.amount_minor), "financed": bool(i.is_financed)} for i in items],
        "is_flagged": bool(row.is_flagged), "flag_reason": row.flag_reason,
        "submitted_at": row.submitted_at.isoformat() if row.submitted_at else None,
        "plan": row.plan,
        "documents": [{"document_id": d.document_id, "doc_type": d.doc_type, "file_name": d.file_name, "content_type": d.content_type,
                       "size_bytes": d.size_bytes, "sha256": d.sha256} for d in docs],
        "decisions": [{"kind": d.kind, "outcome": d.outcome, "reason_code": d.reason_code, "rule_set_version": d.rule_set_version,
                       "score": d.score, "grade": d.grade, "decided_at": d.decided_at.isoformat(),
                       "rule_hits": (d.details or {}).get("rule_hits", [])} for d in decisions],
    }
