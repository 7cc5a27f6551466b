"""The collections step of the night (after allocation and reconciliation, before the vouchers).

In order, each a few set statements over the rows that can change tonight:
1. promises to pay: the money applied since each open promise was made (receipts the customer
   paid: not customer credit, not the sale of a repossessed vehicle, not a waiver, not reversed) makes it kept;
   a promise whose date has passed without it is broken (domain.collections.promise_outcome);
2. agencies (委外): assignments past their end expire; the money each active assignment's
   contract paid today is its recovery, on which the agency's commission accrues and posts
   (agency_commission: expense against the payable to the agency); assignments of closed cases end;
3. reminders (提醒): before-due and overdue notices by the rules in assets/collections.yaml,
   one per rule, contract and reference date, handed to the notification adapter; letters (the
   default notice PDF) are queued for the letters step, which prints them after the day closes.
   An overdue reminder due while a debit for the contract is at the bank is held until the
   answer is in, then sent with that night's figures or cancelled (_reminders);
4. batch assignment: open cases with nobody on them go to the group of the first matching rule
   and are dealt round its members, fewest open cases first (domain.collections.deal);
5. non-accrual (非应计): a contract that held interest and penalty in suspense and is current again
   (or paid off, or settled) has them released to income; a contract past its maturity that still
   owes has its deposit (保证金) set against its bills;
6. provisioning (减值准备): each bucket's exposure × its rate; the change of the total against the
   allowance account's balance posts as provision or provision_release.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, text

from autofin.domain.collections import CollectionSetup, Reminder, deal_order, next_overdue_days, provision_minor, reminder_lapses, render
from autofin.domain.money import PPM, format_minor, sql_div_round_half_up
from autofin.postlease.notify import Message
from autofin.reference import collection_setup
from autofin.servicing.context import StepContext
from autofin.servicing.delinquency import note_debits_in_flight
from autofin.servicing.sql import analyze, days_between, least
from autofin.settings import business_today
from autofin.store.bulk import insert_rows
from autofin.store.engine import as_date, indexed_by, integer_key
from autofin.store.ledger import BUCKET, DPD_JOIN, OWED, PENALTY_JOIN, exposure_totals, post_batch, refresh_exposure
from autofin.store.models import Notification

ALLOWANCE_ACCOUNT = "1231"
# what contract c owes on its billed instalments: principal, interest, fees and penalty unpaid
ARREARS = f"(SELECT COALESCE(SUM({OWED}), 0) FROM instalment i {PENALTY_JOIN} WHERE i.contract_id = c.contract_id AND i.status = 'billed')"
# money the customer paid: what counts for a promise and for an agency's recovery
PAID_BY_CUSTOMER = "r.source NOT IN ('credit', 'disposal', 'waiver', 'deposit') AND r.status <> 'reversed'"


def work_cases(conn: Connection, d: date, ctx: StepContext) -> dict[str, Any]:
    setup = collection_setup()
    batch = f"collections:{d.isoformat()}"
    counts: dict[str, Any] = {}
    counts.update(_promises(conn, d))
    counts.update(_agencies(conn, d, batch))
    counts.update(_reminders(conn, d, ctx, setup))
    counts.update(assign_by_rules(conn, d, setup, datetime.now(UTC), new_only=True))
    counts.update(_release_suspense(conn, d, batch))
    counts.update(_deposits_at_term_end(conn, d, batch))
    counts.update(_provisions(conn, d, setup, batch))
    # a bulk step like billing and penalties: the day's summary vouchers carry its events (a 1M Tuesday
    # releases 17k contracts' suspense: as many vouchers, and as many contracts for the close to hold
    # to their instalments one by one, which took PostgreSQL's close to a scan of every instalment)
    posted = post_batch(conn, batch, ctx.templates, summary=True)
    counts["events_posted"] = posted.events
    return counts


def _promises(conn: Connection, d: date) -> dict[str, int]:
    conn.execute(
        text(
            "UPDATE promise_to_pay SET paid_minor = COALESCE((SELECT SUM(a.amount_minor) FROM receipt r JOIN allocation a ON a.receipt_id = r.receipt_id "
            f"WHERE r.contract_id = promise_to_pay.contract_id AND {PAID_BY_CUSTOMER} AND a.business_date >= promise_to_pay.made_date "
            "AND a.business_date <= promise_to_pay.promised_date AND a.business_date <= :d), 0) WHERE status = 'open'"
        ),
        {"d": d},
    )
    kept = conn.execute(text("UPDATE promise_to_pay SET status = 'kept', resolved_date = :d WHERE status = 'open' AND paid_minor >= amount_minor"),
                        {"d": d}).rowcount
    broken = conn.execute(text("UPDATE promise_to_pay SET status = 'broken', resolved_date = :d WHERE status = 'open' AND promised_date < :d"),
                          {"d": d}).rowcount
    # a broken promise puts its case back to being contacted
    # (from the open cases, each one's promises by its key: a list of tonight's broken promises read every promise ever made)
    conn.execute(text("UPDATE collection_case SET collection_status = 'contacting' WHERE status = 'open' AND collection_status = 'promised' "
                      "AND EXISTS (SELECT 1 FROM promise_to_pay p WHERE p.collection_case_id = collection_case.collection_case_id "
                      "AND p.status = 'broken' AND p.resolved_date = :d)"),
                 {"d": d})
    return {"promises_kept": kept, "promises_broken": broken}


def _agencies(conn: Connection, d: date, batch: str) -> dict[str, int]:
    expired = conn.execute(text("UPDATE case_outsourcing SET status = 'expired', ended_date = :d WHERE status = 'active' AND end_date < :d"),
                           {"d": d}).rowcount
    # from the open cases, each one's assignments by the case (not a list of every assignment that ever expired;
    # left free, SQLite read all the expired ones for each open case, by the status index)
    by_case = indexed_by(conn, "case_outsourcing o", "ix_case_outsourcing_collection_case_id")
    conn.execute(text("UPDATE collection_case SET stage = 'soft' WHERE status = 'open' AND stage = 'outsourced' AND EXISTS "
                      f"(SELECT 1 FROM {by_case} WHERE o.collection_case_id = collection_case.collection_case_id "
                      "AND o.status = 'expired' AND o.ended_date = :d)"), {"d": d})
    conn.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS tmp_recovery (case_outsourcing_id {integer_key(conn)}, contract_id BIGINT, "
                      "recovered BIGINT, commission BIGINT)"))
    conn.execute(text("DELETE FROM tmp_recovery"))
    commission = sql_div_round_half_up("x.recovered * x.rate", PPM)
    conn.execute(
        text(
            f"INSERT INTO tmp_recovery SELECT x.case_outsourcing_id, x.contract_id, x.recovered, {commission} FROM ("
            "SELECT o.case_outsourcing_id, o.contract_id, o.commission_rate_ppm AS rate, SUM(a.amount_minor) AS recovered "
            "FROM case_outsourcing o JOIN receipt r ON r.contract_id = o.contract_id JOIN allocation a ON a.receipt_id = r.receipt_id "
            f"WHERE o.status = 'active' AND o.start_date <= :d AND a.business_date = :d AND {PAID_BY_CUSTOMER} "
            "GROUP BY o.case_outsourcing_id, o.contract_id, o.commission_rate_ppm) x WHERE x.recovered > 0"
        ),
        {"d": d},
    )
    analyze(conn, "tmp_recovery")
    recovered_n = conn.execute(
        text("INSERT INTO agency_recovery (case_outsourcing_id, business_date, recovered_minor, commission_minor) "
             "SELECT case_outsourcing_id, :d, recovered, commission FROM tmp_recovery"), {"d": d}).rowcount
    conn.execute(text("UPDATE case_outsourcing SET recovered_minor = recovered_minor + t.recovered, commission_minor = commission_minor + t.commission "
                      "FROM tmp_recovery t WHERE t.case_outsourcing_id = case_outsourcing.case_outsourcing_id "
                      "AND case_outsourcing.case_outsourcing_id IN (SELECT case_outsourcing_id FROM tmp_recovery)"))  # not a scan of the assignments
    conn.execute(
        text("INSERT INTO money_event (event_type, event_key, contract_id, business_date, currency, amount_minor, batch_id) "
             "SELECT 'agency_commission', 'commission:' || :day || ':' || t.case_outsourcing_id, t.contract_id, :d, o.currency, t.commission, :batch "
             "FROM tmp_recovery t JOIN case_outsourcing o ON o.case_outsourcing_id = t.case_outsourcing_id WHERE t.commission > 0"),
        {"d": d, "day": d.isoformat(), "batch": batch},
    )
    recovered, commission_total = conn.execute(text("SELECT COALESCE(SUM(recovered), 0), COALESCE(SUM(commission), 0) FROM tmp_recovery")).one()
    # each active assignment's case by its key (a list of every closed case grows with history: 85k in a week at 1M)
    ended = conn.execute(text("UPDATE case_outsourcing SET status = 'closed', ended_date = :d WHERE status = 'active' AND EXISTS "
                              "(SELECT 1 FROM collection_case c WHERE c.collection_case_id = case_outsourcing.collection_case_id "
                              "AND c.status = 'closed')"), {"d": d}).rowcount
    return {"agency_assignments_expired": expired, "agency_assignments_ended": ended, "agency_recoveries": recovered_n,
            "agency_recovered_minor": int(recovered), "agency_commission_minor": int(commission_total)}


def _reminders(conn: Connection, d: date, ctx: StepContext, setup: CollectionSetup) -> dict[str, Any]:
    """The night's reminders by the rules. An overdue reminder that falls due while a debit for the
    contract is at the bank (cut for all it owed; the banks answer the next morning) is held, as its
    penalty and its collection case are: the customer may well have paid. On the first night the
    contract has no debit in flight the held reminder goes out, with that night's days past due and
    arrears, if the contract is still in the same arrears (its oldest unpaid bill the one the
    reminder is about) and has not reached a later overdue rule's day; otherwise it is cancelled.

    A night run late (a catch-up) gives no reminder whose moment has passed by the clock
    (domain.collections.reminder_lapses): "debited on the 29th" read on the 3rd of the next month,
    or three overdue messages about one arrears at once. Those are counted as lapsed, by rule, and
    not written (a contact that never happened); a lapsed rule's held reminders whose debit has its
    answer are cancelled, as a held one is whose moment has passed."""
    note_debits_in_flight(conn)
    today = business_today()
    lapsing = {r.code for r in setup.reminders if reminder_lapses(r, d, today, setup.reminders)}
    cancelled = _cancel_held(conn, d, [r for r in setup.reminders if r.when == "overdue"], lapsing)
    in_flight = "CASE WHEN EXISTS (SELECT 1 FROM tmp_in_flight f WHERE f.contract_id = c.contract_id) THEN 1 ELSE 0 END"
    rows: list[dict[str, Any]] = []
    lapsed: dict[str, int] = {}
    for rule in setup.reminders:
        lapses = rule.code in lapsing
        if rule.when == "before_due":
            # the rule's instalments due that day with no reminder yet
            due = ("WHERE i.status = 'scheduled' AND i.due_date = :due AND c.status = 'active' AND NOT EXISTS (SELECT 1 FROM notification n "
                   "WHERE n.rule_code = :rule AND n.contract_id = i.contract_id AND n.ref_date = i.due_date)")
            binds = {"due": d + timedelta(days=rule.days), "rule": rule.code}
            if lapses:
                lapsed[rule.code] = int(conn.execute(text(f"SELECT COUNT(*) FROM instalment i JOIN contract c ON c.contract_id = i.contract_id {due}"),
                                                     binds).scalar_one())
                continue
            found = conn.execute(
                text(
                    "SELECT i.contract_id, c.contract_no, c.currency, i.seq, i.due_date AS ref_date, cu.mobile, cu.name, "
                    "i.principal_minor + i.interest_minor + i.fee_minor AS amount, 0 AS held, NULL AS notification_id FROM instalment i "
                    f"JOIN contract c ON c.contract_id = i.contract_id JOIN customer cu ON cu.customer_id = c.customer_id {due}"
                ),
                binds,
            ).all()
            values = [{"contract_no": r.contract_no, "seq": r.seq, "amount": format_minor(int(r.amount), r.currency),
                       "due_date": as_date(r.ref_date).isoformat()} for r in found]
        else:
            facts = f"c.contract_id, c.contract_no, c.currency, cd.dpd, cu.mobile, cu.name, {ARREARS} AS arrears"
            # the contracts reaching the rule's day tonight with no reminder yet: from the contracts past due
            # (contract_dpd; CROSS JOIN keeps SQLite there), not a scan of the book's active contracts per rule
            reaching = ("WHERE c.contract_id = cd.contract_id AND c.status = 'active' AND cd.dpd = :days AND NOT EXISTS (SELECT 1 FROM notification n "
                        "WHERE n.rule_code = :rule AND n.contract_id = c.contract_id AND n.ref_date = :ref)")
            binds = {"days": rule.days, "rule": rule.code, "ref": d - timedelta(days=rule.days)}
            if lapses:
                lapsed[rule.code] = int(conn.execute(text(f"SELECT COUNT(*) FROM contract_dpd cd CROSS JOIN contract c {reaching}"),
                                                     binds).scalar_one())
                continue  # its held reminders whose debit has its answer were cancelled (_cancel_held)
            found = conn.execute(
                text(
                    f"SELECT {facts}, :ref AS ref_date, {in_flight} AS held, NULL AS notification_id "
                    f"FROM contract_dpd cd CROSS JOIN contract c JOIN customer cu ON cu.customer_id = c.customer_id {reaching} "
                    # and the rule's reminders held until tonight whose debit has its answer (those to cancel are gone)
                    f"UNION ALL SELECT {facts}, n.ref_date, 0, n.notification_id FROM notification n CROSS JOIN contract c "
                    "JOIN customer cu ON cu.customer_id = c.customer_id JOIN contract_dpd cd ON cd.contract_id = c.contract_id "
                    "WHERE n.status = 'held' AND n.rule_code = :rule AND c.contract_id = n.contract_id "
                    "AND NOT EXISTS (SELECT 1 FROM tmp_in_flight f WHERE f.contract_id = n.contract_id)"
                ),
                binds,
            ).all()
            values = [{"contract_no": r.contract_no, "dpd": r.dpd, "arrears": format_minor(int(r.arrears), r.currency)} for r in found]
        for f, v in zip(found, values, strict=True):
            ref_date = as_date(f.ref_date)
            rows.append({"key": _key(rule.code, f.contract_id, ref_date), "rule_code": rule.code, "contract_id": f.contract_id,
                         "contract_no": f.contract_no, "channel": rule.channel,
                         "recipient": f.mobile if rule.channel == "sms" else (f.name if rule.channel == "letter" else None),
                         "body": render(rule.text, v), "ref_date": ref_date, "held": bool(f.held), "notification_id": f.notification_id})
    # the messages go to the adapter first and each row is written once, with what came of it: sent
    # (with the provider's reference) or failed. Inserting them queued and then updating each by its key
    # cost a second on a night of 30k reminders at 1M. Both stay in the step's one transaction: a run
    # killed after the hand-over writes none, and its re-run hands the same keys over again (a
    # provider that keeps keys sends once; a held reminder keeps the key it was held under). The
    # letters stay queued for the letters step, after the day closes (send_letters).
    going = [r for r in rows if not r["held"]]
    accepted = _hand_over(d, ctx, [r for r in going if r["channel"] != "letter"], None)
    for r in rows:
        r["status"], r["provider_ref"] = (("held", None) if r["held"] else ("queued", None) if r["channel"] == "letter" or accepted is None else
                                          ("sent", accepted[r["key"]]) if r["key"] in accepted else ("failed", None))
    insert_rows(conn, Notification.__table__, ["rule_code", "contract_id", "channel", "recipient", "body", "ref_date", "business_date",
                                               "status", "provider_ref", "held_since"],
                [(r["rule_code"], r["contract_id"], r["channel"], r["recipient"], r["body"], r["ref_date"], d, r["status"], r["provider_ref"],
                  d if r["held"] else None) for r in rows if r["notification_id"] is None])
    released = [{"id": r["notification_id"], "status": r["status"], "ref": r["provider_ref"], "to": r["recipient"], "body": r["body"], "d": d}
                for r in rows if r["notification_id"] is not None]
    if released:
        conn.execute(text("UPDATE notification SET status = :status, provider_ref = :ref, recipient = :to, body = :body, business_date = :d "
                          "WHERE notification_id = :id"), released)
    by_rule: dict[str, int] = {}
    for r in going:
        by_rule[r["rule_code"]] = by_rule.get(r["rule_code"], 0) + 1
    return {"reminders": len(going), "reminders_sent": sum(1 for r in going if r["status"] == "sent"),
            "reminders_by_rule": dict(sorted(by_rule.items())), "reminders_held": sum(1 for r in rows if r["held"]),
            "reminders_released": len(released), "reminders_cancelled": cancelled, "reminders_lapsed": sum(lapsed.values()),
            "reminders_lapsed_by_rule": dict(sorted(lapsed.items()))}


def _cancel_held(conn: Connection, d: date, overdue: list[Reminder], lapsing: set[str]) -> int:
    """Cancel the held reminders whose debit has its answer and whose moment has passed: the contract
    paid what the reminder was about (its oldest unpaid bill is another, or none), is no longer
    active, or has reached a later overdue rule's day (whose reminder says more); or the rule is
    no longer in assets/collections.yaml, or has lapsed tonight (`lapsing`: a night run late).
    The rest of the held whose debit has its answer go out tonight."""
    binds: dict[str, Any] = {"d": d}
    later = []
    for n, rule in enumerate(overdue):
        binds[f"rule{n}"] = rule.code
        after = next_overdue_days(rule, overdue)
        if after is not None:
            binds[f"until{n}"] = after
            later.append(f"WHEN :rule{n} THEN :until{n}")
    codes = ", ".join(f":rule{n}" for n, rule in enumerate(overdue) if rule.code not in lapsing) or "NULL"
    until = f"CASE notification.rule_code {' '.join(later)} END" if later else "NULL"
    return conn.execute(
        text(
            "UPDATE notification SET status = 'cancelled', business_date = :d WHERE status = 'held' "
            "AND NOT EXISTS (SELECT 1 FROM tmp_in_flight f WHERE f.contract_id = notification.contract_id) "
            "AND NOT EXISTS (SELECT 1 FROM contract c JOIN contract_dpd cd ON cd.contract_id = c.contract_id "
            f"WHERE c.contract_id = notification.contract_id AND c.status = 'active' AND cd.dpd = {days_between(conn, ':d', 'notification.ref_date')} "
            f"AND notification.rule_code IN ({codes}) AND ({until} IS NULL OR cd.dpd < {until}))"
        ),
        binds,
    ).rowcount


def _key(rule_code: str, contract_id: int, ref_date: date) -> str:
    """A message's key, the same on a re-run: rule, contract, reference date (each row carries it, made once)."""
    return f"{rule_code}:{contract_id}:{ref_date.isoformat()}"


