"""Verification of Theorem 1 / Corollary 1.1 transformers against the automaton they came from.

Everything is checked through the weights: answers come from `model.accepts_batch` (the forward
pass), the level invariants are decoded from the residual stream of `model.trace`. The automaton
is rebuilt from `model.extra["spec"]`, so a weight file is all that is needed.

Level invariant (the proof of Theorem 1, the paper's Appendix C), read after the l-th
level's layers (l = 0, 1, ...):

    active tokens     = {t in 1..n : 2^(l+1) divides t}           (cell "active")
    delta at active t = w_{t - 2^(l+1) + 1} ... w_t                  (cell "delta")
    delta at $        = the last (n mod 2^(l+1)) symbols' product     (the accumulator)

and after the last level delta at $ is the whole word's element. The layer count must be
8 ceil(log2 n) + 9 (uniform), 4 ceil(log2 N) + 5 (non-uniform) or ceil(log2 n) + 8 (wide,
constructions/wide.py) for every n checked.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from logdepth import catalog
from logdepth.automata.dfa import DFA
from logdepth.automata.nfa import NFA
from logdepth.automata.stored import automaton_of
from logdepth.automata.words import format_word
from logdepth.catalog import Construction
from logdepth.errors import InputError
from logdepth.model.codebook import Codebook, Element
from logdepth.model.compiled import CompiledModel, TraceResult
from logdepth.verify.codebook import check_codebook_against
from logdepth.verify.precision import rederive_record
from logdepth.verify.report import Progress, VerifyReport
from logdepth.verify.words import (
    BASE_LENGTH,
    Budget,
    clamp_to_frontier,
    probe_frontier,
    run_words,
    special_lengths,
    words_details,
)

DEFAULT_MAX_LENGTH = 64
# Seconds `verify` may spend past its base words (`verify.words.Budget`): the exhaustive words and
# words up to BASE_LENGTH always run; longer words, traces and the frontier probe while they fit.
DEFAULT_BUDGET_S = 30.0
# Tracing keeps every attention matrix ([heads, n, n] per layer), so invariants are decoded on
# at most this many words, of length at most INVARIANT_MAX_LENGTH.
INVARIANT_WORDS = 24
INVARIANT_MAX_LENGTH = 128


def construction_of(model: CompiledModel) -> Construction:
    """The catalog entry the file's config names; InputError for a hand-built program."""
    entry = catalog.of_config(model.config.construction)
    if entry is None or entry.input_format != "word":
        raise InputError(
            f"no word construction is registered as {model.config.construction!r}: its layer "
            "formula and level layout are unknown (`logdepth constructions` lists them)"
        )
    return entry


def expected_layers(model: CompiledModel, n: int) -> int:
    """The layer count the construction's formula promises for input size n (a non-uniform
    build: for its N, the report's max_length), never from the config (which is what is being
    checked): 8 ceil(log2 n) + 9 for Theorem 1, 4 ceil(log2 N) + 5 for Corollary 1.1, ..."""
    entry = construction_of(model)
    if entry.needs_max_length:
        maximum = (model.extra.get("report") or {}).get("max_length")
        if not isinstance(maximum, int) or isinstance(maximum, bool) or maximum < 0:
            raise InputError(
                f"this {entry.reference} file's report has no max_length N, so its layer count "
                "cannot be checked against its formula; recompile it"
            )
        return entry.layers(n, maximum)
    return entry.layers(n)


def wide_layers(n: int) -> int:
    """The wide Theorem 1 (constructions/wide.py): ceil(log2 n) + 8."""
    return catalog.get("wide").layers(n)


def nonuniform_layers(max_length: int) -> int:
    """Corollary 1.1: 4 ceil(log2 N) + 5."""
    return catalog.get("nonuniform").layers(max_length, max_length)


def encoding_of(model: CompiledModel, automaton: DFA | NFA | None = None) -> Codebook:
    """The element codes the weights use, from the codebook the file carries (`automaton` is
    accepted for the callers that have one; the codes do not depend on it)."""
    return Codebook.of(model.extra.get("report") or {})


# ---------------------------------------------------------------------------------------------
# Level invariants
# ---------------------------------------------------------------------------------------------


