"""The collections workbench (催收工作台): case queues and work, contacts, promises, agencies,
repossession and disposal, collection costs and write-off requests (which then go through
/post-lease-requests/{id}/decision like every post-lease request)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from fastapi.responses import Response

from autofin.api.deps import Caller, StoreDep, requires
from autofin.api.public import (
    AssignmentRunPublic,
    CaseContactedPublic,
    CaseDetailPublic,
    CasePublic,
    LitigationPublic,
    OutsourcingPublic,
    PostLeaseRequestPublic,
    PromisePublic,
    PublicRouter,
    RepossessionPublic,
    VisitPublic,
)
from autofin.api.schemas import (
    AgencyResultIn,
    AssignByRulesIn,
    AssignIn,
    CaseStatusIn,
    ContactIn,
    CostIn,
    HearingIn,
    JudgementIn,
    LawsuitCloseIn,
    LawsuitIn,
    Limit,
    Offset,
    OutsourceIn,
    PathId,
    PromiseIn,
    RecallIn,
    RepossessedIn,
    RepossessionOrderIn,
    SaleIn,
    ValuationIn,
    VisitIn,
    VisitReportIn,
    VisitReviewIn,
    WriteOffIn,
)
from autofin.domain.errors import InputError
from autofin.postlease import collections as svc
from autofin.postlease.notice_pdf import notice_facts, render
from autofin.reference import collection_setup
from autofin.servicing.collections import assign_by_rules

cases = PublicRouter(prefix="/collection-cases", tags=["collections"])
repossessions = PublicRouter(prefix="/repossessions", tags=["collections"])
lawsuits = PublicRouter(prefix="/litigation", tags=["collections"])
visits = PublicRouter(prefix="/visits", tags=["collections"])

Bucket = Annotated[str | None, Query(pattern="^(M1|M2|M3|M4\\+|current)$")]


@cases.get("")
def queue(s: StoreDep, who: Caller, status: Annotated[str, Query(pattern="^(open|closed)$")] = "open",
          stage: Annotated[str | None, Query(max_length=16)] = None, bucket: Bucket = None,
          group: Annotated[str | None, Query(max_length=24)] = None,
          assignee: Annotated[str | None, Query(max_length=64, description="me, none, or a username")] = None,
          limit: Limit = 100, offset: Offset = 0) -> list[CasePublic]:
    """Cases by status, stage, bucket, group and assignee, most days past due first, each with the
    contract's arrears and penalty, the last contact, an open promise, the agency and the vehicle."""
    with s.read() as conn:
        return [CasePublic.model_validate(c) for c in svc.queue(conn, who, status=status, stage=stage, bucket=bucket, group=group,
                                                                 assignee=assignee, limit=limit, offset=offset)]


@cases.post("/assignment", dependencies=[requires("collections.assign")])
def assign_by_rules_now(s: StoreDep, body: AssignByRulesIn, who: Caller) -> AssignmentRunPublic:
    """Batch assignment by the rules of assets/collections.yaml (the nightly cycle runs it for new cases)."""
    if not body.unassigned and not body.case_ids:
        raise InputError("unassigned", "say which cases: unassigned=true, or case_ids")
    with s.write() as conn:
        if body.case_ids:
            for case_id in body.case_ids:
                svc.get_case(conn, who, case_id)  # every id through the scope rule
        out = assign_by_rules(conn, s.today(), collection_setup(), s.clock(), body.case_ids or None)
    return AssignmentRunPublic.model_validate(out)


@cases.get("/{case_id}")
def get_case(s: StoreDep, case_id: PathId, who: Caller) -> CaseDetailPublic:
    with s.read() as conn:
        return CaseDetailPublic.model_validate(svc.view(conn, who, case_id))


