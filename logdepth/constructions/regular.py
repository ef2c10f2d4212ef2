"""Theorem 1 (regular languages) as a (0, 8, 9)-universal transformer, and Corollary 1.1 (the
non-uniform 4 ceil(log2 N) + 5 layer transformer). Digest section 3, Appendix C.

Input BoS w $ (token i = 1..n holds w_i, $ is at n + 1); the answer is read at $.

Invariant (the proof of Theorem 1 in the paper's Appendix C, its clean invariant): at level l
the active tokens are t = 1..n with
t = 0 mod 2^l; active t stores P_l(t) = w_{t-2^l+1} ... w_t (a monoid element) in the cell
`delta`. Level l -> l + 1, in one 8-layer iteration of the repeated block:

- the division block (Lemma 1, m = 2) computes c_t mod 2, where c_t is the number of active
  tokens in 1..t (a uniform head gives c_t / (t + 1));
- merge: every token copies alpha of its predecessor (equality retrieval with the query
  phi(lambda (t - 1)), Lemma 7); the nearest j <= t whose predecessor is active (key
  alpha_{j-1}: the paper prints alpha_i, docs/errata.md) hands over phi(lambda (j - 1)), the
  position of the previous active token, whose delta is then fetched by equality. An active t
  with c_t even takes delta := P_l(t - 2^l) P_l(t); it stays active.
- the accumulator: the same retrieval at $ returns P_l(j*) of the last active token j*; if c_$
  (the number of active tokens) is odd, j* retires at this level and $ takes Acc := P_l(j*) Acc.
  Blocks are absorbed right to left, following the binary expansion of n.
- alpha_t := alpha_t and c_t even.

Because the accumulator reads c_$ mod 2 in the same iteration (no lag), levels 0..d are all
handled by the d = ceil(log2 n) loop iterations plus the final block's first 8 layers (the same
weights once more); the 9th final layer looks up [Acc accepts]. n = 0 and n = 1 run only the
final block. Layer count 8 ceil(log2 n) + 9.

The 8 layers (Lemma 1's 7 with Theorem 1's work in their free slots, named as in division.py,
then the table):
  1 attn  positions, count c_t, phi(lambda (t - 1))          (positions.uniform)
    ff    count -> phi                                        (positions.ff)
  2-3     Lemma 1 (conversions of the division's psi cells)
  4       Lemma 1 floor retrieval; sign input
  5 attn  Lemma 1 sign read
    ff    phi(lambda (t - 1)) psi -> phi                      (multiple.ff)
  6 attn  Lemma 1 remainder table; clear every psi; copy alpha of t - 1
                                                              (remainder.uniform, .attn)
  7 attn  Lemma 1 lookup at c_t (gives c_t mod 2); nearest j with alpha_{j-1}: its
          phi(lambda (j - 1)), the position of the previous active token (lookup.attn)
    ff    gate g = (alpha and c even) or ($ and c odd); alpha := alpha and c even; clear
                                                              (lookup.ff)
  8 attn  x = delta at that position
    ff    delta := x delta where g (the |M|^2 monoid table); clear

Corollary 1.1 (non-uniform). With the level hard-coded the activeness needs no division:
alpha^{l+1}_t = [t even] and alpha^l_{floor(t/2)} (a floor retrieval at t/2). Level 0 computes
the positions and [t even] (kept for all levels); every level is 4 layers, then the answer
layer: 4 (ceil(log2 N) + 1) + 1 = 4 ceil(log2 N) + 5.

Frontier (`frontier`). The weights are exact for input size n while every score gap the
construction relies on at positions <= n + 1 exceeds twice the dtype's score noise: see
`score_gaps` and `SCORE_NOISE_ULPS` below. The tie tolerance is that noise in float64: every
head whose average spans several keys (uniform heads, sign reads) has bitwise-equal scores, and
every other head has a unique maximiser, so the tolerance only has to be below the smallest gap.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from logdepth import catalog
from logdepth.automata.dfa import DFA
from logdepth.automata.monoid import TransitionMonoid
from logdepth.automata.nfa import NFA
from logdepth.compiler.assemble import assemble
from logdepth.compiler.cells import PICK_A, PICK_TRUE, Cell
from logdepth.compiler.program import FeedForward, Layer, Program
from logdepth.errors import CompileError
from logdepth.gaps import wide as wide_gaps
from logdepth.gaps.regular import (
    FRONTIER_METHOD,
    frontier,
    frontier_curve,
    frontier_for_bits,
    tie_tolerance,
)
from logdepth.kit.bits import WIDE_SCALE
from logdepth.kit.division import DivisionBuilder
from logdepth.kit.feedforward import clear_ff, linear_ff, stack_ff
from logdepth.kit.gadgets import (
    avg_bos,
    avg_flag,
    constant_ff,
    count_term,
    lookup_head,
    nearest_previous_head,
    offset_term,
    sign_read_head,
    step_ff,
)
from logdepth.kit.hashing import (
    POSITION_SCALE,
    PsiTerm,
    UniformHead,
    average_of,
    hashed,
    psi_to_phi_ff,
    psi_to_phi_head,
)
from logdepth.kit.monoid_codes import (
    Encoding,
    ProgramShape,
    choose_encoding,
    table_cost,
    trivial_encoding,
)
from logdepth.kit.words import (
    OUTPUTS,
    Base,
    answer_layer,
    base_cells,
    word_embedding,
    word_readout,
)
from logdepth.model.compiled import CompiledModel
from logdepth.model.config import BOS, DepthRule
from logdepth.model.inputs import END
from logdepth.model.transformer import tensor_schema
from logdepth.precision import (
    bits_of,
    score_rounding_ulps,
)

# ---------------------------------------------------------------------------------------------
# Frontier records (the gaps, noise and n(p): logdepth/gaps/regular.py)
# ---------------------------------------------------------------------------------------------


def frontier_record(program: Program, method: str, n_of_bits) -> dict:
    """The report's frontier fields for a program's stored frontier (every dtype derived),
    how it was derived, its curve n(p) (`n_of_bits`) and the tie tolerance."""
    return {
        "frontier": dict(program.frontier),
        "frontier_basis": {dtype: "derived" for dtype in program.frontier},
        "frontier_method": method,
        "frontier_by_bits": frontier_curve(None, n_of_bits),
        "tie_tolerance": program.tie_tolerance,
    }


def worst_case_frontier(network, cap: int | None = None) -> dict:
    """The frontier a first-order worst-case analysis of the assembled weights guarantees
    (`precision.score_rounding_ulps`), next to the stored one, which rests on the
    SCORE_NOISE_ULPS budget and the emulated and run checks (docs/precision.md)."""
    bound = score_rounding_ulps(network)
    out = {}
    for dtype in ("float64", "float32"):
        n = frontier_for_bits(bits_of(dtype), noise_ulps=bound)
        out[dtype] = n if cap is None else min(n, cap)
    return {"score_rounding_ulps": round(bound, 1), "frontier_worst_case": out}


# The shared pieces (cells, embedding, answer layer, readout): logdepth/kit/words.py.


# ---------------------------------------------------------------------------------------------
# Theorem 1: the uniform (0, 8, 9) construction
# ---------------------------------------------------------------------------------------------


@dataclass
class _UniformCells:
    """Theorem 1's working cells next to the division's (parity c_t mod 2, position)."""

    count: Cell  # phi(c_t), the division's dividend
    parity: Cell
    pos: Cell
    count_psi: Cell
    prev_psi: Cell
    prev: Cell  # phi(lambda (t - 1))
    alpha_prev: Cell
    left_pos: Cell
    x: Cell
    gate: Cell


def _uniform_division(base: Base, enc: Encoding) -> tuple[DivisionBuilder, _UniformCells]:
    """Lemma 1 with m = 2 on the count c_t of active tokens (its remainder is c_t mod 2), and
    Theorem 1's cells; allocated in this order (the layout's column order)."""
    L = base.layout
    count = L.phi("count")
    div = DivisionBuilder(
        L,
        one=base.one,
        bos=base.bos,
        modulus=2,
        dividend=count,
        outputs=("remainder",),
        name="act",
        keep_position=True,
    )
    assert div.remainder is not None
    cells = _UniformCells(
        count=count,
        parity=div.remainder,
        pos=div.position,
        count_psi=L.psi("count.psi"),
        prev_psi=L.psi("prev.psi"),
        prev=L.phi("prev.pos"),
        alpha_prev=L.bool("active.prev"),
        left_pos=L.phi("left.pos"),
        x=enc.cell(L, "left"),
        gate=L.bool("merge"),
    )
    return div, cells


def _uniform_positions(div: DivisionBuilder, base: Base, c: _UniformCells) -> None:
    """Theorem 1 in Lemma 1's free slots, layers 1, 5 and 6: the count c_t of active tokens
    (activeness step 1) and phi(lambda (t - 1)) (Lemma 7), their psi cells cleared (Lemma 4);
    alpha of t - 1 copied (merge step 2)."""
    one, bos, alpha = base.one, base.bos, base.alpha
    c_term, c_needs = count_term(c.count_psi, avg_flag(alpha, "active"), bos=bos)
    p1_term, p1_needs = offset_term(c.prev_psi, 1, one=one, bos=bos)
    # Layer 1: the count c_t and phi(lambda (t - 1)).
    div.add("positions.uniform", c_term, *c_needs)
    div.add("positions.uniform", p1_term, *p1_needs)
    div.add("positions.ff", psi_to_phi_ff(c.count_psi, c.count))
    div.describe("positions", "count c_t of active tokens <= t; phi(lambda (t-1)); count -> phi")
    # Layer 6: the count's psi is no longer needed (Lemma 4: recompute and subtract; alpha is
    # unchanged until layer 7).
    div.add("remainder.uniform", c_term.negated(), *c_needs)
    div.declare("remainder", clears=[c.count_psi])
    # Layer 5: phi(lambda (t - 1)).
    div.add("multiple.ff", psi_to_phi_ff(c.prev_psi, c.prev))
    div.describe("multiple", "prev position -> phi")
    # Layer 6: copy alpha of t - 1 (merge step 2); clear the prev psi.
    div.add("remainder.uniform", p1_term.negated(), *p1_needs)
    div.declare("remainder", clears=[c.prev_psi])
    div.add(
        "remainder.attn",
        lookup_head(
            c.prev, c.pos, {alpha: c.alpha_prev}, note="copy alpha of t - 1 (merge step 2)"
        ),
    )
    div.describe("remainder", "copy alpha of t - 1")


def _uniform_gate(div: DivisionBuilder, base: Base, c: _UniformCells) -> None:
    """Theorem 1 in Lemma 1's layer 7: the nearest j <= t whose predecessor is active (merge
    step 3; at $ the last active token) hands over phi(lambda (j - 1)), the position of that
    previous active token; the gate g and alpha := alpha and c_t even (activeness step 2)."""
    div.add(
        "lookup.attn",
        nearest_previous_head(
            c.alpha_prev,
            c.pos,
            base.one,
            {c.prev: c.left_pos},
            note="position of the previous active token",
        ),
    )
    v1 = float(PICK_A @ hashed(1))  # [phi(lambda 1)]_a; u = [parity]_a / v1 = c_t mod 2 in {0, 1}
    u_row = {c.parity: PICK_A[None, :] / v1}
    div.add("lookup.ff", _gate_and_update(base, c.gate, u_row, c.parity))
    temporaries = [c.count, c.prev, c.alpha_prev, c.parity]
    div.add("lookup.ff", clear_ff(temporaries, note="clear merge temporaries"))
    div.declare("lookup", clears=temporaries, updates=[base.alpha])
    div.describe(
        "lookup", "previous active token; g = merge/absorb gate; alpha := alpha and c even"
    )


def _uniform_merge(base: Base, enc: Encoding, c: _UniformCells) -> Layer:
    """Theorem 1 layer 8 (merge step 4 and the accumulator): fetch the previous active token's
    block x, then delta := x delta where g (the |M|^2 monoid table)."""
    delta = base.delta
    table = stack_ff(
        [
            enc.table_ff(
                c.x,
                delta,
                {c.gate: PICK_TRUE[None, :]},
                one=base.one,
                note="delta := x delta where g",
            ),
            clear_ff([c.x, c.gate, c.left_pos, c.pos]),
        ]
    )
    return Layer(
        "Theorem 1 layer 8: x = delta of the previous active token; delta := x . delta "
        "where g (merge at active tokens, absorb at $)",
        heads=[lookup_head(c.left_pos, c.pos, {delta: c.x}, note="x = its block P_l")],
        ff=table,
        updates=(delta,),
        clears=(c.x, c.gate, c.left_pos, c.pos),
    )


def uniform_program(enc: Encoding, alphabet: Sequence[str]) -> Program:
    """Theorem 1's program: 0 initial layers, the 8-layer block, and the block + answer layer."""
    base = base_cells(enc)
    div, cells = _uniform_division(base, enc)
    _uniform_positions(div, base, cells)
    _uniform_gate(div, base, cells)
    layers = div.layers()
    layers.append(_uniform_merge(base, enc, cells))
    answer_step, answer = answer_layer(base, enc)
    vocab = [BOS, *alphabet, END]
    return Program(
        layout=base.layout,
        vocab=vocab,
        embedding=word_embedding(base, enc, alphabet),
        initial=[],
        repeated=layers,
        final=[*layers, answer_step],
        outputs=list(OUTPUTS),
        readout=word_readout(answer),
        depth_rule=DepthRule(count_tokens=tuple(alphabet), root=1),
        tie_tolerance=tie_tolerance(),
        input_format="word",
        construction=catalog.config_name("uniform"),
        frontier={"float64": frontier("float64"), "float32": frontier("float32")},
    )


