"""The words every word verifier runs through the forward pass, the answer check, the time
budget, and the honest count of what ran.

Shared by Theorem 1's verifier (`verify.regular`) and the counting verifier
(`verify.counting`): the length limit clamped to the stored frontier, every word up to the
largest exhaustive length, then, at every longer length run, an accepted and a rejected word
drawn uniformly from the automaton's (`automata.sample.WordCounter`) when the language has one
of that length, and random words at the off-by-one lengths 2^k - 1, 2^k, 2^k + 1 and at random
lengths. Every length up to BASE_LENGTH gets its accepted and rejected word; past it, a length
with an accepted (rejected) word is added when none of the planned ones has one, so a sparse
language (a date stamp accepts words of one length only) still runs accepting words.

The budget (`Budget`): the exhaustive words and every word up to BASE_LENGTH always run (a
default run's words) and are not charged to it; everything longer (words, traced words, the
frontier probe, the emulated check) runs shortest first and only while the next run is
predicted to end inside the budget, and the report says what was skipped for it.

The report counts, per length run, the accepted and rejected words that ran, says where the
language has no accepted (rejected) word of a length, says when the language is empty, and fails
if a length ran without an accepted word although the language has one of that length.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from logdepth.automata.dfa import DFA
from logdepth.automata.nfa import NFA
from logdepth.automata.sample import WordCounter
from logdepth.automata.words import format_word
from logdepth.model.compiled import CompiledModel
from logdepth.model.inputs import quoted
from logdepth.precision import MAX_EMULATED_BITS
from logdepth.verify.oracle import current as current_oracle
from logdepth.verify.oracle import truth_name, word_truth
from logdepth.verify.precision import Case, accepted_words, all_right, word_cases
from logdepth.verify.report import Progress, VerifyReport, check_exhaustive_size

# Exhaustive words: every word up to the largest length whose count stays under this.
EXHAUSTIVE_BUDGET = 2048
# Words up to this length always run, whatever the budget: the default --max-length, whose words
# take seconds. Past it the budget decides.
BASE_LENGTH = 64
# At most BATCH words, and at most BATCH * BASE_LENGTH symbols, per forward pass (a batch is
# padded to its longest word, and attention holds n^2 scores per word and head).
BATCH = 64
BATCH_SYMBOLS = BATCH * BASE_LENGTH
# Emulated runs up to this length use the longest length run; past it, at most half of it
# (emulation rounds every operation, about EMULATION_COST times a plain run).
EMULATION_FULL_LENGTH = 1024
EMULATION_COST = 3.0
# The per-length summary shows at most this many groups of lengths (the JSON has every length).
SUMMARY_GROUPS = 8
# After the probe and the emulated check, the budget left buys more words at the longest length
# run (an accepted and a random word a round, with fresh seeds), at most this many rounds: the
# time the compact forward pass saves goes where words are fewest and the gaps smallest.
NEAR_FRONTIER_ROUNDS = 8


class Budget:
    """The seconds a verification may spend past its base checks, and what runs cost so far.

    The base checks (the exhaustive words, every word up to BASE_LENGTH, traced words up to it)
    always run and are not charged; every longer run is charged (`record(..., charged=True)`).
    `fits(kind, n, words)` predicts the seconds of running `words` inputs of length n from the
    measured run nearest below n (of the same kind: "run" or "trace"), scaled by the square of
    the sequence length n + 2 (BoS and $; attention is quadratic in it), or from the nearest
    measured run above n (an overestimate), and answers whether the charged time plus that
    stays within the budget. Nothing measured yet: whether any budget is left.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.spent = 0.0
        self._measured: dict[str, dict[int, float]] = {}  # kind -> n -> seconds per input

    def record(self, kind: str, n: int, words: int, seconds: float, charged: bool) -> None:
        if charged:
            self.spent += seconds
        if words > 0:
            per = self._measured.setdefault(kind, {})
            per[n] = max(per.get(n, 0.0), seconds / words)

    def predict(self, kind: str, n: int, words: int) -> float | None:
        """Predicted seconds for `words` inputs of length n (None: nothing measured)."""
        per = self._measured.get(kind) or self._measured.get("run")
        if not per:
            return None
        below = [m for m in per if m <= n]
        if below:
            m = max(below)
            return words * per[m] * ((n + 2) / (m + 2)) ** 2
        return words * per[min(per)]

    def fits(self, kind: str, n: int, words: int, factor: float = 1.0) -> bool:
        cost = self.predict(kind, n, words)
        left = self.seconds - self.spent
        return left > 0 if cost is None else cost * factor <= left


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
class LengthPlan:
    """The words to run at one length past the exhaustive ones."""

    n: int
    accepted: int = 0  # drawn uniformly from the accepted words of length n
    rejected: int = 0  # drawn uniformly from the rejected words of length n
    random: int = 0  # uniform over all words of length n


