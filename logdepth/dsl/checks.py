"""Run a spec's check statements against deciders: the ground-truth oracles by default, or
callables that run compiled transformer weights (passed in by the constructions)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from logdepth.automata.words import format_word
from logdepth.dsl.lower import Check, Spec
from logdepth.errors import LogdepthError
from logdepth.graphs import Graph

Accepts = Callable[[str, tuple[str, ...]], bool]
Connected = Callable[[str, str, str], bool]


@dataclass(frozen=True)
class CheckResult:
    """One case of one check: which check, the word or pair, what was expected and what came."""

    check: Check
    case: tuple
    text: str  # the word or pair as the user would write it
    expected: bool
    got: bool | None  # None when the decider raised an error
    error: str | None
    file: str
    line: int
    column: int

    @property
    def passed(self) -> bool:
        return self.error is None and self.got == self.expected

    @property
    def source_line(self) -> str:
        return self.check.source_line

    def describe(self) -> str:
        status = "PASS" if self.passed else "FAIL"
        c = self.check
        if c.kind in ("accepts", "rejects"):
            what = f"{c.target} {c.kind} {self.text!r}"
            want = "accept" if self.expected else "reject"
            got = None if self.got is None else ("accept" if self.got else "reject")
        else:
            what = f"{c.target} {c.kind} {self.text}"
            want = "connected" if self.expected else "disconnected"
            got = None if self.got is None else ("connected" if self.got else "disconnected")
        detail = f"expected {want}, got {got}" if self.error is None else f"error: {self.error}"
        return f"{self.file}:{self.line}:{self.column}: {status} {what} ({detail})"


def run_checks(
    spec: Spec,
    *,
    accepts: Accepts | None = None,
    connected: Connected | None = None,
    names: Sequence[str] | None = None,
) -> list[CheckResult]:
    """Evaluate every case of every check (optionally only checks on `names`).

    `accepts(name, word)` and `connected(name, s, t)` default to the oracles
    (`automaton.accepts`, `graph.reachable`). A decider that raises a `LogdepthError` makes that
    case fail with the error's text; other exceptions propagate (they are bugs).
    """
    if accepts is None:

        def accepts(name: str, word: tuple[str, ...]) -> bool:
            return spec[name].accepts(word)

    if connected is None:

        def connected(name: str, s: str, t: str) -> bool:
            return spec[name].reachable(s, t)

    results = []
    for check in spec.checks:
        if names is not None and check.target not in names:
            continue
        obj = spec[check.target]
        for k, case in enumerate(check.cases):
            span = check.spans[k] if k < len(check.spans) else check.span
            if isinstance(obj, Graph):
                text = f"{case[0]} -> {case[1]}"
            else:
                text = format_word(case, obj.alphabet)
            got: bool | None
            error = None
            try:
                if isinstance(obj, Graph):
                    got = bool(connected(check.target, case[0], case[1]))
                else:
                    got = bool(accepts(check.target, tuple(case)))
            except LogdepthError as exc:
                got, error = None, str(exc)
            results.append(
                CheckResult(
                    check, case, text, check.expected, got, error, spec.file, span.line, span.column
                )
            )
    return results
