"""Writing files that are never seen half-written."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` as `.<name>.part` beside `path`, then rename it into place (atomic on one filesystem).
    Readers, and banks polling a folder, see the whole file or none of it; dot-files are never picked up."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(data)
    os.replace(tmp, path)