@dataclass
class LengthCount:
    """What ran at one length, and whether the language has accepted / rejected words there."""

    n: int
    accepted: int = 0
    rejected: int = 0
    language_accepts: bool = False
    language_rejects: bool = False


@dataclass
class WordRun:
    """The outcome of `run_words`: per-length counts, the wrong answers, what was skipped."""

    limit: int
    exhaustive_length: int
    exhaustive: int = 0
    lengths: dict[int, LengthCount] = field(default_factory=dict)
    mismatches: list[tuple[tuple[str, ...], bool, bool]] = field(default_factory=list)
    skipped_words: int = 0
    skipped_lengths: list[int] = field(default_factory=list)
    short_words: list[tuple[str, ...]] = field(default_factory=list)  # ran, up to BASE_LENGTH
    counter: WordCounter | None = None

    @property
    def words(self) -> int:
        return sum(c.accepted + c.rejected for c in self.lengths.values())

    @property
    def longest(self) -> int:
        return max(self.lengths, default=-1)

    def count(self, accepted: bool) -> int:
        return sum(c.accepted if accepted else c.rejected for c in self.lengths.values())


def plan_lengths(
    counter: WordCounter, limit: int, ex_len: int, samples: int, rng: random.Random
) -> list[LengthPlan]:
    """The lengths past `ex_len` to run and their words, shortest first (module docstring)."""
    plans: dict[int, LengthPlan] = {}

    def at(n: int) -> LengthPlan:
        return plans.setdefault(n, LengthPlan(n))

    for n in special_lengths(limit):
        if n > ex_len:
            at(n).random += 1
    for n in (rng.randint(0, limit) for _ in range(samples)):
        if n > ex_len:
            at(n).random += 1
    for n in range(ex_len + 1, min(limit, BASE_LENGTH) + 1):
        at(n)
    for accepted in (True, False):
        past = [n for n in plans if n > BASE_LENGTH]
        if not any(counter.has_words(n, accepted) for n in past):
            extra = counter.next_length(BASE_LENGTH + 1, limit, accepted)
            if extra is not None:
                at(extra)
    for plan in plans.values():
        plan.accepted = int(counter.has_words(plan.n, True))
        plan.rejected = int(counter.has_words(plan.n, False))
    return [plans[n] for n in sorted(plans)]


def _words_at(
    counter: WordCounter, plan: LengthPlan, seed: int
) -> list[tuple[str, ...]]:
    """The plan's words at its length: accepted first, then rejected, then random (a budget
    that stops inside a length has run the accepted word). Seeded per length, so that what
    runs at one length does not depend on what was skipped at another."""
    rng = random.Random(seed * 1_000_003 + plan.n)
    alphabet = counter.alphabet
    words = counter.sample(plan.n, plan.accepted, rng)
    words += counter.sample(plan.n, plan.rejected, rng, accepted=False)
    words += [tuple(rng.choice(alphabet) for _ in range(plan.n)) for _ in range(plan.random)]
    return words


