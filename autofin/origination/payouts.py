"""Paying the financed amount to the dealer (放款): the payment interface and a local simulator.

`send` hands one payment to the bank and returns the bank's reference; the bank's answer (paid
or failed) comes back later and is recorded through the API. Production wires the bank's
corporate payment channel behind the same interface.
"""

from __future__ import annotations

from typing import Any, Protocol


class PaymentUnavailable(Exception):
    """The bank channel did not take the payment; nothing was sent and it can be sent again."""


class PaymentGateway(Protocol):
    def send(self, *, disbursement_id: int, amount_minor: int, currency: str, account_no: str, account_name: str,
             bank: str) -> str: ...


class SimulatedPayments:
    """Takes every payment; the reference names the disbursement. `down` makes it refuse (tests)."""

    def __init__(self) -> None:
        self.down = False
        self.sent: list[dict[str, Any]] = []

    def send(self, *, disbursement_id: int, amount_minor: int, currency: str, account_no: str, account_name: str, bank: str) -> str:
        if self.down:
            raise PaymentUnavailable("the simulated bank channel is down")
        self.sent.append({"disbursement_id": disbursement_id, "amount_minor": amount_minor, "account_no": account_no})
        return f"PAY{disbursement_id:010d}"
