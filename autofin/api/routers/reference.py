"""Read-only reference data: products (latest versions), vehicle models, the rule set, the approval matrix, quotes."""

from __future__ import annotations

from autofin.api.deps import Caller, StoreDep, requires
from autofin.api.public import ApprovalMatrixPublic, CollectionSetupPublic, PlanPublic, ProductPublic, PublicRouter, RuleSetPublic, VehicleModelPublic
from autofin.api.schemas import QuoteIn
from autofin.api.warm import reads_only
from autofin.origination import applications as svc
from autofin.origination import reference_views as views

router = PublicRouter(tags=["reference"])


@router.get("/products")
def products(s: StoreDep, who: Caller) -> list[ProductPublic]:
    with s.read() as conn:
        return [ProductPublic.model_validate(p) for p in views.products(conn)]


@router.get("/reference/vehicle-models")
def models(who: Caller) -> list[VehicleModelPublic]:
    return [VehicleModelPublic.model_validate(m) for m in views.vehicle_models()]


@router.get("/reference/rules")
def rules(who: Caller) -> RuleSetPublic:
    return RuleSetPublic.model_validate(views.rules())


@router.get("/reference/approval-matrix")
def matrix(who: Caller) -> ApprovalMatrixPublic:
    """Which tiers review an application, the rejection reason codes, the post-lease approval chains."""
    return ApprovalMatrixPublic.model_validate(views.approval_matrix())


@router.get("/reference/collections")
def collections(who: Caller) -> CollectionSetupPublic:
    """贷后参数配置: stages, working statuses, categories, outcome codes, groups and members, assignment rules,
    agencies, repossession agents, cost categories, reminders and provisioning rates (assets/collections.yaml)."""
    return CollectionSetupPublic.model_validate(views.collections())


@router.post("/quotes", tags=["quotes"], dependencies=[requires("quotes.compute")])
@reads_only
def quotes(s: StoreDep, body: QuoteIn, who: Caller) -> PlanPublic:
    """The financing plan an application with these figures would get, without saving anything."""
    with s.read() as conn:
        _, product = svc.product_version(conn, body.product_code)
    return PlanPublic.model_validate(svc.plan_view(product, svc.quote(product, body.to_request(), today=s.today())))