def run_words(
    model: CompiledModel,
    automaton: DFA | NFA,
    limit: int,
    samples: int,
    exhaustive: int | None,
    seed: int,
    budget: Budget,
    report: VerifyReport,
    progress: Progress | None = None,
) -> WordRun:
    """Every exhaustive word, then the planned lengths shortest first (past BASE_LENGTH while
    they fit in the budget), through the forward pass against the automaton; the report's
    lines say what ran (`report_words`). Words are built only when they are about to run.

    The forward passes run on the backend `logdepth.distributed.using` set (in this process
    by default), in the same batches as a serial run; answers are checked here, in order, and
    the budget decides each charged batch as a serial run would, from the seconds the batches
    before it took (on a worker, measured there). So a run whose budget does not cut runs the
    serial run's words and reports the same; one that the budget cuts stops where its own
    timings say (as two serial runs may)."""
    from logdepth import distributed

    counter = WordCounter(automaton)
    alphabet = list(automaton.alphabet)
    ex_len = exhaustive_length(alphabet, limit) if exhaustive is None else min(exhaustive, limit)
    check_exhaustive_size(
        sum(len(alphabet) ** k for k in range(ex_len + 1)),
        f"every word up to length {ex_len} over {len(alphabet)} symbols",
    )
    run = WordRun(limit, ex_len, counter=counter)
    plans = plan_lengths(counter, limit, ex_len, samples, random.Random(seed))
    planned = [sum(len(alphabet) ** k for k in range(ex_len + 1))]
    planned += [p.accepted + p.rejected + p.random for p in plans]
    total, done = sum(planned), 0
    long_plans = [plan for plan in plans if plan.n > BASE_LENGTH]
    chunks = itertools.chain(
        _base_chunks(run, alphabet, plans, seed), _long_chunks(counter, long_plans, seed)
    )
    backend = distributed.current()

    def admit(chunk: _Chunk) -> bool:
        """A charged pass runs only if the budget predicts it fits; on the first that does
        not, that length's rest and every longer length are recorded as skipped."""
        if chunk.plan is None or budget.fits("run", chunk.n, len(chunk.words)):
            return True
        here, rest = long_plans[chunk.plan], long_plans[chunk.plan + 1 :]
        run.skipped_words = here.accepted + here.rejected + here.random - chunk.offset
        run.skipped_words += sum(p.accepted + p.rejected + p.random for p in rest)
        run.skipped_lengths = [here.n] + [p.n for p in rest]
        return False

    results = distributed.map_cases(
        backend, model, _answers, chunks, _Chunk.cost, GROUP_COST, admit
    )
    for chunk, answers, seconds in results:
        _tally_words(run, automaton, chunk.words, answers, report)
        budget.record("run", chunk.n, len(chunk.words), seconds, chunk.plan is not None)
        done += len(chunk.words)
        if progress is not None:
            progress(done, total)
    report_words(run, counter, alphabet, budget, report)
    return run


# Dask groups consecutive passes into one task up to about this many attention scores (four
# forward passes of BATCH words of length BASE_LENGTH): enough to amortise the milliseconds of
# scheduling a task, few enough to keep every worker busy.
GROUP_COST = 4 * BATCH * (BASE_LENGTH + 2) ** 2


@dataclass
class _Chunk:
    """One forward pass of `run_words`: its words (of length at most n), and for a charged
    pass the index of its plan among the long ones and how many of the plan's words came
    before it (plan None: a base pass, never charged)."""

    words: list[tuple[str, ...]]
    n: int
    plan: int | None = None
    offset: int = 0

    def cost(self) -> float:
        """Attention scores of the pass (padded to its longest word, BoS and $ included)."""
        return len(self.words) * (self.n + 2) ** 2


def _answers(model: CompiledModel, chunk: _Chunk) -> list[bool]:
    """One forward pass (wherever the backend runs it): the model's answers."""
    return model.accepts_batch([list(w) for w in chunk.words])