def _hand_over(d: date, ctx: StepContext, rows: list[dict[str, Any]], print_file: tuple[bytes, list[int]] | None) -> dict[str, str] | None:
    """Hand the messages to the notification adapter: key → the provider's reference for each it
    accepted (one left out failed), or None with no adapter. Letters name their first page in the print file."""
    if ctx.notifier is None:
        return None
    if not rows:
        return {}
    pages = iter(print_file[1] if print_file else [])
    messages = [Message(r["key"], r["rule_code"], r["channel"], r["recipient"], r["contract_no"], r["body"],
                        next(pages) if r["channel"] == "letter" else None) for r in rows]
    return ctx.notifier.send(d, messages, print_file[0] if print_file else None)


def _send(conn: Connection, d: date, ctx: StepContext, rows: list[dict[str, Any]], print_file: tuple[bytes, list[int]] | None) -> int:
    """Hand the queued messages to the notification adapter and mark each sent (with the provider's
    reference) or failed. Returns how many went."""
    accepted = _hand_over(d, ctx, rows, print_file)
    if accepted is None or not rows:
        return 0
    marks = [{"ref": accepted.get(r["key"]), "status": "sent" if r["key"] in accepted else "failed", "rule": r["rule_code"],
              "contract_id": r["contract_id"], "ref_date": r["ref_date"]} for r in rows]
    conn.execute(text("UPDATE notification SET status = :status, provider_ref = :ref WHERE rule_code = :rule AND contract_id = :contract_id "
                      "AND ref_date = :ref_date"), marks)
    return sum(1 for m in marks if m["status"] == "sent")


