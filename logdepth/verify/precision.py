"""Measured precision: run a model with every operation rounded to p mantissa bits (the paper's
Definition 4, emulated on float64) and find, for each input size n, the least p at which every
answer of a fixed input set is right. The set always includes accepting (or connected) inputs:
a model that rejects everything would pass random words of most languages.

`least_bits` assumes that more bits never hurt (it steps from a guess, or gallops and bisects
over p): a reported p always ran right, and p - 1 ran wrong (or p is MIN_EMULATED_BITS). It
runs several p per batched forward, each row of the batch at its own p.
`rederive_record` re-derives a weight file's tolerance, frontier and worst-case rounding.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

import numpy as np
import torch

from logdepth.automata.dfa import DFA
from logdepth.automata.nfa import NFA
from logdepth.automata.sample import WordCounter
from logdepth.automata.stored import automaton_of
from logdepth.graphs import reachability
from logdepth.model import inputs
from logdepth.model.compiled import CompiledModel
from logdepth.model.transformer import SCORE_BLOCK_ELEMENTS, emulation_forms_hidden
from logdepth.precision import MAX_EMULATED_BITS, MIN_EMULATED_BITS, fit_bits
from logdepth.verify.oracle import word_truth


def accepted_words(automaton: DFA | NFA, length: int, count: int, rng: random.Random) -> list:
    """`count` words of exactly `length`, each drawn uniformly from the words of that length
    the automaton accepts (`automata.sample.WordCounter`); none if it accepts no such word."""
    return [list(w) for w in WordCounter(automaton).sample(length, count, rng)]


@dataclass
class Case:
    """One input: its tokens and the right output token."""

    tokens: list[str]
    want: str


def rejected_words(automaton: DFA | NFA, length: int, count: int, rng: random.Random) -> list:
    """`count` words of exactly `length`, each drawn uniformly from the words of that length
    the automaton rejects; none if it rejects every such word."""
    return [list(w) for w in WordCounter(automaton).sample(length, count, rng, accepted=False)]


def word_cases(model: CompiledModel, automaton: DFA | NFA, n: int, k: int, seed: int) -> list[Case]:
    """k accepting and k random words of length n for a Theorem 1 / Corollary 1.1 model, and
    k rejecting words when the random ones happen to be all accepted (a model that accepts
    everything must not pass: the wide parity model at p = 4, n = 64, seed 0 did)."""
    rng = random.Random(seed * 1_000_003 + n)
    alphabet = list(automaton.alphabet)
    words = accepted_words(automaton, n, k, rng)
    words += [[rng.choice(alphabet) for _ in range(n)] for _ in range(k)]
    if all(automaton.accepts(w) for w in words):
        words += rejected_words(automaton, n, k, rng)
    return [
        Case(inputs.encode_word(w), "accept" if word_truth(automaton, w) else "reject")
        for w in words
    ]


def graph_cases(n: int, k: int, seed: int) -> list[Case]:
    """k connected and k disconnected (source, target) queries on random n-vertex digraphs
    (edge probability 1.5/n), for Theorem 2; the answer comes from BFS (`reachability`)."""
    rng = random.Random(seed * 1_000_003 + n)
    want = {"connected": k, "disconnected": k}
    cases: list[Case] = []
    for _ in range(200 * k):
        if not any(want.values()):
            break
        adjacency = np.array(
            [[rng.random() < 1.5 / max(n, 1) for _ in range(n)] for _ in range(n)], dtype=bool
        )
        reach = reachability(adjacency)
        s, t = rng.randrange(n), rng.randrange(n)
        label = "connected" if reach[s, t] else "disconnected"
        if want[label]:
            want[label] -= 1
            cases.append(Case(inputs.encode_graph(adjacency, s, t), label))
    return cases


def cases_for(model: CompiledModel, n: int, k: int = 4, seed: int = 0) -> list[Case]:
    """The fixed input set at size n for any model, by its input format (catalog.INPUTS):
    words with accepting ones, or graphs with connected queries."""
    from logdepth import catalog

    return catalog.input_of(model).case_set(model, n, k, seed)


def word_case_set(model: CompiledModel, n: int, k: int, seed: int) -> list[Case]:
    return word_cases(model, automaton_of(model), n, k, seed)


def graph_case_set(model: CompiledModel, n: int, k: int, seed: int) -> list[Case]:
    return graph_cases(n, k, seed)


def all_right(model: CompiledModel, cases: Sequence[Case], bits: int | None) -> bool:
    """Run every case with p = `bits` emulated (on a float64 copy; None: the model's own
    dtype), past the stored frontier (this is how the frontier is probed); True if every answer
    is right."""
    if bits is not None and model.dtype_name != "float64":
        model = model.to("float64")  # emulation rounds float64 results (round_to_bits)
    network = model.network
    saved = network.precision_bits
    network.precision_bits = bits
    try:
        got = model.run_tokens([c.tokens for c in cases], check=False)
    finally:
        network.precision_bits = saved
    return all(g == c.want for g, c in zip(got, cases, strict=True))


# Activation budget of one emulated forward, in float64 values: 2^20 = 8 MiB, a CPU's cache
# share rather than the score block's 256 MiB (SCORE_BLOCK_ELEMENTS >> 5). Every rounding makes
# two temporaries of its tensor, so the emulated pass is memory-bound: on the wide parity model
# at n = 64 (64 words) the search took 10.3 s with the score budget and 4.4 s with this one, the
# faithful one at n = 32 the same either way (benchmarks/emulation.py's cases, one run).
EMULATION_BLOCK_ELEMENTS = SCORE_BLOCK_ELEMENTS >> 5


def rows_per_forward(model: CompiledModel, tokens: int) -> int:
    """How many rows of `tokens` tokens one emulated forward pass may run at once.

    The budget, EMULATION_BLOCK_ELEMENTS float64 values, applies to the activations a row
    keeps alive at the widest layer, per token: the residual stream and its update
    (2 d_model), the pre-norm (d_model at most), q, k, v and the heads' output
    (heads (2 d_head + 2 d_value)), the feed-forward's hidden units (d_ff, where the
    emulated pass forms them: `transformer.emulation_forms_hidden`), and one score row per head
    (heads: with a batch of rows past the budget the score chunk is one query row,
    [rows, heads, 1, n], so it has to fit too). The peak is a small multiple of the budget,
    as for the score block; one row over the budget runs alone.
    """
    config = model.config
    shapes = [shape for part in ("initial", "repeated", "final") for shape in getattr(config, part)]
    hidden = emulation_forms_hidden(model.network.device)
    widest = max(
        (s.n_heads * (2 * s.d_head + 2 * s.d_value + 1) + hidden * s.d_ff for s in shapes),
        default=0,
    )
    per_row = max(1, tokens) * (3 * config.d_model + widest)
    return max(1, EMULATION_BLOCK_ELEMENTS // per_row)


# right_at runs the cases in waves of 1, 3, 12, 48, ... (each wave WAVE_GROWTH - 1 times the
# cases before it, so 4 forwards cover 64 cases): a wrong p costs about one case's rows
# instead of every case's, as a one-input-at-a-time check that stops at the first wrong answer
# would, for a few more forwards at the p that are right.
WAVE_GROWTH = 4


def right_at(model: CompiledModel, cases: Sequence[Case], bits: Sequence[int]) -> dict[int, bool]:
    """For each p in `bits`, whether every case runs right with p-bit emulation: the
    len(cases) * len(bits) (case, p) pairs run as rows of batched forward passes, each row at
    its own p (`UniversalTransformer.precision_bits` as a per-row tensor; a row computes bit
    for bit what it would alone at its p), in chunks of `rows_per_forward` rows, in waves of
    cases (WAVE_GROWTH) that leave out the p already wrong. A row whose logits are not finite
    counts as wrong."""
    bits = list(dict.fromkeys(bits))
    if not bits or not cases:
        return {p: True for p in bits}
    if model.dtype_name != "float64":
        model = model.to("float64")  # emulation rounds float64 results (round_to_bits)
    right = dict.fromkeys(bits, True)
    network = model.network
    saved = network.precision_bits
    try:
        # Waves of cases, each WAVE_GROWTH times the cases run so far: a p that is wrong is
        # usually wrong on the first inputs already, and its rows in later waves are skipped.
        done = 0
        while done < len(cases):
            wave = cases[done : done + max(1, (WAVE_GROWTH - 1) * done)]
            done += len(wave)
            rows = [(p, case) for p in bits if right[p] for case in wave]
            # Rows of one forward share an unrolling depth (and are padded to the longest,
            # as run_tokens pads them).
            groups: dict[int, list[tuple[int, Case]]] = {}
            for p, case in rows:
                d = model.config.depth_rule.depth(model.input_size(case.tokens))
                groups.setdefault(d, []).append((p, case))
            for depth, members in groups.items():
                step = rows_per_forward(model, max(len(c.tokens) for _, c in members))
                for start in range(0, len(members), step):
                    chunk = [(p, c) for p, c in members[start : start + step] if right[p]]
                    if not chunk:
                        continue  # every p of this chunk already ran wrong
                    network.precision_bits = torch.tensor([p for p, _ in chunk])
                    got = model._run_rows([c.tokens for _, c in chunk], depth, check=False)
                    for (p, case), answer in zip(chunk, got, strict=True):
                        if answer != case.want:  # a NonFiniteError is never equal
                            right[p] = False
    finally:
        network.precision_bits = saved
    return right


class _Unknown(Exception):
    """`sequential_search` needs the verdict at `p`, which is not known yet."""

    def __init__(self, p: int) -> None:
        self.p = p


def sequential_search(
    verdict: Callable[[int], bool],
    lo: int = MIN_EMULATED_BITS,
    hi: int = MAX_EMULATED_BITS,
    guess: int | None = None,
) -> int | None:
    """The one-p-at-a-time search over `verdict(p)` (every case right at p?), which
    `least_bits` follows. Either way the p returned ran right, and p - 1 ran wrong unless p is
    MIN_EMULATED_BITS.

    With a `guess` (a sweep's: the least p whose frontier the file's precision model promises
    reaches n) it runs the guess, then steps one bit at a time toward the answer, so that
    every p between the guess and the answer ran right: no p is skipped. That matters because
    verdicts are not always monotone in p: at a few bits below the least p an input can come
    out right by luck, and a search that jumps (a gallop or a bisection down from the guess)
    can land on such an island (the wide parity model at n = 16,384 gave p = 13 that way,
    against 15 at 8,192). Otherwise it gallops up from `lo` (a caller may pass a p known to be
    needed), then bisects."""
    if guess is not None and lo <= guess <= hi:
        if verdict(guess):
            p = guess
            while p > MIN_EMULATED_BITS and verdict(p - 1):
                p -= 1
            return p
        p = guess + 1
        while p <= hi and not verdict(p):
            p += 1
        return p if p <= hi else None
    lo = max(lo, MIN_EMULATED_BITS)
    if lo > MIN_EMULATED_BITS and verdict(lo - 1):
        lo = MIN_EMULATED_BITS  # the hint was too high: search from the bottom
    step, probe = 1, lo
    while probe < hi and not verdict(probe):
        lo, probe, step = probe + 1, min(hi, probe + step), 2 * step
    if probe >= hi and not verdict(hi):
        return None
    hi = probe
    while hi > lo:  # hi ran right; every p < lo ran wrong (or is below the floor)
        mid = (lo + hi) // 2
        if verdict(mid):
            hi = mid
        else:
            lo = mid + 1
    return hi


# p probed per batched forward: the p the search needs next and the two it needs after that
# (one per outcome), so every forward advances the search two probes whatever the outcome: a
# guess that is right, or one bit low, is settled in one forward. Deeper lookahead (7 p for
# three probes) evaluates more p than the search needs.
SEARCH_WINDOW = 3


def _lookahead(known: dict[int, bool], run, width: int) -> list[int]:
    """Up to `width` p the search `run` may need next: the one it needs under `known`, then
    breadth first the ones it needs under each outcome of those (the outcome "right" first)."""
    wanted: list[int] = []
    frontier: list[dict[int, bool]] = [known]
    while frontier and len(wanted) < width:
        assumed = frontier.pop(0)
        try:
            run(assumed)
        except _Unknown as need:
            if need.p not in wanted:
                wanted.append(need.p)
            frontier += [{**assumed, need.p: True}, {**assumed, need.p: False}]
    return wanted


def least_bits(
    model: CompiledModel,
    cases: Sequence[Case],
    lo: int = MIN_EMULATED_BITS,
    hi: int = MAX_EMULATED_BITS,
    guess: int | None = None,
) -> int | None:
    """The least p in [lo, hi] at which every case is right (None if even hi fails): the
    answer of `sequential_search` over the whole set (which assumes more bits never hurt; see
    there), the same p whatever the verdicts, with the p it probes run SEARCH_WINDOW at a time
    in batched forwards (`right_at`): the p it needs next and the ones it would need after
    either outcome. Where the rows are heavy (a forward holds fewer than SEARCH_WINDOW p of
    every case: long inputs, wide models) two at a time, the next and the one after "right",
    so that no more p run than the one-at-a-time search runs when its guess is right.

    Every probe asks the whole set, though a right p costs a row per case: searching the
    first case alone and then checking the set at its p would cost far fewer rows, but one
    input comes out right by luck a few bits below its least p far more often than a set
    does, and the set can then be right there by luck too (faithful parity, n = 128, 4
    inputs, no hints: that search gave p = 14, the whole set's 21;
    `test_least_bits_is_the_sequential_search_answer`).
    """
    cases = list(cases)
    known: dict[int, bool] = {}

    def run(assumed: dict[int, bool]) -> int | None:
        def verdict(p: int) -> bool:
            if p not in assumed:
                raise _Unknown(p)
            return assumed[p]

        return sequential_search(verdict, lo, hi, guess)

    tokens = max((len(c.tokens) for c in cases), default=1)
    width = SEARCH_WINDOW
    if rows_per_forward(model, tokens) < width * len(cases):
        width = 2
    while True:
        probe = _lookahead(known, run, width)
        if not probe:
            return run(known)
        known.update(right_at(model, cases, probe))


# A line through two points always fits them (r^2 = 1, whatever the slope), so a fit is only
# evidence with a third size past the flat floor to test it.
MIN_FIT_SIZES = 3


@dataclass
class Sweep:
    """least p per n, and the fit p = c log2 n + b over `fitted` (the sizes past the floor).
    With fewer than MIN_FIT_SIZES sizes past the floor there is no fit: `fitted` is empty and
    c, b, r2 are NaN."""

    sizes: list[int]
    bits: list[int]
    fitted: list[int]
    c: float
    b: float
    r2: float

    @property
    def past_floor(self) -> list[int]:
        """The sizes after the last step at which p did not grow (`floor_end`)."""
        return self.sizes[floor_end(self.bits) :]


def floor_end(bits: Sequence[int]) -> int:
    """Index of the first size of the growing tail: the sizes after the last step at which p
    did not grow. Before it, p is set by gaps that do not shrink with n (the hashes
    phi(lambda v) are nearly linear while lambda v < 1), so log2 n does not explain p there."""
    flat = [k for k in range(1, len(bits)) if bits[k] <= bits[k - 1]]
    return flat[-1] + 1 if flat else 0


def growth_region(sizes: Sequence[int], bits: Sequence[int]) -> int:
    """`floor_end`, keeping at least the last two sizes (for the benchmarks' tables, which
    show a slope at any size; `sweep` refuses to fit fewer than MIN_FIT_SIZES)."""
    return min(floor_end(bits), max(len(sizes) - 2, 0))


def next_search(found: Sequence[int]) -> dict[str, int]:
    """Where the next size's search starts: at least the last p (a longer input never needs
    fewer bits), guessing the last step again once two sizes are known (about 4 bits per
    doubling of n past the flat region, docs/precision.md). `benchmarks/precision.py`'s
    one-process sweep; `sweep` starts each size from `size_search` instead."""
    if not found:
        return {}
    if len(found) == 1:
        return {"lo": found[-1]}
    return {"lo": found[-1], "guess": found[-1] + (found[-1] - found[-2])}


def size_search(model: CompiledModel, n: int) -> dict[str, int]:
    """Where `sweep`'s search at size n starts, from n alone: the guess is the least p whose
    frontier the file's precision model promises reaches n (its stored curve n(p), the
    "frontier(p)" column of `logdepth precision`; about one bit above the measured p for the
    Theorem 1 models), none without a curve or when no p reaches n. No size's search reads
    another size's result, so the sizes are independent cases that a distributed sweep runs
    in any order, and the serial sweep makes the very same calls."""
    curve = (model.extra.get("report") or {}).get("frontier_by_bits") or {}
    reaching = [
        int(p)
        for p, frontier in curve.items()
        if MIN_EMULATED_BITS <= int(p) <= MAX_EMULATED_BITS and frontier >= n
    ]
    return {"guess": min(reaching)} if reaching else {}


@dataclass(frozen=True)
class SizeCase:
    """One case of a sweep: the size, the input set's parameters (`cases_for`), and which of
    the set's `groups` groups it runs (`set_group`; the default: the whole set)."""

    n: int
    k: int
    seed: int
    group: int = 0
    groups: int = 1
    # The unit's estimated work (`set_work` of its inputs), for a backend that runs the largest
    # units first; not part of the case's identity.
    work: float = field(default=0.0, compare=False)


