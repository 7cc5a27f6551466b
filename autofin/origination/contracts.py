"""Contracts (合同): created by the last tier's approval with a frozen copy of the product version
the application was made under and of its financing plan; the document as PDF; the e-signature;
disbursement preconditions; activation when the financed amount is paid.

Instalment rows are written on activation, from the frozen plan: until the money is paid out
nothing is owed, nothing is billed, and the ledger's unbilled-principal account (1531) and the
sub-ledger move together, with the disbursement voucher.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from autofin.domain.errors import InputError, TransitionError
from autofin.domain.identity import mask_id
from autofin.domain.lifecycle import CONTRACT, CONTRACT_COMMITTED, VEHICLE
from autofin.domain.money import D, format_minor, principal_vat_minor, rate_to_ppm, to_minor
from autofin.domain.products import DISBURSEMENT_PRECONDITIONS, ProductTerms
from autofin.files import write_atomically
from autofin.origination import contract_pdf
from autofin.origination.access import Principal, scope
from autofin.origination.applications import document_path
from autofin.origination.audit import audit
from autofin.origination.errors import Conflict, NotFound
from autofin.origination.esign import SignatureProvider
from autofin.reference import bank_profiles, voucher_templates
from autofin.store.bulk import insert_assigning_ids
from autofin.store.engine import iso
from autofin.store.ledger import event_share, post_contract_events
from autofin.store.models import (
    Application,
    ApplicationItem,
    Contract,
    ContractCondition,
    ContractSignature,
    Customer,
    Disbursement,
    Instalment,
    JournalEntry,
    JournalLine,
    Mandate,
    MoneyEvent,
    Partner,
    Product,
    ProductVersion,
    SummaryBatch,
    Vehicle,
)

# ---------------------------------------------------------------- reading


def get_contract(conn: Connection, who: Principal, contract_no: str) -> Any:
    row = conn.execute(select(Contract).where(Contract.contract_no == contract_no, scope(who, Contract))).first()
    if row is None:
        raise NotFound("contract", contract_no)
    return row


def list_contracts(conn: Connection, who: Principal, *, status: str | None, partner_code: str | None, limit: int,
                   offset: int) -> list[dict[str, Any]]:
    query = (select(Contract.contract_no, Contract.status, Contract.business_type, Partner.partner_code, Contract.financed_minor,
                    Contract.start_date).join(Partner, Partner.partner_id == Contract.partner_id).where(scope(who, Contract))
             .order_by(Contract.contract_id.desc()).limit(limit).offset(offset))
    if status:
        query = query.where(Contract.status == status)
    if partner_code:
        query = query.where(Partner.partner_code == partner_code)
    return [{"contract_no": r.contract_no, "status": r.status, "business_type": r.business_type, "partner_code": r.partner_code,
             "financed_amount": format_minor(r.financed_minor), "start_date": r.start_date.isoformat()} for r in conn.execute(query)]


def vouchers(conn: Connection, row: Any) -> list[dict[str, Any]]:
    """The contract's vouchers, oldest event first, each with its lines and totals. An event the night's
    bulk steps posted (billing, penalty, receipt) is carried by the day's summary voucher: it is shown
    with its own share of that voucher's lines (its template applied to its amounts), `summary` set,
    and the summary voucher's entry (none until the vouchers step has written it)."""
    # its own entries found from its money events (the events by contract, each entry by its event, which
    # carries the event's contract): the entries have no index by contract, and SQLite read all of them
    # (866,895 at 1M, 66 ms warm) for each view
    own = conn.execute(select(JournalEntry.journal_entry_id, JournalEntry.money_event_id, JournalEntry.entry_date, JournalEntry.event_type,
                              JournalEntry.voucher_no, JournalLine.line_no, JournalLine.account_code, JournalLine.debit_minor,
                              JournalLine.credit_minor)
                       .select_from(MoneyEvent).join(JournalEntry, JournalEntry.money_event_id == MoneyEvent.money_event_id)
                       .join(JournalLine, JournalLine.journal_entry_id == JournalEntry.journal_entry_id)
                       .where(MoneyEvent.contract_id == row.contract_id)
                       .order_by(JournalEntry.journal_entry_id, JournalLine.line_no)).all()
    entries: dict[int, dict[str, Any]] = {}
    for line in own:
        entry = entries.setdefault(line.money_event_id, {"entry_id": line.journal_entry_id, "voucher_no": line.voucher_no, "summary": False,
                                                         "date": line.entry_date, "event_type": line.event_type, "lines": []})
        entry["lines"].append((line.account_code, line.debit_minor, line.credit_minor))
    templates = voucher_templates()
    summarised = conn.execute(select(*MoneyEvent.__table__.c, SummaryBatch.journal_entry_id, JournalEntry.voucher_no)
                              .join(SummaryBatch, (SummaryBatch.batch_id == MoneyEvent.batch_id) & (SummaryBatch.event_type == MoneyEvent.event_type)
                                    & (SummaryBatch.entry_date == MoneyEvent.business_date) & (SummaryBatch.currency == MoneyEvent.currency))
                              .outerjoin(JournalEntry, JournalEntry.journal_entry_id == SummaryBatch.journal_entry_id)
                              .where(MoneyEvent.contract_id == row.contract_id)).all()
    for event in summarised:
        entries[event.money_event_id] = {
            "entry_id": event.journal_entry_id, "voucher_no": event.voucher_no, "summary": True, "date": event.business_date,
            "event_type": event.event_type,
            "lines": [(line.account, line.debit_minor, line.credit_minor) for line in event_share(event, templates)]}
    out = []
    for _, entry in sorted(entries.items()):
        lines = entry.pop("lines")
        out.append({**entry, "date": entry["date"].isoformat(),
                    "lines": [{"account": a, "debit": format_minor(dr), "credit": format_minor(cr)} for a, dr, cr in lines],
                    "debit": format_minor(sum(dr for _, dr, _ in lines)), "credit": format_minor(sum(cr for _, _, cr in lines))})
    return out


