"""Business reference data from assets/: products, calendar, chart of accounts, voucher templates.

The YAML files are versioned with the code; this module is the one place that reads them and
turns them into validated domain objects.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import IO, Any

import yaml

from autofin.domain.calendar import BusinessCalendar
from autofin.domain.ledger import Account, Template, parse_chart, parse_templates
from autofin.domain.products import ProductTerms
from autofin.settings import assets_dir

# libyaml's safe loader, which PyYAML's wheels are built with: every process reads the reference
# files, which took the pure-Python loader 0.04–0.05 s of each night's start (libyaml: 0.01 s)
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(source: str | bytes | IO[str]) -> Any:
    """YAML read as plain data (no tags that build objects), the one way the code reads it."""
    return yaml.load(source, Loader=_SAFE_LOADER)


def read_yaml(path: Path) -> Any:
    with open(path, encoding="utf-8") as fh:
        return parse_yaml(fh)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def parse_calendar(raw: dict) -> BusinessCalendar:
    holidays: set[date] = set()
    working: set[date] = set()
    for spec in raw["years"].values():
        for first, last in spec.get("holidays", []):
            day, last = _as_date(first), _as_date(last)
            while day <= last:
                holidays.add(day)
                day += timedelta(days=1)
        working.update(_as_date(d) for d in spec.get("working_days", []))
    return BusinessCalendar(str(raw["name"]), frozenset(int(y) for y in raw["years"]), frozenset(holidays), frozenset(working))


@cache
def calendar(name: str = "cn") -> BusinessCalendar:
    return parse_calendar(read_yaml(assets_dir() / "calendars" / f"{name}.yaml"))


def load_products(path: Path | None = None) -> dict[str, ProductTerms]:
    raw = read_yaml(path or assets_dir() / "products.yaml")
    products: dict[str, ProductTerms] = {}
    for item in raw["products"]:
        product = ProductTerms.from_dict(item)
        if product.code in products:
            raise ValueError(f"product {product.code} appears twice in products.yaml")
        products[product.code] = product
    return products


@cache
def chart_of_accounts() -> dict[str, Account]:
    return parse_chart(read_yaml(assets_dir() / "accounting" / "chart_of_accounts.yaml")["accounts"])


@cache
def voucher_templates() -> dict[str, Template]:
    return parse_templates(read_yaml(assets_dir() / "accounting" / "templates.yaml")["templates"], chart_of_accounts())


def bank_profiles() -> dict:
    """code → BankProfile, from assets/banks/*.yaml."""
    from autofin.bankfiles.profiles import load_profiles

    return load_profiles(assets_dir() / "banks")


_reloaded: dict[str, tuple[tuple[int, int], Any]] = {}


def _reloading(path: Path, parse: Callable[[bytes], Any]) -> Any:
    """`parse` of the file's bytes, re-read when the file changes (no restart needed)."""
    stat = path.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _reloaded.get(str(path))
    if cached is None or cached[0] != stamp:
        cached = (stamp, parse(path.read_bytes()))
        _reloaded[str(path)] = cached
    return cached[1]


def rule_set(name: str = "pre_approval") -> Any:
    """The rule set assets/rules/<name>.yaml; the next submission after an edit uses the edited rules."""
    from autofin.domain.rules import parse_rule_set

    return _reloading(assets_dir() / "rules" / f"{name}.yaml", lambda text: parse_rule_set(parse_yaml(text), text))


def approval_matrix() -> Any:
    """assets/rules/approval_matrix.yaml: credit tiers by amount, grade and business type; post-lease chains."""
    from autofin.domain.approval import parse_matrix

    return _reloading(assets_dir() / "rules" / "approval_matrix.yaml", lambda text: parse_matrix(parse_yaml(text)))


def payee_setup() -> Any:
    """assets/payees.yaml: who is paid which financed item, and their accounts (domain.payouts)."""
    from autofin.domain.payouts import parse_payees

    return _reloading(assets_dir() / "payees.yaml", lambda text: parse_payees(parse_yaml(text)))


def collection_setup() -> Any:
    """assets/collections.yaml: stages, statuses, categories, outcomes, groups, assignment rules, agencies,
    reminders and provisioning rates (贷后参数配置), re-read when the file changes."""
    from autofin.domain.collections import parse_collections

    return _reloading(assets_dir() / "collections.yaml", lambda text: parse_collections(parse_yaml(text)))


@cache
def report_labels() -> dict[str, Any]:
    """assets/reports/labels.yaml: the Excel pack's sheet titles and column labels, English and Chinese."""
    return dict(read_yaml(assets_dir() / "reports" / "labels.yaml"))


def vehicle_models() -> dict[str, dict]:
    """model_code → {brand, name, wmi, price_min, price_max (Decimal)} from assets/vehicle_models.yaml, parsed
    again only when the file changes (every submit reads it: parsing the YAML each time was a fifth of a submit)."""
    from autofin.domain.money import D

    def parse(text: bytes) -> dict[str, dict]:
        return {m["model_code"]: {**m, "price_min": D(str(m["price_min"])), "price_max": D(str(m["price_max"]))}
                for m in parse_yaml(text)["models"]}

    return dict(_reloading(assets_dir() / "vehicle_models.yaml", parse))
