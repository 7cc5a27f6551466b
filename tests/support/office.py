"""LibreOffice for the tests that print what management reads: Debian's libreoffice-calc-nogui is
installed with apt when missing (we are root on the test machines), like PostgreSQL and OpenSSH."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


def ensure_soffice() -> str:
    found = shutil.which("soffice")
    if found is None:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-q", "libreoffice-calc-nogui"], check=True, env=env, stdout=subprocess.DEVNULL)
        found = shutil.which("soffice")
    if found is None:
        raise RuntimeError("LibreOffice is not installed and apt-get could not install it")
    return found


def to_pdf(workbook: Path, folder: Path) -> Path:
    """The workbook printed to PDF by LibreOffice, as it would print it."""
    folder.mkdir(parents=True, exist_ok=True)
    profile = folder / ".lo-profile"  # its own profile: no clash with another soffice
    subprocess.run([ensure_soffice(), f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf", "--outdir",
                    str(folder), str(workbook)], check=True, capture_output=True, timeout=180)
    return folder / f"{workbook.stem}.pdf"
