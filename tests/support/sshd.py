"""A throwaway OpenSSH server on loopback serving SFTP, for the transport tests.

Debian's openssh-server is installed with apt when missing. The server has its own host key,
config, authorized keys and pid file in a temporary directory; it is stopped by its pid.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.debian import installed
from tests.support.postgres import free_port

SSHD = Path("/usr/sbin/sshd")


def ensure_installed() -> None:
    installed(lambda: SSHD if SSHD.exists() else None, "openssh-server")


@dataclass
class SftpServer:
    root: Path
    port: int
    client_key: Path
    host_key_line: str  # "ssh-ed25519 AAAA..."
    process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(self.root / "sshd_config")],
                                        stdout=subprocess.DEVNULL, stderr=open(self.root / "sshd.log", "ab"))  # noqa: SIM115 - open as long as sshd runs
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"sshd did not start: {(self.root / 'sshd.log').read_text()}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def make_server() -> SftpServer:
    ensure_installed()
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="autofin-sshd-"))
    for name in ("host_ed25519", "client_ed25519"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / name)], check=True)
    shutil.copy(root / "client_ed25519.pub", root / "authorized_keys")
    port = free_port()
    (root / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {root / 'host_ed25519'}\nPidFile {root / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {root / 'authorized_keys'}\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nUsePAM no\nStrictModes no\nSubsystem sftp internal-sftp\n"
    )
    host_key = " ".join((root / "host_ed25519.pub").read_text().split()[:2])
    return SftpServer(root, port, root / "client_ed25519", host_key)
