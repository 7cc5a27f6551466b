"""Writing files that are never seen half-written."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def writing_atomically(path: Path) -> Iterator[BinaryIO]:
    """A file written as `.<name>.part` beside `path` (piece by piece, if it is too large to hold in
    memory), renamed into place only when the block ends without an error (atomic on one
    filesystem). Readers, and banks polling a folder, see the whole file or none of it; dot-files
    are never picked up."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    try:
        with open(tmp, "wb") as fh:
            yield fh
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomically(path: Path, data: bytes) -> None:
    """`data` written as one piece by `writing_atomically`."""
    with writing_atomically(path) as fh:
        fh.write(data)
