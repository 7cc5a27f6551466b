"""Moving files to and from a bank: SFTP (production) or a local folder (the embedded demo).

Both put a file under a temporary name and rename it when complete, so the bank never reads half
a file; both are idempotent: a file whose final name already holds the same bytes is not sent
again (a re-run after a crash between upload and commit sends nothing twice). SFTP pins the
bank's host key from the profile: an unknown or changed key refuses the connection.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import shutil
import stat
import time
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Protocol

from autofin.bankfiles.profiles import BankProfile
from autofin.files import write_atomically

if TYPE_CHECKING:  # imported where a bank is reached over SFTP: importing paramiko (and its cryptography)
    import paramiko  # costs a process 0.17 s, and a night on the local folder, the API and the reports never need it

log = logging.getLogger("autofin.transport")

DEFAULT_DIRS = ("/upload", "/download", "/download/archive")


class TransportError(Exception):
    """The bank could not be reached or refused the operation (after retries)."""


class Transport(Protocol):
    def put(self, name: str, data: bytes) -> bool:
        """Upload `data` as `name`; False when the bank already holds exactly these bytes under that name."""

    def list_inbound(self) -> list[str]: ...

    def get(self, name: str) -> bytes: ...

    def archive(self, name: str) -> None: ...


def remote_dirs(profile: BankProfile) -> tuple[str, str, str]:
    s = profile.sftp
    return (s.outbound_dir, s.inbound_dir, s.archive_dir) if s else DEFAULT_DIRS


class LocalFolderTransport:
    """The bank's side as a folder: <root>/<outbound dir>, <inbound dir>, <archive dir>."""

    def __init__(self, root: Path, profile: BankProfile) -> None:
        self.root = Path(root)
        out, inbound, archive = (self.root / d.lstrip("/") for d in remote_dirs(profile))
        self.out, self.inbound, self.archive_dir = out, inbound, archive
        for folder in (out, inbound, archive):
            folder.mkdir(parents=True, exist_ok=True)

    def put(self, name: str, data: bytes) -> bool:
        final = self.out / name
        if final.exists() and final.read_bytes() == data:
            return False
        write_atomically(final, data)
        return True

    def list_inbound(self) -> list[str]:
        return sorted(p.name for p in self.inbound.iterdir() if p.is_file() and not p.name.startswith("."))

    def get(self, name: str) -> bytes:
        return (self.inbound / name).read_bytes()

    def archive(self, name: str) -> None:
        shutil.move(str(self.inbound / name), str(self.archive_dir / name))


def _pinned_key(spec: str) -> paramiko.PKey:
    import paramiko

    kind, _, b64 = spec.strip().partition(" ")
    b64 = b64.split()[0] if b64 else ""
    try:
        return paramiko.PKey.from_type_string(kind, base64.b64decode(b64))
    except Exception as exc:  # noqa: BLE001
        raise TransportError(f"the pinned host key {spec[:30]}… cannot be read: {exc}") from None


class SftpTransport:
    def __init__(self, profile: BankProfile, *, sleep=time.sleep) -> None:  # noqa: ANN001
        if profile.sftp is None:
            raise TransportError(f"bank {profile.code} has no SFTP settings")
        self.profile, self.s, self._sleep = profile, profile.sftp, sleep

    def _connect(self) -> tuple[paramiko.SSHClient, paramiko.SFTPClient]:
        import paramiko

        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        key = _pinned_key(self.s.host_key)
        host = self.s.host if self.s.port == 22 else f"[{self.s.host}]:{self.s.port}"
        client.get_host_keys().add(host, key.get_name(), key)
        client.connect(
            self.s.host, port=self.s.port, username=self.s.username, key_filename=self.s.key_path,
            look_for_keys=False, allow_agent=False, timeout=15, banner_timeout=15, auth_timeout=15,
        )
        return client, client.open_sftp()

    def _with_retries(self, what: str, fn):  # noqa: ANN001, ANN202
        import paramiko

        delay, last = self.s.backoff_seconds, None
        for attempt in range(1, self.s.retries + 1):
            try:
                client, sftp = self._connect()
                try:
                    return fn(sftp)
                finally:
                    sftp.close()
                    client.close()
            except paramiko.BadHostKeyException as exc:
                raise TransportError(f"{self.profile.code}: the server's host key is not the pinned one ({exc})") from None
            except paramiko.SSHException as exc:
                if "not found in known_hosts" in str(exc):
                    raise TransportError(f"{self.profile.code}: unknown host key, refusing to connect ({exc})") from None
                last = exc
            except (OSError, EOFError) as exc:
                last = exc
            log.warning("%s %s: attempt %d/%d failed: %s", self.profile.code, what, attempt, self.s.retries, last)
            if attempt < self.s.retries:
                self._sleep(delay)
                delay *= 2
        raise TransportError(f"{self.profile.code}: {what} failed after {self.s.retries} attempts: {last}")

    def put(self, name: str, data: bytes) -> bool:
        final = str(PurePosixPath(self.s.outbound_dir) / name)
        tmp = str(PurePosixPath(self.s.outbound_dir) / f".{name}.part")

        def upload(sftp: paramiko.SFTPClient) -> bool:
            try:
                if sftp.stat(final).st_size == len(data):
                    buffer = io.BytesIO()
                    sftp.getfo(final, buffer)
                    if hashlib.sha256(buffer.getvalue()).digest() == hashlib.sha256(data).digest():
                        return False
            except FileNotFoundError:
                pass
            sftp.putfo(io.BytesIO(data), tmp, file_size=len(data), confirm=True)
            sftp.posix_rename(tmp, final)
            return True

        return self._with_retries(f"upload {name}", upload)

    def list_inbound(self) -> list[str]:
        def listing(sftp: paramiko.SFTPClient) -> list[str]:
            return sorted(a.filename for a in sftp.listdir_attr(self.s.inbound_dir)
                          if stat.S_ISREG(a.st_mode or 0) and not a.filename.startswith("."))

        return self._with_retries("list", listing)

    def get(self, name: str) -> bytes:
        def download(sftp: paramiko.SFTPClient) -> bytes:
            buffer = io.BytesIO()
            sftp.getfo(str(PurePosixPath(self.s.inbound_dir) / name), buffer)
            return buffer.getvalue()

        return self._with_retries(f"download {name}", download)

    def archive(self, name: str) -> None:
        def move(sftp: paramiko.SFTPClient) -> None:
            sftp.posix_rename(str(PurePosixPath(self.s.inbound_dir) / name), str(PurePosixPath(self.s.archive_dir) / name))

        self._with_retries(f"archive {name}", move)


def transport_for(profile: BankProfile, bank_root: Path) -> Transport:
    if profile.transport == "sftp":
        return SftpTransport(profile)
    return LocalFolderTransport(Path(bank_root) / "remote" / profile.code, profile)