def _tally_words(
    run: WordRun,
    automaton: DFA | NFA,
    words: list[tuple[str, ...]],
    answers: Iterable[bool],
    report: VerifyReport,
) -> None:
    """`run_words`' step for one forward pass: each word's answer against the ground truth
    (the oracle's, when one is set, else the automaton's), a wrong one kept, and the word
    counted at its length as accepted / rejected by the automaton: the coverage check compares
    those counts with what the automaton's language has at that length, so both sides of it
    come from the automaton whatever decides the answers."""
    counter = run.counter
    assert counter is not None
    for w, got in zip(words, answers, strict=True):
        want = word_truth(automaton, w)
        in_language = want if current_oracle() is None else bool(automaton.accepts(list(w)))
        report.checks += 1
        n = len(w)
        if n not in run.lengths:
            run.lengths[n] = LengthCount(
                n, 0, 0, counter.has_words(n, True), counter.has_words(n, False)
            )
        count = run.lengths[n]
        if in_language:
            count.accepted += 1
        else:
            count.rejected += 1
        if got != want:
            run.mismatches.append((w, got, want))
        if n <= BASE_LENGTH:
            run.short_words.append(w)


def _base_chunks(
    run: WordRun, alphabet: Sequence[str], plans: list[LengthPlan], seed: int
) -> Iterator[_Chunk]:
    """`run_words`' first step: the exhaustive words and every planned length up to
    BASE_LENGTH, always run (not charged to the budget), shortest first, BATCH words per
    forward pass across lengths."""
    counter = run.counter
    assert counter is not None
    ex_len = run.exhaustive_length
    base = [w for k in range(ex_len + 1) for w in itertools.product(alphabet, repeat=k)]
    run.exhaustive = len(base)
    for plan in plans:
        if plan.n <= BASE_LENGTH:
            base += _words_at(counter, plan, seed)
    base.sort(key=len)
    for start in range(0, len(base), BATCH):
        chunk = base[start : start + BATCH]
        yield _Chunk(chunk, len(chunk[-1]))


