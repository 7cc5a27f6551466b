"""A file we send to a bank: written (temporary name, then rename) to bank_files/outbound/<bank>/,
then registered in bank_file with its hash, for `bank_upload` to send. The one way the debit
files (banking) and the payout files (payouts) leave.

Writing touches no store, so a thread may do it while the step's connection works; registering
is the step's, on its connection."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import NamedTuple

from sqlalchemy import Connection, insert

from autofin.files import write_atomically
from autofin.servicing.context import StepContext
from autofin.store.models import BankFile


class Written(NamedTuple):
    bank: str
    name: str
    sha256: str
    size_bytes: int


def write_outbound(ctx: StepContext, bank: str, name: str, data: bytes) -> Written:
    write_atomically(ctx.bank_folder("outbound", bank) / name, data)
    return Written(bank, name, hashlib.sha256(data).hexdigest(), len(data))


def register_outbound(conn: Connection, written: Written, file_type: str, message_id: str, d: date) -> None:
    conn.execute(insert(BankFile).values(bank_code=written.bank, direction="out", file_type=file_type, file_name=written.name,
                                         sha256=written.sha256, message_id=message_id, size_bytes=written.size_bytes,
                                         status="registered", business_date=d))
