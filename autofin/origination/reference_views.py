"""The reference data the entry API shows, as plain data: products (their latest versions),
vehicle models, the pre-approval rule set and the approval matrix."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from autofin import reference
from autofin.domain.money import format_minor
from autofin.store.products import current_versions


def products(conn: Connection) -> list[dict[str, Any]]:
    return [{"product_code": code, "product_version_id": vid, **terms.to_dict()} for code, (vid, terms) in sorted(current_versions(conn).items())]


def vehicle_models() -> list[dict[str, Any]]:
    return [{**m, "price_min": str(m["price_min"]), "price_max": str(m["price_max"])} for m in reference.vehicle_models().values()]


def rules() -> dict[str, Any]:
    rs = reference.rule_set()
    return {"rule_set": rs.name, "version": rs.label, "grades": [{"grade": g, "min": m} for g, m in rs.grades],
            "rules": [{"id": r.rule_id, "outcome": r.outcome, "reason": r.reason, "when": r.when, "description": r.description}
                      for r in rs.rules]}


def approval_matrix() -> dict[str, Any]:
    m = reference.approval_matrix()
    return {"version": m.version, "lock_minutes": m.lock_minutes,
            "routes": [{"when": {k: (str(v) if k == "financed_from" else list(v)) for k, v in r.when.items()}, "tiers": list(r.tiers)}
                       for r in m.routes],
            "reject_reasons": dict(m.reject_reasons), "post_lease": {k: list(v) for k, v in m.post_lease.items()},
            "waiver": [{"up_to": None if up_to is None else format_minor(up_to), "chain": list(chain)} for up_to, chain in m.waiver_tiers]}


def collections() -> dict[str, Any]:
    from autofin.domain.collections import as_decimal_rate
    from autofin.reference import collection_setup

    c = collection_setup()
    return {
        "version": c.version, "stages": dict(c.stages), "statuses": dict(c.statuses), "categories": dict(c.categories),
        "contact_kinds": list(c.contact_kinds), "outcomes": dict(c.outcomes),
        "groups": {code: {"name": c.group_names[code], "members": list(members)} for code, members in c.groups.items()},
        "assignment": [{"when": {k: (format_minor(v) if k == "arrears_from" else list(v)) for k, v in r.when.items()}, "group": r.group}
                       for r in c.assignment],
        "agencies": {a.code: {"name": a.name, "commission_rate": str(as_decimal_rate(a.commission_rate_ppm)), "max_days": a.max_days}
                     for a in c.agencies.values()},
        "repossession_agents": dict(c.repossession_agents), "cost_categories": dict(c.cost_categories),
        "reminders": [{"code": r.code, "when": r.when, "days": r.days, "channel": r.channel, "text": r.text} for r in c.reminders],
        "provisioning": {b: str(as_decimal_rate(p)) for b, p in c.provisioning_ppm.items()},
    }
