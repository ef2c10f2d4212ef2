"""The word set every word verifier runs through the forward pass, and the answer check.

Shared by Theorem 1's verifier (`verify.regular`) and the counting verifier
(`verify.counting`): the length limit clamped to the stored frontier, every word up to the
largest exhaustive length, the off-by-one lengths 2^k - 1, 2^k, 2^k + 1, random words, and
accepted and rejected words (a model that answers one way passes random words of most
languages), then every answer against the automaton.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

from logdepth.automata.dfa import DFA
from logdepth.automata.nfa import NFA
from logdepth.automata.words import format_word
from logdepth.model.compiled import CompiledModel
from logdepth.precision import MAX_EMULATED_BITS
from logdepth.verify.precision import accepted_words, all_right, rejected_words, word_cases
from logdepth.verify.report import Progress, VerifyReport, check_exhaustive_size

# Exhaustive words: every word up to the largest length whose count stays under this.
EXHAUSTIVE_BUDGET = 2048
BATCH = 64
# Emulated runs up to this length use the longest length run; past it, at most half of it
# (emulation rounds every operation, about 3x a plain run).
EMULATION_FULL_LENGTH = 1024


def special_lengths(limit: int) -> list[int]:
    """0, 1, 2 and 2^k - 1, 2^k, 2^k + 1 up to limit (the off-by-one cases of the tree)."""
    out = {0, 1, 2}
    k = 1
    while 2**k - 1 <= limit:
        out.update(x for x in (2**k - 1, 2**k, 2**k + 1) if x <= limit)
        k += 1
    return sorted(x for x in out if x <= limit)


def exhaustive_length(alphabet: Sequence[str], cap: int) -> int:
    """The largest k <= cap whose words up to length k number at most EXHAUSTIVE_BUDGET."""
    k, total = 0, 1
    while k < cap:
        nxt = total + len(alphabet) ** (k + 1)
        if nxt > EXHAUSTIVE_BUDGET:
            break
        total, k = nxt, k + 1
    return k


def clamp_to_frontier(model: CompiledModel, max_length: int, report: VerifyReport) -> int:
    """The longest length to check: max_length, or the stored frontier if that is smaller
    (said in the report); -1 (and a failure) when the file has no usable frontier."""
    frontier = model.frontier if model.frontier is not None else -1
    limit = max_length
    if limit > frontier:
        report.lines.append(
            f"max length {limit} is beyond the frontier {frontier} ({model.dtype_name}); "
            f"checking up to {frontier}"
        )
        limit = frontier
    if limit < 0:
        report.fail(f"the weights carry no usable frontier for {model.dtype_name}")
    return limit


@dataclass
class WordSet:
    words: list[tuple[str, ...]]
    exhaustive: int  # how many of them are the exhaustive ones
    exhaustive_length: int
    limit: int


def word_set(
    automaton: DFA | NFA,
    limit: int,
    samples: int,
    exhaustive: int | None,
    rng: random.Random,
) -> WordSet:
    """Exhaustive words, special and random lengths, and an accepted and a rejected word at
    every special length and at a quarter of the random lengths."""
    alphabet = list(automaton.alphabet)
    ex_len = exhaustive_length(alphabet, limit) if exhaustive is None else min(exhaustive, limit)
    check_exhaustive_size(
        sum(len(alphabet) ** k for k in range(ex_len + 1)),
        f"every word up to length {ex_len} over {len(alphabet)} symbols",
    )
    words: list[tuple[str, ...]] = []
    for k in range(ex_len + 1):
        words.extend(itertools.product(alphabet, repeat=k))
    n_exhaustive = len(words)
    specials = special_lengths(limit)
    lengths = specials + [rng.randint(0, limit) for _ in range(samples)]
    words += [tuple(rng.choice(alphabet) for _ in range(n)) for n in lengths]
    for n in specials + lengths[len(specials) :: 4]:
        words += [tuple(w) for w in accepted_words(automaton, n, 1, rng)]
        words += [tuple(w) for w in rejected_words(automaton, n, 1, rng)]
    return WordSet(words, n_exhaustive, ex_len, limit)


def traced_words(
    automaton: DFA | NFA, cap: int, count: int, rng: random.Random
) -> list[tuple[str, ...]]:
    """Words whose per-token cells a verifier decodes: random words at about count - 2 of the
    special lengths up to `cap` (cap included) and one accepted word of length `cap`."""
    alphabet = list(automaton.alphabet)
    spread = special_lengths(cap)
    spread = sorted({*spread[:: -(-len(spread) // (count - 2))], cap})
    traced = [tuple(rng.choice(alphabet) for _ in range(n)) for n in spread]
    traced += [tuple(w) for w in accepted_words(automaton, cap, 1, rng)]
    return traced


def check_answers(
    model: CompiledModel,
    automaton: DFA | NFA,
    batch: WordSet,
    report: VerifyReport,
    progress: Progress | None = None,
) -> int:
    """Every word of the set through the forward pass (shortest first), against the
    automaton; one summary line, and a failure naming the shortest wrong word. Returns the
    number of wrong answers."""
    words = batch.words
    alphabet = list(automaton.alphabet)
    order = sorted(range(len(words)), key=lambda k: len(words[k]))
    mismatches: list[tuple[tuple[str, ...], bool, bool]] = []
    for start in range(0, len(words), BATCH):
        chunk = [words[k] for k in order[start : start + BATCH]]
        for w, got in zip(chunk, model.accepts_batch([list(w) for w in chunk]), strict=True):
            want = automaton.accepts(list(w))
            report.checks += 1
            if got != want:
                mismatches.append((w, got, want))
        if progress is not None:
            progress(min(start + BATCH, len(words)), len(words))
    n_accepted = sum(1 for w in words if automaton.accepts(list(w)))
    report.lines.append(
        f"{len(words)} words ({batch.exhaustive} exhaustive up to length "
        f"{batch.exhaustive_length}, the rest random, accepted, rejected, or of lengths "
        f"2^k - 1, 2^k, 2^k + 1 up to {batch.limit}; {n_accepted} accepted by the automaton) "
        "against the automaton"
    )
    if mismatches:
        w, got, want = min(mismatches, key=lambda m: (len(m[0]), m[0]))
        text = format_word(w, alphabet)
        report.fail(
            f"{len(mismatches)} words answered wrongly; shortest {text!r}: transformer "
            f"{'accepts' if got else 'rejects'}, automaton {'accepts' if want else 'rejects'}",
            counterexample=text,
        )
    return len(mismatches)


def probe_frontier(
    model: CompiledModel,
    automaton: DFA | NFA,
    checked: int,
    budget_s: float,
    seed: int,
    report: VerifyReport,
) -> tuple[int, dict[str, int] | None]:
    """Reach toward the stored frontier: (1) lengths F/2^k above `checked`, smallest first,
    one accepting and one random word each, in the model's dtype, while the next length
    (about 4x the time of the last: attention is quadratic) fits in `budget_s`; (2) the
    precision model's prediction: at the largest emulatable p whose predicted n(p) is at most
    what ran (half of it past EMULATION_FULL_LENGTH), words of length n(p) under p-bit
    emulation. Returns (largest n run, the
    emulated check {bits, n} or None)."""
    frontier = model.frontier or 0
    lengths = sorted({frontier >> k for k in range(32)} - {0})
    lengths = [n for n in lengths if n > checked]
    largest, spent, last = checked, 0.0, 0.0
    for n in lengths:
        if spent + 4 * last > budget_s:
            break
        start = time.perf_counter()
        cases = word_cases(model, automaton, n, 1, seed)
        report.checks += len(cases)
        if not all_right(model, cases, None):
            report.fail(f"a word of length {n} (inside the stored frontier {frontier}) is wrong")
            return n, None
        last = time.perf_counter() - start
        spent += last
        largest = n
    report.lines.append(
        f"longest words run: n = {largest} of the stored {model.dtype_name} frontier {frontier} "
        f"(budget {budget_s:g} s)"
    )
    curve = (model.extra.get("report") or {}).get("frontier_by_bits") or {}
    # Emulation rounds every operation (about 3x a plain run): past short lengths it stays
    # within the budget by running at most half the longest length run.
    emulation_cap = largest if largest <= EMULATION_FULL_LENGTH else largest // 2
    affordable = [
        (int(p), n)
        for p, n in curve.items()
        if int(p) <= MAX_EMULATED_BITS and 0 < n <= emulation_cap
    ]
    if not affordable:
        report.lines.append("no emulated check: the file carries no frontier curve n(p)")
        return largest, None
    # The longest predicted n, at the fewest bits that predict it (a capped curve repeats N).
    bits, n = max(affordable, key=lambda pn: (pn[1], -pn[0]))
    cases = word_cases(model, automaton, n, 2, seed)
    report.checks += len(cases)
    if not all_right(model, cases, bits):
        report.fail(
            f"the precision model predicts n({bits}) = {n}, but at {bits} emulated bits words "
            f"of length {n} are answered wrongly: the derived frontier is not trustworthy"
        )
    else:
        report.lines.append(
            f"precision model checked: {len(cases)} words (with accepting ones) of the predicted "
            f"n({bits}) = {n} right under {bits}-bit emulation"
        )
    return largest, {"bits": bits, "n": n}
