"""Verification of the star-free cascade transformer (constructions/starfree.py) against the
automaton it came from.

Answers come from the forward pass (`model.accepts_batch`); the per-token cascade values are
decoded from the residual stream of `model.trace` by cell name. Nothing here imports
`logdepth.constructions`: the cascade (each level's values, its table keyed by the upper levels'
previous values and the letter, the start encoding, every encoding and the state it names) is
read from the weight file's report, checked against the automaton, and then run here in plain
Python to say what every cell must hold.

- The claim decides the automaton's language: a breadth-first search of the product of the
  automaton's DFA and the cascade (from the start state and the start encoding) reaches no pair
  whose answers differ, and no encoding or table row the report lacks.
- Every word up to `exhaustive`, random words up to `max_length`, accepted and rejected words.
- Per token of a few traced words: level.i holds the cascade's level i after the token (at
  every token, every level, after the last layer), and old.i holds level i before the token.
- The layer count is 2 L (L levels; 1 without levels) for every length checked and for
  n = 1, 8, 4096, 10^6, and every trace runs that many layers.
- Longer words toward the stored frontier within `budget_s` seconds; then the stored curve n(p)
  at an affordable p under p-bit emulation (`verify.words.probe_frontier`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from logdepth import catalog
from logdepth.automata.dfa import DFA
from logdepth.automata.nfa import NFA
from logdepth.automata.stored import automaton_of
from logdepth.automata.words import format_word
from logdepth.errors import InputError
from logdepth.model.compiled import CompiledModel
from logdepth.verify.report import Progress, VerifyReport
from logdepth.verify.words import (
    Budget,
    check_constant_layers,
    check_traced_cells,
    clamp_to_frontier,
    probe_frontier,
    run_words,
    words_details,
)

ENTRY = "starfree"
KEEP = -1  # a table entry that keeps the level's value (starfree.KEEP)
LAYERS_PER_LEVEL = 2  # starfree.LAYERS_PER_LEVEL, tested against it
DEFAULT_MAX_LENGTH = 64
DEFAULT_SAMPLES = 200
DEFAULT_BUDGET_S = 30.0


@dataclass(frozen=True)
class CascadeClaim:
    """The cascade a weight file's report describes, runnable here."""

    labels: tuple[tuple[str, ...], ...]
    tables: tuple[dict[tuple[tuple[int, ...], str], int], ...]
    start: tuple[int, ...]
    decode: dict[tuple[int, ...], str]
    accept: frozenset[str]

    @property
    def levels(self) -> int:
        return len(self.labels)

    @property
    def layers(self) -> int:
        return max(LAYERS_PER_LEVEL * self.levels, 1)

    def step(self, values: tuple[int, ...], letter: str) -> tuple[int, ...] | None:
        """The encoding after `letter`; None when the tables lack a row it needs."""
        out = []
        for i in range(self.levels):
            entry = self.tables[i].get((values[:i], letter))
            if entry is None:
                return None
            out.append(values[i] if entry == KEEP else entry)
        return tuple(out)

    def run(self, word: Sequence[str]) -> list[tuple[int, ...]]:
        """Encodings at tokens 0..n + 1 (BoS the start; $ keeps every level)."""
        values = self.start
        out = [values]
        for a in word:
            nxt = self.step(values, a)
            if nxt is None:
                raise ValueError(f"the cascade's tables have no row for {a!r} at {values}")
            values = nxt
            out.append(values)
        out.append(values)
        return out


def read_claim(model: CompiledModel) -> CascadeClaim:
    """The cascade of the file's report; ValueError/KeyError/TypeError if it is malformed."""
    expected = catalog.get(ENTRY).config_name
    if model.config.construction != expected:
        raise ValueError(
            f"verify_starfree checks {expected!r} models, not {model.config.construction!r}"
        )
    cascade = (model.extra.get("report") or {})["cascade"]
    levels = cascade["levels"]
    labels = tuple(tuple(str(x) for x in lv["values"]) for lv in levels)
    tables = tuple(
        {(tuple(int(u) for u in upper), str(a)): int(v) for upper, a, v in lv["table"]}
        for lv in levels
    )
    for i, table in enumerate(tables):
        for (upper, _), v in table.items():
            if len(upper) != i or not (v == KEEP or 0 <= v < len(labels[i])):
                raise ValueError(f"level {i}'s table has a malformed row")
    start = tuple(int(v) for v in cascade["start"])
    decode = {tuple(int(v) for v in enc): str(s) for enc, s in cascade["encodings"]}
    if len(start) != len(labels) or any(len(e) != len(labels) for e in decode):
        raise ValueError("an encoding does not have one value per level")
    return CascadeClaim(labels, tables, start, decode, frozenset(cascade["accept"]))