def of_contract(conn: Connection, who: Principal, model: Any, key: int, entity: str) -> tuple[Any, Any]:
    """A row of `model` (by primary key) that belongs to a contract, and the contract, if the caller
    may see them (a dealer: its own partner's only; otherwise 404, as for a row that does not exist)."""
    row = conn.execute(select(model).where(model.__table__.primary_key.columns.values()[0] == key)).first()
    contract = None if row is None else conn.execute(select(Contract).where(Contract.contract_id == row.contract_id,
                                                                            scope(who, Contract))).first()
    if row is None or contract is None:
        raise NotFound(entity, key)
    return row, contract


def reload(conn: Connection, row: Any) -> Any:
    return conn.execute(select(Contract).where(Contract.contract_id == row.contract_id)).one()


def terms_of(conn: Connection, row: Any) -> ProductTerms:
    """The product terms frozen on the contract; a migrated contract carries only the reference to
    its (immutable) product version."""
    raw = row.terms.get("product_terms")
    if raw is None:
        raw = conn.execute(select(ProductVersion.terms).where(ProductVersion.product_version_id == row.product_version_id)).scalar_one()
    return ProductTerms.from_dict(raw)


def schedule(conn: Connection, row: Any) -> list[dict[str, Any]]:
    """The instalments as they stand once active; the frozen plan's schedule before that."""
    rows = conn.execute(select(Instalment).where(Instalment.contract_id == row.contract_id).order_by(Instalment.seq)).all()
    if not rows:
        return [{"seq": r["seq"], "due_date": r["due_date"], "principal": r["principal"], "interest": r["interest"], "fee": r["fee"],
                 "status": "planned"} for r in (row.plan or {}).get("schedule", [])]
    return [{"seq": i.seq, "due_date": i.due_date.isoformat(), "principal": format_minor(i.principal_minor),
             "interest": format_minor(i.interest_minor), "fee": format_minor(i.fee_minor), "penalty": format_minor(i.penalty_minor),
             "paid": format_minor(i.paid_principal_minor + i.paid_interest_minor + i.paid_fee_minor + i.paid_penalty_minor),
             "status": i.status} for i in rows]


