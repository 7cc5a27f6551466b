"""Writing files that are never seen half-written."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` as `.<name>.part` beside `path`, then rename it into place (atomic on one filesystem).
    Readers, and banks polling a folder, see the whole file or none of it; dot-files are never picked up."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


@contextmanager
def writing_atomically(path: Path) -> Iterator[BinaryIO]:
    """`write_atomically` for a file written piece by piece (too large to hold in memory): the
    pieces go to `.<name>.part`, renamed into place only when the block ends without an error."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    try:
        with open(tmp, "wb") as fh:
            yield fh
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
