"""Payouts (付款): money going out by credit transfer, as pain.001 files answered by pain.002.

queue       a disbursement's approval queues one payout per payee (domain.payouts: dealer, tax,
            insurer, GPS supplier); a refund's or a deposit refund's last approval queues one to
            the customer. Each leaves through the paying bank (the bank profile with `payouts`).
files       the nightly `payout_files` step writes the queued payouts into pain.001 files per
            paying bank (at most the profile's maximum each) and registers them; `bank_upload`
            sends them with the debit files, and the payouts become `sent`.
answers     the bank's pain.002 on a payout file (bank_returns routes it here by its original
            message id) is checked whole before anything moves: the batch, its count and sum,
            every end-to-end id in it, amounts, currencies, states. ACSC pays a payout; RJCT fails
            it with its reason; ACCP/ACTC/PDNG change nothing.
money       a disbursement share paid posts `disbursement_payout` (Dr 1221.01 / Cr 1002); once
            every share is paid the contract activates (`disbursement`: Dr 1531 / Cr 1221.01, our
            own financed fee to 6021). A refund posted its liability to 2202.04 when approved;
            paid, `payout_paid` clears it (Dr 2202.04 / Cr 1002). A failed payout moves no money.
retry       a failed payout is sent again as a new payout (attempt + 1, a new end-to-end id),
            with a corrected account where one is given; the failed row becomes `retried`. A
            disbursement with a failed share is `failed` until then (its task re-opens).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Connection, func, insert, select, text, update

from autofin.bankfiles import pain001
from autofin.bankfiles.profiles import BankProfile, paying_bank
from autofin.bankfiles.reasons import failure_reason
from autofin.bankfiles.records import BankFileError, CreditTransfer, PayoutFile, StatusReport
from autofin.domain.money import format_minor
from autofin.domain.payouts import PayeeAccount, Split, checked_account, split_disbursement
from autofin.origination.access import Principal, scope
from autofin.origination.audit import audit
from autofin.origination.errors import Conflict, NotFound
from autofin.reference import bank_profiles, payee_setup, voucher_templates
from autofin.servicing.context import StepContext
from autofin.servicing.days import is_bank_day
from autofin.servicing.outbound import register_outbound, write_outbound
from autofin.store.engine import as_date, iso
from autofin.store.ledger import component_columns, post_batch
from autofin.store.models import ApplicationItem, Contract, Disbursement, MoneyEvent, Partner, Payout, PayoutBatch

LIVE = ("pending", "sent", "paid", "failed")  # not retried or cancelled: what a disbursement's status follows
REMITTANCE = {"disbursement": "放款", "refund": "退款", "deposit_refund": "保证金退还"}


# ---------------------------------------------------------------- reading


def view(p: Any, contract_no: str | None = None) -> dict[str, Any]:
    return {"payout_id": p.payout_id, "kind": p.kind, "contract_no": contract_no, "disbursement_id": p.disbursement_id,
            "request_id": p.post_lease_request_id, "payee_kind": p.payee_kind, "payee_name": p.payee_name,
            "payee_account_no": p.payee_account_no, "payee_bank": p.payee_bank, "amount": format_minor(p.amount_minor, p.currency),
            "currency": p.currency, "bank_code": p.bank_code, "end_to_end_id": p.end_to_end_id, "attempt": p.attempt, "status": p.status,
            "reason_code": p.reason_code, "business_date": as_date(p.business_date).isoformat(),
            "paid_date": None if p.paid_date is None else as_date(p.paid_date).isoformat(), "created_at": iso(p.created_at)}


def listing(conn: Connection, who: Principal, *, status: str | None, kind: str | None, contract_no: str | None, limit: int,
            offset: int) -> list[dict[str, Any]]:
    query = (select(Payout.__table__, Contract.contract_no).join(Contract, Contract.contract_id == Payout.contract_id)
             .where(scope(who, Contract)).order_by(Payout.payout_id).limit(limit).offset(offset))
    for column, value in ((Payout.status, status), (Payout.kind, kind), (Contract.contract_no, contract_no)):
        if value:
            query = query.where(column == value)
    return [view(r, r.contract_no) for r in conn.execute(query).all()]


def of_disbursement(conn: Connection, disbursement_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(Payout).where(Payout.disbursement_id == disbursement_id).order_by(Payout.payout_id)).all()
    return [view(r) for r in rows]


def _get(conn: Connection, who: Principal, payout_id: int) -> tuple[Any, Any]:
    row = conn.execute(select(Payout.__table__, Contract.contract_no).join(Contract, Contract.contract_id == Payout.contract_id)
                       .where(Payout.payout_id == payout_id, scope(who, Contract))).first()
    if row is None:
        raise NotFound("payout", payout_id)
    return row, row.contract_no


# ---------------------------------------------------------------- queueing


def _insert(conn: Connection, values: Mapping[str, Any], today: date) -> int:
    """One queued payout; its end-to-end id names the date and the payout (AP + yyyymmdd + 12 digits)."""
    payout_id = conn.execute(insert(Payout).values(**values, business_date=today, status="pending").returning(Payout.payout_id)).scalar_one()
    conn.execute(update(Payout).where(Payout.payout_id == payout_id).values(end_to_end_id=f"AP{today:%Y%m%d}{payout_id:012d}"))
    return int(payout_id)


def _split(conn: Connection, contract: Any, financed_minor: int) -> Split:
    """The financed amount by payee, from the contract's financed items (domain.payouts)."""
    items = conn.execute(select(ApplicationItem.item_key, ApplicationItem.amount_minor).where(
        ApplicationItem.application_id == contract.application_id, ApplicationItem.is_financed.is_(True))).all()
    return split_disbursement(financed_minor, [(k, int(a)) for k, a in items], payee_setup())