def view(conn: Connection, row: Any) -> dict[str, Any]:
    from autofin.origination.disbursements import latest_for

    partner_code = conn.execute(select(Partner.partner_code).where(Partner.partner_id == row.partner_id)).scalar_one()
    app_no = None if row.application_id is None else conn.execute(
        select(Application.application_no).where(Application.application_id == row.application_id)).scalar_one()
    signatures = conn.execute(select(ContractSignature).where(ContractSignature.contract_id == row.contract_id)).all()
    conditions = conn.execute(select(ContractCondition).where(ContractCondition.contract_id == row.contract_id)).all()
    disbursement = latest_for(conn, row.contract_id)
    return {
        "contract_no": row.contract_no, "application_no": app_no, "status": row.status, "partner_code": partner_code,
        "business_type": row.business_type, "method": row.method, "financed_amount": format_minor(row.financed_minor),
        "balloon": format_minor(row.balloon_minor), "term_months": row.term_months, "start_date": row.start_date.isoformat(),
        "maturity_date": row.maturity_date.isoformat(), "signed_at": iso(row.signed_at),
        "activated_date": None if row.activated_date is None else row.activated_date.isoformat(),
        "closed_date": None if row.closed_date is None else row.closed_date.isoformat(),
        "credit": format_minor(row.credit_minor), "deposit_held": format_minor(row.deposit_held_minor),
        "dpd": row.dpd, "bucket": row.bucket, "document_sha256": row.document_sha256,
        "schedule_version": row.schedule_version,
        "product": {**{k: row.terms.get(k) for k in ("product_code", "product_version", "terms_hash")},
                    "preconditions": list(terms_of(conn, row).disbursement_preconditions)},
        "signatures": [{"signer_name": s.signer_name, "signer_id": mask_id(s.signer_id_number), "method": s.method,
                        "provider": s.provider, "provider_ref": s.provider_ref, "document_sha256": s.document_sha256,
                        "signed_at": iso(s.signed_at)} for s in signatures],
        "conditions": [{"kind": c.kind, "reference": c.reference} for c in conditions],
        "disbursement": disbursement,
        "schedule": schedule(conn, row),
    }


# ---------------------------------------------------------------- creation


def create_from_application(conn: Connection, who: Principal, app: Any, now: datetime, today: date) -> Any:
    """The contract of an approved application: the product version it was made under and its plan,
    frozen. The application becomes contracted; its vehicle is reserved for it."""
    version = conn.execute(select(ProductVersion.version, ProductVersion.terms, ProductVersion.terms_hash, Product.product_code)
                           .join(Product, Product.product_id == ProductVersion.product_id)
                           .where(ProductVersion.product_version_id == app.product_version_id)).one()
    product = ProductTerms.from_dict(version.terms)
    plan = app.plan
    items = conn.execute(select(ApplicationItem).where(ApplicationItem.application_id == app.application_id)).all()
    terms = {
        "product_code": version.product_code, "product_version": version.version, "terms_hash": version.terms_hash,
        "product_terms": version.terms,
        "fees": {i.item_key: {"amount": format_minor(i.amount_minor), "financed": bool(i.is_financed)} for i in items},
    }
    values = {
        "application_id": app.application_id, "partner_id": app.partner_id, "customer_id": app.customer_id, "vehicle_id": app.vehicle_id,
        "product_version_id": app.product_version_id, "business_type": app.business_type, "method": product.method.value,
        "status": "pending_signature", "currency": app.currency, "price_minor": app.price_minor, "down_payment_minor": app.down_payment_minor,
        "deposit_minor": app.deposit_minor, "financed_minor": app.financed_minor, "balloon_minor": to_minor(D(plan["balloon"])),
        "term_months": app.term_months, "annual_rate_ppm": rate_to_ppm(product.annual_rate),
        "penalty_rate_ppm": rate_to_ppm(product.penalty.daily_rate), "penalty_basis": product.penalty.basis,
        "penalty_cap_ppm": None if product.penalty.cap_pct is None else rate_to_ppm(product.penalty.cap_pct),
        "grace_days": product.penalty.grace_days, "non_accrual_dpd": product.non_accrual_after, "vat_rate_ppm": rate_to_ppm(product.vat_rate),
        "vat_basis": product.vat_basis, "allocation_order": ",".join(product.allocation_order), "is_roll_due_dates": product.roll_due_dates, "terms": terms,
        "plan": plan, "start_date": app.start_date, "maturity_date": date.fromisoformat(plan["schedule"][-1]["due_date"]),
        "is_migrated": False, "created_at": now,
    }
    contract_id = conn.execute(insert(Contract).values(contract_no=f"new-{uuid.uuid4().hex[:24]}", **values)
                               .returning(Contract.contract_id)).scalar_one()
    number = f"AF{today:%Y%m}{contract_id:08d}"
    conn.execute(update(Contract).where(Contract.contract_id == contract_id).values(contract_no=number))
    conn.execute(update(Application).where(Application.application_id == app.application_id).values(status="contracted"))
    audit(conn, who, "application.contracted", "application", app.application_no, {"status": app.status},
          {"status": "contracted", "contract_no": number})
    audit(conn, who, "contract.create", "contract", number, None,
          {"status": "pending_signature", "financed_minor": app.financed_minor, "product_code": version.product_code,
           "product_version": version.version, "terms_hash": version.terms_hash})
    _move_vehicle(conn, who, app.vehicle_id, "reserved")
    return conn.execute(select(Contract).where(Contract.contract_id == contract_id)).one()


