"""Reconciliation breaks resolved by finance, and the unidentified receipts (待查明款项): money in the
bank that matches no contract, held on 2241.02 until it is matched to one."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from autofin.api.deps import Caller, StoreDep, requires
from autofin.api.public import BreakPublic, PublicRouter, UnidentifiedPublic
from autofin.api.schemas import BreakResolveIn, BreakToSuspenseIn, Limit, MatchIn, Offset, PathId, UnidentifiedIn
from autofin.postlease import suspense as svc

breaks = PublicRouter(prefix="/reconciliation-breaks", tags=["reconciliation"])
unidentified = PublicRouter(prefix="/unidentified-receipts", tags=["reconciliation"])


@breaks.get("", dependencies=[requires("reconciliation.resolve")])
def list_breaks(s: StoreDep, who: Caller, status: Annotated[str, Query(pattern="^(open|resolved)$")] = "open", limit: Limit = 100,
                offset: Offset = 0) -> list[BreakPublic]:
    with s.read() as conn:
        return [BreakPublic.model_validate(b) for b in svc.list_breaks(conn, status, limit, offset)]


@breaks.post("/{break_id}/resolve", dependencies=[requires("reconciliation.resolve")])
def resolve(s: StoreDep, break_id: PathId, body: BreakResolveIn, who: Caller) -> BreakPublic:
    """A break resolved with its reason (audited)."""
    with s.write() as conn:
        return BreakPublic.model_validate(svc.resolve_break(conn, who, break_id, body.reason, s.clock()))


@breaks.post("/{break_id}/unidentified", status_code=201, dependencies=[requires("reconciliation.resolve")])
def to_unidentified(s: StoreDep, break_id: PathId, body: BreakToSuspenseIn, who: Caller) -> UnidentifiedPublic:
    """An unmatched credit on a statement booked to the unidentified receipts (1002 against 2241.02); the break resolved."""
    with s.write() as conn:
        return UnidentifiedPublic.model_validate(svc.book_break(conn, who, break_id, payer_name=body.payer_name, note=body.note, now=s.clock(),
                                                                today=s.today()))


@unidentified.get("", dependencies=[requires("reconciliation.resolve")])
def list_unidentified(s: StoreDep, who: Caller, status: Annotated[str, Query(pattern="^(open|matched)$")] = "open", limit: Limit = 100,
                      offset: Offset = 0) -> list[UnidentifiedPublic]:
    with s.read() as conn:
        return [UnidentifiedPublic.model_validate(u) for u in svc.list_unidentified(conn, status, limit, offset)]


@unidentified.post("", status_code=201, dependencies=[requires("reconciliation.resolve")])
def enter(s: StoreDep, body: UnidentifiedIn, who: Caller) -> UnidentifiedPublic:
    """Money known to be in the bank that matches no contract."""
    with s.write() as conn:
        return UnidentifiedPublic.model_validate(svc.enter_unidentified(conn, who, bank_code=body.bank_code, reference=body.reference,
                                                                        amount=body.amount, value_date=body.value_date,
                                                                        payer_name=body.payer_name, note=body.note, today=s.today()))


@unidentified.post("/{unidentified_id}/match", dependencies=[requires("reconciliation.resolve")])
def match(s: StoreDep, unidentified_id: PathId, body: MatchIn, who: Caller) -> UnidentifiedPublic:
    """Matched to a contract (认领): a receipt that tonight's allocation applies by the contract's waterfall."""
    with s.write() as conn:
        return UnidentifiedPublic.model_validate(svc.match(conn, who, unidentified_id, body.contract_no, body.reason, s.today()))