def send_letters(conn: Connection, d: date, ctx: StepContext) -> dict[str, Any]:
    """The letters step, after the day closes: the default notices the night queued (and any a
    failed run left queued) rendered into one print file and handed to the notification adapter.
    A print run for the mailing house does not hold the books open: at a 200k-contract one-due-day
    night its 10k letters took 86 s, more than everything else of the night."""
    rows = [dict(r._mapping) for r in conn.execute(text(
        "SELECT n.rule_code, n.contract_id, c.contract_no, n.channel, n.recipient, n.body, n.ref_date FROM notification n "
        "JOIN contract c ON c.contract_id = n.contract_id WHERE n.status = 'queued' AND n.channel = 'letter' AND n.business_date <= :d "
        "ORDER BY n.business_date, n.rule_code, n.contract_id, n.ref_date"), {"d": d})]
    for r in rows:
        r["ref_date"] = as_date(r["ref_date"])
        r["key"] = _key(r["rule_code"], r["contract_id"], r["ref_date"])
    if ctx.notifier is None or not rows:
        return {"letters": len(rows), "letters_sent": 0}
    # the PDF library takes a second to import: only a night with letters pays for it (every cycle process did)
    from autofin.postlease.notice_pdf import notices_facts
    from autofin.postlease.notice_pdf import render_batch as render_letters

    sent = _send(conn, d, ctx, rows, render_letters(notices_facts(conn, [r["contract_id"] for r in rows], d)))
    return {"letters": len(rows), "letters_sent": sent}