def _gate_and_update(base: Base, gate: Cell, u_row: dict, parity: Cell) -> FeedForward:
    """g = (alpha and not u) or (end and u); alpha := alpha and not u, with u = c_t mod 2.

    u is read linearly from the remainder's hash and carries the rounding of Lemma 11's count
    (about n eps); saturating steps (gadgets.step_ff) turn each conjunction into an exact 0/1,
    so that error stops here instead of entering delta and alpha (and, through them, the norm
    of every cell read with them, docs/errata.md).
    """
    one, alpha, end = base.one, base.alpha, base.end
    u = next(iter(u_row.values()))[0]
    true = np.array([1.0, -1.0])
    return stack_ff(
        [
            step_ff(
                {alpha: PICK_TRUE, parity: -u, one: [1.0]},
                2,
                {gate: true},
                one=one,
                note="g += alpha and c_t even",
            ),
            step_ff(
                {end: PICK_TRUE, parity: u}, 2, {gate: true}, one=one, note="g += $ and c_$ odd"
            ),
            constant_ff({gate: [0.0, 1.0]}, one=one),
            step_ff(
                {alpha: PICK_TRUE, parity: u},
                2,
                {alpha: -true},
                one=one,
                note="alpha -= alpha and c_t odd",
            ),
        ],
        note="merge gate and activeness update",
    )


