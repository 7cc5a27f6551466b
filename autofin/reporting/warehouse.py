"""The DuckDB warehouse: dbt-duckdb over the transactional store attached read-only.

DuckDB cannot download extensions here, so the SQLite and PostgreSQL scanners are installed from
their PyPI wheels into a project-local extension folder (data/duckdb_extensions) that the dbt
profile points at, with auto-install off. Reference data from assets/ (the chart of accounts) is
written into the warehouse's `reference` schema first; then `dbt build` runs models and tests.

Each build writes a new file beside the warehouse and swaps it in only when every model built and
every test passed: analysts keep reading yesterday's warehouse meanwhile, and a failed build
never replaces a good one. (A fresh file also keeps dbt-duckdb from listing the store's indexes,
which it does when replacing tables and which fails on the SQLite store's partial indexes.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import duckdb_extensions
from sqlalchemy.engine import make_url

from autofin.reference import chart_of_accounts
from autofin.settings import PROJECT_ROOT, data_dir, database_url, warehouse_path

DBT_PROJECT = PROJECT_ROOT / "dbt_project"
SCANNERS = ("sqlite_scanner", "postgres_scanner")


class WarehouseError(Exception):
    """dbt failed: a model did not build or a test did not pass."""


@dataclass
class BuildResult:
    seconds: float
    models: int
    tests: int
    failures: list[str]


def extension_dir() -> Path:
    return data_dir() / "duckdb_extensions"


def prepare_extensions() -> Path:
    folder = extension_dir()
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"extension_directory": str(folder), "autoinstall_known_extensions": False})
    try:
        for name in SCANNERS:
            duckdb_extensions.import_extension(name, con=con)
    finally:
        con.close()
    return folder


def store_attachment(url: str | None = None) -> tuple[str, str, str]:
    """(DuckDB attach type, attach string, schema) for the configured store."""
    parsed = make_url(url or database_url())
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database:
            raise ValueError(f"{url or database_url()}: an in-memory SQLite store has no file for the warehouse to attach")
        return "sqlite", str(Path(parsed.database).resolve()), "main"
    parts = {"host": parsed.host or "127.0.0.1", "port": parsed.port or 5432, "dbname": parsed.database, "user": parsed.username}
    if parsed.password:
        parts["password"] = parsed.password
    return "postgres", " ".join(f"{k}={v}" for k, v in parts.items() if v is not None), "public"


def write_reference(path: Path) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS reference")
        con.execute("CREATE OR REPLACE TABLE reference.chart_of_accounts (code VARCHAR PRIMARY KEY, name VARCHAR, name_zh VARCHAR, account_type VARCHAR)")
        con.executemany("INSERT INTO reference.chart_of_accounts VALUES (?, ?, ?, ?)",
                        [(a.code, a.name, a.name_zh, a.type) for a in chart_of_accounts().values()])
    finally:
        con.close()


def as_of_date(url: str | None = None) -> str:
    """The business date the warehouse reflects: the store's latest closed one."""
    from autofin.servicing.days import last_closed_day
    from autofin.store.engine import get_engine

    with get_engine(url).connect() as conn:
        latest = last_closed_day(conn)
    if latest is None:
        raise WarehouseError("no business date is closed yet: seed or load a book and run the cycle first")
    return latest.isoformat()


def dbt_environment(target: Path, url: str | None = None) -> dict[str, str]:
    kind, attach, schema = store_attachment(url)
    return {
        "AUTOFIN_AS_OF_DATE": as_of_date(url),
        "AUTOFIN_DBT_TARGET_FILE": str(target),  # the file being built, not the published warehouse
        "AUTOFIN_DUCKDB_EXTENSIONS": str(extension_dir()),
        "AUTOFIN_STORE_TYPE": kind,
        "AUTOFIN_STORE_ATTACH": attach,
        "AUTOFIN_STORE_SCHEMA": schema,
        "DBT_PROFILES_DIR": str(DBT_PROJECT),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def dbt_executable() -> str:
    return str(Path(sys.executable).parent / "dbt")


def prepare_build(url: str | None = None) -> tuple[Path, dict[str, str]]:
    """A fresh file to build into (reference data written) and the environment dbt needs for it."""
    final = warehouse_path()
    final.parent.mkdir(parents=True, exist_ok=True)
    path = final.with_name(f"{final.stem}.building{final.suffix}")
    path.unlink(missing_ok=True)
    prepare_extensions()
    write_reference(path)
    return path, dbt_environment(path, url)


def publish(path: Path) -> Path:
    """Swap a fully built and tested warehouse in place of the previous one."""
    final = warehouse_path()
    os.replace(path, final)
    return final


def build_warehouse(url: str | None = None, *, select: str | None = None) -> BuildResult:
    """`dbt build` in its own process into a new file; published when every model and test passed."""
    started = time.perf_counter()
    path, dbt_env = prepare_build(url)
    target = data_dir() / "dbt" / "target"
    (target / "run_results.json").unlink(missing_ok=True)
    args = [dbt_executable(), "build", "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT), "--quiet",
            "--target-path", str(target), "--log-path", str(data_dir() / "dbt" / "logs")]
    if select:
        args += ["--select", select]
    done = subprocess.run(args, env={**os.environ, **dbt_env}, capture_output=True, text=True)
    failures, models, tests = [], 0, 0
    results_file = target / "run_results.json"
    if results_file.exists():
        for r in json.loads(results_file.read_text())["results"]:
            kind = r["unique_id"].split(".")[0]
            models += kind == "model"
            tests += kind in ("test", "unit_test")
            if r["status"] in ("error", "fail"):
                failures.append(f"{r['unique_id'].split('.')[-1]}: {(r.get('message') or '').strip()}")
    if done.returncode != 0 and not failures:
        failures.append((done.stdout + done.stderr).strip()[-2000:] or f"dbt exited {done.returncode}")
    if failures:
        raise WarehouseError("; ".join(failures))
    publish(path)
    return BuildResult(time.perf_counter() - started, models, tests, failures)


def build_docs(url: str | None = None) -> Path:
    """The dbt docs site of the published warehouse: every model, its lineage and every column's
    description, as one self-contained page (data/dbt/docs/static_index.html) an analyst opens
    in a browser, offline."""
    final = warehouse_path()
    if not final.exists():
        raise WarehouseError(f"no warehouse at {final}: build it first (autofin reports build)")
    prepare_extensions()
    target = data_dir() / "dbt" / "docs"
    args = [dbt_executable(), "docs", "generate", "--static", "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
            "--quiet", "--target-path", str(target), "--log-path", str(data_dir() / "dbt" / "logs")]
    done = subprocess.run(args, env={**os.environ, **dbt_environment(final, url)}, capture_output=True, text=True)
    page = target / "static_index.html"
    if done.returncode != 0 or not page.exists():
        raise WarehouseError((done.stdout + done.stderr).strip()[-2000:] or f"dbt docs exited {done.returncode}")
    return page