def queue_disbursement(conn: Connection, who: Principal | str, d: Any, contract: Any, today: date) -> list[dict[str, Any]]:
    """The approved disbursement's payouts, one per payee, from the contract's financed items."""
    setup = payee_setup()
    split = _split(conn, contract, d.amount_minor)
    bank = paying_bank(bank_profiles()).code
    dealer = checked_account("dealer", d.payee_account_name, d.payee_account_no, d.payee_bank)
    ids = []
    for payee, amount in split.shares:
        account = dealer if payee == "dealer" else setup.accounts[payee]
        ids.append(_insert(conn, {
            "kind": "disbursement", "contract_id": contract.contract_id, "disbursement_id": d.disbursement_id, "payee_kind": payee,
            "payee_name": account.name, "payee_account_no": account.account, "payee_bank": account.bank, "amount_minor": amount,
            "currency": contract.currency, "bank_code": bank}, today))
    audit(conn, who, "disbursement.payouts_queued", "disbursement", d.disbursement_id, None,
          {"payouts": ids, "shares": dict(split.shares), "retained_minor": split.retained_minor})
    return of_disbursement(conn, d.disbursement_id)


def queue_refund(conn: Connection, who: Principal | str, kind: str, request: Any, contract: Any, today: date) -> dict[str, Any]:
    """The customer's payout of an executed refund or deposit refund (its payee from the request)."""
    payee = request.details["payee"]
    account = checked_account("payee", payee.get("account_name"), payee.get("account_no"), payee.get("bank"))
    payout_id = _insert(conn, {
        "kind": kind, "contract_id": contract.contract_id, "post_lease_request_id": request.post_lease_request_id, "payee_kind": "customer",
        "payee_name": account.name, "payee_account_no": account.account, "payee_bank": account.bank, "amount_minor": request.amount_minor,
        "currency": contract.currency, "bank_code": paying_bank(bank_profiles()).code}, today)
    audit(conn, who, f"payout.{kind}.queued", "payout", payout_id, None, {"request_id": request.post_lease_request_id,
                                                                         "amount_minor": request.amount_minor})
    return view(conn.execute(select(Payout).where(Payout.payout_id == payout_id)).one(), contract.contract_no)


