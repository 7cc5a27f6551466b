"""Anti-fraud checks on an application, feeding the pre-approval rules as the `fraud` facts.

Store-based checks (the store is the truth for these): the customer and partner blacklists, the
same VIN on another live contract or open application, many applications from one id or one
mobile number in 30 days, an invoice price far from the model's reference price, and a dealer
whose pre-approval reject rate over 30 days is unusual. The external industry watchlist sits
behind `Watchlist`; `SimulatedWatchlist` lists resident ids whose sequence code (characters
15–17) is 950–959.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import Connection, and_, case, func, select

from autofin.domain.lifecycle import APPLICATION_IN_FLIGHT, CONTRACT_LIVE
from autofin.domain.money import from_minor
from autofin.origination.bureau import sequence_code
from autofin.store.models import Application, Contract, Customer, Decision

WINDOW_DAYS = 30


class Watchlist(Protocol):
    def listed(self, kind: str, id_number: str) -> bool: ...


class SimulatedWatchlist:
    def listed(self, kind: str, id_number: str) -> bool:
        seq = sequence_code(id_number)
        return seq is not None and 950 <= seq <= 959


def fraud_facts(conn: Connection, app: Any, customer: Any, partner: Any, vehicle: Any,
                reference: tuple[Decimal, Decimal] | None, now: datetime, watchlist: Watchlist) -> dict[str, Any]:
    since = now - timedelta(days=WINDOW_DAYS)
    vin_live = vin_open = False
    if vehicle is not None:
        vin_live = conn.execute(
            select(func.count()).select_from(Contract).where(Contract.vehicle_id == vehicle.vehicle_id, Contract.status.in_(CONTRACT_LIVE))
        ).scalar_one() > 0
        vin_open = conn.execute(
            select(func.count()).select_from(Application).where(
                Application.vehicle_id == vehicle.vehicle_id, Application.application_id != app.application_id,
                Application.status.in_(("submitted", *APPLICATION_IN_FLIGHT)))
        ).scalar_one() > 0
    same_id = conn.execute(
        select(func.count()).select_from(Application).where(Application.customer_id == customer.customer_id, Application.created_at >= since)
    ).scalar_one()
    same_mobile = 0
    if customer.mobile:
        same_mobile = conn.execute(
            select(func.count()).select_from(Application).join(Customer, Customer.customer_id == Application.customer_id)
            .where(Customer.mobile == customer.mobile, Application.created_at >= since)
        ).scalar_one()
    deviation = None
    if reference is not None:
        midpoint = (reference[0] + reference[1]) / 2
        deviation = abs(from_minor(app.price_minor) - midpoint) / midpoint
    decided = conn.execute(
        select(func.count(), func.coalesce(func.sum(case((Decision.outcome == "reject", 1), else_=0)), 0))
        .select_from(Decision).join(Application, Application.application_id == Decision.application_id)
        .where(and_(Application.partner_id == partner.partner_id, Decision.kind == "pre_approval", Decision.decided_at >= since))
    ).one()
    total, rejects = int(decided[0]), int(decided[1])
    return {
        "customer_blacklisted": bool(customer.is_blacklisted),
        "partner_blacklisted": bool(partner.is_blacklisted),
        "watchlist_hit": watchlist.listed(customer.kind, customer.id_number),
        "vin_on_live_contract": vin_live,
        "vin_in_open_application": vin_open,
        "applications_same_id_30d": int(same_id),
        "applications_same_mobile_30d": int(same_mobile),
        "invoice_deviation": None if deviation is None else deviation.quantize(Decimal("0.0001")),
        "dealer_decisions_30d": total,
        "dealer_reject_rate_30d": (Decimal(rejects) / total).quantize(Decimal("0.0001")) if total else Decimal(0),
    }
