"""`autofin`: the command line of the back office. Domain errors end in one clear line and exit 2."""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from decimal import Decimal
from functools import wraps

import click

from autofin.domain.errors import DomainError, InputError
from autofin.domain.money import D, format_amount
from autofin.settings import business_today
from autofin.store.migrate import StoreOutOfDateError


def fail_clearly(fn):  # noqa: ANN001, ANN201
    """Turn domain errors into one line on stderr and exit status 2 (no traceback)."""

    @wraps(fn)
    def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            click.echo(f"error: {exc.field}: {exc.reason}", err=True)
            sys.exit(2)
        except (DomainError, StoreOutOfDateError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)

    return wrapper


class IsoDate(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):  # noqa: ANN001, ANN201
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a date (YYYY-MM-DD)", param, ctx)


class Exact(click.ParamType):
    """A number kept exact (Decimal), never a float."""

    name = "NUMBER"

    def convert(self, value, param, ctx):  # noqa: ANN001, ANN201
        try:
            return D(str(value))
        except DomainError:
            self.fail(f"{value!r} is not a number", param, ctx)


DATE, EXACT = IsoDate(), Exact()
# a night's process, once its steps are imported: the collector's passes wait for 50,000 new objects
# (autofin.process.settle_imports). On the 1M Sunday the default (700) ran ~880 passes, 0.25 s of
# the night with its letters; with the imports frozen and this, 0.09 s
NIGHT_YOUNG_OBJECTS = 50_000


@click.group()
def main() -> None:
    """autofin: loans, direct leases and sale-and-leaseback, from quote to ledger."""


# ------------------------------------------------------------------ db


@main.group()
def db() -> None:
    """The transactional store (SQLite by default, AUTOFIN_DATABASE_URL for PostgreSQL)."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration up to the newest."""
    from autofin.store.engine import get_engine
    from autofin.store.migrate import current_revision, upgrade

    engine = get_engine()
    upgrade(engine)
    click.echo(f"store {engine.url.render_as_string(hide_password=True)} at revision {current_revision(engine)}")


# ------------------------------------------------------------------ products


@main.group()
def products() -> None:
    """Financial products (assets/products.yaml) and their immutable versions."""


@products.command("sync")
@fail_clearly
def products_sync() -> None:
    """Load assets/products.yaml; an edited product becomes a new version."""
    from autofin.reference import load_products
    from autofin.store.engine import get_engine, write_transaction
    from autofin.store.products import sync_products

    with write_transaction(get_engine()) as conn:
        outcomes = sync_products(conn, load_products())
    for o in outcomes:
        click.echo(f"{o.code:<12} version {o.version:<3} {o.action}")


# ------------------------------------------------------------------ quote


def _parse_fee(text: str) -> tuple[str, Decimal, bool]:
    try:
        key, rest = text.split("=", 1)
        amount, _, how = rest.partition(":")
    except ValueError:
        raise InputError("fee", f"{text!r}: write KEY=AMOUNT[:financed|:upfront]") from None
    if how not in ("", "financed", "upfront"):
        raise InputError("fee", f"{text!r}: after the colon write financed or upfront")
    try:
        value = D(amount)
    except DomainError:
        raise InputError(f"fee.{key}", f"{amount!r} is not an amount") from None
    return key.strip(), value, how == "financed"