def set_group(cases: Sequence[Case], group: int, groups: int) -> list[Case]:
    """Group `group` of a size's input set cut into `groups`: every `groups`-th input from
    `group` on. A word set lists its k accepting, then k random (then k rejecting) words, so with
    `groups` = k each group holds the i-th word of each kind, and its least p is near the whole
    set's (fewer extra steps in its search)."""
    return list(cases[group::groups])


def size_bits(model: CompiledModel, case: SizeCase) -> int | None:
    """The least p for one group of a size's input set (`least_bits` over `set_group` of
    `cases_for`, started at `size_search`): a sweep's unit of work, wherever it runs."""
    cases = set_group(cases_for(model, case.n, case.k, case.seed), case.group, case.groups)
    return least_bits(model, cases, **size_search(model, case.n))


def set_work(cases: Sequence[Case]) -> float:
    """A set's estimated forward-pass work: its tokens squared, summed over its inputs
    (attention is quadratic in the length; the same weight `logdepth precision`'s ETA uses)."""
    return float(sum(len(c.tokens) ** 2 for c in cases))


def sweep_cases(
    model: CompiledModel, sizes: Sequence[int], k: int = 4, seed: int = 0
) -> list[SizeCase]:
    """A sweep's units of work, in the order of `sizes`: a size whose input set is more than 1/k
    of the sweep's estimated work (`set_work`) is cut into the fewest groups (`set_group`, at
    most k) that bring each under about 1/k, every other size is one unit. So no unit is above
    about 1/k of the sweep, and up to k workers are not held back by one large size (on
    n = 2..2^j the largest size alone is about 3/4 of the work: three groups at k = 4); no
    more groups than that, since each group searches on its own and pays its own wrong p - 1
    and its own steps below the set's p (parity, uniform, n = 256, 8 inputs: 18 rows of
    forward passes whole, 42 as four groups). The split depends on the
    sizes, k and seed only, never on where the units run: the serial and the distributed sweep
    make the very same `size_bits` calls.

    The size's least p is the max over its groups: under the monotonicity `least_bits` assumes
    (more bits never hurt), the whole set is right at p exactly when every group is (each input
    is answered on its own), so the least p of the set is the largest of the groups' least p;
    and None (even MAX_EMULATED_BITS fails) when any group's is None."""
    sets = {n: cases_for(model, n, k, seed) for n in sizes}
    work = {n: set_work(cases) for n, cases in sets.items()}
    total = sum(work[n] for n in sizes)
    plan: list[SizeCase] = []
    for n in sizes:
        # The fewest groups that bring each under 1/k of the sweep: each group pays its own
        # search (its own wrong p - 1, its own steps below the set's p).
        groups = max(1, min(k, len(sets[n]), math.ceil(k * work[n] / total)))
        plan.extend(
            SizeCase(n, k, seed, g, groups, set_work(set_group(sets[n], g, groups)))
            for g in range(groups)
        )
    return plan