def assign_by_rules(conn: Connection, d: date, setup: CollectionSetup, now: datetime, case_ids: list[int] | None = None, *,
                    new_only: bool = False) -> dict[str, Any]:
    """Open cases with nobody on them (or those named; or, `new_only`, those never dealt: the
    night's new cases) to the group of the first matching rule, dealt round the group's members
    with the fewest open cases first, largest arrears first. Members who are not active collectors
    or supervisors in the store are left out; a group with none keeps its cases in its queue
    unassigned, and the nightly run leaves them there (a supervisor re-deals them)."""
    conn.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS tmp_case_facts (collection_case_id {integer_key(conn)}, bucket VARCHAR(8), "
                      "region VARCHAR(32), partner_code VARCHAR(32), arrears BIGINT, group_code VARCHAR(24))"))
    conn.execute(text("DELETE FROM tmp_case_facts"))
    which = ("k.collection_case_id IN :ids" if case_ids is not None else
             "k.assignee_user_id IS NULL AND k.group_code IS NULL" if new_only else "k.assignee_user_id IS NULL")
    params: dict[str, Any] = {} if case_ids is None else {"ids": case_ids}
    conn.execute(
        text(
            "INSERT INTO tmp_case_facts (collection_case_id, bucket, region, partner_code, arrears) "
            f"SELECT k.collection_case_id, {BUCKET}, p.region, p.partner_code, {ARREARS} "
            f"FROM collection_case k JOIN contract c ON c.contract_id = k.contract_id {DPD_JOIN} "
            f"JOIN partner p ON p.partner_id = c.partner_id WHERE k.status = 'open' AND {which}"
        ).bindparams(*([bindparam("ids", expanding=True)] if case_ids is not None else [])),
        params,
    )
    whens, binds = [], {}
    for n, rule in enumerate(setup.assignment):
        conds = []
        for key, column in (("buckets", "bucket"), ("regions", "region"), ("partners", "partner_code")):
            if key in rule.when:
                names = []
                for k, value in enumerate(rule.when[key]):
                    binds[f"r{n}_{key}_{k}"] = value
                    names.append(f":r{n}_{key}_{k}")
                conds.append(f"{column} IN ({', '.join(names)})")
        if "arrears_from" in rule.when:
            binds[f"r{n}_from"] = rule.when["arrears_from"]
            conds.append(f"arrears >= :r{n}_from")
        binds[f"r{n}_group"] = rule.group
        whens.append(f"WHEN {' AND '.join(conds) or '1 = 1'} THEN :r{n}_group")
    conn.execute(text(f"UPDATE tmp_case_facts SET group_code = CASE {' '.join(whens)} END"), binds)
    # the members of each group in the order they are dealt new cases
    users = {name: uid for name, uid in conn.execute(text(
        "SELECT username, user_id FROM app_user WHERE is_active AND role IN ('collector', 'post_loan_supervisor')")).all()}
    load = {name: 0 for name in users}
    for uid, n in conn.execute(text("SELECT assignee_user_id, COUNT(*) FROM collection_case WHERE status = 'open' "
                                    "AND assignee_user_id IS NOT NULL GROUP BY assignee_user_id")).all():
        for name, user_id in users.items():
            if user_id == uid:
                load[name] = int(n)
    conn.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS tmp_member (group_code VARCHAR(24), pos INTEGER, size INTEGER, user_id BIGINT, "
                      "PRIMARY KEY (group_code, pos))"))
    conn.execute(text("DELETE FROM tmp_member"))
    members = []
    for group, listed in setup.groups.items():
        present = [m for m in listed if m in users]
        if present:
            order = deal_order(present, load)
            members += [{"g": group, "pos": k, "size": len(order), "uid": users[m]} for k, m in enumerate(order)]
    if members:
        conn.execute(text("INSERT INTO tmp_member VALUES (:g, :pos, :size, :uid)"), members)
    conn.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS tmp_assign (collection_case_id {integer_key(conn)}, group_code VARCHAR(24), user_id BIGINT)"))
    conn.execute(text("DELETE FROM tmp_assign"))
    conn.execute(text(
        "INSERT INTO tmp_assign SELECT t.collection_case_id, t.group_code, m.user_id FROM (SELECT collection_case_id, group_code, "
        "ROW_NUMBER() OVER (PARTITION BY group_code ORDER BY arrears DESC, collection_case_id) - 1 AS rn FROM tmp_case_facts) t "
        "LEFT JOIN (SELECT DISTINCT group_code, size FROM tmp_member) s ON s.group_code = t.group_code "
        "LEFT JOIN tmp_member m ON m.group_code = t.group_code AND m.pos = t.rn % s.size"))
    analyze(conn, "tmp_assign")
    assigned = conn.execute(text(
        "UPDATE collection_case SET group_code = t.group_code, assignee_user_id = t.user_id, "
        "assigned_at = CASE WHEN t.user_id IS NULL THEN NULL ELSE :now END FROM tmp_assign t "
        # the IN keeps SQLite on the cases dealt, not every case ever opened
        "WHERE t.collection_case_id = collection_case.collection_case_id AND collection_case.collection_case_id IN "
        "(SELECT collection_case_id FROM tmp_assign)"), {"now": now}).rowcount
    by_group: dict[str, int] = dict(conn.execute(text("SELECT group_code, COUNT(*) FROM tmp_assign GROUP BY group_code ORDER BY group_code")).all())
    unmanned = conn.execute(text("SELECT COUNT(*) FROM tmp_assign WHERE user_id IS NULL")).scalar_one()
    return {"cases_assigned": int(assigned) - int(unmanned), "cases_left_in_group_queue": int(unmanned),
            "assigned_by_group": {str(k): int(v) for k, v in by_group.items()}}