@cases.get("/{case_id}/default-notice", response_class=Response, responses={200: {
    "description": "违约通知函 as PDF", "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
def default_notice(s: StoreDep, case_id: PathId, who: Caller) -> Response:
    """The default notice letter for the case's contract as of today."""
    with s.read() as conn:
        _, contract = svc.get_case(conn, who, case_id)
        facts = notice_facts(conn, contract.contract_id, s.today())
    return Response(render(facts), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{contract.contract_no}-notice.pdf"'})


@cases.post("/{case_id}/claim", dependencies=[requires("collections.work")])
def claim(s: StoreDep, case_id: PathId, who: Caller) -> CaseDetailPublic:
    with s.write() as conn:
        return CaseDetailPublic.model_validate(svc.claim(conn, who, case_id, s.clock()))


@cases.post("/{case_id}/release", dependencies=[requires("collections.work")])
def release(s: StoreDep, case_id: PathId, who: Caller) -> CaseDetailPublic:
    with s.write() as conn:
        return CaseDetailPublic.model_validate(svc.release(conn, who, case_id))


@cases.post("/{case_id}/assign", dependencies=[requires("collections.assign")])
def assign(s: StoreDep, case_id: PathId, body: AssignIn, who: Caller) -> CaseDetailPublic:
    with s.write() as conn:
        return CaseDetailPublic.model_validate(svc.assign(conn, who, case_id, body.username, body.group, s.clock()))


@cases.post("/{case_id}/status", dependencies=[requires("collections.work")])
def set_status(s: StoreDep, case_id: PathId, body: CaseStatusIn, who: Caller) -> CaseDetailPublic:
    with s.write() as conn:
        return CaseDetailPublic.model_validate(svc.set_status(conn, who, case_id, body.collection_status, body.category))


@cases.post("/{case_id}/contacts", status_code=201, dependencies=[requires("collections.work")])
def log_contact(s: StoreDep, case_id: PathId, body: ContactIn, who: Caller) -> CaseContactedPublic:
    with s.write() as conn:
        return CaseContactedPublic.model_validate(svc.log_contact(conn, who, case_id, kind=body.kind, outcome=body.outcome, party=body.party,
                                                                  note=body.note, today=s.today()))


@cases.post("/{case_id}/promises", status_code=201, dependencies=[requires("collections.work")])
def promise(s: StoreDep, case_id: PathId, body: PromiseIn, who: Caller) -> PromisePublic:
    """A promise to pay; the nightly cycle marks it kept once the customer has paid the amount, or broken after its date."""
    with s.write() as conn:
        return PromisePublic.model_validate(svc.promise(conn, who, case_id, amount=body.amount, promised_date=body.promised_date,
                                                        today=s.today()))


@cases.post("/{case_id}/outsourcing", status_code=201, dependencies=[requires("collections.assign")])
def outsource(s: StoreDep, case_id: PathId, body: OutsourceIn, who: Caller) -> OutsourcingPublic:
    """Send the case to a collection agency (委外) for a number of days; commission accrues nightly on what the contract pays."""
    with s.write() as conn:
        return OutsourcingPublic.model_validate(svc.outsource(conn, who, case_id, agency=body.agency, days=body.days,
                                                              commission_rate=body.commission_rate, today=s.today()))


@cases.post("/{case_id}/outsourcing/recall", dependencies=[requires("collections.assign")])
def recall(s: StoreDep, case_id: PathId, body: RecallIn, who: Caller) -> OutsourcingPublic:
    with s.write() as conn:
        return OutsourcingPublic.model_validate(svc.recall(conn, who, case_id, body.reason, s.today()))


@cases.post("/{case_id}/outsourcing/results", status_code=201, dependencies=[requires("collections.work")])
def agency_result(s: StoreDep, case_id: PathId, body: AgencyResultIn, who: Caller) -> CaseContactedPublic:
    """What the agency reported, logged on the case."""
    with s.write() as conn:
        return CaseContactedPublic.model_validate(svc.agency_result(conn, who, case_id, outcome=body.outcome, note=body.note, today=s.today()))


@cases.post("/{case_id}/repossessions", status_code=201, dependencies=[requires("collections.vehicle")])
def order_repossession(s: StoreDep, case_id: PathId, body: RepossessionOrderIn, who: Caller) -> RepossessionPublic:
    with s.write() as conn:
        return RepossessionPublic.model_validate(svc.order_repossession(conn, who, case_id, agent=body.agent, note=body.note, today=s.today()))


@cases.post("/{case_id}/costs", status_code=201, dependencies=[requires("collections.cost")])
def request_cost(s: StoreDep, case_id: PathId, body: CostIn, who: Caller) -> PostLeaseRequestPublic:
    """Ask for a collection cost (收车、拖车、停车、评估、诉讼、家访费用); it posts on the chain's last approval."""
    with s.write() as conn:
        return PostLeaseRequestPublic.model_validate(svc.request_cost(conn, who, case_id, category=body.category, amount=body.amount,
                                                                      payee=body.payee, reason=body.reason))


@cases.post("/{case_id}/write-off", status_code=201, dependencies=[requires("collections.write_off")])
def request_write_off(s: StoreDep, case_id: PathId, body: WriteOffIn, who: Caller) -> PostLeaseRequestPublic:
    """Ask to write the contract off (核销); two levels approve it, the last one posts it."""
    with s.write() as conn:
        return PostLeaseRequestPublic.model_validate(svc.request_write_off(conn, who, case_id, body.reason))


@repossessions.get("/{repossession_id}")
def get_repossession(s: StoreDep, repossession_id: PathId, who: Caller) -> RepossessionPublic:
    with s.read() as conn:
        return RepossessionPublic.model_validate(svc.repossession_view(svc.get_repossession(conn, who, repossession_id)[0]))


@repossessions.post("/{repossession_id}/repossessed", dependencies=[requires("collections.vehicle")])
def repossessed(s: StoreDep, repossession_id: PathId, body: RepossessedIn, who: Caller) -> RepossessionPublic:
    """The vehicle is taken (收车登记); it becomes repossessed."""
    with s.write() as conn:
        return RepossessionPublic.model_validate(svc.register_repossession(conn, who, repossession_id, repossessed_date=body.repossessed_date,
                                                                           storage_location=body.storage_location, today=s.today()))


@repossessions.post("/{repossession_id}/cancel", dependencies=[requires("collections.vehicle")])
def cancel(s: StoreDep, repossession_id: PathId, who: Caller) -> RepossessionPublic:
    with s.write() as conn:
        return RepossessionPublic.model_validate(svc.cancel_repossession(conn, who, repossession_id))


@repossessions.post("/{repossession_id}/release", dependencies=[requires("collections.vehicle")])
def release_vehicle(s: StoreDep, repossession_id: PathId, who: Caller) -> RepossessionPublic:
    """The vehicle goes back to the customer; leased again."""
    with s.write() as conn:
        return RepossessionPublic.model_validate(svc.release_vehicle(conn, who, repossession_id))


@repossessions.post("/{repossession_id}/valuation", dependencies=[requires("collections.vehicle")])
def valuation(s: StoreDep, repossession_id: PathId, body: ValuationIn, who: Caller) -> RepossessionPublic:
    with s.write() as conn:
        return RepossessionPublic.model_validate(svc.value_vehicle(conn, who, repossession_id, valuation=body.valuation, valuer=body.valuer,
                                                                   today=s.today()))


@repossessions.post("/{repossession_id}/sale", dependencies=[requires("collections.vehicle")])
def sale(s: StoreDep, repossession_id: PathId, body: SaleIn, who: Caller) -> RepossessionPublic:
    """The vehicle sold (处置): the proceeds recover the collection costs first; the rest is paid to the
    contract and applied by its waterfall tonight (a surplus is the customer's credit)."""
    with s.write() as conn:
        return RepossessionPublic.model_validate(svc.sell_vehicle(conn, who, repossession_id, price=body.price, buyer=body.buyer,
                                                                  today=s.today()))


@cases.post("/{case_id}/litigation", status_code=201, dependencies=[requires("collections.legal")])
def file_lawsuit(s: StoreDep, case_id: PathId, body: LawsuitIn, who: Caller) -> LitigationPublic:
    """A lawsuit filed (诉讼登记); its costs are asked for as collection costs of category legal."""
    with s.write() as conn:
        return LitigationPublic.model_validate(svc.file_lawsuit(conn, who, case_id, court=body.court, claim=body.claim, filed_date=body.filed_date,
                                                                court_case_no=body.court_case_no, today=s.today()))


@lawsuits.get("/{litigation_id}")
def get_lawsuit(s: StoreDep, litigation_id: PathId, who: Caller) -> LitigationPublic:
    with s.read() as conn:
        return LitigationPublic.model_validate(svc.litigation_view(svc.get_litigation(conn, who, litigation_id)[0]))


@lawsuits.post("/{litigation_id}/hearing", dependencies=[requires("collections.legal")])
def hearing(s: StoreDep, litigation_id: PathId, body: HearingIn, who: Caller) -> LitigationPublic:
    with s.write() as conn:
        return LitigationPublic.model_validate(svc.hearing(conn, who, litigation_id, hearing_date=body.hearing_date,
                                                           court_case_no=body.court_case_no))


@lawsuits.post("/{litigation_id}/judgement", dependencies=[requires("collections.legal")])
def judgement(s: StoreDep, litigation_id: PathId, body: JudgementIn, who: Caller) -> LitigationPublic:
    with s.write() as conn:
        return LitigationPublic.model_validate(svc.judgement(conn, who, litigation_id, judgement_date=body.judgement_date, awarded=body.awarded,
                                                             note=body.note, today=s.today()))


@lawsuits.post("/{litigation_id}/close", dependencies=[requires("collections.legal")])
def close_lawsuit(s: StoreDep, litigation_id: PathId, body: LawsuitCloseIn, who: Caller) -> LitigationPublic:
    """The lawsuit closed (诉讼结案) with its result; the case goes back to in-house collection."""
    with s.write() as conn:
        return LitigationPublic.model_validate(svc.close_lawsuit(conn, who, litigation_id, result=body.result, note=body.note, today=s.today()))


@cases.post("/{case_id}/visits", status_code=201, dependencies=[requires("collections.visit")])
def dispatch_visit(s: StoreDep, case_id: PathId, body: VisitIn, who: Caller) -> VisitPublic:
    """A home visit dispatched to a collector (家访派单)."""
    with s.write() as conn:
        return VisitPublic.model_validate(svc.dispatch_visit(conn, who, case_id, visitor=body.visitor, address_note=body.address_note,
                                                             today=s.today()))


@visits.get("/{visit_id}")
def get_visit(s: StoreDep, visit_id: PathId, who: Caller) -> VisitPublic:
    with s.read() as conn:
        svc.get_visit(conn, who, visit_id)
        return VisitPublic.model_validate(svc.visit_of(conn, visit_id))


@visits.post("/{visit_id}/report", dependencies=[requires("collections.work")])
def report_visit(s: StoreDep, visit_id: PathId, body: VisitReportIn, who: Caller) -> VisitPublic:
    """The visitor's report (家访登记), logged on the case as a visit contact."""
    with s.write() as conn:
        return VisitPublic.model_validate(svc.report_visit(conn, who, visit_id, outcome=body.outcome, findings=body.findings, today=s.today()))


@visits.post("/{visit_id}/review", dependencies=[requires("collections.visit")])
def review_visit(s: StoreDep, visit_id: PathId, body: VisitReviewIn, who: Caller) -> VisitPublic:
    """A supervisor's review (家访审核): approve, or return the report to the visitor."""
    with s.write() as conn:
        return VisitPublic.model_validate(svc.review_visit(conn, who, visit_id, decision=body.decision, comment=body.comment, today=s.today()))