def sweep(
    model: CompiledModel,
    sizes: Sequence[int],
    *,
    k: int = 4,
    seed: int = 0,
    progress: Callable[[int, int | None], None] | None = None,
    backend: Any = None,
    advance: Callable[[int, int, float], None] | None = None,
) -> Sweep:
    """least_bits at every n in `sizes` (the max of `size_bits` over the size's units,
    `sweep_cases`), then the fit over the sizes past the flat floor, if there are
    MIN_FIT_SIZES of them (sizes where even p = 51 failed are reported through `progress`, once
    per size when its last unit is in, and left out of the fit). The units run on `backend`
    (`logdepth.distributed`; None: one after another in this process), and come back in the
    order of `sizes`: each is the same call wherever it runs, so the sweep is the same.
    `advance(units done, units, share of the estimated work done)` is called as each unit
    finishes, in whatever order they finish (a progress bar's call, `progress.Bar`)."""
    from logdepth.distributed import map_cases

    found_sizes: list[int] = []
    found_bits: list[int] = []
    size_p: int | None = None  # the max so far over the current size's groups
    units = sweep_cases(model, sizes, k, seed)
    total_work = sum(u.work for u in units) or 1.0
    done = {"units": 0, "work": 0.0}

    def unit_finished(unit: SizeCase) -> None:
        done["units"] += 1
        done["work"] += unit.work
        if advance is not None:
            advance(done["units"], len(units), done["work"] / total_work)

    results = map_cases(
        backend, model, size_bits, units, attrgetter("work"), finished=unit_finished
    )
    for case, p, _seconds in results:
        if case.group == 0:
            size_p = p
        elif size_p is not None:
            size_p = None if p is None else max(size_p, p)
        if case.group < case.groups - 1:
            continue
        if progress is not None:
            progress(case.n, size_p)
        if size_p is not None:
            found_sizes.append(case.n)
            found_bits.append(size_p)
    start = floor_end(found_bits)
    if len(found_sizes) - start < MIN_FIT_SIZES:
        nan = float("nan")
        return Sweep(found_sizes, found_bits, [], nan, nan, nan)
    c, b, r2 = fit_bits(found_sizes[start:], found_bits[start:])
    return Sweep(found_sizes, found_bits, found_sizes[start:], c, b, r2)