@main.command()
@click.option("--product", help="A product code from assets/products.yaml (the product form).")
@click.option("--price", type=EXACT, help="Vehicle price (product form).")
@click.option("--down-payment-pct", type=EXACT, help="Down payment in percent of the price, e.g. 20 (product form).")
@click.option("--down-payment", type=EXACT, help="Down payment as an amount (product form).")
@click.option("--fee", "fees", multiple=True, help="Fee item KEY=AMOUNT[:financed|:upfront], repeatable (product form).")
@click.option("--method", type=click.Choice(["annuity", "equal_principal", "flat", "balloon"]), help="Method (principal form).")
@click.option("--principal", type=EXACT, help="Financed amount (principal form).")
@click.option("--annual-rate", type=EXACT, help="Annual rate as a decimal, e.g. 0.0799 (principal form).")
@click.option("--term", type=int, required=True, help="Term in months.")
@click.option("--start", type=DATE, help="Contract start date; instalment k falls due k months later. Default: today (Asia/Shanghai).")
@click.option("--balloon-pct", type=EXACT, help="Balloon in percent of the financed amount, e.g. 30.")
@click.option("--roll/--no-roll", default=None, help="Roll due dates to the next business day (principal form; products say it themselves).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (amounts as decimal strings).")
@fail_clearly
def quote(product, price, down_payment_pct, down_payment, fees, method, principal, annual_rate, term, start, balloon_pct, roll, as_json) -> None:  # noqa: ANN001
    """A financing plan: schedule, totals and APR. Give either --product or --method/--principal."""
    from autofin.domain.money import parse_rate
    from autofin.domain.quotes import PlanRequest, build_plan, plan_as_dict, plan_for_product
    from autofin.domain.schedules import Method
    from autofin.reference import calendar, load_products

    start = start or business_today()

    def pct(value: Decimal | None, field: str) -> Decimal | None:
        """A percentage as typed (30 for 30%), refused in percent, then as the fraction the domain takes."""
        if value is None:
            return None
        if not 0 <= value <= 100:
            raise InputError(field, f"{value}% is not between 0% and 100%")
        return parse_rate(str(value / 100), field)

    if product:
        if method or principal is not None or annual_rate is not None:
            raise InputError("product", "give either --product (with --price) or --method/--principal/--annual-rate, not both")
        catalogue = load_products()
        if product not in catalogue:
            raise InputError("product", f"unknown product {product!r}; known: {', '.join(catalogue)}")
        if price is None:
            raise InputError("price", "the product form needs --price")
        plan = plan_for_product(
            catalogue[product],
            price=price,
            term_months=term,
            start_date=start,
            down_payment_pct=pct(down_payment_pct, "down_payment_pct"),
            down_payment=down_payment,
            fees={key: (amount, financed) for key, amount, financed in map(_parse_fee, fees)},
            balloon_pct=pct(balloon_pct, "balloon_pct"),
            calendar=calendar(),
        )
    else:
        if not method or principal is None or annual_rate is None:
            raise InputError("method", "give --method, --principal and --annual-rate (or --product)")
        if fees or price is not None or down_payment_pct is not None or down_payment is not None:
            raise InputError("fee", "fees, price and down payment go with --product")
        if balloon_pct is not None and method != "balloon":
            raise InputError("balloon_pct", "a balloon only goes with --method balloon")
        if method == "balloon" and balloon_pct is None:
            raise InputError("balloon_pct", "the balloon method needs --balloon-pct")
        if principal <= 0:
            raise InputError("principal", f"must be positive, got {principal}")
        if annual_rate > 1:
            raise InputError("annual_rate", f"{annual_rate} is above 1: give the annual rate as a decimal, e.g. 0.0799 for 7.99%")
        try:
            plan = build_plan(
                PlanRequest(
                    price=principal,
                    term_months=term,
                    start_date=start,
                    annual_rate=parse_rate(str(annual_rate), "annual_rate"),
                    method=Method(method),
                    balloon_pct=pct(balloon_pct, "balloon_pct") or D(0),
                    roll=bool(roll),
                ),
                calendar(),
            )
        except InputError as exc:  # the principal form calls the financed amount what the domain calls the price
            raise InputError("principal" if exc.field == "price" else exc.field, exc.reason) from None
    data = plan_as_dict(plan)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(
        f"{data['method']} {data['term_months']} months at {data['annual_rate']}: financed {data['financed_amount']} {data['currency']}, "
        f"APR {data['apr']}, interest {data['total_interest']}, payable {data['total_payable']}"
    )
    click.echo(f"{'seq':>4} {'due date':<10} {'principal':>12} {'interest':>10} {'fee':>8} {'payment':>12} {'balance':>12}")
    for r in data["schedule"]:
        click.echo(f"{r['seq']:>4} {r['due_date']:<10} {r['principal']:>12} {r['interest']:>10} {r['fee']:>8} {r['payment']:>12} {r['balance']:>12}")


