"""Cost before work: the memory and time limits a command checks its estimate against before it
allocates or computes anything large.

Every command that can grow with its input estimates, from the input's shapes alone, the bytes
it will hold at its peak (and, for a Theorem 2 query, its seconds), and refuses past a limit
with the estimate, the limit and the environment variable that raises it:

- `LOGDEPTH_MAX_MEMORY` (bytes; suffixes K, M, G, T in powers of 1,024: `8G`). Default 4 GiB:
  logdepth is meant to run on a 24 GiB machine that also runs other work (an editor, a
  browser, a second logdepth job), so one command may take a sixth of it and still leave the
  machine responsive. Used by: compile (the monoid enumeration and the monoid tables of
  Theorem 1, kit/monoid_codes.py), trace and explain (residuals and attention
  maps, model/compiled.py and explain/), a run of Theorem 2 (its n^3 + n^2 + ... tokens).
- `LOGDEPTH_MAX_SECONDS` (seconds). Default 600: a command past ten minutes of predicted work
  is more likely a mistake than a wish. Used by a run of Theorem 2, whose query of n vertices
  has n^3 + n^2 + s + t + 1 tokens and costs ~tokens^2 attention scores per head
  (`model/compiled.py`, `graph_cost`).
- `LOGDEPTH_MAX_STATES` (states, automata/dfa.py): determinizing and minimizing.

A limit that is unset or empty takes its default; any other value that is not a positive
number is an error naming the variable (`env_setting`). The estimates
are documented where they are computed; they count the large arrays only (what grows with the
input), so the interpreter and torch themselves (~350 MB resident) come on top.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from logdepth.errors import LogdepthError, SettingError

KIB = 1 << 10
GIB = 1 << 30
FLOAT64_BYTES = 8  # every compiled weight and every traced activation is float64 unless converted

MEMORY_ENV = "LOGDEPTH_MAX_MEMORY"
DEFAULT_MAX_MEMORY = 4 * GIB
SECONDS_ENV = "LOGDEPTH_MAX_SECONDS"
DEFAULT_MAX_SECONDS = 600.0

# Seconds one attention score costs on a CPU, a floor: a float64 score goes through memory
# about eight times (the q.k product, the causal and padding masks, the row maximum, the
# tolerance test, the row sum, the value product), 64 bytes at the ~12 GB/s one core streams:
# ~5 ns. `benchmarks/cost.py` measures it (slower on a loaded machine), so a time estimate
# from it is a lower bound: "at least".
SCORE_SECONDS = 64 / 12e9
# The full pass's figure above is no floor for the compact plan (logdepth/model/compact.py),
# which scores only the heads it keeps and, with its fused kernel, keeps each query's scores in
# cache: `benchmarks/cost.py` measured 0.7 to 2.5 ns a stored score with the kernel and 1.9 to
# 4.4 ns on the torch path, at 4,370 to 586 tokens. Its floor is arithmetic: a query-key pair
# costs its d_key multiply-adds, its row maximum and its tie test, d_key + 2 operations on one
# vector lane, and one core issues at most four vector operations of 64 bytes (AVX-512: 8
# float64 or 16 float32 lanes) a cycle at no more than 5 GHz (the kernel's loads and stores
# come on top: it ran 5 to 20 times slower than this floor, per pair).
LANE_BYTES_PER_SECOND = 4 * 64 * 5e9


def pair_seconds(d_key: int, itemsize: int) -> float:
    """The compact plan's floor for one query-key pair of a head reading d_key query and key
    dimensions, in a dtype of `itemsize` bytes (the comment above)."""
    return (d_key + 2) * itemsize / LANE_BYTES_PER_SECOND

T = TypeVar("T")

_SUFFIXES = {"": 1, "B": 1, "K": KIB, "M": KIB**2, "G": KIB**3, "T": KIB**4}


def parse_bytes(text: str) -> int | None:
    """`4294967296`, `4096M`, `4G`, `4GiB` or `4gb` as bytes (powers of 1,024); None if it is
    not a positive size."""
    raw = text.strip().upper().removesuffix("IB").removesuffix("B")
    number, suffix = raw, ""
    if raw and raw[-1] in "KMGT":
        number, suffix = raw[:-1], raw[-1]
    try:
        value = float(number)
    except ValueError:
        return None
    if not value > 0 or value != value or value == float("inf"):
        return None
    return int(value * _SUFFIXES[suffix])


def env_setting(name: str, parse: Callable[[str], T | None], default: T, accepts: str) -> T:
    """The value of the environment variable `name` read by `parse` (None for a value it does
    not accept), or `default` when it is unset or empty. Any other value is a `SettingError`
    naming the variable and what it accepts: a typo never silently becomes the default."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    value = parse(raw)
    if value is None:
        shown = raw if len(raw) <= 40 else raw[:40] + "..."
        raise SettingError(f"{name}={shown!r} is not {accepts}; set it to one, or unset it")
    return value


