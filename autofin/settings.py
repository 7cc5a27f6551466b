"""Where things are. Every setting is an environment variable with a local default."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# the business date is the calendar date in China
BUSINESS_TZ = ZoneInfo("Asia/Shanghai")


def business_today() -> date:
    """Today's date in the business time zone: the cycle closes only dates before it, and the API
    dates what it books with it. AUTOFIN_SIMULATED_TODAY=YYYY-MM-DD replaces the clock; it is the
    one way for simulations (the demo, the bench, tests) to run days ahead of the real calendar."""
    simulated = os.environ.get("AUTOFIN_SIMULATED_TODAY")
    if simulated:
        try:
            return date.fromisoformat(simulated)
        except ValueError:
            raise ValueError(f"AUTOFIN_SIMULATED_TODAY={simulated!r} is not a date (YYYY-MM-DD)") from None
    return datetime.now(BUSINESS_TZ).date()


def data_dir() -> Path:
    return Path(os.environ.get("AUTOFIN_DATA_DIR", PROJECT_ROOT / "data"))


def assets_dir() -> Path:
    return Path(os.environ.get("AUTOFIN_ASSETS_DIR", PROJECT_ROOT / "assets"))


def database_url() -> str:
    """AUTOFIN_DATABASE_URL (e.g. postgresql+psycopg://user@host/db), else SQLite at data/autofin.db."""
    url = os.environ.get("AUTOFIN_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{data_dir() / 'autofin.db'}"


def cycle_shards() -> int:
    """How many contract shards the Dagster cycle splits the per-contract steps into (AUTOFIN_CYCLE_SHARDS, default 1)."""
    return int(os.environ.get("AUTOFIN_CYCLE_SHARDS", "1"))


def answer_readers() -> int | None:
    """How many processes read the banks' answer files ahead of their applying (AUTOFIN_ANSWER_READERS;
    0: none, the step reads each itself). Unset: one per core the process may run on, at most 4, on a
    night whose files are large enough to be worth starting them (`bankfiles.reading.readers_for`)."""
    value = os.environ.get("AUTOFIN_ANSWER_READERS")
    return int(value) if value else None


def api_changes_at_once() -> int:
    """How many requests that change the store a server process runs at once (the rest wait their
    turn in the event loop, in order of arrival)."""
    return max(1, int(os.environ.get("AUTOFIN_API_CHANGES_AT_ONCE", "4")))


def sqlite_busy_timeout_ms() -> int:
    """How long a SQLite writer waits for another writer's lock before failing (AUTOFIN_SQLITE_BUSY_MS)."""
    return int(os.environ.get("AUTOFIN_SQLITE_BUSY_MS", "30000"))


def bank_dir() -> Path:
    """The exchange area: outbound/, inbound/, archive/, quarantine/ per bank (and remote/ for the local transport)."""
    return Path(os.environ.get("AUTOFIN_BANK_DIR", PROJECT_ROOT / "bank_files"))


def export_dir() -> Path:
    return data_dir() / "exports"


def warehouse_path() -> Path:
    return Path(os.environ.get("AUTOFIN_WAREHOUSE_PATH", data_dir() / "warehouse.duckdb"))


def reports_dir() -> Path:
    return Path(os.environ.get("AUTOFIN_REPORTS_DIR", PROJECT_ROOT / "reports"))


def report_language() -> str:
    """The Excel pack's language: AUTOFIN_REPORT_LANGUAGE, en (default) or zh."""
    return os.environ.get("AUTOFIN_REPORT_LANGUAGE") or "en"
