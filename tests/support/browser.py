"""A real headless browser for the tests that look at what users see (the API reference, the
Dagster UI). Debian's chromium is installed with apt when missing (we are root on the test
machines), as PostgreSQL and OpenSSH are. Pages are loaded with every host but loopback
unresolvable, so a page that needs the internet (a CDN) shows it by rendering nothing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.support.debian import installed

OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


def ensure_chromium() -> str:
    return installed(lambda: shutil.which("chromium"), "chromium")


def _run(url: str, *args: str, wait_ms: int) -> subprocess.CompletedProcess[str]:
    command = [ensure_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", OFFLINE,
               f"--virtual-time-budget={wait_ms}", *args, url]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


def dom(url: str, wait_ms: int = 10_000) -> str:
    """The page's DOM after its scripts ran (for `wait_ms` of virtual time)."""
    return _run(url, "--dump-dom", wait_ms=wait_ms).stdout


def screenshot(url: str, path: Path, *, width: int = 1400, height: int = 1000, wait_ms: int = 10_000) -> Path:
    _run(url, f"--screenshot={path}", f"--window-size={width},{height}", "--hide-scrollbars", wait_ms=wait_ms)
    return path
