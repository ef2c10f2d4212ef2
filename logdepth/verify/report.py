"""The result of a verification run (`logdepth verify`), shared by every construction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

# progress(done, total): called by long verification loops; the CLI draws a bar with it.
Progress = Callable[[int, int], None]


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