# ------------------------------------------------------------------ demo book


@main.group()
def demo() -> None:
    """The synthetic demo book."""


@demo.command("seed")
@click.option("--contracts", type=int, required=True, help="How many contracts.")
@click.option("--as-of", type=DATE, required=True, help="The cut-over business date of the migrated book.")
@click.option("--seed", type=int, default=7, show_default=True, help="Random seed; the same seed gives the same book.")
@click.option("--due-day", type=click.IntRange(1, 28), default=None,
              help="Every contract falls due on this day of the month (a one-due-day book, signed in the last 11 months).")
@fail_clearly
def demo_seed(contracts: int, as_of: date, seed: int, due_day: int | None) -> None:
    """Load a synthetic book into an empty store, as a migration from a legacy system would."""
    from autofin.demo.book import seed_book
    from autofin.store.engine import get_engine

    report = seed_book(get_engine(), contracts=contracts, as_of=as_of, seed=seed, due_day=due_day)
    rate = report.contracts / report.seconds if report.seconds else 0
    click.echo(
        f"seeded {report.contracts:,} contracts ({report.active:,} active, {report.paid_off:,} paid off), "
        f"{report.instalments:,} instalments, {report.partners:,} partners, {report.mandates:,} mandates, "
        f"{report.money_events:,} opening-balance events, {report.journal_lines:,} journal lines "
        f"in {report.seconds:.1f}s ({rate:,.0f} contracts/s)"
    )


@demo.command("summary")
@click.option("--as-of", type=DATE, required=True)
@fail_clearly
def demo_summary(as_of: date) -> None:
    """The book by product, status and bucket, the trial balance and the sub-ledger tie. Exit 1 if it does not tie."""
    from autofin.reporting.book import book_summary, render_summary
    from autofin.store.engine import get_engine

    with get_engine().connect() as conn:
        summary = book_summary(conn, as_of)
    click.echo(render_summary(summary))
    if not summary.is_tied:
        click.echo("error: the ledger does not tie (see above)", err=True)
        sys.exit(1)


# ------------------------------------------------------------------ ledger


@main.group()
def ledger() -> None:
    """The general ledger."""


@ledger.command("trial-balance")
@click.option("--date", "as_of", type=DATE, required=True, help="Balances of postings up to and including this date.")
@fail_clearly
def ledger_trial_balance(as_of: date) -> None:
    """Balances by account; debits equal credits or the command exits 1."""
    from autofin.reference import chart_of_accounts
    from autofin.reporting.book import render_trial_balance
    from autofin.store.engine import get_engine
    from autofin.store.ledger import trial_balance_as_of

    with get_engine().connect() as conn:
        rows = trial_balance_as_of(conn, as_of, chart_of_accounts())
    click.echo(render_trial_balance(rows, as_of))
    if sum(r.balance_minor for r in rows) != 0:
        sys.exit(1)


# ------------------------------------------------------------------ cycle


def _print_step(result) -> None:  # noqa: ANN001
    from autofin.reporting.book import in_yuan, yuan_label

    counts = ", ".join(f"{yuan_label(k)}={in_yuan(k, v)}" for k, v in result.counts.items() if not isinstance(v, (dict, list)) or v)
    mark = "(done before)" if result.skipped else f"{result.seconds:.2f}s"
    click.echo(f"{result.business_date} {result.step:<15} {mark:>13}  {counts}")


@main.group()
def cycle() -> None:
    """The nightly servicing cycle (the same steps Dagster runs)."""


def _show_in_dagster() -> None:
    """The days just run, reported to the Dagster instance the UI reads (pipelines/sync.py), so the
    UI shows what the store holds however the days were run."""
    from autofin.store.engine import get_engine
    from pipelines.cycle import business_dates
    from pipelines.sync import dagster_instance, report_store_runs

    instance = dagster_instance()
    try:
        reported = report_store_runs(instance, get_engine(), business_dates)
    finally:
        instance.dispose()
    if reported:
        click.echo(f"reported {reported} step runs to Dagster ({instance.root_directory})")