def retry(conn: Connection, who: Principal, payout_id: int, account: Mapping[str, str] | None, today: date,
          reason: str = "queued again") -> dict[str, Any]:
    """A failed payout sent again, as a new payout with a new end-to-end id, to the corrected
    account where one is given (the dealer's from its partner record, as it stands now)."""
    p, contract_no = _get(conn, who, payout_id)
    if p.status != "failed":
        raise Conflict(f"payout {payout_id} is {p.status}; only a failed payout is sent again")
    if account:
        fixed = checked_account("account", account.get("name", ""), account.get("account_no", ""), account.get("bank", ""))
    elif p.payee_kind == "dealer":
        partner = conn.execute(select(Partner).join(Contract, Contract.partner_id == Partner.partner_id)
                               .where(Contract.contract_id == p.contract_id)).one()
        fixed = checked_account("dealer", partner.settlement_account_name or partner.name, partner.settlement_account_no or "",
                                partner.settlement_bank or "")
    else:
        fixed = PayeeAccount(p.payee_name, p.payee_account_no, p.payee_bank)
    changed = conn.execute(update(Payout).where(Payout.payout_id == payout_id, Payout.status == "failed").values(status="retried")).rowcount
    if not changed:
        raise Conflict(f"payout {payout_id} changed meanwhile; nothing was written")
    new_id = _insert(conn, {
        "kind": p.kind, "contract_id": p.contract_id, "disbursement_id": p.disbursement_id, "post_lease_request_id": p.post_lease_request_id,
        "payee_kind": p.payee_kind, "payee_name": fixed.name, "payee_account_no": fixed.account, "payee_bank": fixed.bank,
        "amount_minor": p.amount_minor, "currency": p.currency, "bank_code": p.bank_code, "attempt": p.attempt + 1}, today)
    if p.disbursement_id is not None:
        if p.payee_kind == "dealer":
            conn.execute(update(Disbursement).where(Disbursement.disbursement_id == p.disbursement_id)
                         .values(payee_account_no=fixed.account, payee_bank=fixed.bank, payee_account_name=fixed.name))
        follow_disbursements(conn, who, [p.disbursement_id])
    audit(conn, who, "payout.retried", "payout", payout_id, {"status": "failed", "account_no": p.payee_account_no},
          {"status": "retried", "new_payout_id": new_id, "account_no": fixed.account, "reason": reason})
    return view(conn.execute(select(Payout).where(Payout.payout_id == new_id)).one(), contract_no)


def cancel_queued(conn: Connection, who: Principal | str, disbursement_id: int) -> int:
    """A blocked disbursement's payouts not yet with the bank (queued or failed) are cancelled."""
    cancelled = conn.execute(update(Payout).where(Payout.disbursement_id == disbursement_id, Payout.status.in_(("pending", "failed")),
                                                  Payout.payout_batch_id.is_(None) | (Payout.status == "failed"))
                             .values(status="cancelled")).rowcount
    if cancelled:
        audit(conn, who, "disbursement.payouts_cancelled", "disbursement", disbursement_id, None, {"cancelled": cancelled})
    return int(cancelled)


def in_flight(conn: Connection, disbursement_id: int) -> int:
    """The disbursement's payouts in a file: written and waiting for the upload, or with the bank."""
    return int(conn.execute(select(func.count()).where(
        Payout.disbursement_id == disbursement_id,
        (Payout.status == "sent") | ((Payout.status == "pending") & Payout.payout_batch_id.is_not(None)))).scalar_one())


def pay_by_hand(conn: Connection, who: Principal, disbursement_id: int, paid_on: date) -> list[int]:
    """The disbursement's unpaid payouts paid outside the files (by online banking, 网银): only
    those not with the bank, so that no answer to a file can arrive for them afterwards."""
    if in_flight(conn, disbursement_id):
        raise Conflict(f"disbursement {disbursement_id} has payouts in a payout file (to be sent, or awaiting the bank's answer); "
                       "record nothing by hand")
    ids = list(conn.execute(select(Payout.payout_id).where(Payout.disbursement_id == disbursement_id,
                                                           Payout.status.in_(("pending", "failed")))).scalars())
    if not ids:
        raise Conflict(f"disbursement {disbursement_id} has no payout left to pay")
    conn.execute(update(Payout).where(Payout.payout_id.in_(ids)).values(status="paid", paid_date=paid_on, answered_at=datetime.now(UTC)))
    _post_paid(conn, f"payouts:hand:{disbursement_id}:{min(ids)}", ids, paid_on)
    audit(conn, who, "payout.paid_by_hand", "disbursement", disbursement_id, None, {"payouts": ids, "paid_date": paid_on})
    return ids