def _release_suspense(conn: Connection, d: date, batch: str) -> dict[str, Any]:
    """A non-accrual contract current again (or paid off, or settled) returns to accrual: the interest
    and penalty it held in suspense become income (suspense_release)."""
    released = conn.execute(
        text(
            "INSERT INTO money_event (event_type, event_key, contract_id, business_date, currency, interest_minor, penalty_minor, batch_id) "
            "SELECT 'suspense_release', 'suspense_release:' || :day || ':' || c.contract_id, c.contract_id, :d, c.currency, "
            # CROSS JOIN: from the contracts holding suspense (~20k at 1M) to their contracts
            "s.interest_minor, s.penalty_minor, :batch FROM contract_suspense s CROSS JOIN contract c "
            "WHERE c.contract_id = s.contract_id AND s.interest_minor + s.penalty_minor > 0 AND (c.status IN ('paid_off', 'settled_early') "
            "OR NOT EXISTS (SELECT 1 FROM contract_dpd cd WHERE cd.contract_id = c.contract_id))"
        ),
        {"d": d, "day": d.isoformat(), "batch": batch},
    ).rowcount
    amount = 0
    if released:
        amount = int(conn.execute(text("SELECT COALESCE(SUM(interest_minor + penalty_minor), 0) FROM money_event WHERE batch_id = :batch "
                                       "AND event_type = 'suspense_release'"), {"batch": batch}).scalar_one())
        conn.execute(text("DELETE FROM contract_suspense WHERE contract_id IN "
                          "(SELECT contract_id FROM money_event WHERE batch_id = :batch AND event_type = 'suspense_release')"), {"batch": batch})
    held = conn.execute(text("SELECT COUNT(*), COALESCE(SUM(interest_minor + penalty_minor), 0) FROM contract_suspense")).one()
    return {"non_accrual_released": int(released), "suspense_released_minor": amount, "non_accrual_holding": int(held[0]),
            "suspense_held_minor": int(held[1])}


