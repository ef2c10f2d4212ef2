"""Modular counting in constant depth, from Lemma 1 (division) and Lemma 7's averages alone.

The languages {w : sum_sigma k_sigma #_sigma(w) mod m in R}: {w : #_a(w) = r mod m}, and every
DFA whose transition monoid is a cyclic group Z_m (each letter acts as g^(k_sigma) for one
generator g; the start state is g^0 and the accepting states name the residues R:
`cyclic_weights`). The number of layers does not depend on n: 8 for every input, every m.

Why not one weighted count. Lemma 1 divides a_i only for 0 <= a_i <= i: its table has one row
per position j <= i (row j holds j mod m), and token i looks up row a_i. The weighted count
c_t = sum_{j<=t} k_{w_j} reaches (m - 1) t with weights in 0..m-1, past the table. So the
weights (reduced mod m) are split into at most MAX_COUNTS = 3 plain counts

    N_b(t) = #{j <= t : w_j in S_b} <= t,   c_t = sum_b w_b N_b(t)  (mod m),

by `plan_counts`: a basis w_1..w_B (B <= 3) of Z_m such that each weight is the sum of a subset
of it, symbol sigma counted by the w_b of its subset (#_a mod m: the basis (1); every m <= 8:
(1, 2, 4), the binary digits; at most 7 distinct nonzero weights in all). Three because a psi
must be read alone, and Lemma 1's block leaves exactly three sublayers free for that
(positions.ff, queries.attn, multiple.ff: division.py). Each N_b is a valid dividend, and all
of them are looked up in the one table: c mod m = sum_b w_b (N_b mod m) mod m.

The layers (Lemma 1's 7 with this work in its free slots, named as in division.py; then one):
  1 attn  Lemma 1 positions; psi(lambda N_b(t)/(t+1), 1/(t+1)) for every count (Lemma 7's
          averages of the count's flag and of [j = 0]: gadgets.count_term)  (positions.uniform)
    ff    count.0 := phi(lambda N_0)                                       (positions.ff)
  2 attn  count.1 := phi(lambda N_1) (self-match: reads count.1.psi alone)   (queries.attn)
    ff    Lemma 1 pos.psi -> phi
  3-4     Lemma 1 (query hashes, floor retrieval)
  5 attn  Lemma 1 sign read
    ff    count.2 := phi(lambda N_2)                                       (multiple.ff)
  6 attn  Lemma 1 remainder table j mod m; clear every count psi (Lemma 4)   (remainder.uniform)
    ff    Lemma 1 mod.psi -> phi
  7 attn  Lemma 1's lookup once per count: rem.b := row N_b's phi(lambda (N_b mod m))
                                                                            (lookup.attn)
    ff    part.b := one-hot of w_b (N_b mod m) mod m by threshold steps on rem.b
          (wide.threshold_steps); clear rem.b, count.b, the table           (lookup.ff)
  8 ff    S' = sum_b (value of part.b) in 0..3 (m - 1); saturating steps [S' >= s] write
          residue := one-hot of c_t mod m and answer := [c_t mod m in R]; clear part.b

(s, r, t) = (7, 0, 1): the repeated block is empty, so the unrolling d(n) the depth rule names
changes nothing and every n runs 8 layers. Every token t computes its own c_t mod m (every
N_b(t) <= t is a row of its table); the answer is read at $, the end marker, whose counts are
the whole word's.

Precision (`frontier_for_bits`). The weights are right for inputs of size n while every gap the
construction relies on at positions <= n + 1 exceeds twice the score noise (regular.score_noise,
the same budget as Theorem 1): the count lookups and self-match (neighbouring integers <= n + 1),
Lemma 1's floor query self-match (spacing 1/m), its floor retrieval and its sign read, the
threshold steps on rem.b (a value in 0..m-1 that drifts with n: Lemma 11's remainder is a
difference of averages) and the output error the steps pass to layer 8. Lemma 1's floor query
needs (lambda / m)^2 / 2 above the noise already at n = 0, so the hash scale grows with m
(`position_scale`: the smallest lambda = 2^-6 2^k that leaves float32 a frontier); the frontier
is therefore a function of p and m (`precision_model` reads m from a file's report):

    m          2-3      4-7      8-15     16-24    25-255
    lambda     2^-6     2^-5     2^-4     2^-3     2^-6
    float64    19,483   13,776   9,741    6,888    19,483
    float32    110      84       61       44       none (even n = 0 fails: not stored)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from logdepth import catalog
from logdepth.automata.dfa import DFA
from logdepth.automata.nfa import NFA
from logdepth.compiler.cells import Cell, Layout, boolean
from logdepth.compiler.program import FeedForward, Layer, Program
from logdepth.constructions.regular import frontier_record
from logdepth.errors import CompileError
from logdepth.gaps.counting import (
    COUNT_SLOTS,
    FRONTIER_METHOD,
    MAX_COUNTS,
    frontier,
    frontier_for_bits,
    frontiers,
    lifted_modulus,
    position_scale,
    precision_model,
    score_gaps,
)
from logdepth.gaps.regular import CURVE_BITS, tie_tolerance
from logdepth.kit.bits import TRUE, threshold_steps
from logdepth.kit.division import DivisionBuilder, max_modulus
from logdepth.kit.feedforward import clear_ff, stack_ff
from logdepth.kit.gadgets import (
    avg_flag,
    constant_ff,
    count_term,
    lookup_head,
    saturating_ff,
)
from logdepth.kit.hashing import (
    POSITION_SCALE,
    psi_to_phi_ff,
    psi_to_phi_head,
)
from logdepth.kit.words import OUTPUTS, word_readout
from logdepth.model.compiled import CompiledModel
from logdepth.model.config import BOS, DepthRule
from logdepth.model.inputs import END
from logdepth.precision import score_rounding_ulps

CONSTRUCTION = catalog.config_name("counting")
THEOREM = "Lemma 1 (division) with Lemma 7's averages: modular counting in constant depth"
REFERENCE = "Merrill & Sabharwal (2025), Lemma 1 and Lemma 7 (Appendix A)"


LAYERS = catalog.get("counting").offset  # Lemma 1's 7 layers, then the answer layer
LAYERS_TEXT = f"{LAYERS} (constant in n: Lemma 1's 7 layers, then the answer layer; no loop)"

# ---------------------------------------------------------------------------------------------
# Recognizing a cyclic group
# ---------------------------------------------------------------------------------------------


def cyclic_weights(dfa: DFA) -> tuple[int, dict[str, int], frozenset[int]]:
    """(m, weights, residues) with L(dfa) = {w : sum_sigma weights[sigma] #_sigma(w) mod m in
    residues}, when the transition monoid of the minimal DFA is a cyclic group Z_m.

    The generator g is chosen so that the weights (0..m-1, alphabet order) are
    lexicographically smallest (then the residues): #_a(w) mod m gets a = 1, b = 0. A trivial
    language (one state) is Z_1: m = 1, every weight 0, residues {0} or {}.
    `CompileError` names why a DFA is not modular counting: a letter that is not a permutation
    of the minimal DFA's states (not a group), two letters that do not commute (not abelian),
    or an abelian group with no element of order m (not cyclic).

    Why this is the whole test: the letters generate a group G acting on the states, and every
    state is reachable from the start, so G is transitive. A transitive abelian group acts
    regularly (the start's stabilizer is normal, so it fixes every state: trivial), so the
    state start.h names the element h, m = |Q|, and G = Z_m iff some h has order m.
    """
    if not isinstance(dfa, DFA):
        raise CompileError(f"cyclic_weights takes a DFA, not a {type(dfa).__name__}")
    target = dfa.minimize()
    states, alphabet = target.states, target.alphabet
    m = len(states)
    index = {q: i for i, q in enumerate(states)}
    perm = {
        a: np.array([index[target.delta[(q, a)]] for q in states], dtype=np.int64) for a in alphabet
    }
    what = f"the transition monoid of {dfa.name!r}"
    _require_abelian_group(what, states, perm)
    start = index[target.start]
    generator = _cyclic_generator(what, perm, start, m)
    log = np.empty(m, dtype=np.int64)
    x = start
    for k in range(m):
        log[x] = k
        x = int(generator[x])
    raw = [int(log[perm[a][start]]) for a in alphabet]
    accept = sorted(int(log[index[q]]) for q in target.accept)
    best = None
    for u in _units(m):
        key = (tuple(u * k % m for k in raw), tuple(sorted(u * r % m for r in accept)))
        if best is None or key < best:
            best = key
    assert best is not None
    return m, dict(zip(alphabet, best[0], strict=True)), frozenset(best[1])


def _require_abelian_group(what: str, states: Sequence, perm: dict[str, np.ndarray]) -> None:
    """`CompileError` unless every letter permutes the minimal DFA's states (a group) and
    every two letters commute (abelian)."""
    m = len(states)
    for a, image in perm.items():
        if len(set(image.tolist())) < m:
            seen: dict[int, int] = {}
            for p, r in enumerate(image.tolist()):
                if r in seen:
                    raise CompileError(
                        f"{what} is not a group: letter {a!r} maps states {states[seen[r]]!r} "
                        f"and {states[p]!r} of the minimal DFA both to {states[r]!r}, so it "
                        "cannot be undone; no modular count (a cyclic group) decides this "
                        "language"
                    )
                seen[r] = p
    alphabet = list(perm)
    for i, a in enumerate(alphabet):
        for b in alphabet[i + 1 :]:
            if not np.array_equal(perm[a][perm[b]], perm[b][perm[a]]):
                raise CompileError(
                    f"{what} is a non-abelian group: {a!r} then {b!r} differs from {b!r} then "
                    f"{a!r}, so it is not cyclic and no modular count decides this language"
                )


def _cyclic_generator(what: str, perm: dict[str, np.ndarray], start: int, m: int) -> np.ndarray:
    """The first group element of order m (as a map on states), in BFS order of the state it
    sends the start to; `CompileError` if the abelian group has none (not cyclic)."""
    # A word reaching each state, as parent pointers in BFS order.
    order, parent, letter = [start], {start: -1}, {start: ""}
    for p in order:
        for a in perm:
            r = int(perm[a][p])
            if r not in parent:
                parent[r], letter[r] = p, a
                order.append(r)

    def element(q: int) -> np.ndarray:
        """The group element taking the start to q, as a map on states: regular and abelian,
        so it sends start.x to q.x for every word x."""
        h = np.empty(m, dtype=np.int64)
        h[start] = q
        for p in order[1:]:
            h[p] = perm[letter[p]][h[parent[p]]]
        return h

    for q in order:
        h = element(q)
        x, length = int(h[start]), 1
        while x != start:
            x, length = int(h[x]), length + 1
        if length == m:
            return h
    raise CompileError(
        f"{what} is an abelian group of order {m} with no element of order {m}: it is not "
        "cyclic (a product of counters), so one modular count does not decide this language"
    )


def _units(m: int) -> list[int]:
    """The units of Z_m in increasing order (Z_1: [1])."""
    return [u for u in range(1, max(m, 2)) if math.gcd(u, m) == 1] if m > 1 else [1]


# ---------------------------------------------------------------------------------------------
# Splitting the weighted count into counts a table can divide
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Count:
    """One plain count N_b(t) = #{j <= t : w_j in symbols}, weighted by `weight` mod m."""

    weight: int
    symbols: tuple[str, ...]


@dataclass(frozen=True)
class CountPlan:
    """c = sum_sigma k_sigma #_sigma = sum_b counts[b].weight N_b (mod modulus)."""

    modulus: int
    counts: tuple[Count, ...]


def plan_counts(modulus: int, weights: Mapping[str, int]) -> CountPlan:
    """The fewest counts (at most MAX_COUNTS) with c = sum_sigma weights[sigma] #_sigma (mod m):
    a basis w_1..w_B of Z_m such that every weight is the sum of a subset of it, symbol sigma
    counted by the w_b of its subset (the first subset, fewest elements first, that sums to
    k_sigma). #_a mod m: the basis (1); weights 1, 2, 3: (1, 2); every m <= 8: (1, 2, 4).
    `CompileError` when no basis of MAX_COUNTS elements covers the weights (at most
    2^MAX_COUNTS - 1 distinct nonzero weights can be covered)."""
    m = modulus
    reduced = {a: k % m for a, k in weights.items()}
    needed = sorted({k for k in reduced.values() if k})
    basis = _basis(m, needed)
    if basis is None:
        shown = ", ".join(f"{a} = {k}" for a, k in reduced.items())
        raise CompileError(
            f"modular counting mod {m} with weights {shown} needs more than {MAX_COUNTS} "
            f"counts: Lemma 1's block has {MAX_COUNTS} free sublayers to read a count alone, "
            f"and no {MAX_COUNTS} numbers mod {m} have every weight as a subset sum"
        )
    subsets = sorted(
        (s for r in range(len(basis) + 1) for s in itertools.combinations(range(len(basis)), r)),
        key=lambda s: (len(s), s),
    )
    chosen = {
        a: next(s for s in subsets if sum(basis[b] for b in s) % m == k) for a, k in reduced.items()
    }
    counts = tuple(
        Count(w, tuple(a for a, s in chosen.items() if b in s)) for b, w in enumerate(basis)
    )
    return CountPlan(m, counts)


def _basis(m: int, needed: Sequence[int]) -> tuple[int, ...] | None:
    """A basis of at most MAX_COUNTS nonzero residues mod m whose subset sums (mod m) include
    every needed weight, with the fewest elements; the weights themselves when they are one
    (then each symbol is counted once), else the first in lexicographic order. None if none."""

    def covers(basis: Sequence[int]) -> bool:
        sums = {sum(s) % m for r in range(len(basis) + 1) for s in itertools.combinations(basis, r)}
        return all(k in sums for k in needed)

    if len(needed) <= 1:
        return tuple(needed)
    if len(needed) == 2:
        return tuple(needed)
    # Two elements have 3 nonzero subset sums: enough for 3 weights at most.
    if len(needed) == 3:
        for pair in itertools.combinations(range(1, m), 2):
            if covers(pair):
                return pair
        return tuple(needed)
    if len(needed) > 2**MAX_COUNTS - 1:
        return None
    for pair in itertools.combinations(range(1, m), 2):
        # A third element w covers what the pair's sums P miss only if the first missed weight
        # k is in P + w: four candidates.
        sums = {0, pair[0], pair[1], (pair[0] + pair[1]) % m}
        missed = [k for k in needed if k not in sums]
        for w in sorted({(missed[0] - p) % m for p in sums} - {0}):
            if covers((*pair, w)):
                return tuple(sorted((*pair, w)))
    return None


# ---------------------------------------------------------------------------------------------
# Gaps and frontier
# ---------------------------------------------------------------------------------------------


def layers() -> int:
    """The layer count for every n and every modulus (the catalog's s + t)."""
    return LAYERS


# ---------------------------------------------------------------------------------------------
# The program
# ---------------------------------------------------------------------------------------------


@dataclass
class _CountCells:
    """The counting program's cells (allocated by `_count_cells`: the layout's column order)."""

    layout: Layout
    one: Cell
    bos: Cell
    flags: list[Cell]  # flag.b = [the token is one of count b's symbols]
    div: DivisionBuilder  # Lemma 1's table of j mod m; its free slots carry the counts
    table: Cell
    count_psi: list[Cell]
    count: list[Cell]  # phi(lambda N_b(t))
    rem: list[Cell]  # phi(lambda (N_b mod m))
    part: list[Cell]  # one-hot of w_b N_b mod m
    residue: Cell
    answer: Cell


def _count_cells(plan: CountPlan, scale: float) -> _CountCells:
    m, k = plan.modulus, len(plan.counts)
    L = Layout()
    one = L.one
    bos = L.bool("bos", persistent=True)
    flags = [L.bool(f"flag.{b}", persistent=True) for b in range(k)]
    div = DivisionBuilder(
        L, one=one, bos=bos, modulus=m, outputs=("remainder",), name="div", scale=scale
    )
    table = div.table_remainder  # phi(lambda (j mod m)) at every row j, kept by the block
    count_psi = [L.psi(f"count.{b}.psi") for b in range(k)]
    count = [L.phi(f"count.{b}") for b in range(k)]
    rem = [L.phi(f"rem.{b}") for b in range(k)]
    part = [L.code(f"part.{b}", [f"part.{b}={r}" for r in range(m)]) for b in range(k)]
    residue = L.code("residue", [f"residue={r}" for r in range(m)])
    answer = L.bool("answer")
    return _CountCells(
        L, one, bos, flags, div, table, count_psi, count, rem, part, residue, answer
    )


def _count_positions(c: _CountCells, plan: CountPlan, scale: float) -> None:
    """Layer 1: the counts' psi (Lemma 7's averages); layers 1, 2, 5: each read alone -> phi
    (COUNT_SLOTS); layer 6: the psi cleared (Lemma 4). All in Lemma 1's free slots."""
    div, counts = c.div, plan.counts
    terms = []
    for b, flag in enumerate(c.flags):
        term, needs = count_term(
            c.count_psi[b], avg_flag(flag, f"flag.{b}"), bos=c.bos, scale=scale
        )
        terms.append((term, needs))
        div.add("positions.uniform", term, *needs)
    if counts:
        div.describe("positions", "psi(lambda N_b(t)) for every count (Lemma 7)")
    for b, slot in enumerate(COUNT_SLOTS[: len(counts)]):
        step = slot.split(".")[0]
        if slot.endswith(".attn"):
            div.add(slot, psi_to_phi_head(c.count_psi[b], c.count[b]))
        else:
            div.add(slot, psi_to_phi_ff(c.count_psi[b], c.count[b]))
        div.describe(step, f"count.{b} := phi(lambda N_{b}) (read alone)")
    if counts:
        # Layer 6: the psi cells are no longer needed (Lemma 4: the flags have not changed).
        for term, needs in terms:
            div.add("remainder.uniform", term.negated(), *needs)
        div.declare("remainder", clears=c.count_psi)
        div.describe("remainder", "clear the counts' psi (Lemma 4)")


def _count_lookup(c: _CountCells, plan: CountPlan, scale: float) -> None:
    """Layer 7: Lemma 1's lookup once per count (rem.b = N_b mod m); part.b := one-hot of
    w_b rem.b mod m by threshold steps; clear the counts, their residues and the table."""
    div, counts, m, one = c.div, plan.counts, plan.modulus, c.one
    for b in range(len(counts)):
        div.add(
            "lookup.attn",
            lookup_head(
                c.count[b], div.position, {c.table: c.rem[b]}, note=f"rem.{b} = N_{b} mod m"
            ),
        )
    parts: list[FeedForward] = []
    if counts:
        parts.append(constant_ff({p: _onehot(m, 0) for p in c.part}, one=one))
    for b, count in enumerate(counts):
        steps = range(1, m)  # [N_b mod m >= r] moves part.b from w (r - 1) to w r
        w = count.weight
        cols = np.stack(
            [_onehot(m, w * r % m) - _onehot(m, w * (r - 1) % m) for r in steps], axis=1
        )
        parts.append(
            threshold_steps(
                c.rem[b],
                [r - 0.5 for r in steps],
                {c.part[b]: cols},
                one=one,
                scale=scale,
                note=f"part.{b} = one-hot of {w} (N_{b} mod m) mod m",
            )
        )
    gone = [*c.rem, *c.count, c.table]
    parts.append(clear_ff(gone, note="clear the counts, their residues and the table"))
    div.add("lookup.ff", stack_ff(parts, note="part.b by threshold steps on rem.b; clear"))
    div.declare("lookup", clears=gone)
    div.describe("lookup", "rem.b := row N_b's j mod m; part.b := w_b rem.b mod m (steps)")


def counting_program(
    alphabet: Sequence[str], plan: CountPlan, residues: frozenset[int], scale: float
) -> Program:
    """The 8 layers of the module docstring for the plan's counts and the residues R."""
    c = _count_cells(plan, scale)
    _count_positions(c, plan, scale)
    _count_lookup(c, plan, scale)
    layers = c.div.layers()
    # Layer 8: residue and answer from S' = sum_b part.b (= c mod m, up to multiples of m).
    layers.append(
        Layer(
            "counting layer 8: residue := c_t mod m, answer := [c_t mod m in R] by saturating "
            "steps on S' = sum_b part.b; clear part.b",
            ff=_answer_ff(plan, residues, c.part, c.residue, c.answer, c.one),
            clears=tuple(c.part),
        )
    )
    embedding: dict[str, dict[Cell, np.ndarray]] = {}
    for token in (BOS, END, *alphabet):
        row = {c.one: np.ones(1), c.bos: boolean(token == BOS)}
        for b, count in enumerate(plan.counts):
            row[c.flags[b]] = boolean(token in count.symbols)
        embedding[token] = row
    return Program(
        layout=c.layout,
        vocab=[BOS, *alphabet, END],
        embedding=embedding,
        initial=layers[:-1],
        repeated=[],
        final=layers[-1:],
        outputs=list(OUTPUTS),
        readout=word_readout(c.answer),
        # r = 0: the unrolling d(n) runs an empty block, so the depth is constant.
        depth_rule=DepthRule(count_tokens=tuple(alphabet), root=1),
        tie_tolerance=tie_tolerance(),
        input_format="word",
        construction=CONSTRUCTION,
        frontier=frontiers(plan.modulus),
    )


def _onehot(m: int, r: int) -> np.ndarray:
    out = np.zeros(m)
    out[r] = 1.0
    return out


def _answer_ff(
    plan: CountPlan,
    residues: frozenset[int],
    part: Sequence[Cell],
    residue: Cell,
    answer: Cell,
    one: Cell,
) -> FeedForward:
    """residue := e_(c mod m), answer := [c mod m in R], from S' = sum_b sum_r r part.b[r],
    an integer in 0..B (m - 1) with S' = c (mod m): step s fires at S' >= s and moves the
    residue from (s - 1) mod m to s mod m (telescoping one-hots; exact when the steps are)."""
    m = plan.modulus
    top = len(part) * (m - 1)

    def accepted(s: int) -> float:
        return float(s % m in residues)

    parts = [
        constant_ff(
            {residue: _onehot(m, 0), answer: np.array([accepted(0), 1.0 - accepted(0)])},
            one=one,
            note="residue := e_0, answer := [0 in R]",
        )
    ]
    if top:
        steps = list(range(1, top + 1))
        rows = {p: np.tile(np.arange(m, dtype=float), (top, 1)) for p in part}
        res_cols = np.stack(
            [_onehot(m, s % m) - _onehot(m, (s - 1) % m) for s in steps],
            axis=1,
        )
        ans_cols = np.stack([(accepted(s) - accepted(s - 1)) * TRUE for s in steps], axis=1)
        parts.append(
            saturating_ff(
                rows,
                np.array(steps, dtype=float),
                {residue: res_cols, answer: ans_cols},
                one=one,
                note="[S' >= s]: the residue and the answer",
            )
        )
        parts.append(clear_ff(part, nonnegative=True, note="clear part.b"))
    return stack_ff(parts, note="residue and answer from S' = sum_b part.b")


# ---------------------------------------------------------------------------------------------
# The public entry point
# ---------------------------------------------------------------------------------------------


def compile_counting(automaton: DFA | NFA, source: str | None = None) -> CompiledModel:
    """Compile a DFA (an NFA is determinized) whose transition monoid is a cyclic group Z_m
    into the constant-depth counting transformer (module docstring): 8 layers for every n,
    through the build driver (`logdepth.build`: `build_program`, then `report`).

    model.extra carries the spec (automaton.to_dict()), its type, the source text and a report
    (the weights and residues of `cyclic_weights`, the counts of `plan_counts`, the layer
    count, the frontier and how it was derived). `CompileError` if the monoid is not cyclic,
    m is past Lemma 1's limit, or the weights need more than MAX_COUNTS counts.
    """
    from logdepth.build import build  # the driver: program, hygiene, assembly, report

    return build(catalog.get("counting"), automaton, source=source)


def build_program(automaton: DFA | NFA) -> Program:
    """The catalog's `program` for counting: the language's cyclic weights and residues, the
    counts planned for them, and the 8 layers; its facts are those, for `report`."""
    if not isinstance(automaton, DFA | NFA):
        raise CompileError(f"cannot compile a {type(automaton).__name__} as modular counting")
    dfa = automaton.determinize() if isinstance(automaton, NFA) else automaton
    order, weights, residues = cyclic_weights(dfa)
    m = lifted_modulus(order)
    if m >= max_modulus(POSITION_SCALE):
        raise CompileError(
            f"modulus {m} is past Lemma 1's limit: its floor retrieval needs m < "
            f"{max_modulus(POSITION_SCALE):g} (division.max_modulus)"
        )
    plan = plan_counts(m, weights)
    scale = position_scale(m)
    program = counting_program(list(automaton.alphabet), plan, residues, scale)
    program.facts = {
        "states": len(dfa.states),
        "order": order,
        "weights": weights,
        "residues": residues,
        "plan": plan,
        "scale": scale,
    }
    return program


def report(program: Program, network, obj: DFA | NFA) -> dict[str, Any]:
    """The catalog's `report` for counting (the program's facts; the assembled network's
    rounding bound)."""
    facts = program.facts
    plan: CountPlan = facts["plan"]
    m = plan.modulus
    return {
        "theorem": THEOREM,
        "reference": REFERENCE,
        "construction": CONSTRUCTION,
        "states": facts["states"],
        "states_minimized": facts["order"],
        "alphabet": len(obj.alphabet),
        "group_order": facts["order"],
        "modulus": m,
        "weights": dict(facts["weights"]),
        "residues": sorted(facts["residues"]),
        "counts": [{"weight": c.weight, "symbols": list(c.symbols)} for c in plan.counts],
        "layers": LAYERS_TEXT,
        "layer_count": LAYERS,
        "d_model": program.layout.d_model,
        **frontier_record(program, FRONTIER_METHOD, lambda p: frontier_for_bits(p, m)),
        "position_scale": facts["scale"],
        "score_rounding_ulps": round(score_rounding_ulps(network), 1),
    }


__all__ = [
    "CONSTRUCTION",
    "CURVE_BITS",
    "LAYERS",
    "MAX_COUNTS",
    "build_program",
    "compile_counting",
    "cyclic_weights",
    "frontier",
    "frontier_for_bits",
    "layers",
    "plan_counts",
    "position_scale",
    "frontiers",
    "precision_model",
    "report",
    "score_gaps",
]