# ---------------------------------------------------------------------------------------------
# Corollary 1.1: the non-uniform construction
# ---------------------------------------------------------------------------------------------


@dataclass
class _NonuniformCells:
    """Corollary 1.1's working cells (allocated in this order: the layout's column order)."""

    pos_psi: Cell
    half_psi: Cell
    prev_psi: Cell
    pos: Cell  # phi(lambda t)
    half: Cell  # phi(lambda (t - 1/2)/2), the floor query
    prev: Cell  # phi(lambda (t - 1))
    floor_t: Cell  # phi(lambda floor(t/2))
    s: Cell  # S = [half]_0 - [floor]_0, Lemma 9's sign
    even: Cell  # [t even], kept for all levels
    alpha_prev: Cell
    left_pos: Cell
    mid: Cell  # alpha^l_{floor(t/2)}
    alpha_next: Cell
    next_prev: Cell
    x: Cell
    found: Cell
    found_next: Cell
    gate: Cell


def _nonuniform_cells(base: Base, enc: Encoding) -> _NonuniformCells:
    L = base.layout
    pos_psi, half_psi, prev_psi = L.psi("pos.psi"), L.psi("half.psi"), L.psi("prev.psi")
    pos, half, prev = L.phi("pos"), L.phi("half"), L.phi("prev.pos")
    return _NonuniformCells(
        pos_psi=pos_psi,
        half_psi=half_psi,
        prev_psi=prev_psi,
        pos=pos,
        half=half,
        prev=prev,
        floor_t=L.phi("floor"),
        s=L.scalar("S"),
        even=L.bool("even"),
        alpha_prev=L.bool("active.prev"),
        left_pos=L.phi("left.pos"),
        mid=L.bool("mid"),
        alpha_next=L.bool("active.next"),
        next_prev=L.bool("active.next.prev"),
        x=enc.cell(L, "left"),
        found=L.bool("left.found"),
        found_next=L.bool("left.next"),
        gate=L.bool("merge"),
    )


