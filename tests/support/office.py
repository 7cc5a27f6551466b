"""LibreOffice for the tests that print what management reads: Debian's libreoffice-calc-nogui is
installed with apt when missing (we are root on the test machines), like PostgreSQL and OpenSSH."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.support.debian import installed


def ensure_soffice() -> str:
    return installed(lambda: shutil.which("soffice"), "libreoffice-calc-nogui")


def to_pdf(workbook: Path, folder: Path) -> Path:
    """The workbook printed to PDF by LibreOffice, as it would print it."""
    folder.mkdir(parents=True, exist_ok=True)
    profile = folder / ".lo-profile"  # its own profile: no clash with another soffice
    subprocess.run([ensure_soffice(), f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf", "--outdir",
                    str(folder), str(workbook)], check=True, capture_output=True, timeout=180)
    return folder / f"{workbook.stem}.pdf"