@dataclass
class LevelState:
    """What the residual stream holds after one level (decoded)."""

    level: int  # after this level, blocks have length 2^(level + 1)
    active: list[int]  # token indices t (1..n) flagged active
    blocks: dict[int, Element]  # active t -> decoded delta
    accumulator: Element  # delta at $


@dataclass
class LevelCheck:
    states: list[LevelState] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    layers: int = 0


def level_steps(model: CompiledModel, trace: TraceResult) -> list[int]:
    """Residual indices right after each level: a fixed-depth build's layout from its catalog
    entry (first, per), a uniform one's from its loop (s + r, r)."""
    ends = trace.layer_ends()
    entry = construction_of(model)
    if entry.level_layers is not None:
        first, per, after = entry.level_layers
        levels = (len(ends) - first - after) // per + 1
        return [ends[first - 1 + per * k] for k in range(levels)]
    per = len(model.config.repeated)
    start = len(model.config.initial)  # 0 for the faithful Theorem 1; 6 for the wide one
    return [ends[start + per * k + per - 1] for k in range(trace.depth + 1)]


def decode_levels(model: CompiledModel, trace: TraceResult, encoding: Codebook) -> list[LevelState]:
    """P_l(t) at each active token and the accumulator at $, after every level."""
    states = []
    n = len(trace.tokens) - 2
    for level, step in enumerate(level_steps(model, trace)):
        active = trace.decode("active", step)
        codes = encoding.decode(trace.cell("delta", step))
        flagged = [t for t in range(1, n + 1) if active[t] > 0.5]
        states.append(LevelState(level, flagged, {t: codes[t] for t in flagged}, codes[n + 1]))
    return states


def check_levels(
    model: CompiledModel, word: Sequence[str], encoding: Codebook | None = None
) -> LevelCheck:
    """Trace `word` and compare every level's state with products computed from the word."""
    encoding = encoding or encoding_of(model)
    trace = model.trace(list(word))
    result = LevelCheck(layers=len(trace.layer_ends()))
    result.states = decode_levels(model, trace, encoding)
    n = len(word)
    shown = " ".join(word) if word else "(empty)"
    for state in result.states:
        size = 2 ** (state.level + 1)
        want_active = [t for t in range(1, n + 1) if t % size == 0]
        if state.active != want_active:
            result.errors.append(
                f"{shown}: after level {state.level} the active tokens are {state.active}, "
                f"expected {want_active}"
            )
        for t in want_active:
            want = encoding.product(word[t - size : t])
            if state.blocks.get(t) != want:
                result.errors.append(
                    f"{shown}: after level {state.level} token {t} holds "
                    f"{state.blocks.get(t)}, expected P = {want}"
                )
        suffix = n % size
        want_acc = encoding.product(word[n - suffix :])
        if state.accumulator != want_acc:
            result.errors.append(
                f"{shown}: after level {state.level} the accumulator is {state.accumulator}, "
                f"expected {want_acc} (the last {suffix} symbols)"
            )
    if result.states:
        final = result.states[-1].accumulator
        if final != encoding.product(word):
            result.errors.append(f"{shown}: the final accumulator is not the word's element")
    return result


# ---------------------------------------------------------------------------------------------
# The verifier
# ---------------------------------------------------------------------------------------------