def _level0_positions(base: Base, c: _NonuniformCells) -> list[Layer]:
    """Corollary 1.1, level 0.1-0.3: the positions t, (t - 1/2)/2 and t - 1 as psi and then
    phi (Lemma 7, a self-match for the half), floor(t/2) by the floor retrieval (Lemma 9's
    input S = [half]_0 - [floor]_0), delta of t - 1 copied; the psi cells cleared (Lemma 4)."""
    one, bos = base.one, base.bos
    a_notbos = average_of("notbos", bos, [0.0, 1.0])
    a_bos = avg_bos(bos)
    lam = POSITION_SCALE
    p_term = PsiTerm(c.pos_psi, a={"notbos": lam}, b={"bos": 1.0})
    h_term = PsiTerm(c.half_psi, a={"notbos": lam / 2, "bos": -lam / 4}, b={"bos": 1.0})
    p1_term, p1_needs = offset_term(c.prev_psi, 1, one=one, bos=bos)
    uni = UniformHead(note="positions (Lemma 7)")
    uni.write(p_term, a_notbos, a_bos)
    uni.write(h_term, a_notbos, a_bos)
    uni.write(p1_term, *p1_needs)
    clear_uni = UniformHead(note="clear the position psi cells (Lemma 4)")
    for term in (p_term, h_term, p1_term):
        clear_uni.write(term.negated(), a_notbos, a_bos, *p1_needs)
    return [
        Layer(
            "Cor 1.1 level 0.1: psi of t, (t - 1/2)/2, t - 1 (Lemma 7); t -> phi",
            heads=[uni.head()],
            ff=psi_to_phi_ff(c.pos_psi, c.pos),
        ),
        Layer(
            "Cor 1.1 level 0.2: (t - 1/2)/2 -> phi (self-match); t - 1 -> phi",
            heads=[psi_to_phi_head(c.half_psi, c.half)],
            ff=psi_to_phi_ff(c.prev_psi, c.prev),
        ),
        Layer(
            "Cor 1.1 level 0.3: floor(t/2) (floor retrieval); copy delta of t - 1; "
            "S = [half]_0 - [floor]_0",
            heads=[
                clear_uni.head(),
                lookup_head(c.half, c.pos, {c.pos: c.floor_t}, note="floor(t/2)"),
                lookup_head(c.prev, c.pos, {base.delta: c.x}, note="x = delta of t - 1"),
            ],
            ff=stack_ff(
                [
                    linear_ff(
                        [
                            (
                                {c.half: PICK_A[None, :], c.floor_t: -PICK_A[None, :]},
                                {c.s: np.array([[1.0]])},
                            )
                        ]
                    ),
                    FeedForward(
                        w_in={one: np.array([[1.0]])}, w_out={c.even: np.array([[0.5], [0.5]])}
                    ),
                ]
            ),
            clears=(c.pos_psi, c.half_psi, c.prev_psi),
        ),
    ]


