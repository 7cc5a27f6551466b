"""Contract shards: the per-contract steps of a business date split by a stable assignment of
contracts, so that on PostgreSQL the shards of one day run at the same time (threads here, the
Dagster multiprocess executor in the UI, a Celery or Kubernetes executor in production).

A contract belongs to shard `contract_id mod N` (ids never change, so the assignment is stable;
it is also the natural distribution column for a distributed PostgreSQL such as Citus). Only the
steps whose every statement touches one contract's rows are sharded: billing, delinquency,
penalties and allocation. The bank steps (files per bank) and the ledger steps (vouchers, export,
day close with its global checks) stay whole. A shard's work is marked done as `KofN` in
step_run; a step done whole (`all`) counts as done for every shard, and the steps are idempotent
by state, so mixing whole and sharded runs of a day neither skips nor doubles anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from autofin.domain.errors import InputError

SHARDED_STEPS = ("billing", "delinquency", "penalties", "allocation")
MAX_SHARDS = 64
_KEY = re.compile(r"^(\d+)of(\d+)$")


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    @property
    def key(self) -> str:
        return "all" if self.count == 1 else f"{self.index}of{self.count}"

    def where(self, column: str) -> str:
        """` AND <column> % N = K`, or nothing for the whole book (append to a WHERE clause)."""
        return "" if self.count == 1 else f" AND {column} % {self.count} = {self.index}"

    def batch(self, name: str, d: date) -> str:
        """The ledger batch id of this step's postings for the date (and shard)."""
        return f"{name}:{d.isoformat()}" if self.count == 1 else f"{name}:{d.isoformat()}:{self.key}"


WHOLE = Shard(0, 1)


def parse(key: str) -> Shard:
    if key == "all":
        return WHOLE
    match = _KEY.match(key)
    if not match or not 0 <= int(match.group(1)) < int(match.group(2)) <= MAX_SHARDS:
        raise InputError("shard", f"{key!r} is not 'all' or KofN with 0 ≤ K < N ≤ {MAX_SHARDS}")
    return Shard(int(match.group(1)), int(match.group(2)))


def split(count: int) -> list[Shard]:
    if not 1 <= count <= MAX_SHARDS:
        raise InputError("shards", f"1 to {MAX_SHARDS}")
    return [WHOLE] if count == 1 else [Shard(k, count) for k in range(count)]
