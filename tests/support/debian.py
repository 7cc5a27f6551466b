"""What the tests need from Debian, installed with apt when missing (we are root on the test
machines): PostgreSQL, openssh-server, chromium, LibreOffice. A missing tool fails its tests;
it never skips them."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def installed(find: Callable[[], T | None], package: str) -> T:
    """What `find` finds, after `apt-get install package` if it finds nothing at first."""
    found = find()
    if found is None:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-q", package], check=True, env=env, stdout=subprocess.DEVNULL)
        found = find()
    if found is None:
        raise RuntimeError(f"{package} is not installed and apt-get could not install it")
    return found


def wait_until_serving(url: str, process: subprocess.Popen, timeout: float = 90) -> None:
    """Return once `url` answers; fail if `process` exits or `timeout` passes first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited ({process.returncode}) before answering {url}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {timeout:.0f}s") from None
            time.sleep(0.5)