def _level0_merge(base: Base, enc: Encoding, c: _NonuniformCells) -> Layer:
    """Corollary 1.1, level 0.4: even = [S < 0] (Lemma 9's sign read); merge pairs (t even)
    and absorb w_n at $ if n is odd (<=> n + 1 even); alpha^1 = even and alpha^0."""
    one, bos, alpha, delta = base.one, base.bos, base.alpha, base.delta
    level0_table = stack_ff(
        [
            enc.table_ff(
                c.x,
                delta,
                {c.even: PICK_TRUE[None, :], bos: -PICK_TRUE[None, :]},
                one=one,
                note="delta := delta(t-1) delta where t even (level 0)",
            ),
            step_ff(
                {alpha: PICK_TRUE, c.even: -PICK_TRUE, one: [1.0]},
                2,
                {alpha: np.array([-1.0, 1.0])},
                one=one,
                note="alpha -= alpha and not even",
            ),
            linear_ff(
                [
                    (
                        {c.half: PICK_A[None, :], c.floor_t: -PICK_A[None, :]},
                        {c.s: np.array([[-1.0]])},
                    )
                ]
            ),
            clear_ff([c.floor_t, c.x]),
        ]
    )
    return Layer(
        "Cor 1.1 level 0.4: even = [S < 0]; merge pairs; absorb w_n at $ if n odd",
        heads=[sign_read_head(c.s, c.even, np.array([[-0.5], [0.5]]), note="even = [S < 0]")],
        ff=level0_table,
        updates=(c.even, delta, alpha),
        clears=(c.s, c.floor_t, c.x),
    )