# ---------------------------------------------------------------- money


def _post_paid(conn: Connection, batch_id: str, payout_ids: list[int], d: date) -> None:
    """The money events of payouts the bank paid, posted as one batch: a disbursement share to
    1221.01 until the contract activates, a refund out of 2202.04."""
    zeros = dict.fromkeys(component_columns(), 0)
    rows = conn.execute(select(Payout.payout_id, Payout.kind, Payout.contract_id, Payout.amount_minor, Payout.currency)
                        .where(Payout.payout_id.in_(payout_ids))).all()
    conn.execute(insert(MoneyEvent), [{
        **zeros, "contract_id": r.contract_id, "business_date": d, "currency": r.currency, "batch_id": batch_id,
        "event_type": "disbursement_payout" if r.kind == "disbursement" else "payout_paid", "event_key": f"payout:{r.payout_id}",
        "amount_minor": r.amount_minor} for r in rows])
    post_batch(conn, batch_id, voucher_templates())


def follow_disbursements(conn: Connection, who: Principal | str, disbursement_ids: list[int]) -> dict[str, int]:
    """Each disbursement's status from its live payouts: every one paid activates the contract
    (on the last one's paid date); one failed, failed; one with the bank, sent; else approved."""
    from autofin.origination import contracts  # the contract's activation belongs to origination

    out = {"activated": 0, "failed": 0}
    for disbursement_id in sorted(set(disbursement_ids)):
        d_row = conn.execute(select(Disbursement).where(Disbursement.disbursement_id == disbursement_id)).one()
        if d_row.status in ("paid", "blocked"):
            continue
        live = conn.execute(select(Payout.status, Payout.paid_date).where(Payout.disbursement_id == disbursement_id,
                                                                         Payout.status.in_(LIVE))).all()
        states = {s for s, _ in live}
        status = ("paid" if states == {"paid"} else "failed" if "failed" in states else "sent" if "sent" in states else "approved")
        if status == d_row.status:
            continue
        paid_on = max(as_date(p) for s, p in live if s == "paid" and p is not None) if status == "paid" else None
        conn.execute(update(Disbursement).where(Disbursement.disbursement_id == disbursement_id)
                     .values(status=status, paid_date=paid_on, failure_reason=None if status != "failed" else d_row.failure_reason))
        audit(conn, who, f"disbursement.{status}", "disbursement", disbursement_id, {"status": d_row.status}, {"status": status})
        if paid_on is not None:
            contract = conn.execute(select(Contract).where(Contract.contract_id == d_row.contract_id)).one()
            contracts.activate(conn, who, contract, paid_on, disbursement_id, retained_fee_minor(conn, contract))
            out["activated"] += 1
        out["failed"] += status == "failed"
    return out


def retained_fee_minor(conn: Connection, contract: Any) -> int:
    """Our own fees the customer financed, kept at activation (the `retained` items of payees.yaml)."""
    return _split(conn, contract, contract.financed_minor).retained_minor


# ---------------------------------------------------------------- the nightly files


def write_payout_files(conn: Connection, d: date, ctx: StepContext) -> dict[str, Any]:
    """The queued payouts of each paying bank as pain.001 files, registered for upload. The bytes
    depend only on the store and the date: a re-run after a crash writes the same file."""
    if not is_bank_day(conn, d):
        return {"skipped": "not a bank business day"}
    out: dict[str, Any] = {"payouts": 0, "amount_minor": 0, "files": []}
    for _, profile in sorted(ctx.banks.items()):
        if profile.payouts is not None:
            _write_bank_files(conn, d, ctx, profile, out)
    return out