def _deposits_at_term_end(conn: Connection, d: date, batch: str) -> dict[str, Any]:
    """保证金冲抵 at term end: a contract past its maturity that still owes on its bills has its deposit
    set against them, as a receipt of source deposit that the next allocation applies by the waterfall
    (deposit_applied takes it off 2241.04)."""
    conn.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS tmp_deposit (contract_id {integer_key(conn)}, amount BIGINT, currency VARCHAR(3))"))
    conn.execute(text("DELETE FROM tmp_deposit"))
    take = least(conn, "x.held", "x.arrears")
    conn.execute(text(
        f"INSERT INTO tmp_deposit SELECT x.contract_id, {take}, x.currency FROM (SELECT c.contract_id, c.currency, c.deposit_held_minor AS held, "
        f"{ARREARS} AS arrears FROM contract c WHERE c.deposit_held_minor > 0 AND c.maturity_date < :d AND c.status = 'active') x "
        "WHERE x.arrears > 0"), {"d": d})
    n, amount = conn.execute(text("SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM tmp_deposit")).one()
    if n:
        conn.execute(text(
            "INSERT INTO receipt (contract_id, source, source_ref, amount_minor, currency, value_date, business_date, status) "
            "SELECT contract_id, 'deposit', 'deposit:term_end:' || :day || ':' || contract_id, amount, currency, :d, :d, 'unapplied' FROM tmp_deposit"),
            {"d": d, "day": d.isoformat()})
        conn.execute(text(
            "INSERT INTO money_event (event_type, event_key, contract_id, business_date, currency, amount_minor, batch_id) "
            "SELECT 'deposit_applied', 'deposit_applied:' || :day || ':' || contract_id, contract_id, :d, currency, amount, :batch FROM tmp_deposit"),
            {"d": d, "day": d.isoformat(), "batch": batch})
        conn.execute(text("UPDATE contract SET deposit_held_minor = deposit_held_minor - t.amount FROM tmp_deposit t "
                          # the IN keeps SQLite on the contracts applied, not a scan of the book
                          "WHERE t.contract_id = contract.contract_id AND contract.contract_id IN (SELECT contract_id FROM tmp_deposit)"))
    return {"deposits_applied_at_term_end": int(n), "deposits_applied_minor": int(amount)}