def cancel(conn: Connection, who: Principal, row: Any, reason: str, today: date) -> Any:
    """Cancel a contract that was never paid out (撤销): signed or not, with no payment on its way
    (no disbursement, or one blocked for fraud or failed). It ends terminated; its mandate is
    revoked, its vehicle back in stock, and the partner's committed exposure released (so a
    partner whose payout was blocked for fraud can still exit)."""
    if row.status not in CONTRACT_COMMITTED:
        raise TransitionError("contract", row.status, "terminated (cancelled before payout)", CONTRACT.allowed(row.status))
    payout = conn.execute(select(Disbursement.disbursement_id, Disbursement.status).where(Disbursement.contract_id == row.contract_id)
                          .order_by(Disbursement.disbursement_id.desc()).limit(1)).first()
    if payout is not None and payout.status not in ("blocked", "failed"):
        raise Conflict(f"contract {row.contract_no}'s disbursement {payout.disbursement_id} is {payout.status}; a contract is cancelled "
                       "only with no payment on its way (blocked or failed)")
    conn.execute(update(Contract).where(Contract.contract_id == row.contract_id).values(status="terminated", closed_date=today))
    conn.execute(update(Mandate).where(Mandate.contract_id == row.contract_id, Mandate.status == "active").values(status="revoked"))
    audit(conn, who, "contract.cancelled", "contract", row.contract_no, {"status": row.status}, {"status": "terminated", "reason": reason})
    _move_vehicle(conn, who, row.vehicle_id, "in_stock")
    return reload(conn, row)


def _move_vehicle(conn: Connection, who: Principal | str, vehicle_id: int | None, target: str) -> None:
    """The vehicle follows the contract where its inventory lifecycle allows (a used car financed
    without stock may not be in inventory at all)."""
    if vehicle_id is None:
        return
    vehicle = conn.execute(select(Vehicle.inventory_status).where(Vehicle.vehicle_id == vehicle_id)).one()
    if target in VEHICLE.allowed(vehicle.inventory_status):
        conn.execute(update(Vehicle).where(Vehicle.vehicle_id == vehicle_id).values(inventory_status=target))
        audit(conn, who, "vehicle.status", "vehicle", vehicle_id, {"inventory_status": vehicle.inventory_status}, {"inventory_status": target})


# ---------------------------------------------------------------- document and signature


def document_data(conn: Connection, row: Any) -> dict[str, Any]:
    """What the PDF shows, from the frozen plan and terms."""
    customer = conn.execute(select(Customer).where(Customer.customer_id == row.customer_id)).one()
    partner = conn.execute(select(Partner).where(Partner.partner_id == row.partner_id)).one()
    vehicle = conn.execute(select(Vehicle).where(Vehicle.vehicle_id == row.vehicle_id)).first()
    app_no = conn.execute(select(Application.application_no).where(Application.application_id == row.application_id)).scalar_one()
    product = terms_of(conn, row)
    title = {"loan": ("汽车贷款合同", "Car loan agreement"), "direct_lease": ("融资租赁合同（直租）", "Finance lease agreement (direct lease)"),
             "sale_leaseback": ("融资租赁合同（售后回租）", "Finance lease agreement (sale and leaseback)")}[row.business_type]
    return {
        "contract_no": row.contract_no, "application_no": app_no, "title_zh": title[0], "title": title[1],
        "customer_name": customer.name, "customer_id_masked": mask_id(customer.id_number), "partner_name": partner.name,
        "partner_code": partner.partner_code, "vehicle": "-" if vehicle is None else f"{vehicle.brand} {vehicle.model_name}",
        "vin": "-" if vehicle is None else vehicle.vin, "product_name_zh": product.name_zh, "product_code": product.code,
        "product_version": row.terms["product_version"], "price": format_minor(row.price_minor),
        "down_payment": format_minor(row.down_payment_minor), "deposit": format_minor(row.deposit_minor), "plan": row.plan,
        "penalty": f"{product.penalty.daily_rate}/day on {product.penalty.basis}, {product.penalty.grace_days} days grace",
        "start_date": row.start_date.isoformat(), "maturity_date": row.maturity_date.isoformat(), "fees": row.terms.get("fees") or {},
    }


