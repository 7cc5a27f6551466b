"""Roles, what each may do, and the caller's data scope.

Every write the API offers names one action here; a role outside the action's set gets 403.
Reads are open to every role, dealers only within their own partner: `scope` is the one rule, as a
condition every read and every id a request names goes through. The auditor reads everything and
writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select, true, union_all
from sqlalchemy.orm import aliased

from autofin.domain.approval import CREDIT_TIERS
from autofin.store.models import Application, Contract, Customer, Partner, Vehicle

ROLES = (
    "dealer", "sales", "credit_officer", "credit_manager", "credit_director", "finance",
    "post_loan_supervisor", "collector", "finance_director", "admin", "auditor",
)

ACTIONS: dict[str, frozenset[str]] = {
    "users.manage": frozenset({"admin"}),
    "partners.create": frozenset({"admin", "sales"}),
    "partners.review": frozenset({"credit_manager", "credit_director", "admin"}),
    "partners.rate": frozenset({"credit_manager", "credit_director"}),
    "partners.limit": frozenset({"credit_manager", "credit_director"}),
    "partners.status": frozenset({"credit_manager", "credit_director", "admin"}),
    "partners.account": frozenset({"finance", "admin"}),
    "partners.blacklist": frozenset({"credit_director", "admin"}),
    # the batch route; each column of a row then needs the action of its single route (partners.BATCH_AUTHORITY)
    "partners.batch": frozenset({"credit_manager", "credit_director", "finance", "admin"}),
    "customers.write": frozenset({"dealer", "sales"}),
    "customers.blacklist": frozenset({"credit_manager", "credit_director", "admin"}),
    # customer service (客户信息变更): contact details, and a new direct-debit mandate signed by the customer
    "customers.service": frozenset({"finance", "post_loan_supervisor"}),
    "vehicles.write": frozenset({"dealer", "sales"}),
    "vehicles.status": frozenset({"dealer", "sales", "post_loan_supervisor", "admin"}),
    "applications.write": frozenset({"dealer", "sales"}),
    "quotes.compute": frozenset(ROLES) - {"auditor"},
    # tiered approval: a task of a tier is handled by that tier or a higher one (approval.py)
    "approval.decide": frozenset(CREDIT_TIERS),
    "contracts.sign": frozenset({"dealer", "sales"}),
    "contracts.conditions": frozenset({"dealer", "sales", "post_loan_supervisor"}),
    "contracts.cancel": frozenset({"credit_manager", "credit_director"}),  # before payout only (contracts.cancel)
    "disbursements.request": frozenset({"dealer", "sales"}),
    "disbursements.review": frozenset({"finance", "finance_director"}),
    "disbursements.fraud": frozenset({"finance", "finance_director", "credit_manager", "credit_director"}),
    "disbursements.result": frozenset({"finance"}),
    "payouts.retry": frozenset({"finance", "finance_director"}),
    "title_transfers.complete": frozenset({"finance", "post_loan_supervisor"}),
    "payments.write": frozenset({"finance"}),
    "reconciliation.resolve": frozenset({"finance", "finance_director"}),  # breaks resolved, unidentified money booked and matched
    "settlements.execute": frozenset({"finance"}),
    "post_lease.money": frozenset({"finance"}),  # ask for a reversal or a refund
    "post_lease.extension": frozenset({"dealer", "sales", "finance"}),
    "post_lease.waiver": frozenset({"finance", "post_loan_supervisor", "collector"}),  # ask for a waiver (减免)
    # collections (催收): collectors work the cases of their group (claim, contacts, promises, status);
    # supervisors also assign, send to agencies, order repossessions and sell the vehicles
    "collections.work": frozenset({"collector", "post_loan_supervisor"}),
    "collections.assign": frozenset({"post_loan_supervisor"}),
    "collections.vehicle": frozenset({"post_loan_supervisor"}),
    "collections.legal": frozenset({"post_loan_supervisor"}),  # file, record hearings and judgements, close
    "collections.visit": frozenset({"post_loan_supervisor"}),  # dispatch and review home visits (collectors report them: collections.work)
    "collections.cost": frozenset({"collector", "post_loan_supervisor"}),  # ask for a collection cost
    "collections.write_off": frozenset({"post_loan_supervisor", "finance"}),  # ask for a write-off
    # each level of a post-lease chain names its role (assets/rules/approval_matrix.yaml)
    "post_lease.decide": frozenset({"post_loan_supervisor", "finance_director", "credit_manager", "credit_director"}),
}


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    role: str
    partner_id: int | None
    partner_code: str | None = None
    partner_blacklisted: bool = False

    @property
    def partner_scope(self) -> int | None:
        """The only partner a dealer may see and act for; None means every partner."""
        return self.partner_id if self.role == "dealer" else None

    def refusal(self, action: str) -> str | None:
        """Why this caller may not do `action`, or None when they may."""
        if self.role not in ACTIONS[action]:
            return f"role {self.role} may not {action.replace('.', ' ')}"
        if self.role == "dealer" and self.partner_blacklisted:  # a blacklisted partner's users keep read access only
            return f"partner {self.partner_code} is blacklisted; its users may only read"
        return None


def scope(who: Principal, entity: type) -> ColumnElement[bool]:
    """The rows of `entity` the caller may see, as a condition for its query. A dealer sees its own
    partner, the applications, contracts and vehicles of its partner, and the customers it brought
    in or applied for; a row that belongs to a contract (disbursement, receipt, post-lease request)
    is seen through its contract (`contracts.of_contract`). Every other role sees every row. What
    is out of scope is answered exactly as what does not exist (404, or 422 for an id in a body)."""
    partner_id = who.partner_scope
    if partner_id is None:
        return true()
    if entity is Customer:
        # the dealer's customers as one list, each then found by its key: as `partner_id = ? OR EXISTS (an
        # application of the dealer's)`, SQLite read every customer and the dealer's applications again
        # for each (a dealer's page of customers at 1M: 24 s)
        brought_in = aliased(Customer)
        return Customer.customer_id.in_(union_all(select(Application.customer_id).where(Application.partner_id == partner_id),
                                                  select(brought_in.customer_id).where(brought_in.partner_id == partner_id)))
    columns: dict[type, Any] = {Partner: Partner.partner_id, Application: Application.partner_id, Contract: Contract.partner_id, Vehicle: Vehicle.partner_id}
    return columns[entity] == partner_id