# ---- re-deriving a weight file's precision record ----------------------------------------------


def rederive_record(model: CompiledModel, report: Any) -> None:
    """Re-derive, from the tensors and the construction's own gap model (reached through the
    catalog entry the config names), what the file claims about its precision, and
    `report.fail` on any mismatch (an edited file whose checksum was recomputed passes `load`
    but not this):

    - the tie tolerance the construction derives;
    - the stored frontier per dtype (a non-uniform build's capped at its N);
    - the worst-case score rounding read off the tensors (`score_rounding_ulps`), where the
      file records one.
    """
    from logdepth import catalog
    from logdepth.precision import bits_of, score_rounding_ulps

    config = model.config
    stored = model.extra.get("report") or {}
    entry = catalog.of_config(config.construction)
    if entry is None:
        report.fail(
            f"no precision model is known for construction {config.construction!r}: its "
            "frontier and tolerance cannot be re-derived"
        )
        return
    tolerance, n_of_bits = entry.precision_model(stored)
    cap = stored.get("max_length") if entry.needs_max_length else None
    frontier = {}
    for dtype in config.frontier:
        n = max(n_of_bits(bits_of(dtype)), 0)
        frontier[dtype] = n if cap is None else min(n, max(int(cap), 0))
    if config.tie_tolerance != tolerance:
        report.fail(
            f"tie tolerance {config.tie_tolerance:.3g} is not the {tolerance:.3g} the "
            "construction derives"
        )
    if dict(config.frontier) != frontier:
        report.fail(f"stored frontier {dict(config.frontier)} is not the derived {frontier}")
    claimed = stored.get("score_rounding_ulps")
    if claimed is not None:
        actual = round(score_rounding_ulps(model.network), 1)
        if abs(actual - float(claimed)) > 1e-6 * max(1.0, actual):
            report.fail(
                f"the tensors' worst-case score rounding is {actual} ulps, the report says "
                f"{claimed}: the weights are not the ones the report describes"
            )
    if report.ok:
        report.lines.append(
            "precision record re-derived: tie tolerance, frontier "
            f"{frontier} and the worst-case score rounding match the tensors"
        )