def _level_activeness(base: Base, c: _NonuniformCells) -> list[Layer]:
    """Corollary 1.1, level l.1-l.2: alpha^{l+1}_t = [t even] and alpha^l_{floor(t/2)} (the
    halving retrieval replaces Lemma 1's division), and its copy at t + 1."""
    one, end, alpha = base.one, base.end, base.alpha
    return [
        Layer(
            "Cor 1.1 level l.1: alpha^l at floor(t/2) (halving); copy alpha of t - 1",
            heads=[
                lookup_head(c.half, c.pos, {alpha: c.mid}, note="alpha at floor(t/2)"),
                lookup_head(c.prev, c.pos, {alpha: c.alpha_prev}, note="alpha of t - 1"),
            ],
            ff=stack_ff(
                [
                    step_ff(
                        {c.even: PICK_TRUE, c.mid: PICK_TRUE, end: -PICK_TRUE, one: [1.0]},
                        3,
                        {c.alpha_next: np.array([1.0, -1.0])},
                        one=one,
                        note="alpha^{l+1} = even and alpha^l(floor(t/2)) and not $",
                    ),
                    constant_ff({c.alpha_next: [0.0, 1.0]}, one=one),
                    clear_ff([c.mid]),
                ]
            ),
            clears=(c.mid,),
        ),
        Layer(
            "Cor 1.1 level l.2: copy alpha^{l+1} of t - 1",
            heads=[
                lookup_head(c.prev, c.pos, {c.alpha_next: c.next_prev}, note="alpha^{l+1}(t - 1)")
            ],
        ),
    ]


def _level_merge(base: Base, enc: Encoding, c: _NonuniformCells) -> list[Layer]:
    """Corollary 1.1, level l.3-l.4 (Theorem 1's merge and accumulator): the previous active
    block by the nearest-previous retrieval, the gate g = alpha^{l+1} or ($ and that block
    retires), delta := x delta where g (the monoid table); alpha := alpha^{l+1}."""
    one, end, alpha, delta = base.one, base.end, base.alpha, base.delta
    temporaries = [
        c.x,
        c.gate,
        c.alpha_next,
        c.next_prev,
        c.left_pos,
        c.alpha_prev,
        c.found,
        c.found_next,
    ]
    return [
        Layer(
            "Cor 1.1 level l.3: previous active block; gate = alpha^{l+1} or ($ and it retires)",
            heads=[
                nearest_previous_head(
                    c.alpha_prev,
                    c.pos,
                    one,
                    {c.prev: c.left_pos, c.alpha_prev: c.found, c.next_prev: c.found_next},
                    note="position of the previous active token",
                )
            ],
            ff=stack_ff(
                [
                    step_ff({c.alpha_next: PICK_TRUE}, 1, {c.gate: np.array([1.0, -1.0])}, one=one),
                    step_ff(
                        {end: PICK_TRUE, c.found: PICK_TRUE, c.found_next: -PICK_TRUE, one: [1.0]},
                        3,
                        {c.gate: np.array([1.0, -1.0])},
                        one=one,
                    ),
                    constant_ff({c.gate: [0.0, 1.0]}, one=one),
                ],
                note="g = alpha^{l+1} or ($ and found and not found.next)",
            ),
        ),
        Layer(
            "Cor 1.1 level l.4: x = its block; delta := x delta where g; alpha := alpha^{l+1}",
            heads=[
                lookup_head(c.left_pos, c.pos, {delta: c.x}, note="x = P_l of the previous active")
            ],
            ff=stack_ff(
                [
                    enc.table_ff(
                        c.x, delta, {c.gate: PICK_TRUE[None, :]}, one=one, note="monoid table"
                    ),
                    linear_ff(
                        [({c.alpha_next: np.eye(2), alpha: -np.eye(2)}, {alpha: np.eye(2)})]
                    ),
                    clear_ff(temporaries),
                ]
            ),
            updates=(delta, alpha),
            clears=tuple(temporaries),
        ),
    ]