def _write_bank_files(conn: Connection, d: date, ctx: StepContext, profile: BankProfile, out: dict[str, Any]) -> None:
    settings = profile.payouts
    assert settings is not None
    rows = conn.execute(select(Payout.payout_id, Payout.end_to_end_id, Payout.amount_minor, Payout.currency, Payout.payee_name,
                               Payout.payee_account_no, Payout.payee_bank, Payout.kind, Contract.contract_no)
                        .join(Contract, Contract.contract_id == Payout.contract_id)
                        .where(Payout.bank_code == profile.code, Payout.status == "pending", Payout.payout_batch_id.is_(None),
                               Payout.business_date <= d).order_by(Payout.currency, Payout.payout_id)).all()
    done_today = int(conn.execute(select(func.count()).where(PayoutBatch.bank_code == profile.code, PayoutBatch.business_date == d)).scalar_one())
    chunks: list[list[Any]] = []
    for r in rows:  # one currency per file, at most the profile's maximum
        if not chunks or len(chunks[-1]) == settings.max_transactions_per_file or chunks[-1][0].currency != r.currency:
            chunks.append([])
        chunks[-1].append(r)
    for seq, chunk in enumerate(chunks, start=done_today + 1):
        message_id = f"AP{profile.code}{d:%Y%m%d}{seq:03d}"
        batch = PayoutFile(message_id, datetime.combine(d, time(1, 5)), d, settings.payer, tuple(
            CreditTransfer(r.end_to_end_id, r.amount_minor, r.currency, r.payee_name, r.payee_account_no, r.payee_bank,
                           f"{r.contract_no} {REMITTANCE[r.kind]}") for r in chunk))
        data = pain001.render(batch, settings.format)
        name = f"{message_id}.xml"
        register_outbound(conn, write_outbound(ctx, profile.code, name, data), settings.format, message_id, d)
        batch_id = conn.execute(insert(PayoutBatch).values(
            bank_code=profile.code, business_date=d, message_id=message_id, file_name=name, tx_count=batch.count,
            ctrl_sum_minor=batch.total_minor, currency=chunk[0].currency).returning(PayoutBatch.payout_batch_id)).scalar_one()
        tagged = conn.execute(update(Payout).where(Payout.payout_id.in_([r.payout_id for r in chunk]), Payout.status == "pending",
                                                   Payout.payout_batch_id.is_(None)).values(payout_batch_id=batch_id)).rowcount
        if tagged != batch.count:
            raise RuntimeError(f"{name}: {tagged} payouts tagged for {batch.count} written")
        out["payouts"] += batch.count
        out["amount_minor"] += batch.total_minor
        out["files"].append(name)


def mark_uploaded(conn: Connection) -> int:
    """After the upload: the payouts of every uploaded payout file are with the bank (`sent`), and
    so are their disbursements."""
    conn.execute(text("UPDATE payout_batch SET status = 'uploaded' WHERE status = 'written' AND message_id IN "
                      "(SELECT message_id FROM bank_file WHERE direction = 'out' AND status = 'uploaded')"))
    sent = conn.execute(text("UPDATE payout SET status = 'sent' WHERE status = 'pending' AND payout_batch_id IN "
                             "(SELECT payout_batch_id FROM payout_batch WHERE status = 'uploaded')")).rowcount
    if sent:
        conn.execute(text("UPDATE disbursement SET status = 'sent' WHERE status = 'approved' AND disbursement_id IN "
                          "(SELECT disbursement_id FROM payout WHERE status = 'sent')"))
    return int(sent)


# ---------------------------------------------------------------- the bank's answers


def payout_batch(conn: Connection, bank: str, message_id: str | None) -> Any:
    """The payout file of `bank` with this message id, or None (a report on a debit file)."""
    if message_id is None:
        return None
    return conn.execute(select(PayoutBatch).where(PayoutBatch.message_id == message_id, PayoutBatch.bank_code == bank)).first()


