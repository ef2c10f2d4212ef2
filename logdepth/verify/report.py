"""The result of a verification run (`logdepth verify`), shared by every construction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from logdepth.errors import InputError

# progress(done, total): called by long verification loops; the CLI draws a bar with it.
Progress = Callable[[int, int], None]

# The most inputs an exhaustive request may enumerate. At the few milliseconds a short input
# costs in a batched forward pass this is minutes of work; past it the request is refused up
# front rather than left to run for days (A5 words up to length 8 are 1.7e14).
EXHAUSTIVE_LIMIT = 2_000_000


def check_exhaustive_size(count: int, what: str) -> None:
    """Refuse an exhaustive request that would enumerate more than EXHAUSTIVE_LIMIT inputs."""
    if count > EXHAUSTIVE_LIMIT:
        raise InputError(
            f"--exhaustive asks for {what}: {count:.3g} inputs, more than the "
            f"{EXHAUSTIVE_LIMIT:,} verify enumerates; lower it and use --samples for the rest"
        )


@dataclass
class VerifyReport:
    """What was checked and whether everything held.

    `checks` counts individual comparisons (one input against the oracle, one invariant at one
    level, one layer count); `lines` is the human summary; `counterexample` is the shortest
    failing input, rendered for a user, when `ok` is false.
    """

    ok: bool = True
    checks: int = 0
    lines: list[str] = field(default_factory=list)
    counterexample: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def fail(self, message: str, counterexample: str | None = None) -> None:
        self.ok = False
        self.lines.append("FAIL: " + message)
        if counterexample is not None and (
            self.counterexample is None or len(counterexample) < len(self.counterexample)
        ):
            self.counterexample = counterexample

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
