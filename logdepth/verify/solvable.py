"""Verification of the solvable cascade transformer (constructions/solvable.py) against the
automaton it came from: the star-free verifier's checks (`verify.starfree`) for a cascade whose
levels are reset levels or modular counters.

Nothing here imports `logdepth.constructions`: the cascade (each level's kind, modulus, values
and table keyed by the upper levels' previous values and the letter, the start configuration,
every reachable configuration and the state it names) is read from the weight file's report,
checked against the automaton by a breadth-first search of their product, and run here in plain
Python to say what every cell must hold: level.i at every token (a counter's value mod p), old.i
the value before the token. The layer count is recomputed from the levels' kinds (the
construction's formula, restated here and tested against it) for every length checked and for
n = 1, 8, 4096, 10^6; then words toward the stored frontier and the emulated n(p).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from logdepth import catalog
from logdepth.automata.dfa import DFA
from logdepth.automata.nfa import NFA
from logdepth.automata.stored import automaton_of
from logdepth.errors import InputError
from logdepth.model.compiled import CompiledModel
from logdepth.verify.report import Progress, VerifyReport
from logdepth.verify.starfree import (
    CascadeClaim,
    check_cascade_run,
    language_mismatch,
)
from logdepth.verify.words import (
    Budget,
)

ENTRY = "solvable"
KEEP = -1
# The construction's layer formula (solvable.layer_count), restated and tested against it:
# Lemma 1's 7-layer table (level 0's read rides in it), 2 per further reset level, 4 per
# counter (5 with modulus above 2), 1 more when the last level is a counter.
TABLE_LAYERS, RESET_LAYERS = 7, 2
DEFAULT_SAMPLES = 200
DEFAULT_BUDGET_S = 30.0


@dataclass(frozen=True)
class SolvableClaim:
    """The cascade a weight file's report describes, runnable here."""

    kinds: tuple[str, ...]
    moduli: tuple[int, ...]
    labels: tuple[tuple[str, ...], ...]
    tables: tuple[dict[tuple[tuple[int, ...], str], Any], ...]
    start: tuple[int, ...]
    decode: dict[tuple[int, ...], str]
    accept: frozenset[str]

    @property
    def levels(self) -> int:
        return len(self.labels)

    @property
    def layers(self) -> int:
        if not self.kinds:
            return 1
        total = TABLE_LAYERS
        for kind, m in zip(self.kinds[1:], self.moduli[1:], strict=True):
            total += RESET_LAYERS if kind == "reset" else 4 + (m > 2)
        return total + (self.kinds[-1] == "counter")

    def step(self, values: tuple[int, ...], letter: str) -> tuple[int, ...] | None:
        """The configuration after `letter`; None when the tables lack a row it needs."""
        out = []
        for i in range(self.levels):
            entry = self.tables[i].get((values[:i], letter))
            if entry is None:
                return None
            if self.kinds[i] == "reset":
                out.append(values[i] if entry == KEEP else entry)
            else:
                kind, x = entry
                out.append(x if kind == "reset" else (values[i] + x) % self.moduli[i])
        return tuple(out)

    # Configurations at tokens 0..n + 1 from `start` and `step`: the star-free claim's run.
    run = CascadeClaim.run


def read_claim(model: CompiledModel) -> SolvableClaim:
    """The cascade of the file's report; ValueError/KeyError/TypeError if it is malformed."""
    expected = catalog.get(ENTRY).config_name
    if model.config.construction != expected:
        raise ValueError(
            f"verify_solvable checks {expected!r} models, not {model.config.construction!r}"
        )
    cascade = (model.extra.get("report") or {})["cascade"]
    levels = cascade["levels"]
    kinds = tuple(str(lv["kind"]) for lv in levels)
    moduli = tuple(int(lv["modulus"]) for lv in levels)
    labels = tuple(tuple(str(x) for x in lv["values"]) for lv in levels)
    tables: list[dict[tuple[tuple[int, ...], str], Any]] = []
    for i, lv in enumerate(levels):
        table: dict[tuple[tuple[int, ...], str], Any] = {}
        for upper, a, e in lv["table"]:
            key = (tuple(int(u) for u in upper), str(a))
            if len(key[0]) != i:
                raise ValueError(f"level {i}'s table has a malformed row")
            if kinds[i] == "reset":
                if not (int(e) == KEEP or 0 <= int(e) < len(labels[i])):
                    raise ValueError(f"level {i}'s table writes a value it does not have")
                table[key] = int(e)
            elif kinds[i] == "counter":
                kind, x = str(e[0]), int(e[1])
                if kind not in ("reset", "add") or not 0 <= x < moduli[i]:
                    raise ValueError(f"level {i}'s table has a malformed counter entry")
                table[key] = (kind, x)
            else:
                raise ValueError(f"level {i} has an unknown kind {kinds[i]!r}")
        tables.append(table)
    start = tuple(int(v) for v in cascade["start"])
    decode = {tuple(int(v) for v in c): str(s) for c, s in cascade["configurations"]}
    if len(start) != len(labels) or any(len(c) != len(labels) for c in decode):
        raise ValueError("a configuration does not have one value per level")
    return SolvableClaim(
        kinds, moduli, labels, tuple(tables), start, decode, frozenset(cascade["accept"])
    )


def verify_solvable(
    model: CompiledModel,
    automaton: DFA | NFA | None = None,
    *,
    max_length: int | None = None,
    samples: int | None = None,
    exhaustive: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    budget_s: float | None = None,
) -> VerifyReport:
    """Check a solvable cascade transformer against its automaton (module docstring); the
    options are `verify_starfree`'s."""
    samples = DEFAULT_SAMPLES if samples is None else samples
    budget = Budget(DEFAULT_BUDGET_S if budget_s is None else budget_s)
    report = VerifyReport()
    if automaton is None:
        try:
            automaton = automaton_of(model)
        except InputError as err:
            report.fail(str(err))
            return report
    try:
        claim = read_claim(model)
    except (KeyError, TypeError, ValueError) as err:
        report.fail(f"the weight file's report does not describe a solvable cascade: {err}")
        return report

    report.checks += 1
    why = language_mismatch(automaton, claim)  # type: ignore[arg-type]
    if why is not None:
        report.fail(f"the stored cascade does not decide the automaton's language: {why}")
        return report
    shape = ", ".join(
        k if k == "reset" else f"Z_{m}" for k, m in zip(claim.kinds, claim.moduli, strict=True)
    )
    report.lines.append(
        f"the report's cascade ({claim.levels} levels: {shape}) decides the automaton's language"
    )

    return check_cascade_run(
        model,
        automaton,
        claim,  # type: ignore[arg-type]
        max_length,
        samples,
        exhaustive,
        seed,
        budget,
        report,
        progress,
    )
