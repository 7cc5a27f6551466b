"""A realistic synthetic book, arrived at as a migration from a legacy system would be.

Deterministic per seed: partners with ratings and limits, customers with valid resident ids
(or credit codes), vehicles with valid VINs, contracts over every product with 36 months of
origination dates, schedules from the calculator (the batch builder, held equal to the
reference by tests), direct-debit mandates, and a payment history with a delinquency mix.
The cut-over carries balances, not history: paid instalments are marked paid, unpaid billed
ones carry their penalties to date, and one opening-balance money event per contract is posted
through the ledger core, so the sub-ledger ties to the general ledger from day one.

Set-based: every chunk of contracts is generated as arrays and bulk-loaded; nothing loops
over contracts in Python except to format strings.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

import numpy as np
from sqlalchemy import Column, Connection, Engine, MetaData, Table, delete, func, insert, select, text

from autofin.domain.errors import DomainError
from autofin.domain.identity import USCC_ALPHABET, ric_check_digit, uscc_check_digit, with_vin_check_digit
from autofin.domain.money import PPM, rate_to_ppm, to_minor
from autofin.domain.products import ProductTerms
from autofin.domain.schedule_batch import build_schedules, div_half_up, due_dates, method_codes
from autofin.progress import Progress
from autofin.reference import calendar, vehicle_models, voucher_templates
from autofin.store.bulk import indexes_built_after, insert_rows, next_id, sync_sequences
from autofin.store.engine import is_sqlite, references_checked_at_commit
from autofin.store.ledger import post_batch, rebuild_subledger, refresh_exposure
from autofin.store.models import (
    BusinessDay,
    Contract,
    ContractDpd,
    ContractLastBill,
    Customer,
    Instalment,
    InstalmentPenalty,
    Mandate,
    MoneyEvent,
    Partner,
    StepRun,
    SubledgerDirty,
    Vehicle,
)
from autofin.store.products import current_versions

CHUNK = 25_000
PRODUCT_MIX = {"NCL-ANN": 0.45, "DL-EP": 0.20, "SLB-FLAT": 0.20, "BLN-LEASE": 0.15}
TERM_WEIGHTS = {12: 0.10, 24: 0.25, 36: 0.40, 48: 0.15, 60: 0.10}
# instalments missed at cut-over: 0 (current), 1, 2, 3, 4–8 (90+ days)
MISSED_MIX = (0.90, 0.05, 0.025, 0.015, 0.01)
ORIGINATION_DAYS = 1095  # 36 months
# a one-due-day book (固定还款日: the whole book falls due on the same day of the month) is young:
# signed in the last 11 months, so no contract of it (12 months or longer) has run off yet
ONE_DUE_DAY_MONTHS = 11
MANDATE_BANKS = ("ICBC", "BOC")
BUCKETS = ((0, "current"), (30, "M1"), (60, "M2"), (90, "M3"))
# (region, city, resident-id area code)
CITIES = (
    ("North", "北京", "110105"), ("North", "天津", "120101"), ("East", "上海", "310104"), ("East", "杭州", "330106"),
    ("East", "南京", "320102"), ("East", "济南", "370102"), ("South", "广州", "440106"), ("South", "深圳", "440305"),
    ("South", "厦门", "350203"), ("Central", "武汉", "420106"), ("Central", "长沙", "430102"), ("West", "成都", "510107"),
    ("West", "重庆", "500103"), ("West", "西安", "610113"), ("Northeast", "沈阳", "210102"),
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉建国志红云飞浩宇婷雪琳晨欣怡子涵梓轩"
BANK_NAMES = ("中国工商银行", "中国银行", "中国建设银行", "招商银行", "交通银行")
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
BIRTH_BASE = date(1966, 1, 1)
BIRTH_SPAN = 13_879  # days to 2003-12-31; coprime with 37, so (id // 1000 × 37) mod span is one-to-one


class BookNotEmptyError(DomainError):
    """The store already holds contracts: the synthetic book is only loaded into an empty store."""


@dataclass
class SeedReport:
    contracts: int = 0
    active: int = 0
    paid_off: int = 0
    instalments: int = 0
    partners: int = 0
    mandates: int = 0
    money_events: int = 0
    journal_lines: int = 0
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)


def bucket_of(dpd: np.ndarray) -> np.ndarray:
    out = np.full(dpd.shape, "M4+", dtype=object)
    for upper, name in reversed(BUCKETS):
        out[dpd <= upper] = name
    return out


def seed_book(engine: Engine, *, contracts: int, as_of: date, seed: int = 7, chunk: int = CHUNK, show_progress: bool = True,
              due_day: int | None = None) -> SeedReport:
    """The book; with `due_day` (1–28) every contract was signed on that day of one of the last
    ONE_DUE_DAY_MONTHS months, so the whole book falls due together each month (the bench's worst night)."""
    if contracts <= 0:
        raise DomainError("contracts: must be positive")
    if due_day is not None and not 1 <= due_day <= 28:
        raise DomainError(f"due day {due_day}: must be between 1 and 28 (every month has it)")
    started = time.perf_counter()
    report = SeedReport()
    # one connection throughout: SQLite's instalments are staged in its temporary tables (a seed killed
    # half-way leaves none behind)
    with engine.connect() as conn:
        _seed(conn, contracts=contracts, as_of=as_of, seed=seed, chunk=chunk, show_progress=show_progress, due_day=due_day, report=report)
    report.seconds = time.perf_counter() - started
    return report


def _seed(conn: Connection, *, contracts: int, as_of: date, seed: int, chunk: int, show_progress: bool, due_day: int | None,
          report: SeedReport) -> None:
    with conn.begin():
        existing = conn.execute(select(func.count()).select_from(Contract)).scalar_one()
        if existing:
            raise BookNotEmptyError(f"the store already holds {existing:,} contracts; seed an empty store (make demo starts from a new one)")
        products = current_versions(conn)
        if not products:
            raise DomainError("no products in the store: run `autofin products sync` first")
        missing = [code for code in PRODUCT_MIX if code not in products]
        if missing:
            raise DomainError(f"products {', '.join(missing)} are not in the store: run `autofin products sync`")
        report.partners = _seed_partners(conn, contracts, np.random.default_rng([seed, 0]))
    models = list(vehicle_models().values())
    templates = voucher_templates()
    staged = _InstalmentsStaged(conn)
    progress = Progress(contracts, "seeding contracts", "contracts") if show_progress else None
    for number, first in enumerate(range(1, contracts + 1, chunk)):
        last = min(first + chunk - 1, contracts)
        rng = np.random.default_rng([seed, 1, number])
        with conn.begin():
            _tune(conn)
            _seed_chunk(conn, rng, np.arange(first, last + 1, dtype=np.int64), as_of, products, models, report.partners, templates, report,
                        due_day, staged)
        if progress:
            progress.advance(last - first + 1)
    if progress and staged.staged:
        progress.note("the instalments move in, in due-date order, their indexes built after")
    staged.load(conn)
    with conn.begin():
        if progress:
            progress.note("the sub-ledger and the provisioning's exposures from the book")
        _set_partner_limits(conn)
        sync_sequences(conn, [Partner.__table__, Customer.__table__, Vehicle.__table__, Contract.__table__, Mandate.__table__, Instalment.__table__])
        rebuild_subledger(conn)  # the migrated book's sub-ledger balances from its instalments; its events keep them after
        conn.execute(delete(SubledgerDirty))  # the cut-over day closes here: nothing is left for a day close to check
        refresh_exposure(conn, whole=True)  # and the provisioning's view of it
        conn.execute(insert(BusinessDay).values(business_date=as_of, status="closed", closed_at=func.now()))
        conn.execute(
            insert(StepRun).values(
                step="migration", business_date=as_of, status="done", started_at=func.now(),
                counts={"contracts": report.contracts, "instalments": report.instalments, "money_events": report.money_events},
            )
        )


class _InstalmentsStaged:
    """Where the chunks put their instalments (and the penalties that name them). SQLite keeps the
    instalments in due-date order without a rowid (migration 0028): inserted chunk by chunk, each row
    went into the middle of the table by a search of its key (the seed's instalments 12.4 → 34.8 s at
    100k). So on SQLite the chunks append them to temporary tables, and `load` moves them in once, in
    the table's order, in a transaction of its own whose references are checked at its commit: the
    table's indexes, the unique one of the ids that the references need too, are dropped before and
    built after, each by one sort. PostgreSQL's heap takes them as they come."""

    def __init__(self, conn: Connection) -> None:
        self.staged = is_sqlite(conn)
        self.instalments, self.penalties = cast(Table, Instalment.__table__), cast(Table, InstalmentPenalty.__table__)
        if self.staged:
            self.instalments, self.penalties = (
                Table(f"staged_{t.name}", MetaData(), *(Column(c.name, c.type, primary_key=c.primary_key, server_default=_default(c))
                                                        for c in t.columns), prefixes=["TEMPORARY"])
                for t in (self.instalments, self.penalties)
            )
            for table in (self.instalments, self.penalties):
                table.drop(conn, checkfirst=True)
                table.create(conn)
            conn.commit()

    def next_instalment_id(self, conn: Connection) -> int:
        return next_id(conn, self.instalments)

    def load(self, conn: Connection) -> None:
        if not self.staged:
            return
        targets = (cast(Table, Instalment.__table__), cast(Table, InstalmentPenalty.__table__))
        # the penalties' references are checked at the commit; the instalments' contracts here, read in the
        # staged (contract) order: PRAGMA foreign_key_check of the loaded table asked for them in due-date
        # order, a random read of the contracts (16 s for the 6.6M instalments of 200k contracts)
        with references_checked_at_commit(conn, "the seed's instalments", ("instalment_penalty",)):
            orphans = conn.execute(text(f"SELECT COUNT(*) FROM {self.instalments.name} s "
                                        "WHERE NOT EXISTS (SELECT 1 FROM contract c WHERE c.contract_id = s.contract_id)")).scalar_one()
            if orphans:
                raise RuntimeError(f"the seed staged {orphans} instalments of contracts it did not write")
            for target, staged, order in zip(targets, (self.instalments, self.penalties), ("due_date, instalment_id", "instalment_id"),
                                             strict=True):
                columns = ", ".join(_columns_in_store(conn, target, staged))
                with indexes_built_after(conn, target):
                    conn.execute(text(f"INSERT INTO {target.name} ({columns}) SELECT {columns} FROM {staged.name} ORDER BY {order}"))
                staged.drop(conn)


def _default(column: Column) -> Any:
    return None if column.server_default is None else getattr(column.server_default, "arg", None)


def _columns_in_store(conn: Connection, target: Table, staged: Table) -> list[str]:
    """The staged columns the store's table has too (a store seeded at an old revision, in the
    migrations' tests, has others)."""
    have = {name for _, name, *_ in conn.exec_driver_sql(f"PRAGMA table_info({target.name})")}
    return [c.name for c in staged.columns if c.name in have]


def _tune(conn: Connection) -> None:
    if is_sqlite(conn):
        conn.exec_driver_sql("PRAGMA cache_size=-262144")  # 256 MiB page cache for the bulk load


def _seed_partners(conn: Connection, contracts: int, rng: np.random.Generator) -> int:
    n = max(12, contracts // 500)
    ratings = rng.choice(np.array(list("ABCD")), size=n, p=[0.30, 0.40, 0.20, 0.10])
    kinds = np.where(rng.random(n) < 0.85, "dealer", "agent")
    city_idx = rng.integers(0, len(CITIES), size=n)
    status = np.where(rng.random(n) < 0.97, "active", "suspended")
    brands = ("比亚迪", "特斯拉", "大众", "丰田", "本田", "日产", "吉利", "长安", "宝马", "奔驰")
    rows = []
    for i in range(n):
        region, city, _ = CITIES[city_idx[i]]
        code = f"{'D' if kinds[i] == 'dealer' else 'A'}{i + 1:05d}"
        name = f"{city}{brands[i % len(brands)]}汽车销售服务有限公司" if kinds[i] == "dealer" else f"{city}车易通汽车信息咨询有限公司"
        account = "".join(str(d) for d in rng.integers(0, 10, size=19))
        rows.append((i + 1, code, f"{name}{i + 1:05d}", str(kinds[i]), str(ratings[i]), 0, str(status[i]), region, city,
                     BANK_NAMES[i % len(BANK_NAMES)], account, name, False))
    insert_rows(conn, Partner.__table__, ["partner_id", "partner_code", "name", "kind", "rating", "credit_limit_minor", "status",
                                          "region", "city", "settlement_bank", "settlement_account_no", "settlement_account_name",
                                          "is_blacklisted"], rows)
    return n


def _set_partner_limits(conn: Connection) -> None:
    """Limits a credit committee would have set: live exposure × a headroom by rating, in whole millions."""
    conn.execute(
        text(
            "UPDATE partner SET credit_limit_minor = (("
            " COALESCE((SELECT SUM(c.financed_minor) FROM contract c WHERE c.partner_id = partner.partner_id AND c.status = 'active'), 0)"
            " * CASE rating WHEN 'A' THEN 16 WHEN 'B' THEN 14 WHEN 'C' THEN 12 ELSE 11 END / 10"
            " / 100000000) + 1) * 100000000"
        )
    )


def _seed_chunk(conn, rng, ids, as_of, products, models, n_partners, templates, report, due_day, staged) -> None:  # noqa: ANN001
    m = len(ids)
    codes = list(PRODUCT_MIX)
    product_idx = rng.choice(len(codes), size=m, p=list(PRODUCT_MIX.values()))
    terms_of: list[ProductTerms] = [products[c][1] for c in codes]
    version_ids = np.array([products[c][0] for c in codes])[product_idx]

    term = np.empty(m, dtype=np.int64)
    for p, t in enumerate(terms_of):
        mask = product_idx == p
        allowed = np.array(t.term_months)
        weights = np.array([TERM_WEIGHTS.get(int(x), 0.05) for x in allowed])
        term[mask] = rng.choice(allowed, size=int(mask.sum()), p=weights / weights.sum())
    as_of64: Any = np.datetime64(as_of, "D")  # numpy's stubs type datetime64 - array as timedelta
    if due_day is None:
        start = as_of64 - rng.integers(1, ORIGINATION_DAYS + 1, size=m).astype("timedelta64[D]")
    else:  # signed on `due_day` of one of the last months before the cut-over
        this_month: Any = np.datetime64(as_of, "M") - (1 if as_of.day < due_day else 0)
        months_back = rng.integers(0, ONE_DUE_DAY_MONTHS, size=m).astype("timedelta64[M]")
        start = (this_month - months_back).astype("datetime64[D]") + np.timedelta64(due_day - 1, "D")

    # vehicles and prices (whole hundreds of yuan)
    model_idx = rng.integers(0, len(models), size=m)
    low = np.array([to_minor(x["price_min"]) for x in models])[model_idx]
    high = np.array([to_minor(x["price_max"]) for x in models])[model_idx]
    price = (low + ((high - low) * rng.random(m)).astype(np.int64)) // 10_000 * 10_000
    used = rng.random(m) < 0.15
    price = np.where(used, (price * rng.uniform(0.45, 0.85, size=m)).astype(np.int64) // 10_000 * 10_000, price)

    pick = lambda attr: np.array([getattr(t, attr) for t in terms_of])[product_idx]  # noqa: E731
    min_down_bp = np.array([int(t.min_down_payment_pct * 10_000) for t in terms_of])[product_idx]
    down_bp = min_down_bp + rng.integers(0, 21, size=m) * 100
    down = div_half_up(price * down_bp, 10_000)
    gps = np.where(np.array(["gps_fee" in t.fees and t.fees["gps_fee"].financeable for t in terms_of])[product_idx], 198_000, 0)
    tax_ok = np.array(["purchase_tax" in t.fees and t.fees["purchase_tax"].financeable for t in terms_of])[product_idx]
    purchase_tax = np.where(tax_ok & ~used & (rng.random(m) < 0.5), div_half_up(price * 10, 113) // 100 * 100, 0)
    financed = price - down + gps + purchase_tax
    balloon_ppm = np.array([rate_to_ppm(t.balloon_pct) if t.balloon_pct is not None else 0 for t in terms_of])[product_idx]
    balloon = div_half_up(financed * balloon_ppm, PPM)
    deposit = div_half_up(price * np.array([rate_to_ppm(t.deposit_pct) for t in terms_of])[product_idx], PPM)
    rate_ppm = np.array([rate_to_ppm(t.annual_rate) for t in terms_of])[product_idx]
    fee_minor = np.array([to_minor(t.instalment_fee) for t in terms_of])[product_idx]
    roll = pick("roll_due_dates").astype(bool)

    sched = build_schedules(
        financed_minor=financed, rate_ppm=rate_ppm, term=term,
        method_code=method_codes([t.method for t in terms_of])[product_idx], balloon_minor=balloon, fee_minor=fee_minor,
    )
    ci = sched.contract_index
    due = due_dates(start[ci], sched.seq, roll=roll[ci], calendar=calendar())
    billed = due <= as_of64
    n_billed = np.add.reduceat(billed.astype(np.int64), _row_starts(term))
    missed_class = rng.choice(len(MISSED_MIX), size=m, p=MISSED_MIX)
    missed = np.where(missed_class == 4, rng.integers(4, 9, size=m), missed_class)
    missed = np.minimum(missed, n_billed)
    unpaid = billed & (sched.seq > (n_billed - missed)[ci])
    paid = billed & ~unpaid
    status_row = np.where(paid, "paid", np.where(unpaid, "billed", "scheduled"))

    # penalties to date on unpaid instalments: the domain's accrued_penalty, in integers
    days_over = (as_of64 - due).astype(np.int64)
    basis_is_principal = np.array([t.penalty.basis == "overdue_principal" for t in terms_of])[product_idx][ci]
    basis = np.where(basis_is_principal, sched.principal_minor, sched.payment_minor)
    pen_rate = np.array([rate_to_ppm(t.penalty.daily_rate) for t in terms_of])[product_idx][ci]
    cap_ppm = np.array([rate_to_ppm(t.penalty.cap_pct) if t.penalty.cap_pct is not None else 10 * PPM for t in terms_of])[product_idx][ci]
    grace = np.array([t.penalty.grace_days for t in terms_of])[product_idx][ci]
    accrued_micro = np.where(unpaid & (days_over > grace), basis * pen_rate * np.maximum(days_over, 0), 0)
    penalty = np.minimum(div_half_up(accrued_micro, PPM), np.where(accrued_micro > 0, div_half_up(basis * cap_ppm, PPM), 0))

    starts = _row_starts(term)
    first_unpaid_row = starts + (n_billed - missed)
    dpd = np.where(missed > 0, (as_of64 - due[np.minimum(first_unpaid_row, len(due) - 1)]).astype(np.int64), 0)
    dpd = np.maximum(dpd, 0)
    maturity = due[starts + term - 1]
    paid_off = (n_billed == term) & (missed == 0)
    contract_status = np.where(paid_off, "paid_off", "active")
    credit = np.where(~paid_off & (missed == 0) & (rng.random(m) < 0.01), rng.integers(100, 50_000, size=m), 0)

    # ---- parties
    city_idx = rng.integers(0, len(CITIES), size=m)
    is_company = rng.random(m) < 0.05
    birth = np.datetime64(BIRTH_BASE) + ((ids // 1000 * 37) % BIRTH_SPAN).astype("timedelta64[D]")
    birth_str = np.datetime_as_string(birth).tolist()
    surname = rng.integers(0, len(SURNAMES), size=m)
    given = rng.integers(0, len(GIVEN), size=(m, 2))
    two_char = rng.random(m) < 0.6
    mobile_prefix = rng.choice(np.array(["13", "15", "17", "18", "19"]), size=m)
    mobile_rest = rng.integers(0, 10**9, size=m)
    customers: list[tuple[Any, ...]] = []
    mandates: list[tuple[Any, ...]] = []
    vehicles: list[tuple[Any, ...]] = []
    contracts_rows: list[tuple[Any, ...]] = []
    version_list, start_str = version_ids.tolist(), np.datetime_as_string(start).tolist()
    partner = rng.integers(1, n_partners + 1, size=m)
    has_mandate = rng.random(m) < 0.92
    bank = rng.choice(np.array(MANDATE_BANKS), size=m, p=[0.55, 0.45])
    account = rng.integers(10**15, 10**16, size=m)
    vin_body = rng.integers(0, len(VIN_CHARS), size=(m, 5))
    model_year = np.array(list("NPRST"))[rng.integers(0, 5, size=m)]
    maturity_str = np.datetime_as_string(maturity).tolist()
    for k in range(m):
        cid = int(ids[k])
        _region, city, area = CITIES[city_idx[k]]
        name = SURNAMES[surname[k]] + GIVEN[given[k, 0]] + (GIVEN[given[k, 1]] if two_char[k] else "")
        if is_company[k]:
            body = _base31(cid, 9)
            first17 = "91" + area + body
            customers.append((cid, "company", f"{city}{name}汽车租赁有限公司", "uscc", first17 + uscc_check_digit(first17), None, None, city))
        else:
            b = birth_str[k].replace("-", "")
            first17 = f"{area}{b}{cid % 1000:03d}"
            mobile = f"{mobile_prefix[k]}{mobile_rest[k]:09d}"
            customers.append((cid, "individual", name, "resident_id", first17 + ric_check_digit(first17), mobile, birth_str[k], city))
        model = models[model_idx[k]]
        # WMI, descriptor, check digit (computed), model year, plant, serial: unique per contract id
        plant = VIN_CHARS[cid // 1_000_000 % len(VIN_CHARS)]
        draft = model["wmi"] + "".join(VIN_CHARS[j] for j in vin_body[k]) + "0" + model_year[k] + plant + f"{cid % 1_000_000:06d}"
        vin = with_vin_check_digit(draft)
        vehicles.append((cid, vin, model["model_code"], model["brand"], model["name"], "used" if used[k] else "new", int(price[k]),
                         "disposed" if paid_off[k] else "leased", int(partner[k]), city))
        t = terms_of[product_idx[k]]
        fees = {"gps_fee": [f"{gps[k] / 100:.2f}", True]} if gps[k] else {}
        if purchase_tax[k]:
            fees["purchase_tax"] = [f"{purchase_tax[k] // 100}.00", True]
        contracts_rows.append((
            cid, f"AF{start_str[k][:4]}{start_str[k][5:7]}{cid:08d}", int(partner[k]), cid, cid, version_list[k], t.business_type,
            t.method.value, contract_status[k], int(price[k]), int(down[k]), int(deposit[k]), int(financed[k]), int(balloon[k]),
            int(term[k]), int(rate_ppm[k]), rate_to_ppm(t.penalty.daily_rate), t.penalty.basis,
            None if t.penalty.cap_pct is None else rate_to_ppm(t.penalty.cap_pct), t.penalty.grace_days, rate_to_ppm(t.vat_rate),
            ",".join(t.allocation_order), t.roll_due_dates,
            json.dumps({"migrated": True, "product": t.code, "fees": fees, "down_payment_bp": int(down_bp[k])}, ensure_ascii=False),
            start_str[k], maturity_str[k], start_str[k], maturity_str[k] if paid_off[k] else None, int(credit[k]), True,
        ))
        if has_mandate[k]:
            mandates.append((cid, cid, f"MDT{cid:010d}", str(bank[k]), customers[-1][2], f"62{account[k]:016d}"[:19], start_str[k],
                             "revoked" if paid_off[k] else "active"))
    insert_rows(conn, Customer.__table__, ["customer_id", "kind", "name", "id_type", "id_number", "mobile", "birth_date", "city"], customers)
    insert_rows(conn, Vehicle.__table__, ["vehicle_id", "vin", "model_code", "brand", "model_name", "condition", "price_minor",
                                          "inventory_status", "partner_id", "branch"], vehicles)
    insert_rows(conn, Contract.__table__, [
        "contract_id", "contract_no", "partner_id", "customer_id", "vehicle_id", "product_version_id", "business_type", "method",
        "status", "price_minor", "down_payment_minor", "deposit_minor", "financed_minor", "balloon_minor", "term_months",
        "annual_rate_ppm", "penalty_rate_ppm", "penalty_basis", "penalty_cap_ppm", "grace_days", "vat_rate_ppm", "allocation_order",
        "is_roll_due_dates", "terms", "start_date", "maturity_date", "activated_date", "closed_date", "credit_minor",
        "is_migrated"], contracts_rows)
    buckets = bucket_of(dpd)
    insert_rows(conn, ContractDpd.__table__, ["contract_id", "dpd", "bucket"],
                [(row[0], int(dpd[k]), str(buckets[k])) for k, row in enumerate(contracts_rows) if dpd[k] > 0])
    insert_rows(conn, Mandate.__table__, ["mandate_id", "contract_id", "mandate_ref", "bank_code", "debtor_name", "debtor_account",
                                          "signed_date", "status"], mandates)
    # each contract's last bill: its last billed instalment's date (billed in seq order, as they fall due)
    ever_billed = n_billed > 0
    last_billed = np.datetime_as_string(due[starts + np.maximum(n_billed, 1) - 1])
    insert_rows(conn, ContractLastBill.__table__, ["contract_id", "billed_date"],
                list(zip(ids[ever_billed].tolist(), last_billed[ever_billed].tolist(), strict=True)))

    # ---- instalments
    first_instalment_id = staged.next_instalment_id(conn)
    due_str = np.datetime_as_string(due)
    # an object array: the date where the mask holds, None elsewhere (numpy's stubs do not take None as a value)
    billed_date = np.where(billed, due_str, np.array(None)).tolist()
    paid_date = np.where(paid, due_str, np.array(None)).tolist()
    zero = np.zeros(len(due), dtype=np.int64)
    pp = np.where(paid, sched.principal_minor, zero)
    pi = np.where(paid, sched.interest_minor, zero)
    pf = np.where(paid, sched.fee_minor, zero)
    instalment_ids = np.arange(first_instalment_id, first_instalment_id + len(due))
    columns = [
        instalment_ids.tolist(), ids[ci].tolist(), sched.seq.tolist(),
        due_str.tolist(), status_row.tolist(), sched.principal_minor.tolist(), sched.interest_minor.tolist(), sched.fee_minor.tolist(),
        pp.tolist(), pi.tolist(), pf.tolist(), zero.tolist(), billed_date, paid_date,
    ]
    insert_rows(conn, staged.instalments, [
        "instalment_id", "contract_id", "seq", "due_date", "status", "principal_minor", "interest_minor", "fee_minor",
        "paid_principal_minor", "paid_interest_minor", "paid_fee_minor", "paid_penalty_minor", "billed_date",
        "paid_date"], list(zip(*columns, strict=False)))
    # the penalty accrued on the instalments past their grace days, through the cut-over date
    accruing = unpaid & (days_over > grace)
    insert_rows(conn, staged.penalties, ["instalment_id", "penalty_minor", "accrued_micro", "through_date"],
                list(zip(instalment_ids[accruing].tolist(), penalty[accruing].tolist(), accrued_micro[accruing].tolist(),
                         [as_of.isoformat()] * int(accruing.sum()), strict=True)))

    # ---- opening balances: one money event per contract with anything open, posted through the ledger core
    scheduled = status_row == "scheduled"
    open_rows = status_row == "billed"
    sums = {
        "outstanding_principal": np.add.reduceat(np.where(scheduled, sched.principal_minor, 0), starts),
        "principal": np.add.reduceat(np.where(open_rows, sched.principal_minor, 0), starts),
        "interest": np.add.reduceat(np.where(open_rows, sched.interest_minor, 0), starts),
        "fee": np.add.reduceat(np.where(open_rows, sched.fee_minor, 0), starts),
        "penalty": np.add.reduceat(penalty, starts),
        "credit": credit,
    }
    has_balance = np.zeros(m, dtype=bool)
    for values in sums.values():
        has_balance |= values != 0
    batch_id = f"migration:{as_of.isoformat()}:{int(ids[0])}"
    which = np.flatnonzero(has_balance)
    events = list(zip(
        ["opening_balance"] * len(which), [f"opening:{int(ids[k])}" for k in which], ids[which].tolist(), [as_of.isoformat()] * len(which),
        *(sums[c][which].tolist() for c in ("outstanding_principal", "principal", "interest", "fee", "penalty", "credit")),
        [batch_id] * len(which), strict=False,
    ))
    insert_rows(conn, MoneyEvent.__table__, ["event_type", "event_key", "contract_id", "business_date", "outstanding_principal_minor",
                                             "principal_minor", "interest_minor", "fee_minor", "penalty_minor", "credit_minor",
                                             "batch_id"], events)
    posted = post_batch(conn, batch_id, templates)

    report.contracts += m
    report.paid_off += int(paid_off.sum())
    report.active += int((~paid_off).sum())
    report.instalments += len(due)
    report.mandates += len(mandates)
    report.money_events += len(events)
    report.journal_lines += posted.lines


def _row_starts(term: np.ndarray) -> np.ndarray:
    return np.concatenate(([0], np.cumsum(term)[:-1])).astype(np.int64)


def _base31(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, r = divmod(number, 31)
        digits.append(USCC_ALPHABET[r])
    return "".join(reversed(digits))