def render_document(conn: Connection, row: Any) -> tuple[str, bytes]:
    if row.is_migrated:  # no plan, terms by reference, no application: nothing here to render the agreement from
        raise Conflict(f"contract {row.contract_no} came over with the book at the cut-over: its signed agreement is kept "
                       "by the system it came from, not rendered here")
    data = contract_pdf.render(document_data(conn, row), row.created_at)
    return hashlib.sha256(data).hexdigest(), data


def keep_document(conn: Connection, who: Principal, row: Any, digest: str, data: bytes) -> str:
    """Store the rendered document (content-addressed) and record its hash on the contract, once:
    the hash recorded first is the document the customer signs."""
    path = document_path(digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, data)
    changed = conn.execute(update(Contract).where(Contract.contract_id == row.contract_id, Contract.document_sha256.is_(None))
                           .values(document_sha256=digest)).rowcount
    if changed:
        audit(conn, who, "contract.document", "contract", row.contract_no, None, {"document_sha256": digest})
    kept = conn.execute(select(Contract.document_sha256).where(Contract.contract_id == row.contract_id)).scalar_one()
    return digest if kept is None else kept


@dataclass(frozen=True)
class DebitAccount:
    """The customer's account the direct-debit mandate signed with the contract draws on."""

    bank_code: str
    account_no: str


def sign(conn: Connection, who: Principal, row: Any, *, document_sha256: str, method: str, otp: str | None,
         debit_account: DebitAccount | None, provider: SignatureProvider, now: datetime, today: date) -> Any:
    """The customer signs the document they were shown (its sha256 must be the contract's); with a
    debit account the direct-debit mandate (代扣授权) is signed with it."""
    CONTRACT.check(row.status, "signed")
    if row.document_sha256 is None:
        raise Conflict(f"contract {row.contract_no} has no document yet: GET /contracts/{row.contract_no}/document first")
    if document_sha256 != row.document_sha256:
        raise Conflict(f"the document signed ({document_sha256}) is not contract {row.contract_no}'s ({row.document_sha256})")
    customer = conn.execute(select(Customer).where(Customer.customer_id == row.customer_id)).one()
    account = debit_account
    if account is not None and account.bank_code not in bank_profiles():
        raise InputError("debit_account.bank_code", f"one of {', '.join(bank_profiles())}")
    result = provider.sign(document_sha256=row.document_sha256, signer_name=customer.name, signer_id_number=customer.id_number,
                           method=method, otp=otp, now=now)
    conn.execute(insert(ContractSignature).values(
        contract_id=row.contract_id, document_sha256=row.document_sha256, signer_name=customer.name, signer_id_number=customer.id_number,
        method=method, provider=result.provider, provider_ref=result.provider_ref, signed_at=result.signed_at,
        recorded_by=who.user_id))
    conn.execute(update(Contract).where(Contract.contract_id == row.contract_id).values(status="signed", signed_at=result.signed_at))
    if account is not None:
        conn.execute(insert(Mandate).values(contract_id=row.contract_id, mandate_ref=f"MDT{row.contract_id:010d}",
                                            bank_code=account.bank_code, debtor_name=customer.name,
                                            debtor_account=account.account_no, signed_date=today, status="active"))
    audit(conn, who, "contract.signed", "contract", row.contract_no, {"status": row.status},
          {"status": "signed", "document_sha256": row.document_sha256, "provider_ref": result.provider_ref, "method": method,
           "mandate": account is not None})
    return reload(conn, row)