def nonuniform_program(enc: Encoding, alphabet: Sequence[str], max_length: int) -> Program:
    """Corollary 1.1: levels 0..ceil(log2 N), 4 layers each, then the answer layer."""
    if max_length < 0:
        raise CompileError("max_length must be at least 0")
    base = base_cells(enc)
    levels = DepthRule.ceil_log2(max(max_length, 1)) + 1
    cells = _nonuniform_cells(base, enc)
    layers = [*_level0_positions(base, cells), _level0_merge(base, enc, cells)]
    level = [*_level_activeness(base, cells), *_level_merge(base, enc, cells)]
    for _ in range(1, levels):
        layers.extend(level)
    answer_step, answer = answer_layer(base, enc)
    layers.append(answer_step)
    limit = max(max_length, 0)
    return Program(
        layout=base.layout,
        vocab=[BOS, *alphabet, END],
        embedding=word_embedding(base, enc, alphabet),
        initial=layers,
        repeated=[],
        final=[],
        outputs=list(OUTPUTS),
        readout=word_readout(answer),
        depth_rule=DepthRule(count_tokens=tuple(alphabet), root=1, fixed=0),
        tie_tolerance=tie_tolerance(),
        input_format="word",
        construction=catalog.config_name("nonuniform"),
        frontier={
            "float64": min(limit, frontier("float64")),
            "float32": min(limit, frontier("float32")),
        },
    )


# ---------------------------------------------------------------------------------------------
# The public entry point
# ---------------------------------------------------------------------------------------------


def compile_regular(
    automaton: DFA | NFA,
    *,
    construction: str | None = None,
    max_length: int | None = None,
    source: str | None = None,
    encoding: str | None = None,
    wide: bool | None = None,
) -> CompiledModel:
    """Compile a DFA or NFA to Theorem 1's (0, 8, 9)-universal transformer (uniform) or to
    Corollary 1.1's plain 4 ceil(log2 N) + 5 layer transformer (nonuniform, max_length = N),
    or either with the wide position code, through the build driver (`logdepth.build`): the
    catalog entry named `construction` (default "uniform") says which; `encoding` ("onehot"
    or "maps") and `wide` override its options.

    DFAs are minimized first. model.extra carries the spec (automaton.to_dict()), its type,
    the source text and a report (monoid size and kind, the encoding chosen, layer counts,
    the frontier).
    """
    from logdepth.build import build  # the driver: program, hygiene, assembly, report

    entry = catalog.get(construction or catalog.DEFAULT)
    chosen = dict(encoding=encoding, wide=wide)  # the builder's keyword parameters
    options = {**entry.options, **{k: v for k, v in chosen.items() if v is not None}}
    if options != dict(entry.options):
        entry = replace(entry, options=options)
    return build(entry, automaton, max_length=max_length, source=source)


def build_program(
    automaton: DFA | NFA,
    *,
    entry: catalog.Construction,
    wide: bool = False,
    encoding: str | None = None,
    max_length: int | None = None,
) -> Program:
    """The catalog's `program` for Theorem 1 and Corollary 1.1: the program over the cheaper
    monoid code (or the one `encoding` forces), with the wide position code or the faithful
    one, uniform or, for an entry that `needs_max_length`, for words up to max_length (the
    driver has checked the request against the entry). Its facts: the encoding, the minimised
    automaton and the build's parameters, for `report`."""
    enc = choose_encoding(automaton, encoding)
    target = automaton.minimize() if isinstance(automaton, DFA) else automaton
    alphabet = list(automaton.alphabet)
    # Cost before work: the tables are |M|^2 (or |Q|^3) hidden units wide, so refuse from the
    # shapes before any is built (limits.py).
    shape = program_shape(enc.kind, tuple(alphabet), wide, max_length)
    table_cost(enc, shape, f"compiling {automaton.name!r} ({entry.name})").check(CompileError)
    program = _program(enc, alphabet, wide, max_length)
    program.facts = {
        "encoding": enc,
        "minimized": target,
        "bit_positions": wide,
        "max_length": max_length,
    }
    return program