def verify_regular(
    model: CompiledModel,
    *,
    max_length: int | None = None,
    samples: int | None = None,
    exhaustive: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    budget_s: float | None = None,
) -> VerifyReport:
    """Check the transformer against its automaton: the file's codebook against the automaton
    (`verify.codebook`), exhaustive and random words (through the forward pass) with accepted
    and rejected words drawn uniformly at every length run (`verify.words.run_words`), the
    level invariants (decoded from traces), the layer counts, and the stored frontier
    (`verify.words.probe_frontier`: longer and longer words up to the frontier, then the
    precision model's prediction n(p) at an affordable p under p-bit emulation). `budget_s`
    (default 30) bounds everything past the base words (`verify.words.Budget`): the exhaustive
    words and words up to BASE_LENGTH always run, everything longer only while it fits, and
    the report says what was skipped."""
    samples = 200 if samples is None else samples
    budget = Budget(DEFAULT_BUDGET_S if budget_s is None else budget_s)
    report = VerifyReport()
    automaton = automaton_of(model)
    frontier = model.frontier if model.frontier is not None else -1
    limit = clamp_to_frontier(
        model, DEFAULT_MAX_LENGTH if max_length is None else max_length, report
    )
    if limit < 0:
        return report
    check_codebook_against(model, automaton, report)
    rng = random.Random(seed)
    run = run_words(model, automaton, limit, samples, exhaustive, seed, budget, report, progress)

    # Layer counts for every length checked.
    lengths = sorted(run.lengths)
    bad_counts = []
    for n in lengths:
        report.checks += 1
        want = expected_layers(model, n)
        got = model.num_layers(n)
        if got != want:
            bad_counts.append((n, got, want))
    if bad_counts:
        n, got, want = bad_counts[0]
        report.fail(f"layer count {got} for n = {n}, expected {want}")
    else:
        report.lines.append(f"layer counts match the theorem for {len(lengths)} lengths")

    rederive_record(model, report)
    # Level invariants on a few traced words.
    invariant_errors, traced = _check_invariants(
        model, automaton, run.short_words, limit, rng, report, budget
    )
    longest_run, emulated = probe_frontier(
        model, automaton, max(run.longest, 0), budget, seed, report
    )
    report.details = {
        **words_details(run),
        "largest_n_run": max(longest_run, max(lengths, default=0)),
        "invariants_traced": traced,
        "emulated": emulated,
        "frontier_basis": ((model.extra.get("report") or {}).get("frontier_basis") or {}).get(
            model.dtype_name, "unrecorded"
        ),
        "max_length": limit,
        "mismatches": len(run.mismatches),
        "invariant_errors": invariant_errors,
        "dtype": model.dtype_name,
        "frontier": frontier,
        "budget_s": budget.seconds,
    }
    return report


def _check_invariants(
    model: CompiledModel,
    automaton: DFA | NFA,
    words: list[tuple[str, ...]],
    limit: int,
    rng: random.Random,
    report: VerifyReport,
    budget: Budget,
) -> tuple[int, int]:
    """Trace a few words, shortest first (past BASE_LENGTH while they fit in the budget), and
    check every level; returns (errors, words traced)."""
    try:
        encoding = encoding_of(model, automaton)
    except Exception as err:  # a foreign spec (--spec) the weights were not compiled from
        report.fail(f"level invariants cannot be decoded: {err}")
        return 1, 0
    if model.config.cell("delta").size != encoding.dim:
        report.fail(
            "level invariants cannot be decoded: the spec's element encoding does not fit the "
            "weights' delta cell (verify against the spec the file was compiled from)"
        )
        return 1, 0
    cap = min(limit, INVARIANT_MAX_LENGTH)
    alphabet = list(automaton.alphabet)
    picked = [w for w in words if len(w) <= cap]
    chosen: list[tuple[str, ...]] = []
    for length in special_lengths(cap):
        chosen.append(tuple(rng.choice(alphabet) for _ in range(length)))
    rng.shuffle(picked)
    chosen.extend(picked[: max(0, INVARIANT_WORDS - len(chosen))])
    chosen.sort(key=len)
    errors, skipped = 0, 0
    first: tuple[tuple[str, ...], str] | None = None
    for index, w in enumerate(chosen):
        if len(w) > BASE_LENGTH and not budget.fits("trace", len(w), 1):
            skipped = len(chosen) - index
            chosen = chosen[:index]
            break
        began = time.perf_counter()
        result = check_levels(model, w, encoding)
        budget.record("trace", len(w), 1, time.perf_counter() - began, len(w) > BASE_LENGTH)
        report.checks += len(result.states) + 1
        want = expected_layers(model, len(w))
        if result.layers != want:
            result.errors.append(f"the trace ran {result.layers} layers, expected {want}")
        if result.errors:
            errors += len(result.errors)
            if first is None or len(w) < len(first[0]):
                first = (w, result.errors[0])
    if first is not None:
        text = format_word(first[0], alphabet)
        report.fail(f"level invariant: {first[1]}", counterexample=text)
    else:
        report.lines.append(
            f"level invariants (active tokens, P_l(t), accumulator at $) hold on "
            f"{len(chosen)} traced words up to length {max(map(len, chosen), default=0)}"
            + (f" ({skipped} longer ones skipped for the budget)" if skipped else "")
        )
    return errors, len(chosen)
