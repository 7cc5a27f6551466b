"""Read-only reference data: products (latest versions), vehicle models, the rule set, the approval matrix, quotes."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from autofin.api.deps import allowed, principal, store
from autofin.api.schemas import QuoteIn
from autofin.domain.errors import InputError
from autofin.domain.quotes import plan_as_dict
from autofin.origination.access import Principal
from autofin.origination.applications import product_version, quote
from autofin.reference import approval_matrix, rule_set, vehicle_models
from autofin.store.products import current_versions

router = APIRouter(tags=["reference"])


@router.get("/products")
def products(request: Request, who: Principal = Depends(principal)) -> list[dict]:
    with store(request).read() as conn:
        versions = current_versions(conn)
    return [{"product_code": code, "product_version_id": vid, **terms.to_dict()} for code, (vid, terms) in sorted(versions.items())]


@router.get("/reference/vehicle-models")
def models(who: Principal = Depends(principal)) -> list[dict]:
    return [{**m, "price_min": str(m["price_min"]), "price_max": str(m["price_max"])} for m in vehicle_models().values()]


@router.get("/reference/rules")
def rules(who: Principal = Depends(principal)) -> dict:
    rs = rule_set()
    return {"rule_set": rs.name, "version": rs.label, "grades": [{"grade": g, "min": m} for g, m in rs.grades],
            "rules": [{"id": r.rule_id, "outcome": r.outcome, "reason": r.reason, "when": r.when, "description": r.description}
                      for r in rs.rules]}


@router.get("/reference/approval-matrix")
def matrix(who: Principal = Depends(principal)) -> dict:
    """Which tiers review an application, the rejection reason codes, the post-lease approval chains."""
    m = approval_matrix()
    return {"version": m.version, "lock_minutes": m.lock_minutes,
            "routes": [{"when": {k: (str(v) if k == "financed_from" else list(v)) for k, v in r.when.items()}, "tiers": list(r.tiers)}
                       for r in m.routes],
            "reject_reasons": dict(m.reject_reasons), "post_lease": {k: list(v) for k, v in m.post_lease.items()}}


@router.post("/quotes", tags=["quotes"])
def quotes(request: Request, body: QuoteIn, who: Principal = Depends(allowed("quotes.compute"))) -> dict:
    """The financing plan an application with these figures would get, without saving anything."""
    s = store(request)
    if body.price is None:
        raise InputError("price", "required for a quote")
    with s.read() as conn:
        _, product = product_version(conn, body.product_code)
    plan = quote(product, body.model_dump(), s.today())
    return {**plan_as_dict(plan), "product_code": product.code}