def report(program: Program, network, obj: DFA | NFA, entry: catalog.Construction) -> dict:
    """The catalog's `report` for Theorem 1 and Corollary 1.1 (the program's facts, the
    assembled network's worst-case rounding bound)."""
    facts = program.facts
    wide, cap = facts["bit_positions"], facts["max_length"]
    out = _report(obj, facts["minimized"], facts["encoding"], program, entry, wide, cap)
    if not wide:
        out.update(worst_case_frontier(network, cap))
    else:  # the wide code's gaps are not this module's: its curve and bound only
        out["frontier_by_bits"] = frontier_curve(cap, wide_gaps.frontier_for_bits)
        out["score_rounding_ulps"] = round(score_rounding_ulps(network), 1)
    return out


def _program(
    enc: Encoding, alphabet: Sequence[str], wide: bool, max_length: int | None
) -> Program:
    """The program over `enc`: the wide position code or the faithful one, uniform
    (max_length None) or non-uniform for words up to max_length."""
    if wide:
        from logdepth.constructions.wide import wide_program

        return wide_program(enc, alphabet, max_length)
    if max_length is None:
        return uniform_program(enc, alphabet)
    return nonuniform_program(enc, alphabet, max_length)


@functools.lru_cache(maxsize=32)
def program_shape(
    kind: str, alphabet: tuple[str, ...], wide: bool, max_length: int | None
) -> ProgramShape:
    """The construction's shapes apart from the monoid (`monoid_codes.ProgramShape`), read off
    its program over the trivial monoid: a table is a feed-forward that reads the fetched
    block `left` (every construction here names it so), counted once per assembled layer."""
    if not isinstance(wide, bool):  # the position code, not a construction name
        raise TypeError(f"program_shape takes wide=True/False, not {wide!r}")
    trivial = trivial_encoding(kind, alphabet)
    program = _program(trivial, list(alphabet), wide, max_length)
    layers = [*program.initial, *program.repeated, *program.final]
    tables = [
        layer for layer in layers if any(c.name == "left" for c in layer.feed_forward_reads())
    ]
    config = assemble(program).config
    width = config.d_model
    elements = sum(math.prod(dims) for dims in tensor_schema(config).values())
    return ProgramShape(
        width=width,
        code_cells=sum(1 for c in program.layout.cells if c.kind == "code"),
        columns=elements // width,
        tables=len(tables),
        builds=len({id(layer.ff) for layer in tables}),
        table_units=trivial.table_units,
    )


def _report(
    automaton,
    target,
    enc: Encoding,
    program: Program,
    entry: catalog.Construction,
    wide: bool,
    max_length: int | None,
) -> dict:
    report: dict = {
        "theorem": entry.title,
        "construction": entry.name,
        "states": len(automaton.states),
        "states_minimized": len(target.states),
        "alphabet": len(target.alphabet),
        **enc.describe(),
        "d_model": program.layout.d_model,
        "frontier": dict(program.frontier),
        # How the frontier was established, and the model's prediction n(p) for emulated p, so
        # that `verify` can check the prediction at an affordable p without the compiler.
        "frontier_basis": {dtype: "derived" for dtype in program.frontier},
        "frontier_method": FRONTIER_METHOD,
        "frontier_by_bits": frontier_curve(max_length),
        "tie_tolerance": program.tie_tolerance,
        "position_scale": POSITION_SCALE,
        # The element codes, so that verify decodes without the compiler.
        "codebook": enc.codebook(),
    }
    m = enc.monoid
    if m is None:
        try:
            m = TransitionMonoid.of(target)
        except CompileError:
            m = None
    if m is not None:
        report["monoid"] = {
            "size": m.size,
            "group": bool(m.is_group),
            "aperiodic": bool(m.is_aperiodic),
            "solvable": m.is_solvable if m.is_group else None,
            "kind": m.kind,
        }
    else:
        report["monoid"] = None
    if max_length is None:
        report["layers"] = entry.formula
    else:
        report["layers"] = len(program.initial)
        report["max_length"] = max_length
    if wide:
        bits = wide_gaps.BITS
        report["position_code"] = f"{bits} bits of m = t - [t = $] (constructions/wide.py)"
        report["position_scale"] = WIDE_SCALE
    return report