def add_condition(conn: Connection, who: Principal, row: Any, kind: str, reference: str) -> Any:
    if kind not in DISBURSEMENT_PRECONDITIONS:
        raise InputError("kind", f"one of {', '.join(DISBURSEMENT_PRECONDITIONS)}")
    if row.status not in ("pending_signature", "signed"):
        raise Conflict(f"contract {row.contract_no} is {row.status}; preconditions are recorded before it is paid out")
    if conn.execute(select(ContractCondition.contract_condition_id).where(
            ContractCondition.contract_id == row.contract_id, ContractCondition.kind == kind)).first():
        raise Conflict(f"contract {row.contract_no} already has its {kind} on record")
    conn.execute(insert(ContractCondition).values(contract_id=row.contract_id, kind=kind, reference=reference, recorded_by=who.user_id))
    audit(conn, who, "contract.condition", "contract", row.contract_no, None, {"kind": kind, "reference": reference})
    return row


def missing_conditions(conn: Connection, row: Any) -> list[str]:
    have = set(conn.execute(select(ContractCondition.kind).where(ContractCondition.contract_id == row.contract_id)).scalars())
    return [k for k in terms_of(conn, row).disbursement_preconditions if k not in have]


# ---------------------------------------------------------------- activation


def activate(conn: Connection, who: Principal | str, row: Any, paid_date: date, disbursement_id: int, retained_fee_minor: int = 0) -> dict[str, int]:
    """Every payee's share of the financed amount is paid: the schedule's instalments are written
    from the frozen plan, the contract becomes active and the disbursement voucher is posted (Dr 1531
    / Cr 1221.01, where the paid shares wait, and our own financed fee `retained_fee_minor` to 6021; a
    direct lease taxed on the whole rental defers the VAT on its principal, the vehicle's input VAT:
    Dr 2221.02 / Cr 2221.05, released to output VAT as each rental is billed);
    a deposit (保证金) is booked as received and held (Dr 1002 / Cr 2241.04)."""
    CONTRACT.check(row.status, "active")
    rows = [{"contract_id": row.contract_id, "seq": r["seq"], "due_date": date.fromisoformat(r["due_date"]), "status": "scheduled",
             "principal_minor": to_minor(D(r["principal"])), "interest_minor": to_minor(D(r["interest"])), "fee_minor": to_minor(D(r["fee"]))}
            for r in row.plan["schedule"]]
    for r in rows:  # a direct lease's VAT on each rental's principal (none for interest-basis contracts)
        r["principal_vat_minor"] = principal_vat_minor(r["principal_minor"], r["interest_minor"], row.vat_rate_ppm, row.vat_basis)
    principal = sum(r["principal_minor"] for r in rows)
    if principal != row.financed_minor:
        raise AssertionError(f"contract {row.contract_no}: Σ principal {principal} ≠ financed {row.financed_minor}")
    insert_assigning_ids(conn, Instalment.__table__, rows)
    conn.execute(update(Contract).where(Contract.contract_id == row.contract_id).values(status="active", activated_date=paid_date))
    batch = f"disbursement:{disbursement_id}"
    posted = post_contract_events(conn, batch, row, paid_date, [{"event_type": "disbursement", "event_key": batch,
                                                                 "outstanding_principal_minor": row.financed_minor,
                                                                 "fee_minor": retained_fee_minor,
                                                                 "principal_vat_minor": sum(r["principal_vat_minor"] for r in rows)}], voucher_templates())
    if row.deposit_minor > 0:  # 保证金: paid by the customer with the down payment, held until applied or refunded
        post_contract_events(conn, f"deposit:{row.contract_id}", row, paid_date, [{"event_type": "deposit_received",
                                                                                   "event_key": f"deposit:{row.contract_id}",
                                                                                   "amount_minor": row.deposit_minor}], voucher_templates())
        conn.execute(update(Contract).where(Contract.contract_id == row.contract_id).values(deposit_held_minor=row.deposit_minor))
    _move_vehicle(conn, who, row.vehicle_id, "leased")
    audit(conn, who, "contract.active", "contract", row.contract_no, {"status": row.status},
          {"status": "active", "activated_date": paid_date, "instalments": len(rows), "voucher_lines": posted.lines})
    return {"instalments": len(rows), "voucher_debit_minor": posted.debit_minor, "voucher_credit_minor": posted.credit_minor}