def positive_whole(text: str) -> int | None:
    """'12' -> 12; None for anything but a whole number of 1 or more."""
    return int(text) if text.isascii() and text.isdigit() and int(text) > 0 else None


def _positive_seconds(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0 < value < float("inf") else None


def max_memory() -> int:
    """The memory limit in bytes: $LOGDEPTH_MAX_MEMORY (a positive size), else 4 GiB."""
    return env_setting(
        MEMORY_ENV, parse_bytes, DEFAULT_MAX_MEMORY, "a memory size such as 8G, 512M or 4096"
    )


def max_seconds() -> float:
    """The time limit in seconds: $LOGDEPTH_MAX_SECONDS (a positive number), else 600."""
    return env_setting(
        SECONDS_ENV, _positive_seconds, DEFAULT_MAX_SECONDS, "a positive number of seconds"
    )


def format_bytes(count: float) -> str:
    """1,536 -> '1.5 KiB'; 5e9 -> '4.7 GiB'."""
    for unit, size in (("TiB", KIB**4), ("GiB", GIB), ("MiB", KIB**2), ("KiB", KIB)):
        if count >= size:
            return f"{count / size:,.1f} {unit}"
    return f"{int(count):,} bytes"


def format_seconds(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:,.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:,.1f} min"
    return f"{seconds:,.1f} s"


@dataclass(frozen=True)
class Estimate:
    """What a command predicts it needs: `bytes` at its peak (and `seconds`, when it knows),
    with `detail`, the derivation in a few words (shown in a refusal)."""

    what: str
    bytes: int
    seconds: float | None = None
    detail: str = ""

    def check(self, error: type[LogdepthError], hint: str = "") -> Estimate:
        """Raise `error` if the estimate is past a limit; `hint`: another way out (a smaller
        input, an option). Returns self, so that a caller can keep it."""
        limit = max_memory()
        if self.bytes > limit:
            raise error(
                self._message(
                    f"needs about {format_bytes(self.bytes)} of memory, over the limit of "
                    f"{format_bytes(limit)}",
                    f"{MEMORY_ENV}=SIZE (e.g. {MEMORY_ENV}={_suggest_gib(self.bytes)}G)",
                    hint,
                )
            )
        seconds = max_seconds()
        if self.seconds is not None and self.seconds > seconds:
            raise error(
                self._message(
                    f"needs at least {format_seconds(self.seconds)} of work (a floor: a "
                    f"loaded machine takes longer), over the limit of {format_seconds(seconds)}",
                    f"{SECONDS_ENV}=S (e.g. {SECONDS_ENV}={int(self.seconds * 2) + 1})",
                    hint,
                )
            )
        return self

    def _message(self, verdict: str, raise_with: str, hint: str) -> str:
        detail = f" ({self.detail})" if self.detail else ""
        text = f"{self.what} {verdict}{detail}; nothing was started"
        if hint:
            text += f"; {hint}"
        return text + f"; raise the limit with {raise_with} if the machine has room"


def _suggest_gib(count: int) -> int:
    """A round GiB figure a little over `count` (the estimate is not exact)."""
    return int(count * 1.25 / GIB) + 1