def language_mismatch(automaton: DFA | NFA, claim: CascadeClaim) -> str | None:
    """Why the cascade does not decide the automaton's language (a shortest word and what
    goes wrong), or None: breadth-first search of the product automaton x cascade."""
    dfa = automaton.determinize() if isinstance(automaton, NFA) else automaton
    start = (dfa.start, claim.start)
    parent: dict[Any, Any] = {start: None}
    queue = [start]

    def word_to(at: Any) -> str:
        word: list[str] = []
        while parent[at] is not None:
            at, a = parent[at]
            word.append(a)
        return format_word(tuple(reversed(word)), list(dfa.alphabet))

    for q, enc in queue:
        if enc not in claim.decode:
            return f"after {word_to((q, enc))!r} the cascade reaches an encoding it cannot decode"
        if (q in dfa.accept) != (claim.decode[enc] in claim.accept):
            return f"the cascade and the automaton disagree on {word_to((q, enc))!r}"
        for a in dfa.alphabet:
            nxt_enc = claim.step(enc, a)
            if nxt_enc is None:
                return f"after {word_to((q, enc))!r} the tables have no row for {a!r}"
            nxt = (dfa.delta[(q, a)], nxt_enc)
            if nxt not in parent:
                parent[nxt] = ((q, enc), a)
                queue.append(nxt)
    return None


def check_cells(model: CompiledModel, claim: CascadeClaim, word: Sequence[str]) -> list[str]:
    """Trace `word`: level.i must hold the cascade's level i at every token, old.i level i
    before the token (tokens 1..n + 1), after the last layer; returns the differences."""
    trace = model.trace(list(word))
    ends = trace.layer_ends()
    if len(ends) != claim.layers:
        return [f"the trace ran {len(ends)} layers, expected {claim.layers}"]
    run = claim.run(word)
    shown = format_word(word, model.alphabet) or "(empty)"
    errors = []
    for i in range(claim.levels):
        want = [claim.labels[i][enc[i]] for enc in run]
        cells = [(f"level.{i}", want, 0)]
        if i < claim.levels - 1:
            cells.append((f"old.{i}", want[:-1], 1))
        for name, values, first in cells:
            got = list(trace.decode(name, ends[-1]))[first:]
            bad = [t for t, (g, w) in enumerate(zip(got, values, strict=True)) if g != w]
            if bad:
                t = bad[0]
                errors.append(
                    f"{shown}: token {t + first} holds {name} = {got[t]}, expected {values[t]}"
                )
    return errors


def verify_starfree(
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
    """Check a star-free cascade transformer against its automaton (module docstring).
    `automaton` defaults to the spec the weight file carries; `max_length` (default 64) is
    capped at the stored frontier; `samples` random words (default 200); `exhaustive` (default:
    every word while there are at most 2,048) the longest length checked word by word;
    `budget_s` (default 30) the seconds spent on longer words toward the stored frontier."""
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
        report.fail(f"the weight file's report does not describe a cascade: {err}")
        return report

    # 1. The cascade decides the automaton's language.
    report.checks += 1
    why = language_mismatch(automaton, claim)
    if why is not None:
        report.fail(f"the stored cascade does not decide the automaton's language: {why}")
        return report
    report.lines.append(
        f"the report's cascade ({claim.levels} levels, widths "
        f"{[len(x) for x in claim.labels]}) decides the automaton's language"
    )

    return check_cascade_run(
        model, automaton, claim, max_length, samples, exhaustive, seed, budget, report, progress
    )


def check_cascade_run(
    model: CompiledModel,
    automaton: DFA | NFA,
    claim: CascadeClaim,
    max_length: int | None,
    samples: int,
    exhaustive: int | None,
    seed: int,
    budget: Budget,
    report: VerifyReport,
    progress: Progress | None,
) -> VerifyReport:
    """Steps 2-5 of a cascade verifier, shared by the star-free and solvable ones (a claim
    with `levels`, `layers`, `labels` and `run`): words through the forward pass, the constant
    layer count, every level at every token of traced words, the frontier probe; fills
    `report.details`."""
    # 2. Words through the forward pass.
    limit = clamp_to_frontier(
        model, DEFAULT_MAX_LENGTH if max_length is None else max_length, report
    )
    if limit < 0:
        return report
    rng = random.Random(seed)
    run = run_words(model, automaton, limit, samples, exhaustive, seed, budget, report, progress)

    # 3. The layer count is the cascade's constant.
    check_constant_layers(model, claim.layers, run.lengths, report)

    # 4. Every level at every token of traced words (longer ones as the budget allows).
    traced, cell_errors = check_traced_cells(
        model,
        automaton,
        limit,
        rng,
        budget,
        report,
        lambda w: check_cells(model, claim, w),
        "every level (level.i, and old.i = level i before the token) matches the cascade",
    )

    # 5. Toward the stored frontier, then the precision model's n(p) under emulation.
    longest, emulated = probe_frontier(
        model, automaton, max(run.longest, 0), budget, seed, report
    )
    report.details = {
        **words_details(run),
        "max_length": limit,
        "largest_n_run": longest,
        "mismatches": len(run.mismatches),
        "traced": traced,
        "cell_errors": cell_errors,
        "levels": claim.levels,
        "layers": claim.layers,
        "emulated": emulated,
        "dtype": model.dtype_name,
        "frontier": model.frontier if model.frontier is not None else -1,
        "budget_s": budget.seconds,
    }
    return report
