"""Progress of long CLI work: a bar on a terminal, plain progress lines elsewhere (logs, CI)."""

from __future__ import annotations

import sys
import time
from types import TracebackType

from tqdm import tqdm


class Progress:
    def __init__(self, total: int, label: str, unit: str = "it", stream=None) -> None:  # noqa: ANN001
        self.total, self.label, self.unit = total, label, unit
        self.stream = stream or sys.stderr
        self.done = 0
        self.started = time.perf_counter()
        self._bar = tqdm(total=total, desc=label, unit=unit, file=self.stream, unit_scale=True) if self.stream.isatty() else None
        self._next_line = 0.0

    def advance(self, n: int) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
            return
        fraction = self.done / self.total if self.total else 1.0
        if fraction >= self._next_line or self.done >= self.total:
            elapsed = time.perf_counter() - self.started
            print(f"{self.label}: {self.done:,}/{self.total:,} {self.unit} ({fraction:.0%}, {elapsed:.1f}s)", file=self.stream, flush=True)
            self._next_line = min(1.0, fraction + 0.1)

    def note(self, text: str) -> None:
        """A line of what the work does next, when it is long and not counted (beside the bar on a terminal)."""
        line = f"{self.label}: {text} ({time.perf_counter() - self.started:.1f}s)"
        if self._bar is not None:
            self._bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.close()
