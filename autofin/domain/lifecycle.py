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

# 车辆库存
VEHICLE = Lifecycle(
    "vehicle",
    {
        "purchase_in_transit": ("in_stock", "abnormal"),
        "in_stock": ("reserved", "transfer_in_transit", "abnormal", "leased", "disposed"),
        "transfer_in_transit": ("in_stock", "abnormal"),
        "reserved": ("in_stock", "leased", "abnormal"),
        "abnormal": ("in_stock", "disposed"),
        "leased": ("repossessed", "in_stock"),
        "repossessed": ("in_stock", "disposed"),
        "disposed": (),
    },
)

# 进件: a draft is edited and submitted; pre-approval answers pre_approved, referred or rejected at once
# (submitted is the status while it runs, inside the same transaction); the tiered approval takes it on.
APPLICATION = Lifecycle(
    "application",
    {
        "draft": ("submitted", "cancelled"),
        "submitted": ("pre_approved", "referred", "rejected"),
        "pre_approved": ("in_approval", "cancelled"),
        "referred": ("in_approval", "cancelled"),
        "in_approval": ("approved", "rejected", "draft", "cancelled"),
        "approved": ("contracted", "cancelled"),
        "rejected": (),
        "contracted": (),
        "cancelled": (),
    },
)

# statuses whose financed amount counts against the partner's limit before a contract exists
APPLICATION_IN_FLIGHT = ("pre_approved", "referred", "in_approval", "approved")
# contract statuses that are live exposure
CONTRACT_LIVE = ("pending_signature", "signed", "active")
