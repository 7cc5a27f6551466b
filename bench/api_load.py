"""The entry API under load: submit latency at a fixed arrival rate, from a loopback load generator.

Starts `autofin api` as its own process on a free loopback port over the configured store (the
embedded SQLite store unless AUTOFIN_DATABASE_URL says otherwise), prepares `count` draft
applications through the API (customer, vehicle, application, id-card upload; untimed), then
submits them open-loop at `rate` requests per second: each submit is sent at its scheduled time
whether or not earlier ones have answered, and its latency is measured from that scheduled time,
so a server that falls behind shows it (no coordinated omission). Bounded in count and in time.

    python -m bench.api_load --count 2000 --rate 200        # over the store in AUTOFIN_DATA_DIR
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx

from tests.support.postgres import free_port

ROOT = Path(__file__).resolve().parent.parent
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(2048)


@dataclass
class LoadResult:
    sent: int
    ok: int
    errors: dict[int, int]
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    p99_after_first_second_ms: float  # the submits sent from the second second on: a server process's first requests left out
    outcomes: dict[str, int]
    server_peak_rss_mib: float
    server_cpu_ms: float  # the server's CPU (its workers' too) over the submit phase, per submit

    @property
    def achieved_rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


def _cli(args: list[str], env: dict) -> str:
    return subprocess.run([sys.executable, "-m", "autofin.cli", *args], env=env, check=True, capture_output=True, text=True).stdout.strip()


def _ids(n: int) -> list[str]:
    from autofin.domain.identity import ric_check_digit

    out = []
    for k in range(n):
        first17 = f"330106{date(1975 + k % 25, 1 + k % 12, 1 + k % 28):%Y%m%d}{100 + k % 850:03d}"
        out.append(first17 + ric_check_digit(first17))
    return out


def _vin(serial: int) -> str:
    from autofin.domain.identity import with_vin_check_digit

    draft = "LFV" + "BNCH" + "0" + "0" + "R" + "B" + f"{serial:06d}"
    return with_vin_check_digit(draft)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _peak_rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _cpu_seconds(pid: int) -> float:
    """User and system CPU of `pid` and every process below it (uvicorn's workers), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") + sum(_cpu_seconds(int(c)) for c in children)


def run(count: int, rate: float, env: dict, max_seconds: float = 120.0, workers: int = 1) -> LoadResult:
    env = {**env}
    stamp = f"{int(time.time())}"
    admin = _cli(["users", "add", "--username", f"bench-admin-{stamp}", "--role", "admin"], env)
    manager = _cli(["users", "add", "--username", f"bench-manager-{stamp}", "--role", "credit_manager"], env)
    sales = _cli(["users", "add", "--username", f"bench-sales-{stamp}", "--role", "sales"], env)
    port = free_port()
    # the server's log to a file, not a pipe nobody reads while it runs: a full pipe would stop the server
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed below, with the server)
    server = subprocess.Popen([sys.executable, "-m", "autofin.cli", "api", "--host", "127.0.0.1", "--port", str(port),
                               "--workers", str(workers)], env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(200):
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            else:
                log.seek(0)
                raise SystemExit("[bench] the API did not start: " + log.read().decode(errors="replace")[-2000:])
            drafts = _prepare(client, count, {"admin": admin, "manager": manager, "sales": sales}, stamp)
        return asyncio.run(_submit_all(base, drafts, sales, rate, max_seconds, server.pid))
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _prepare(client: httpx.Client, count: int, tokens: dict[str, str], stamp: str) -> list[str]:
    auth = {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}
    partners = [p["partner_code"] for p in client.get("/partners?status=active&limit=50", headers=auth["admin"]).json()
                if not p["is_blacklisted"]][:20]
    for code in partners:
        client.post(f"/partners/{code}/credit-limit", headers=auth["manager"],
                    json={"credit_limit": "900000000000", "reason": "benchmark"}).raise_for_status()
    print(f"[bench] preparing {count} draft applications through the API …", flush=True)
    drafts = []
    serial0 = int(stamp) % 1000 * 1000  # a run on the same store a few seconds later takes other VINs
    for k, id_number in enumerate(_ids(count)):
        existing = client.get("/customers", params={"id_number": id_number}, headers=auth["sales"]).json()
        if existing:
            customer_id = existing[0]["customer_id"]
        else:
            customer_id = client.post("/customers", headers=auth["sales"], json={
                "name": "基准测试", "id_number": id_number, "mobile": f"139{k:08d}", "city": "杭州"}).raise_for_status().json()["customer_id"]
        partner = partners[k % len(partners)]
        vehicle = client.post("/vehicles", headers=auth["sales"], json={
            "vin": _vin((serial0 + k) % 1_000_000), "model_code": "VW-SAGITAR", "price": "150000", "partner_code": partner}).raise_for_status().json()
        app = client.post("/applications", headers=auth["sales"], json={
            "partner_code": partner, "customer_id": customer_id, "vehicle_id": vehicle["vehicle_id"], "product_code": "NCL-ANN",
            "down_payment_pct": "30", "term_months": 36, "monthly_income": "25000"}).raise_for_status().json()
        for doc_type in ("id_card", "credit_authorization"):  # what a submit needs
            client.post(f"/applications/{app['application_no']}/documents", headers=auth["sales"], data={"doc_type": doc_type},
                        files={"file": (f"{doc_type}.jpg", JPEG, "image/jpeg")}).raise_for_status()
        drafts.append(app["application_no"])
    return drafts


class _Connection:
    """One keep-alive HTTP/1.1 connection speaking just enough HTTP for the benchmark (httpx's own
    cost per request would take CPU from the server it measures, on the same two cores)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def post(self, path: str, token: str) -> tuple[int, bytes]:
        self.writer.write(f"POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
                          f"Content-Length: 0\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
        return status, await self.reader.readexactly(length)


async def _submit_all(base: str, drafts: list[str], token: str, rate: float, max_seconds: float, server_pid: int) -> LoadResult:
    import json

    host, port = base.removeprefix("http://").split(":")
    pool: asyncio.Queue[_Connection] = asyncio.Queue()
    for _ in range(64):
        pool.put_nowait(_Connection(*await asyncio.open_connection(host, int(port))))
    latencies: list[float] = []
    settled: list[float] = []  # those sent a second or more after the first
    errors: dict[int, int] = {}
    outcomes: dict[str, int] = {}
    start = time.perf_counter() + 0.2

    async def one(k: int, number: str) -> None:
        scheduled = start + k / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        conn = await pool.get()  # waiting for a free connection counts: latency runs from the scheduled time
        try:
            status, body = await conn.post(f"/applications/{number}/submit", token)
        finally:
            pool.put_nowait(conn)
        latencies.append((time.perf_counter() - scheduled) * 1000)
        if scheduled - start >= 1.0:
            settled.append(latencies[-1])
        if status == 200:
            decided = json.loads(body)["status"]
            outcomes[decided] = outcomes.get(decided, 0) + 1
        else:
            errors[status] = errors.get(status, 0) + 1

    bounded = [n for k, n in enumerate(drafts) if k / rate < max_seconds]
    print(f"[bench] submitting {len(bounded)} applications at {rate:.0f}/s …", flush=True)
    cpu_before = _cpu_seconds(server_pid)
    await asyncio.gather(*(one(k, n) for k, n in enumerate(bounded)))
    seconds = time.perf_counter() - start
    cpu_ms = 1000 * (_cpu_seconds(server_pid) - cpu_before) / len(bounded)
    rss = _peak_rss_mib(server_pid)
    while not pool.empty():
        pool.get_nowait().writer.close()
    return LoadResult(len(bounded), sum(outcomes.values()), errors, seconds, _percentile(latencies, 0.5), _percentile(latencies, 0.99),
                      max(latencies), _percentile(settled, 0.99) if settled else 0.0, outcomes, rss, cpu_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    result = run(args.count, args.rate, dict(os.environ), workers=args.workers)
    print(f"submits {result.sent} at {result.achieved_rate:.0f}/s: p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, "
          f"max {result.max_ms:.1f} ms (from the second second on: p99 {result.p99_after_first_second_ms:.1f} ms); "
          f"errors {result.errors or 'none'}; outcomes {result.outcomes}; "
          f"server CPU {result.server_cpu_ms:.2f} ms a submit; server peak RSS {result.server_peak_rss_mib:.0f} MiB")


if __name__ == "__main__":
    main()