def apply_report(conn: Connection, d: date, batch: Any, report: StatusReport, file_id: int) -> dict[str, int]:
    """A pain.002 on the payout file `batch`: checked whole, then applied (paid, failed, or noted)."""
    report.check_answers(batch.message_id, batch.tx_count, batch.ctrl_sum_minor)
    ours = {r.end_to_end_id: r for r in conn.execute(select(Payout).where(Payout.payout_batch_id == batch.payout_batch_id)).all()}
    paid: list[Any] = []
    failed: list[tuple[Any, str]] = []
    for t in report.transactions:
        p = ours.get(t.end_to_end_id)
        if p is None:
            raise BankFileError(f"{t.end_to_end_id[:40]} is not a payout of {batch.message_id}")
        if t.amount_minor is not None and t.amount_minor != p.amount_minor:
            raise BankFileError(f"{t.end_to_end_id}: amount {t.amount_minor} ≠ {p.amount_minor} paid out")
        if t.currency is not None and t.currency != p.currency:
            raise BankFileError(f"{t.end_to_end_id}: currency {t.currency[:3]} ≠ {p.currency}")
        if t.status == "returned":
            raise BankFileError(f"{t.end_to_end_id}: a return of a payout is not read from a status report; settle it with the bank")
        if t.status in ("settled", "rejected") and p.status != "sent":
            raise BankFileError(f"{t.end_to_end_id} answered {t.status} but the payout is {p.status} (already answered?)")
        if t.status == "settled":
            paid.append(p)
        elif t.status == "rejected":
            failed.append((p, failure_reason(t.reason, t.end_to_end_id)))
    now = datetime.now(UTC)
    if paid:
        ids = [p.payout_id for p in paid]
        conn.execute(update(Payout).where(Payout.payout_id.in_(ids)).values(status="paid", paid_date=d, answered_at=now))
        _post_paid(conn, f"payouts:{file_id}", ids, d)
    for p, reason in failed:
        conn.execute(update(Payout).where(Payout.payout_id == p.payout_id).values(status="failed", reason_code=reason, answered_at=now))
        if p.disbursement_id is not None:
            conn.execute(update(Disbursement).where(Disbursement.disbursement_id == p.disbursement_id)
                         .values(failure_reason=f"payout {p.payout_id}: {reason}"))
    answered = [ours[t.end_to_end_id].disbursement_id for t in report.transactions]
    followed = follow_disbursements(conn, "cycle", [i for i in answered if i is not None])
    return {"payouts_paid": len(paid), "payouts_failed": len(failed), "payouts_paid_minor": sum(p.amount_minor for p in paid),
            "contracts_activated": followed["activated"]}


# ---------------------------------------------------------------- the nightly tie


def payouts_tie(conn: Connection) -> list[str]:
    """1221.01 holds the disbursement shares paid whose contract is not active yet; 2202.04 the
    refunds approved whose payout the bank has not paid (queued, with the bank, or failed)."""
    ledger: dict[str, int] = dict(conn.execute(text("SELECT account_code, SUM(debit_minor - credit_minor) FROM ledger_total "
                                    "WHERE account_code IN ('1221.01', '2202.04') GROUP BY account_code")).all())
    # from the disbursements not yet paid (a few, by their status index), never every payout ever paid
    in_transit = int(conn.execute(text("SELECT COALESCE(SUM(p.amount_minor), 0) FROM disbursement d JOIN payout p "
                                       "ON p.disbursement_id = d.disbursement_id WHERE d.status IN ('approved', 'sent', 'failed', 'blocked') "
                                       "AND p.status = 'paid'")).scalar_one())
    awaiting = int(conn.execute(text("SELECT COALESCE(SUM(amount_minor), 0) FROM payout WHERE kind <> 'disbursement' "
                                     "AND status IN ('pending', 'sent', 'failed')")).scalar_one())
    out = []
    if int(ledger.get("1221.01") or 0) != in_transit:
        out.append(f"1221.01 holds {format_minor(int(ledger.get('1221.01') or 0))}, disbursement shares paid before activation "
                   f"{format_minor(in_transit)}")
    if -int(ledger.get("2202.04") or 0) != awaiting:
        out.append(f"2202.04 holds {format_minor(-int(ledger.get('2202.04') or 0))}, refunds awaiting the bank {format_minor(awaiting)}")
    return out

