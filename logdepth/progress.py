"""Progress of a long sweep on stderr: a bar on a terminal, plain lines otherwise.

`Bar(what)` is called as `bar(done, total)` (the `Progress` callback verify's loops take), or
`bar(done, total, fraction)` when the cases differ in cost (precision's sizes: the largest n
is most of the work), so that the ETA, elapsed * (1 - fraction) / fraction, is not fooled by
many cheap cases. On a terminal it redraws one line; elsewhere (a log file, CI) it writes a
plain line at most every PLAIN_EVERY_S seconds, so that a quick run writes nothing.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

# Seconds between plain lines when stderr is not a terminal.
PLAIN_EVERY_S = 10.0
BAR_WIDTH = 30


def clock(seconds: float) -> str:
    """1:02:03 or 2:03."""
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Bar:
    """`what` done of total with an ETA, on `stream` (stderr)."""

    def __init__(self, what: str, stream: TextIO | None = None) -> None:
        self.what = what
        self.stream = stream if stream is not None else sys.stderr
        self.terminal = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self.last_line = self.started
        self.drawn = False  # a terminal line is showing (clear it before printing rows)
        self.lines = 0

    def text(self, done: int, total: int, fraction: float | None = None) -> str:
        frac = fraction if fraction is not None else done / max(total, 1)
        elapsed = time.monotonic() - self.started
        eta = f", ETA {clock(elapsed * (1 - frac) / frac)}" if 0 < frac < 1 else ""
        took = f" in {clock(elapsed)}" if done >= total else ""
        return f"{done:,}/{total:,} {self.what}{eta}{took}"

    def __call__(self, done: int, total: int, fraction: float | None = None) -> None:
        line = self.text(done, total, fraction)
        if self.terminal:
            frac = fraction if fraction is not None else done / max(total, 1)
            filled = int(BAR_WIDTH * min(max(frac, 0.0), 1.0))
            self.stream.write(f"\r\033[K[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {line}")
            self.drawn = done < total
            if done >= total:
                self.stream.write("\n")
        else:
            now = time.monotonic()
            last = done >= total and self.lines > 0
            if not last and now - self.last_line < PLAIN_EVERY_S:
                return
            self.last_line = now
            self.lines += 1
            self.stream.write(line + "\n")
        self.stream.flush()

    def clear(self) -> None:
        """Erase the terminal line (before other output is printed under it)."""
        if self.terminal and self.drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.drawn = False
