"""A throwaway PostgreSQL cluster on loopback for the tests (and the benchmark).

Debian's PostgreSQL is installed with apt when it is missing (we are root on the test machines).
The server runs as the `postgres` user (it refuses root) from a temporary directory, on a free
port, with fsync off; it is stopped by its own data directory, never by name.
"""

from __future__ import annotations

import glob
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from tests.support.debian import installed


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def ensure_installed() -> Path:
    return installed(_bin_dir, "postgresql")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    bindir: Path
    root: Path
    port: int

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _as_postgres(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, text=True)

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.root, "postgres", "postgres")
        self._as_postgres(str(self.bindir / "initdb"), "-D", str(self.datadir), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._as_postgres(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-o", options, "-l", str(self.root / "server.log"), "-w", "start")

    def stop(self) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "-w", "stop"],
            capture_output=True,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def start_server() -> PostgresServer:
    server = PostgresServer(ensure_installed(), Path(tempfile.mkdtemp(prefix="autofin-pg-")), free_port())
    server.start()
    return server


def terminate_sessions(engine: Engine, pid: int | None = None) -> int:
    """Ends, from a connection of its own, the server session `pid` of `engine`'s database, or every
    session of it but that connection's (as a restart of the server would); returns how many ended."""
    killer = create_engine(engine.url)
    try:
        with killer.connect() as conn:
            return conn.execute(text("SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() "
                                     "AND pid <> pg_backend_pid() AND (CAST(:pid AS INTEGER) IS NULL OR pid = :pid)"), {"pid": pid}).scalar_one()
    finally:
        killer.dispose()