def _long_chunks(counter: WordCounter, plans: list[LengthPlan], seed: int) -> Iterator[_Chunk]:
    """`run_words`' second step: the planned lengths past BASE_LENGTH, shortest first, in
    forward passes of at most BATCH words and BATCH_SYMBOLS symbols; a length's words are
    built when its first pass is asked for. Each pass is charged to the budget, and runs only
    while the budget predicts it fits (`run_words`' admit)."""
    for index, plan in enumerate(plans):
        per_batch = max(1, min(BATCH, BATCH_SYMBOLS // max(plan.n, 1)))
        words = _words_at(counter, plan, seed)
        for start in range(0, len(words), per_batch):
            yield _Chunk(words[start : start + per_batch], plan.n, index, start)


def ranges(numbers: Iterable[int]) -> str:
    """1, 2, 3, 5, 7, 8 -> "1-3, 5, 7-8"."""
    out: list[str] = []
    for _, group in itertools.groupby(enumerate(sorted(numbers)), lambda kn: kn[1] - kn[0]):
        ns = [n for _, n in group]
        out.append(f"{ns[0]}" if len(ns) == 1 else f"{ns[0]}-{ns[-1]}")
    return ", ".join(out)


def report_words(
    run: WordRun,
    counter: WordCounter,
    alphabet: Sequence[str],
    budget: Budget,
    report: VerifyReport,
) -> None:
    """The lines that say what ran: totals, per-length groups (accepted and rejected words
    run; where the language has none), the empty language, what the budget skipped; and the
    failures (a wrong answer; a length run without an accepted word the language has)."""
    accepted, rejected = run.count(True), run.count(False)
    rest = run.words - run.exhaustive
    report.lines.append(
        f"{run.words:,} words against {truth_name('the automaton')}, {accepted:,} accepted and "
        f"{rejected:,} "
        f"rejected by it: {run.exhaustive:,} exhaustive (every word up to length "
        f"{run.exhaustive_length}), {rest:,} of longer lengths up to {max(run.longest, 0)} "
        f"(an accepted and a rejected word drawn uniformly at every length that has one, random "
        f"words, lengths 2^k - 1, 2^k, 2^k + 1; the limit is {run.limit})"
    )
    groups = _length_groups(run)
    for group in groups[:SUMMARY_GROUPS]:
        report.lines.append(_group_line(group))
    if len(groups) > SUMMARY_GROUPS:
        hidden = groups[SUMMARY_GROUPS:]
        report.lines.append(
            f"  ... and {len(hidden)} more groups of lengths up to {hidden[-1][-1].n} "
            "(every length in --json)"
        )
    _language_lines(run, counter, accepted, budget, report)
    _word_failures(run, alphabet, report)


def _length_groups(run: WordRun) -> list[list[LengthCount]]:
    """`report_words`' grouping step: consecutive lengths run with the same (accepts?,
    rejects?) status of the language, shortest first."""
    groups: list[list[LengthCount]] = []
    for n in sorted(run.lengths):
        c = run.lengths[n]
        status = (c.language_accepts, c.language_rejects)
        last = groups[-1][-1] if groups else None
        if last is not None and (last.language_accepts, last.language_rejects) == status:
            groups[-1].append(c)
        else:
            groups.append([c])
    return groups


def _group_line(group: list[LengthCount]) -> str:
    """`report_words`' line for one group of lengths: the accepted and rejected words run,
    or that the language has none there."""
    first, last = group[0].n, group[-1].n
    if first == last:
        where = f"length {first}"
    elif last - first + 1 == len(group):
        where = f"lengths {first}-{last}"
    else:
        where = f"{len(group)} lengths from {first} to {last}"
    acc = sum(c.accepted for c in group)
    rej = sum(c.rejected for c in group)
    parts = []
    if group[0].language_accepts:
        parts.append(f"{acc:,} accepted")
    else:
        parts.append("0 accepted (the language accepts no word of " + (
            "this length)" if first == last else "these lengths)"))
    if group[0].language_rejects:
        parts.append(f"{rej:,} rejected")
    else:
        parts.append("0 rejected (the language accepts every word of " + (
            "this length)" if first == last else "these lengths)"))
    return f"  {where}: {', '.join(parts)} ran"


def _language_lines(
    run: WordRun, counter: WordCounter, accepted: int, budget: Budget, report: VerifyReport
) -> None:
    """`report_words`' notes: an empty or universal language, no accepted word run, and what
    the budget skipped."""
    if counter.is_empty():
        report.lines.append(
            "the language is empty: the automaton accepts no word of any length, so no "
            "accepting word exists to run (a model that rejects everything passes)"
        )
    elif accepted == 0:
        shortest = counter.next_length(0, 10**18)
        where = " (skipped for the budget)" if shortest in run.skipped_lengths else ""
        report.lines.append(
            f"no accepted word ran: the automaton accepts no word of any length run; its "
            f"shortest accepted word has length {shortest}{where}"
        )
    if counter.is_empty(accepted=False):
        report.lines.append(
            "the language is every word: no rejected word exists (a model that accepts "
            "everything passes)"
        )
    if run.skipped_words:
        report.lines.append(
            f"skipped for the budget of {budget.seconds:g} s: {run.skipped_words:,} words at "
            f"{len(set(run.skipped_lengths))} lengths from {min(run.skipped_lengths)} to "
            f"{max(run.skipped_lengths)} (raise --budget to run them)"
        )


def _word_failures(run: WordRun, alphabet: Sequence[str], report: VerifyReport) -> None:
    """`report_words`' failures: a length run without an accepted (rejected) word the
    language has there, and the wrong answers (the shortest one shown)."""
    # A length the budget cut part-way (the first of the skipped lengths) ran only its first
    # forward passes: its missing class is reported as skipped, not as a hole in the sweep.
    full = [c for c in run.lengths.values() if c.n not in run.skipped_lengths]
    missing = [c.n for c in full if c.language_accepts and not c.accepted]
    if missing:
        report.fail(
            f"the language accepts words of length {ranges(missing)} but no accepted word ran "
            "there"
        )
    missing = [c.n for c in full if c.language_rejects and not c.rejected]
    if missing:
        report.fail(
            f"the language rejects words of length {ranges(missing)} but no rejected word ran "
            "there"
        )
    if run.mismatches:
        w, got, want = min(run.mismatches, key=lambda m: (len(m[0]), m[0]))
        text = format_word(w, alphabet)
        report.fail(
            f"{len(run.mismatches)} words answered wrongly; shortest {text!r}: "
            f"{truth_name('the automaton')} {'accepts' if want else 'rejects'} it, the "
            f"transformer {'accepts' if got else 'rejects'} it",
            counterexample=text,
        )


def words_details(run: WordRun) -> dict:
    """The JSON part of the word counts: totals, every length run, what was skipped, and the
    language's exact number of accepted words at each length up to BASE_LENGTH."""
    counter = run.counter
    assert counter is not None
    exact = counter.counts(min(max(run.longest, 0), BASE_LENGTH))
    return {
        "words": run.words,
        "accepted_words": run.count(True),
        "rejected_words": run.count(False),
        "exhaustive_length": run.exhaustive_length,
        "language_empty": counter.is_empty(),
        "language_universal": counter.is_empty(accepted=False),
        "lengths": [
            {
                "n": c.n,
                "accepted": c.accepted,
                "rejected": c.rejected,
                "language_accepts": c.language_accepts,
                "language_rejects": c.language_rejects,
                "language_accepted_count": exact[c.n] if c.n < len(exact) else None,
            }
            for c in sorted(run.lengths.values(), key=lambda c: c.n)
        ],
        "skipped_for_budget": {
            "words": run.skipped_words,
            "lengths": sorted(set(run.skipped_lengths)),
        },
    }


def case_counts(cases: Sequence[Case]) -> str:
    """"3 words: 1 accepted, 2 rejected" for a case set."""
    acc = sum(c.want == "accept" for c in cases)
    return f"{len(cases)} words: {acc} accepted, {len(cases) - acc} rejected"


def probe_frontier(
    model: CompiledModel,
    automaton: DFA | NFA,
    checked: int,
    budget: Budget,
    seed: int,
    report: VerifyReport,
) -> tuple[int, dict[str, int] | None]:
    """Reach toward the stored frontier: (1) lengths F/2^k above `checked` (the longest length
    run so far), smallest first, an accepted and a random word each (a rejected one if both are
    accepted), in the model's dtype, while the next length fits in the budget; (2) the precision
    model's prediction: at the largest emulatable p whose predicted n(p) is at most what ran
    (half of it past EMULATION_FULL_LENGTH), words of length n(p) under p-bit emulation, if that
    fits in the budget (about EMULATION_COST times a plain run); (3) what budget is left buys
    more words at the longest length run (more_near_frontier). Returns (largest n run, the
    emulated check {bits, n} or None)."""
    largest, failed = _probe_lengths(model, automaton, checked, budget, seed, report)
    if failed:
        return largest, None
    emulated = _emulated_check(model, automaton, largest, budget, seed, report)
    if largest > checked:  # the budget left buys more words where the gaps are smallest
        more_near_frontier(model, automaton, largest, budget, seed, report)
    return largest, emulated


def _probe_lengths(
    model: CompiledModel,
    automaton: DFA | NFA,
    checked: int,
    budget: Budget,
    seed: int,
    report: VerifyReport,
) -> tuple[int, bool]:
    """probe_frontier's step (1): lengths F/2^k above `checked`, smallest first, while the
    next fits in the budget. Returns (the longest length run, whether a word of it failed: a
    failure is reported and stops the probe)."""
    frontier = model.frontier or 0
    lengths = sorted({frontier >> k for k in range(32)} - {0})
    lengths = [n for n in lengths if n > checked]
    largest, ran, skipped = checked, [], []
    for index, n in enumerate(lengths):
        if not budget.fits("run", n, 3):
            skipped = lengths[index:]
            break
        where = f"inside the stored frontier {frontier}"
        cases = _round_at(model, automaton, n, seed, budget, report, where)
        if cases is None:
            return n, True
        largest = n
        ran.append(f"{n} ({sum(c.want == 'accept' for c in cases)} accepted)")
    if ran:
        report.lines.append(f"toward the frontier, lengths run: {', '.join(ran)}")
    line = (
        f"longest words run: n = {largest} of the stored {model.dtype_name} frontier {frontier} "
        f"(budget {budget.seconds:g} s)"
    )
    if skipped:
        line += f"; lengths {', '.join(map(str, skipped))} skipped for the budget"
    report.lines.append(line)
    return largest, False


def _emulated_check(
    model: CompiledModel,
    automaton: DFA | NFA,
    largest: int,
    budget: Budget,
    seed: int,
    report: VerifyReport,
) -> dict[str, int] | None:
    """probe_frontier's step (2): words of the predicted n(p) under p-bit emulation, at the
    largest affordable p; the {bits, n} checked, or None when none was affordable."""
    curve = (model.extra.get("report") or {}).get("frontier_by_bits") or {}
    emulation_cap = largest if largest <= EMULATION_FULL_LENGTH else largest // 2
    affordable = [
        (int(p), n)
        for p, n in curve.items()
        if int(p) <= MAX_EMULATED_BITS and 0 < n <= emulation_cap
    ]
    if not affordable:
        report.lines.append("no emulated check: the file carries no frontier curve n(p)"
                            if not curve else
                            f"no emulated check: no predicted n(p) is at most {emulation_cap}")
        return None
    # The longest predicted n, at the fewest bits that predict it (a capped curve repeats N).
    bits, n = max(affordable, key=lambda pn: (pn[1], -pn[0]))
    if not budget.fits("run", n, 6, factor=EMULATION_COST):  # up to 2 + 2 + 2 words
        report.lines.append(
            f"emulated check skipped for the budget: p = {bits} mantissa bits (emulated) at the "
            f"predicted n({bits}) = {n}"
        )
        return None
    start = time.perf_counter()
    cases = word_cases(model, automaton, n, 2, seed)
    report.checks += len(cases)
    right = all_right(model, cases, bits)
    budget.record("emulated", n, len(cases), time.perf_counter() - start, True)
    if not right:
        report.fail(
            f"the precision model predicts n({bits}) = {n}, but at {bits} emulated bits words "
            f"of length {n} are answered wrongly: the derived frontier is not trustworthy"
        )
    else:
        report.lines.append(
            f"precision model checked: {case_counts(cases)} of the predicted n({bits}) = {n} "
            f"right with p = {bits} mantissa bits (emulated)"
        )
    return {"bits": bits, "n": n}


def _round_at(
    model: CompiledModel,
    automaton: DFA | NFA,
    n: int,
    seed: int,
    budget: Budget,
    report: VerifyReport,
    where: str,
) -> list[Case] | None:
    """One round of words of length n (an accepted and a random word, a rejected one if both
    are accepted), charged to the budget; None, with the first wrong word quoted in a failure,
    if any is answered wrongly."""
    start = time.perf_counter()
    cases = word_cases(model, automaton, n, 1, seed)
    report.checks += len(cases)
    right = all_right(model, cases, None)
    budget.record("run", n, len(cases), time.perf_counter() - start, True)
    if not right:
        wrong = _first_wrong(model, automaton, cases)
        report.fail(f"a word of length {n} ({where}) is wrong: {wrong}")
        return None
    return cases


def _first_wrong(model: CompiledModel, automaton: DFA | NFA, cases: Sequence[Case]) -> str:
    """The first wrong case quoted with both answers (a second forward pass, on failure only)."""
    got = model.run_tokens([c.tokens for c in cases], check=False)
    for case, answer in zip(cases, got, strict=True):
        if answer != case.want:
            text = format_word(case.tokens[1:-1], list(automaton.alphabet))
            return (
                f"{quoted(text)}: {truth_name('the automaton')} says {case.want}, the "
                f"transformer {answer}"
            )
    return "(not reproduced on a second run)"


def more_near_frontier(
    model: CompiledModel,
    automaton: DFA | NFA,
    n: int,
    budget: Budget,
    seed: int,
    report: VerifyReport,
) -> None:
    """Up to NEAR_FRONTIER_ROUNDS more rounds of words of length n (the longest run toward the
    frontier), each while the budget left predicts it fits; a wrong answer fails the report."""
    cases: list[Case] = []
    for round_ in range(1, NEAR_FRONTIER_ROUNDS + 1):
        if not budget.fits("run", n, 3):
            break
        where = "inside the stored frontier"
        batch = _round_at(model, automaton, n, seed + round_, budget, report, where)
        if batch is None:
            return
        cases += batch
    if cases:
        report.lines.append(f"near the frontier: {case_counts(cases)} more at n = {n}")


# ---- the checks every constant-depth verifier runs ------------------------------------------
# The sizes whose layer count a constant-depth model is checked at, beside every length that ran.
LAYER_CHECK_SIZES = (1, 8, 4096, 10**6)
# Traced words: about this many, spread over the special lengths up to TRACED_MAX_LENGTH (a trace
# keeps every residual: short words keep it cheap), plus an accepted word of the longest length.
TRACED_WORDS = 12
TRACED_MAX_LENGTH = 128


def check_constant_layers(
    model: CompiledModel, layers: int, lengths: Iterable[int], report: VerifyReport
) -> None:
    """`model.num_layers(n) == layers` at every length that ran and at LAYER_CHECK_SIZES: a
    constant-depth construction's claim, one line or a failure naming the first n off."""
    sizes = sorted(set(lengths) | set(LAYER_CHECK_SIZES))
    wrong = [(n, model.num_layers(n)) for n in sizes if model.num_layers(n) != layers]
    report.checks += len(sizes)
    if wrong:
        n, got = wrong[0]
        report.fail(f"{got} layers for n = {n}, expected {layers} for every n")
    else:
        report.lines.append(
            f"{layers} layers for all {len(sizes)} sizes checked (n up to {max(sizes):,})"
        )


def check_traced_cells(
    model: CompiledModel,
    automaton: DFA | NFA,
    limit: int,
    rng: random.Random,
    budget: Budget,
    report: VerifyReport,
    check: Callable[[tuple[str, ...]], list[str]],
    what: str,
) -> tuple[int, int]:
    """Trace words spread over the special lengths up to min(limit, TRACED_MAX_LENGTH) and an
    accepted word of the longest, shortest first (past BASE_LENGTH while the budget allows),
    and run `check(word)` (the decoded cells' errors) on each. Reports "`what` at every token
    of K traced words" or the first error; returns (words traced, cell errors)."""
    alphabet = list(automaton.alphabet)
    cap = min(limit, TRACED_MAX_LENGTH)
    spread = special_lengths(cap)
    spread = sorted({*spread[:: -(-len(spread) // (TRACED_WORDS - 2))], cap})
    traced = [tuple(rng.choice(alphabet) for _ in range(n)) for n in spread]
    traced += [tuple(w) for w in accepted_words(automaton, cap, 1, rng)]
    traced.sort(key=len)
    errors: list[str] = []
    skipped = 0
    for index, w in enumerate(traced):
        if len(w) > BASE_LENGTH and not budget.fits("trace", len(w), 1):
            skipped = len(traced) - index
            traced = traced[:index]
            break
        began = time.perf_counter()
        report.checks += 1
        errors += check(w)
        budget.record("trace", len(w), 1, time.perf_counter() - began, len(w) > BASE_LENGTH)
    if errors:
        report.fail(f"decoded cells: {errors[0]} ({len(errors)} in all)")
    else:
        report.lines.append(
            f"{what} at every token of {len(traced)} traced words up to length "
            f"{max(map(len, traced), default=0)}"
            + (f" ({skipped} longer ones skipped for the budget)" if skipped else "")
        )
    return len(traced), len(errors)