def _provisions(conn: Connection, d: date, setup: CollectionSetup, batch: str) -> dict[str, Any]:
    # the kept rows of the contracts that can have changed brought up to date, then the book's exposure by
    # bucket: the current one's as kept with them, those past due added up from their sub-ledger balances
    read = refresh_exposure(conn)
    rows = exposure_totals(conn)
    required: dict[str, int] = {}
    runs = []
    for cur, bucket, n, amount in rows:
        rate = setup.provisioning_ppm[bucket]
        need = provision_minor(int(amount), rate)
        required[cur] = required.get(cur, 0) + need
        runs.append({"d": d, "cur": cur, "bucket": bucket, "n": int(n), "exposure": int(amount), "rate": rate, "need": need})
    conn.execute(text("DELETE FROM provision_run WHERE business_date = :d"), {"d": d})
    if runs:
        conn.execute(text("INSERT INTO provision_run (business_date, currency, bucket, contracts, exposure_minor, rate_ppm, required_minor) "
                          "VALUES (:d, :cur, :bucket, :n, :exposure, :rate, :need)"), runs)
    held = {cur: -int(v) for cur, v in conn.execute(text(
        "SELECT currency, COALESCE(SUM(debit_minor - credit_minor), 0) FROM ledger_total WHERE account_code = :a GROUP BY currency"),
        {"a": ALLOWANCE_ACCOUNT}).all()}
    change = 0
    for cur in sorted(set(required) | set(held)):
        delta = required.get(cur, 0) - held.get(cur, 0)
        if delta:
            conn.execute(text("INSERT INTO money_event (event_type, event_key, contract_id, business_date, currency, amount_minor, batch_id) "
                              "VALUES (:t, :k, NULL, :d, :cur, :amount, :batch)"),
                         {"t": "provision" if delta > 0 else "provision_release", "k": f"provision:{d.isoformat()}:{cur}", "d": d, "cur": cur,
                          "amount": abs(delta), "batch": batch})
            change += delta
    return {"allowance_required_minor": sum(required.values()), "allowance_change_minor": change, "exposure_contracts_read": read}
