"""The lifecycles of the things the entry API moves: which status may follow which.

One table per lifecycle; `Lifecycle.check` raises TransitionError naming the current status
and what it may become, which the API answers as 409.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from autofin.domain.errors import TransitionError


@dataclass(frozen=True)
class Lifecycle:
    entity: str
    moves: Mapping[str, tuple[str, ...]]

    @property
    def statuses(self) -> tuple[str, ...]:
        return tuple(self.moves)

    def allowed(self, current: str) -> tuple[str, ...]:
        return self.moves.get(current, ())

    def check(self, current: str, target: str) -> None:
        if target not in self.moves:
            raise ValueError(f"{self.entity}: unknown status {target!r}")
        if target not in self.allowed(current):
            raise TransitionError(self.entity, current, target, self.allowed(current))


# 合作商: information entry (pending) → review → active; suspended and resumed; exit requested → exit review → exited.
PARTNER = Lifecycle(
    "partner",
    {
        "pending": ("active", "exited"),
        "active": ("suspended", "exiting"),
        "suspended": ("active", "exiting"),
        "exiting": ("exited", "active"),
        "exited": (),
    },
)

# 车辆库存: reserved and leased follow the vehicle's contract (origination.parties.move_vehicle keeps
# a status set by hand from contradicting it)
VEHICLE = Lifecycle(
    "vehicle",
    {
        "purchase_in_transit": ("in_stock", "abnormal"),
        "in_stock": ("reserved", "transfer_in_transit", "abnormal", "leased", "disposed"),
        "transfer_in_transit": ("in_stock", "abnormal"),
        "reserved": ("in_stock", "leased", "abnormal"),
        # back from abnormal or a repossession to what the vehicle's contract says (a wrong change undone)
        "abnormal": ("in_stock", "disposed", "reserved", "leased"),
        "leased": ("repossessed", "in_stock", "abnormal", "transferred"),  # transferred: bought out, the title is the lessee's (过户)
        "repossessed": ("in_stock", "disposed", "leased"),
        "disposed": (),
        "transferred": (),
    },
)

# 进件: a draft is edited and submitted; pre-approval answers pre_approved, referred or rejected at once
# (submitted is the status while it runs, inside the same transaction) and opens the first tier's
# approval task. The first approval moves it to in_approval (more tiers to go) or approved (the
# last tier), which creates the contract (contracted) in the same transaction; a rejection ends it;
# a return for more information sends it back to draft, to be edited and submitted again.
APPLICATION = Lifecycle(
    "application",
    {
        "draft": ("submitted", "cancelled"),
        "submitted": ("pre_approved", "referred", "rejected"),
        "pre_approved": ("in_approval", "approved", "rejected", "draft", "cancelled"),
        "referred": ("in_approval", "approved", "rejected", "draft", "cancelled"),
        "in_approval": ("approved", "rejected", "draft", "cancelled"),
        "approved": ("contracted",),
        "rejected": (),
        "contracted": (),
        "cancelled": (),
    },
)

# 合同: signed, then active once the financed amount is paid to the dealer; closed by the nightly
# allocation (paid_off), by an early settlement, by termination or a write-off. A reversal of the
# receipt that paid it off may reopen a paid-off contract.
CONTRACT = Lifecycle(
    "contract",
    {
        "pending_signature": ("signed", "terminated"),
        "signed": ("active", "terminated"),
        "active": ("settled_early", "paid_off", "terminated", "written_off"),
        "paid_off": ("active",),
        "settled_early": (),
        "terminated": (),
        "written_off": (),
    },
)

# 放款: requested after signing; a reviewer claims it (in_review) or lets it go; approved, sent to the
# bank, then paid or failed (a failed payment may be sent again). Suspected fraud blocks it for good.
DISBURSEMENT = Lifecycle(
    "disbursement",
    {
        "requested": ("in_review", "approved", "blocked"),
        "in_review": ("requested", "approved", "blocked"),
        "approved": ("sent", "paid", "blocked"),  # paid: by hand (online banking), none of it in a file
        "sent": ("paid", "failed"),
        "failed": ("approved", "paid", "blocked"),  # approved: its failed payouts queued again
        "paid": (),
        "blocked": (),
    },
)

# statuses whose financed amount counts against the partner's limit before a contract exists
APPLICATION_IN_FLIGHT = ("pre_approved", "referred", "in_approval", "approved")
# contracts approved but not yet paid out (committed), and paid out and running (disbursed)
CONTRACT_COMMITTED = ("pending_signature", "signed")
CONTRACT_LIVE = ("pending_signature", "signed", "active")
