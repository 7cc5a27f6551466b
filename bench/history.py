"""A book lived through many months, night after night, to show a day's cost does not grow with history.

`python -m bench.history --contracts N --months M --out FILE` (run by `make bench` in its own
process, against the store its environment names): seeds a book as of AS_OF, then runs every
business date for M months with the simulated banks answering each night, in one process, and
writes each date's seconds and work (instalments billed, debits, receipts, penalty contracts) to
FILE as JSON. The bench compares the weekdays of the first month with those of the last.
The dates are fixed: the holiday calendar (assets/calendars/cn.yaml) covers 2023–2027, and the
book's 36 months of history before AS_OF fall due from 2023.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import date, timedelta

AS_OF = date(2025, 12, 20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contracts", type=int, required=True)
    parser.add_argument("--months", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    from autofin.bankfiles.simulator import simulate
    from autofin.demo.book import seed_book
    from autofin.reference import load_products
    from autofin.servicing.context import default_context
    from autofin.servicing.cycle import run_day
    from autofin.store.engine import get_engine
    from autofin.store.migrate import upgrade
    from autofin.store.products import sync_products

    engine = get_engine()
    upgrade(engine)
    with engine.begin() as conn:
        sync_products(conn, load_products())
    seed_book(engine, contracts=args.contracts, as_of=AS_OF, show_progress=False)
    ctx = default_context()
    last = AS_OF.replace(year=AS_OF.year + (AS_OF.month - 1 + args.months) // 12, month=(AS_OF.month - 1 + args.months) % 12 + 1)
    days = []
    d = AS_OF + timedelta(days=1)
    while d <= last:
        os.environ["AUTOFIN_SIMULATED_TODAY"] = (d + timedelta(days=1)).isoformat()  # each night run on time, the morning after
        started = time.perf_counter()
        results = {r.step: r.counts for r in run_day(engine, d, ctx)}
        seconds = time.perf_counter() - started
        for code, profile in sorted(ctx.banks.items()):
            simulate(profile, ctx.bank_folder("remote", code), d)
        days.append({
            "date": d.isoformat(), "weekday": d.weekday(), "seconds": round(seconds, 3),
            "billed": results["billing"].get("instalments_billed", 0), "debits": results["debit_orders"].get("orders", 0),
            "receipts": results["allocation"].get("receipts", 0), "penalty_contracts": results["penalties"].get("contracts", 0),
            "contracts_checked": results["day_close"].get("contracts_checked", 0),
        })
        d += timedelta(days=1)
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(days, fh)


def month_summary(days: list[dict], first: bool) -> dict:
    """The weekdays (Monday to Friday, bank days or not) of the first or the last 30 days: mean seconds and work."""
    window = days[:30] if first else days[-30:]
    weekdays = [x for x in window if x["weekday"] < 5]
    n = len(weekdays) or 1
    return {
        "from": window[0]["date"], "to": window[-1]["date"], "days": len(weekdays),
        "seconds": sum(x["seconds"] for x in weekdays) / n,
        **{k: sum(x[k] for x in weekdays) / n for k in ("billed", "debits", "receipts", "penalty_contracts", "contracts_checked")},
    }


if __name__ == "__main__":
    main()