@cycle.command("run")
@click.option("--date", "d", type=DATE, required=True, help="The business date to run.")
@click.option("--timings", type=click.Path(dir_okay=False), help="Also write each step's seconds and counts to this JSON file.")
@click.option("--shards", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Run billing, delinquency, penalties and allocation as this many contract shards side by side (for PostgreSQL).")
@click.option("--report-to-dagster/--no-report-to-dagster", default=True, show_default=True,
              help="Report the steps run to the Dagster UI's instance now (2 s: importing Dagster); without, its store_runs sensor "
                   "reports them within a minute while the UI runs.")
@fail_clearly
def cycle_run(d: date, timings: str | None, shards: int, report_to_dagster: bool) -> None:
    """Run every step of one business date, in order (steps already done are skipped)."""
    from autofin.process import settle_imports
    from autofin.servicing.context import default_context
    from autofin.servicing.cycle import run_day
    from autofin.store.engine import get_engine

    settle_imports(young_objects=NIGHT_YOUNG_OBJECTS)
    try:
        results = run_day(get_engine(), d, default_context(), on_step=_print_step, shards=shards)
    finally:
        if report_to_dagster:
            _show_in_dagster()
    if timings:
        with open(timings, "w", encoding="utf-8") as fh:
            json.dump([{"step": r.step, "seconds": r.seconds, "counts": r.counts} for r in results], fh)


@cycle.command("catch-up")
@click.option("--to", "to", type=DATE, required=True, help="Run every business date after the last closed one, up to this one.")
@click.option("--shards", type=click.IntRange(1, 64), default=1, show_default=True, help="As for `cycle run`.")
@click.option("--report-to-dagster/--no-report-to-dagster", default=True, show_default=True, help="As for `cycle run`.")
@fail_clearly
def cycle_catch_up(to: date, shards: int, report_to_dagster: bool) -> None:
    """Run every missed business date in order."""
    from autofin.process import settle_imports
    from autofin.servicing.context import default_context
    from autofin.servicing.cycle import catch_up
    from autofin.store.engine import get_engine

    settle_imports(young_objects=NIGHT_YOUNG_OBJECTS)
    try:
        days = catch_up(get_engine(), to, default_context(), on_step=_print_step, shards=shards)
    finally:
        if report_to_dagster:
            _show_in_dagster()
    click.echo(f"caught up {len(days)} business dates" + (f": {days[0]} … {days[-1]}" if days else ""))


@cycle.command("check")
@click.option("--date", "d", type=DATE, default=None, help="The business date the checks are as of (default: the last closed one).")
@click.option("--full", is_flag=True, help="Also hold the running totals the nightly close reads (ledger totals, each contract's "
              "sub-ledger balance) against every journal line and instalment, and every schedule against its financed amount.")
@fail_clearly
def cycle_check(d: date | None, full: bool) -> None:
    """Run the control checks over the whole book, read only; exit 1 when any fails."""
    from autofin.servicing.checks import full_book_checks, nightly_checks
    from autofin.servicing.days import last_closed_day
    from autofin.store.engine import get_engine

    started = time.perf_counter()
    with get_engine().connect() as conn:
        as_of = d or last_closed_day(conn)
        if as_of is None:
            raise DomainError("no business day has been closed yet: name one with --date")
        results = full_book_checks(conn, as_of) if full else nightly_checks(conn, as_of)
    for name, problems in results.items():
        click.echo(f"{name:<40} {'ok' if not problems else 'FAILED: ' + '; '.join(problems)}")
    failed = [name for name, problems in results.items() if problems]
    click.echo(f"{'full-book' if full else 'book'} checks as of {as_of}: {len(results) - len(failed)} of {len(results)} ok "
               f"({time.perf_counter() - started:.1f}s)")
    if failed:
        raise SystemExit(1)


@cycle.command("status")
def cycle_status() -> None:
    """The latest business dates and how far each got."""
    from autofin.servicing.cycle import STEP_ORDER, status
    from autofin.store.engine import get_engine

    with get_engine().connect() as conn:
        rows = status(conn)
    click.echo(f"{'business date':<14} {'status':<8} steps done (of {len(STEP_ORDER)})")
    for d, state, n in rows:
        click.echo(f"{d.isoformat():<14} {state:<8} {n}")


# ------------------------------------------------------------------ bank simulator


@main.group()
def bank() -> None:
    """The bank side."""


@bank.command("simulate")
@click.option("--bank", "code", required=True, help="Bank code (assets/banks).")
@click.option("--date", "d", type=DATE, required=True)
@click.option("--seed", type=int, default=1, show_default=True)
@fail_clearly
def bank_simulate(code: str, d: date, seed: int) -> None:
    """TEST AND DEMO TOOL: answer the debit files a bank received, as the bank would."""
    from autofin.bankfiles.simulator import simulate
    from autofin.reference import bank_profiles
    from autofin.settings import bank_dir

    profiles = bank_profiles()
    if code not in profiles:
        raise InputError("bank", f"unknown bank {code!r}; known: {', '.join(profiles)}")
    profile = profiles[code]
    if profile.transport != "local":
        raise InputError("bank", f"{code} uses SFTP; the simulator plays banks on the local transport only")
    r = simulate(profile, bank_dir() / "remote" / code, d, seed=seed)
    click.echo(f"[simulated bank {code}] read {r.files_read} files, {r.transactions} debits: {r.rejected} rejected, "
               f"collected {format_amount(Decimal(r.collected_minor) / 100)}; {r.payouts} payouts: {r.payouts_rejected} rejected, "
               f"paid out {format_amount(Decimal(r.paid_out_minor) / 100)}; wrote {r.files_written} answer files")


@demo.command("cycle")
@click.option("--days", type=int, default=5, show_default=True, help="How many business dates to run after the last closed one.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the simulated banks.")
@fail_clearly
def demo_cycle(days: int, seed: int) -> None:
    """Run the cycle day after day with the simulated banks answering every night."""
    from datetime import timedelta

    from autofin.bankfiles.simulator import simulate
    from autofin.servicing.context import default_context
    from autofin.servicing.cycle import run_day
    from autofin.servicing.days import last_closed_day
    from autofin.store.engine import get_engine

    engine, ctx = get_engine(), default_context()
    with engine.connect() as conn:
        last = last_closed_day(conn)
    if last is None:
        raise DomainError("no closed business day: seed a book first (autofin demo seed)")
    try:
        for n in range(1, days + 1):
            d = last + timedelta(days=n)
            run_day(engine, d, ctx, on_step=_print_step)
            for code, profile in sorted(ctx.banks.items()):
                r = simulate(profile, ctx.bank_folder("remote", code), d, seed=seed)
                if r.transactions:
                    click.echo(f"{d} [simulated bank {code}] {r.transactions} debits answered: {r.rejected} rejected, "
                               f"collected {format_amount(Decimal(r.collected_minor) / 100)}")
                if r.payouts:
                    click.echo(f"{d} [simulated bank {code}] {r.payouts} payouts answered: {r.payouts_rejected} rejected, "
                               f"paid out {format_amount(Decimal(r.paid_out_minor) / 100)}")
    finally:
        _show_in_dagster()


@demo.command("collections")
@click.option("--cases", type=int, default=60, show_default=True, help="How many open cases the collectors call.")
@fail_clearly
def demo_collections(cases: int) -> None:
    """A day of the collections team on the next business date: cases assigned by the rules, calls and
    promises, agencies, two vehicles repossessed and sold, write-offs over two levels, a recovery."""
    from datetime import timedelta

    from autofin.demo.collections import work_the_cases
    from autofin.servicing.days import last_closed_day
    from autofin.store.engine import get_engine

    engine = get_engine()
    with engine.connect() as conn:
        last = last_closed_day(conn)
    if last is None:
        raise DomainError("no closed business day: seed a book and run the cycle first")
    d = last + timedelta(days=1)
    done = work_the_cases(engine, d, cases=cases)
    click.echo(f"{d} collections: {done.assigned} cases assigned by the rules, {done.contacts} calls, {done.promises} promises, "
               f"{done.outsourced} sent to agencies, {done.visits} home visits, {done.lawsuits} lawsuit, "
               f"{done.repossessed_and_sold} vehicles repossessed and sold "
               f"({done.costs_approved} costs approved), {len(done.written_off)} written off, {done.recoveries} recovery, "
               f"{done.refunds} refunds of customer credit queued as payouts")


# ------------------------------------------------------------------ reports


@main.group()
def reports() -> None:
    """The DuckDB warehouse (dbt) and the Excel pack."""


@reports.command("build")
@click.option("--date", "d", type=DATE, required=True,
              help="The business date the pack is for (its folder under reports/): the latest closed one.")
@click.option("--skip-warehouse", is_flag=True, help="Only write the Excel pack from the warehouse as it is.")
@click.option("--language", type=click.Choice(["en", "zh"]), default=None,
              help="The pack's language (sheet titles, column labels). Default: AUTOFIN_REPORT_LANGUAGE, else en.")
@fail_clearly
def reports_build(d: date, skip_warehouse: bool, language: str | None) -> None:
    """Build the warehouse with dbt (models and tests), then the Excel pack in reports/<date>/."""
    from autofin.reporting.book import require_report_date
    from autofin.reporting.excel import build_pack
    from autofin.reporting.warehouse import WarehouseError, build_warehouse
    from autofin.settings import warehouse_path
    from autofin.store.engine import get_engine

    with get_engine().connect() as conn:
        require_report_date(conn, d)
    if not skip_warehouse:
        try:
            built = build_warehouse()
        except WarehouseError as exc:
            raise DomainError(f"the warehouse did not build: {exc}") from None
        click.echo(f"warehouse {warehouse_path()}: {built.models} models, {built.tests} tests passed in {built.seconds:.1f}s")
    pack = build_pack(d, language=language)
    for name, sheets in pack.workbooks.items():
        click.echo(f"  {pack.folder / name}  ({len(sheets)} sheets)")
    click.echo(f"reports for {d} are in {pack.folder}")


@reports.command("docs")
@fail_clearly
def reports_docs() -> None:
    """The dbt docs site of the warehouse (models, lineage, every column described), one HTML file."""
    from autofin.reporting.warehouse import WarehouseError, build_docs

    try:
        page = build_docs()
    except WarehouseError as exc:
        raise DomainError(f"the docs site was not generated: {exc}") from None
    click.echo(f"dbt docs: open {page} in a browser")


@main.group()
def users() -> None:
    """API users and their tokens."""


@users.command("add")
@click.option("--username", required=True)
@click.option("--role", required=True, help="dealer, sales, credit_officer, credit_manager, credit_director, finance, "
                                            "post_loan_supervisor, finance_director, admin or auditor")
@click.option("--partner", "partner_code", help="The partner code of a dealer user.")
@fail_clearly
def users_add(username: str, role: str, partner_code: str | None) -> None:
    """Add a user and print their API token (shown once; only its hash is stored)."""
    from autofin.origination.users import add_user
    from autofin.store.engine import get_engine, write_transaction
    from autofin.store.migrate import require_current

    require_current(get_engine())
    with write_transaction(get_engine()) as conn:
        _, token = add_user(conn, username, role, partner_code)
    click.echo(token)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="Server processes (each with its own connections): one per core, "
              "on SQLite too (their writes queue on a file lock beside the store).")
@fail_clearly
def api(host: str, port: int, workers: int) -> None:
    """Serve the entry API (OpenAPI at /docs)."""
    from autofin.api.app import serve
    from autofin.store.engine import get_engine
    from autofin.store.migrate import require_current

    require_current(get_engine())
    serve(host, port, workers)


if __name__ == "__main__":
    main()
