"""A file we send to a bank, registered: written (temporary name, then rename) to
bank_files/outbound/<bank>/ and recorded in bank_file with its hash, for `bank_upload` to send.
The one way the debit files (banking) and the payout files (payouts) leave."""

from __future__ import annotations

import hashlib
from datetime import date

from sqlalchemy import Connection, insert

from autofin.files import write_atomically
from autofin.servicing.context import StepContext
from autofin.store.models import BankFile


def register_outbound(conn: Connection, ctx: StepContext, bank: str, file_type: str, name: str, message_id: str, data: bytes,
                      d: date) -> None:
    write_atomically(ctx.bank_folder("outbound", bank) / name, data)
    conn.execute(insert(BankFile).values(bank_code=bank, direction="out", file_type=file_type, file_name=name,
                                         sha256=hashlib.sha256(data).hexdigest(), message_id=message_id, size_bytes=len(data),
                                         status="registered", business_date=d))
