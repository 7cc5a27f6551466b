"""What every cycle step is given: the store connection, the business date and this context
(reference data, the bank side, the shard, effects to run after the commit), and the one way to
build it from the configured settings and assets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from autofin.bankfiles.profiles import BankProfile
from autofin.bankfiles.transport import Transport, transport_for
from autofin.domain.calendar import BusinessCalendar
from autofin.domain.errors import DomainError
from autofin.domain.ledger import Template
from autofin.postlease.notify import LocalOutbox, Notifier
from autofin.reference import bank_profiles, calendar, voucher_templates
from autofin.settings import bank_dir, data_dir, export_dir


class CheckFailedError(DomainError):
    """A control check failed: the day stays open and the cycle stops loudly."""


@dataclass
class StepContext:
    """What the steps need from outside the store: reference data and the bank side."""

    calendar: BusinessCalendar
    templates: dict[str, Template]
    banks: dict[str, BankProfile] = field(default_factory=dict)
    bank_root: Path | None = None
    transport_for: Callable[[BankProfile], Transport] | None = None
    export_dir: Path | None = None
    # where reminders and notices go (postlease.notify); None: they are recorded as queued, not sent
    notifier: Notifier | None = None
    shard: str = "all"
    # file moves and other effects outside the store, run only once the step's transaction commits
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    def bank_folder(self, area: str, bank: str) -> Path:
        """<bank root>/<area>/<bank> (outbound, inbound, archive, quarantine, remote), created if missing."""
        if self.bank_root is None:
            raise ValueError("this cycle context has no bank folder (bank_root)")
        path = Path(self.bank_root) / area / bank
        path.mkdir(parents=True, exist_ok=True)
        return path

    def transport(self, profile: BankProfile) -> Transport:
        if self.transport_for is None:
            raise ValueError("this cycle context has no bank transport (transport_for)")
        return self.transport_for(profile)

    def ledger_folder(self) -> Path:
        """Where the voucher exports for the general ledger go."""
        if self.export_dir is None:
            raise ValueError("this cycle context has no export folder (export_dir)")
        return Path(self.export_dir) / "ledger"


StepFn = Callable[[Connection, date, StepContext], dict[str, Any]]


def default_context(banks: dict[str, BankProfile] | None = None) -> StepContext:
    banks = bank_profiles() if banks is None else banks
    root = bank_dir()
    return StepContext(
        calendar=calendar(),
        templates=voucher_templates(),
        banks=banks,
        bank_root=root,
        transport_for=partial(transport_for, bank_root=root),
        export_dir=export_dir(),
        notifier=LocalOutbox(data_dir() / "outbox"),
    )
