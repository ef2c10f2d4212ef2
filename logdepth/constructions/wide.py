"""Theorem 1 with a better-conditioned position code: the "wide" construction.

The faithful construction (regular.py) hashes positions and counts as phi(lambda v) and compares
them by attention. Neighbouring integers then differ in score by about 1/(2 lambda^2 v^4), so
every doubling of n costs about 4 bits (docs/precision.md). This module keeps Theorem 1's
algorithm (merge neighbouring active blocks level by level; absorb the block the binary
expansion of n retires into the accumulator at $) and changes how it finds the blocks.

Position code: binary digits as bool cells. Write m_t = t - [t = $] (so $ carries n, the index
of the last symbol). The initial layers write its K bits c_0 .. c_{K-1} as K bool cells
<b, 1 - b>. At level l the same cells hold the bits of c_t = floor(m_t / 2^l) (the count of
active tokens in 1..m_t, Theorem 1's c_t): each level shifts them right by one.

Why bits are well conditioned. Two bit vectors are compared by attention as the score
sum_i [T_i = c_i] (bool cells: T_i c_i + (1 - T_i)(1 - c_i)): it is K for a match and at most
K - 1 otherwise, whatever n is. The score gap never shrinks. Only reading the bits off the
position costs bits of precision, and that cost is linear in n instead of quartic:

- Digits by thresholds (Lemma 7's uniform averages, then a feed-forward). A uniform head gives
  psi(lambda m, 1) (read as phi(lambda m)); the threshold v >= theta is the sign of the linear
  form h = [phi]_0 - lambda theta [phi]_1 = lambda (v - theta) / |psi(lambda v, 1)|. At the nearest
  integer (theta is a half-integer) |h| = (lambda/2) / sqrt(2 (lambda v)^2 + 2), about
  1/(2 sqrt(2) v): linear in 1/v, where the faithful equality gap is ~ 1/v^4.
- A saturating step (gadgets.saturating_ff) turns each sign into an exact 0/1; its slope is
  1/(2 |h|), so every pre-activation is >= 1/2 in size at an integer.
- Two digit stages keep the number of thresholds small: the high digit floor(m / D)
  (D = 2^LOW_BITS) by thresholds at multiples of D, then the low digit m mod D =
  m - D (#{j <= t : D | m_j} - 1) by a second uniform average, read the same way.
- The steps' outputs carry a rounding error of about (slope) * u; a second feed-forward snaps
  them (a slope-4 step on a bool, exact). Only snapped flags enter the second average.

The merge (Theorem 1's steps 2-3, without "the nearest previous active token"). At level l the
active tokens are the multiples of g = 2^l and c_t = floor(m_t / g). An active t with c_t even
merges with the previous active token, whose c is c_t - 1; $ absorbs the last active token,
whose c is c_$, when c_$ is odd. So every token asks for the key j that is active (or BoS) and
has c_j = T_t, with T_t = c_t at $ and max(c_t - 1, 0) elsewhere: exactly one key matches
(the active token T_t g, or BoS for T_t = 0), so the fetch is a unique maximum with score gap
1 / (K + 1) (scores scaled into [0, 1]). No tie-breaker, no division block.

Layers (s, r, t) = (6, 1, 2): 6 initial layers (position bits; the first target and gate),
a repeated 1-layer level (fetch; monoid table; alpha := alpha and c even; c := c >> 1; next
target and gate), and the final block = that level once more + the answer layer. With
d = ceil(log2 n) loop iterations, levels 0..d run, as in regular.py: 6 + (d + 1) + 1 =
ceil(log2 n) + 8 layers (the faithful: 8 ceil(log2 n) + 9).

Capacity. The bits represent m < 2^K, K = HIGH_BITS + LOW_BITS = 20: the construction is
uniform (the repeated block is the same at every level) for every n <= 2^K - 1 = 1,048,575;
past that the high digit saturates. The frontier (`frontier_for_bits`) is the smaller of the
capacity and the largest n whose gaps (`score_gaps`) exceed twice the score noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from logdepth import catalog
from logdepth.compiler.cells import PICK_TRUE, Cell
from logdepth.compiler.program import FeedForward, Head, Layer, Program
from logdepth.gaps.regular import tie_tolerance
from logdepth.gaps.wide import (
    BITS,
    CAPACITY,
    HIGH_BITS,
    LOW_BITS,
    frontier,
    frontier_for_bits,
    score_gaps,
    smallest_gap,
)
from logdepth.kit.bits import (
    TRUE,
    WIDE_SCALE,
    bit_columns,
    bool_init,
    snap,
    threshold_steps,
)
from logdepth.kit.feedforward import clear_ff, stack_ff
from logdepth.kit.gadgets import (
    avg_bos,
    avg_flag,
    constant_ff,
    copy_maps,
    step_ff,
)
from logdepth.kit.hashing import PsiTerm, UniformHead, average_of, psi_to_phi_ff
from logdepth.kit.monoid_codes import Encoding
from logdepth.kit.words import (
    OUTPUTS,
    Base,
    answer_layer,
    base_cells,
    word_embedding,
    word_readout,
)
from logdepth.model.config import BOS, DepthRule
from logdepth.model.inputs import END

# The gaps and the frontier: logdepth/gaps/wide.py; the bit-vector steps: logdepth/kit/bits.py.


def layers(n: int) -> int:
    """The wide construction's layer count: ceil(log2 n) + 8."""
    return DepthRule.ceil_log2(n) + 8


# ---------------------------------------------------------------------------------------------
# Feed-forward pieces
# ---------------------------------------------------------------------------------------------

def target_and_gate(
    c: Sequence[Cell | None],
    alpha_terms: Sequence[dict],
    end: Cell,
    target: Sequence[Cell],
    gate: Cell,
    one: Cell,
) -> FeedForward:
    """T := c at $, max(c - 1, 0) elsewhere; g := (alpha and c even) or ($ and c odd).

    c: the bit cells of the count, lowest first (None: a bit known to be 0, e.g. the top bit
    after a shift); alpha_terms: the conditions (cell -> row, `one` for constants) that make
    "alpha" for the gate, one dict per 0/1 condition (alpha; or alpha and not c_0 before the
    shift, for the next level). Bits, with
    z_i = [c_0 = .. = c_{i-1} = 0] and z_K = [c = 0]:
        T_i = [$ and c_i] + [not $ and c_i] - [not $ and c_i and z_i]
              + [not $ and not c_i and z_i] - [not $ and z_K]
    (c - 1 flips the trailing zeros and the lowest one; clamped at 0). Every term is one
    saturating step of a sum of 0/1 conditions.
    """
    parts: list[FeedForward] = [bool_init([*target, gate], one)]
    not_end = {end: -PICK_TRUE, one: np.array([1.0])}

    def cond(*terms: dict) -> tuple[dict, int]:
        rows: dict = {}
        k = 0
        for t in terms:
            for cell, row in t.items():
                rows[cell] = rows.get(cell, 0) + np.asarray(row, dtype=float)
            k += 1
        return rows, k

    def bit(i: int, negated: bool = False) -> dict:
        cell = c[i]
        if cell is None:  # constant 0: "c_i" never holds, "not c_i" always does
            return {one: np.array([1.0 if negated else -10.0])}
        return {cell: -PICK_TRUE, one: np.array([1.0])} if negated else {cell: PICK_TRUE}

    def zeros_below(i: int) -> list[dict]:
        return [bit(j, negated=True) for j in range(i)]

    def add(terms: Sequence[dict], out_cell: Cell, sign: float) -> None:
        rows, k = cond(*terms)
        parts.append(step_ff(rows, k, {out_cell: sign * TRUE}, one=one))

    for i, t_cell in enumerate(target):
        add([{end: PICK_TRUE}, bit(i)], t_cell, 1.0)
        add([not_end, bit(i)], t_cell, 1.0)
        add([not_end, bit(i), *zeros_below(i)], t_cell, -1.0)
        add([not_end, bit(i, True), *zeros_below(i)], t_cell, 1.0)
        add([not_end, *zeros_below(len(c))], t_cell, -1.0)
    add([*alpha_terms, bit(0, True)], gate, 1.0)
    add([{end: PICK_TRUE}, bit(0)], gate, 1.0)
    return stack_ff(parts, note="target T and merge gate g")


# ---------------------------------------------------------------------------------------------
# The program
# ---------------------------------------------------------------------------------------------


@dataclass
class _WideCells:
    """The wide construction's working cells (allocated in this order: the layout's columns)."""

    c: list[Cell]  # the bits of c_t (Theorem 1's count of active tokens)
    target: list[Cell]  # T_t, the c of the block to fetch
    gate: Cell
    x: Cell
    m_psi: Cell
    m_phi: Cell
    r_psi: Cell
    r_phi: Cell
    hi_noisy: list[Cell]
    f_noisy: Cell
    f: Cell  # [D | m and not $]
    lo_noisy: list[Cell]


def _wide_cells(base: Base, enc: Encoding) -> _WideCells:
    L = base.layout
    c = [L.bool(f"c.{i}", persistent=True) for i in range(BITS)]
    target = [L.bool(f"target.{i}", persistent=True) for i in range(BITS)]
    gate = L.bool("merge", persistent=True)
    x = enc.cell(L, "left")
    m_psi, m_phi = L.psi("m.psi"), L.phi("m")
    r_psi, r_phi = L.psi("r.psi"), L.phi("r")
    hi_noisy = [L.bool(f"hi.raw.{i}") for i in range(HIGH_BITS)]
    f_noisy, f = L.bool("mult.raw"), L.bool("mult")
    lo_noisy = [L.bool(f"lo.raw.{i}") for i in range(LOW_BITS)]
    return _WideCells(
        c, target, gate, x, m_psi, m_phi, r_psi, r_phi, hi_noisy, f_noisy, f, lo_noisy
    )


def _wide_position_heads(base: Base, w: _WideCells) -> list[UniformHead]:
    """The three uniform heads of the initial layers (Lemma 7's averages): psi(lambda m),
    m = t - [t = $]; psi(lambda (m mod D)) from the multiples count, clearing psi(m); and the
    clearing of psi(m mod D) (Lemma 4: recompute, subtract)."""
    lam, D = WIDE_SCALE, 2**LOW_BITS
    a_nb = average_of("notbos", base.bos, [0.0, 1.0])
    a_bos = avg_bos(base.bos)
    a_end = avg_flag(base.end, "end")
    a_f = avg_flag(w.f, "mult")
    # m = t - [t = $]: psi(lambda (t - end_t) / (t + 1), 1 / (t + 1)) (Lemma 7's averages).
    m_term = PsiTerm(w.m_psi, a={"notbos": lam, "end": -lam}, b={"bos": 1.0})
    # m mod D = m - D (#{j <= t: D | m_j, j not $} - 1): BoS counts (m_0 = 0), $ does not.
    r_term = PsiTerm(
        w.r_psi, a={"notbos": lam, "end": -lam, "mult": -lam * D, "bos": lam * D}, b={"bos": 1.0}
    )
    u1 = UniformHead(note="m = t - [t = $] (Lemma 7)")
    u1.write(m_term, a_nb, a_end, a_bos)
    u4 = UniformHead(note="clear m; m mod D")
    u4.write(m_term.negated(), a_nb, a_end, a_bos)
    u4.write(r_term, a_nb, a_end, a_bos, a_f)
    u5 = UniformHead(note="clear m mod D (Lemma 4)")
    u5.write(r_term.negated(), a_nb, a_end, a_bos, a_f)
    return [u1, u4, u5]


def _wide_high_digit(base: Base, w: _WideCells) -> tuple[FeedForward, FeedForward]:
    """The high digit floor(m / D) as bits and the multiples flag [D | m] by thresholds on
    phi(lambda m) (layer 2's ff), then snapped (layer 3's ff)."""
    one, D = base.one, 2**LOW_BITS
    # Digit steps at k D - 1/2 (k = 1 .. 2^HIGH - 1), and steps at k D + 1/2 (k = 0 ..
    # 2^HIGH - 1) for the multiples flag [D | m] = 1 + sum [>= kD - 1/2] - sum [>= kD + 1/2].
    ks = list(range(1, 2**HIGH_BITS))
    high_digit = threshold_steps(
        w.m_phi,
        [k * D - 0.5 for k in ks],
        {
            **bit_columns(w.hi_noisy, ks),
            w.f_noisy: np.outer(TRUE, np.ones(len(ks))),
        },
        one=one,
        note="high digit floor(m / D): bits; [m >= kD]",
    )
    high_mult = threshold_steps(
        w.m_phi,
        [k * D + 0.5 for k in range(2**HIGH_BITS)],
        {w.f_noisy: np.outer(-TRUE, np.ones(2**HIGH_BITS))},
        one=one,
        note="[m >= kD + 1]",
    )
    f_one = constant_ff({w.f_noisy: np.array([1.0, 0.0])}, one=one)  # (0,1) + (1,-1): "1 +"
    init_hi = bool_init(w.hi_noisy, one)
    snap_hi = stack_ff(
        [bool_init(w.c[LOW_BITS:], one)]
        + [snap(h, w.c[LOW_BITS + i], one) for i, h in enumerate(w.hi_noisy)]
        + [
            bool_init([w.f], one),
            snap(w.f_noisy, w.f, one, {base.end: -PICK_TRUE, one: np.array([1.0])}, count=2),
            clear_ff([*w.hi_noisy, w.f_noisy]),
        ],
        note="snap the high bits; mult := [D | m and not $]",
    )
    steps = stack_ff([init_hi, f_one, high_digit, high_mult, clear_ff([w.m_phi])])
    return steps, snap_hi


def _wide_low_digit(base: Base, w: _WideCells) -> tuple[FeedForward, FeedForward]:
    """The low digit m mod D as bits by thresholds on phi(lambda (m mod D)) (layer 5's ff),
    then snapped, with level 0's target T and merge gate g (layer 6's ff)."""
    one, D = base.one, 2**LOW_BITS
    low_digit = threshold_steps(
        w.r_phi,
        [k - 0.5 for k in range(1, D)],
        bit_columns(w.lo_noisy, list(range(1, D))),
        one=one,
        note="low digit m mod D: bits",
    )
    snap_lo = stack_ff(
        [bool_init(w.c[:LOW_BITS], one)]
        + [snap(b, w.c[i], one) for i, b in enumerate(w.lo_noisy)]
        + [
            target_and_gate(
                [*w.lo_noisy, *w.c[LOW_BITS:]],
                [{base.alpha: PICK_TRUE}],
                base.end,
                w.target,
                w.gate,
                one,
            ),
            clear_ff(w.lo_noisy),
        ],
        note="snap the low bits; first target and gate",
    )
    steps = stack_ff([bool_init(w.lo_noisy, one), low_digit, clear_ff([w.r_phi, w.f])])
    return steps, snap_lo


def _wide_initial(base: Base, w: _WideCells) -> list[Layer]:
    """The 6 initial layers: the bits of m_t = t - [t = $] (the position code that replaces
    Theorem 1's hashed count c_t), level 0's target and merge gate."""
    u1, u4, u5 = _wide_position_heads(base, w)
    high_steps, snap_hi = _wide_high_digit(base, w)
    low_steps, snap_lo = _wide_low_digit(base, w)
    return [
        Layer(
            "wide 1: psi(lambda m), m = t - [t = $] (uniform averages); -> phi",
            heads=[u1.head()],
            ff=psi_to_phi_ff(w.m_psi, w.m_phi),
        ),
        Layer(
            "wide 2: high digit floor(m / D) and [D | m] by thresholds on phi(lambda m)",
            ff=high_steps,
            clears=(w.m_phi,),
        ),
        Layer(
            "wide 3: snap the high bits and the multiples flag",
            ff=snap_hi,
            clears=(*w.hi_noisy, w.f_noisy),
        ),
        Layer(
            "wide 4: psi(lambda (m mod D)) from the multiples count; clear psi(m); -> phi",
            heads=[u4.head()],
            ff=psi_to_phi_ff(w.r_psi, w.r_phi),
            clears=(w.m_psi,),
        ),
        Layer(
            "wide 5: low digit bits by thresholds on phi(lambda (m mod D)); clear",
            heads=[u5.head()],
            ff=low_steps,
            clears=(w.r_psi, w.r_phi, w.f),
        ),
        Layer(
            "wide 6: snap the low bits; T = target count, g = merge gate (level 0)",
            ff=snap_lo,
            clears=tuple(w.lo_noisy),
        ),
    ]


def wide_program(enc: Encoding, alphabet: Sequence[str], max_length: int | None = None) -> Program:
    """Theorem 1, wide: 6 initial layers (position bits), the 1-layer level, level + answer.

    With `max_length` = N, Corollary 1.1's non-uniform form: the level layer written out
    ceil(log2 N) + 1 times (every layer initial, depth fixed 0), 6 + ceil(log2 N) + 1 + 1 =
    ceil(log2 N) + 8 layers; the frontier is at most N."""
    base = base_cells(enc)
    w = _wide_cells(base, enc)
    initial = _wide_initial(base, w)
    level = _level_layer(enc, base, w.c, w.target, w.gate, w.x)
    answer_step, answer = answer_layer(base, enc)
    repeated, final = [level], [level, answer_step]
    depth_rule = DepthRule(count_tokens=tuple(alphabet), root=1)
    construction = CONSTRUCTION
    limit = {"float64": frontier("float64"), "float32": frontier("float32")}
    if max_length is not None:
        levels = DepthRule.ceil_log2(max(max_length, 1)) + 1
        initial = [*initial, *([level] * levels), answer_step]
        repeated, final = [], []
        depth_rule = DepthRule(count_tokens=tuple(alphabet), root=1, fixed=0)
        construction = NONUNIFORM_CONSTRUCTION
        limit = {dtype: min(max(max_length, 0), n) for dtype, n in limit.items()}
    return Program(
        layout=base.layout,
        vocab=[BOS, *alphabet, END],
        embedding=word_embedding(base, enc, alphabet),
        initial=initial,
        repeated=repeated,
        final=final,
        outputs=list(OUTPUTS),
        readout=word_readout(answer),
        depth_rule=depth_rule,
        tie_tolerance=tie_tolerance(),
        input_format="word",
        construction=construction,
        frontier=limit,
    )


CONSTRUCTION = catalog.config_name("wide")
NONUNIFORM_CONSTRUCTION = catalog.config_name("nonuniform-wide")


def fetch_head(
    target: Sequence[Cell], c: Sequence[Cell], flags: Sequence[Cell], one: Cell, values: dict
) -> Head:
    """The key j that is flagged (active or BoS) with c_j = T_t, by the score
    (sum_i [T_i = c_{j,i}] + flag_j) / (K + 1): 1 for the match, at most K / (K + 1) otherwise."""
    k = len(target)
    dim = 2 * k + 1
    query: dict[Cell, np.ndarray] = {one: np.zeros((dim, 1))}
    key: dict[Cell, np.ndarray] = {}
    for i, (t, b) in enumerate(zip(target, c, strict=True)):
        query[t] = np.zeros((dim, 2))
        query[t][2 * i : 2 * i + 2] = np.eye(2) / (k + 1)
        key[b] = np.zeros((dim, 2))
        key[b][2 * i : 2 * i + 2] = np.eye(2)
    query[one][2 * k, 0] = 1.0 / (k + 1)
    for fl in flags:
        key[fl] = np.zeros((dim, 2))
        key[fl][2 * k] = PICK_TRUE
    value, out = copy_maps(values)
    return Head(
        query=query,
        key=key,
        value=value,
        out=out,
        causal=True,
        note="x = delta of the flagged key with c = T (bit-vector equality)",
    )


def _level_layer(enc: Encoding, base, c, target, gate, x) -> Layer:
    """One level: fetch; delta := x delta where g; alpha := alpha and c even; c := c >> 1;
    the next level's T and g (from the bits before the shift)."""
    one, bos, end, alpha, delta = base.one, base.bos, base.end, base.alpha, base.delta
    shifted: list[Cell | None] = [*c[1:], None]
    shift = [clear_ff(c), bool_init(c, one)]
    for i, src in enumerate(c[1:]):
        shift.append(snap(src, c[i], one))
    nxt = target_and_gate(
        shifted,
        [{alpha: PICK_TRUE}, {c[0]: -PICK_TRUE, one: np.array([1.0])}],
        end,
        target,
        gate,
        one,
    )
    ff = stack_ff(
        [
            enc.table_ff(
                x, delta, {gate: PICK_TRUE[None, :]}, one=one, note="delta := x delta where g"
            ),
            step_ff(
                {alpha: PICK_TRUE, c[0]: PICK_TRUE},
                2,
                {alpha: -TRUE},
                one=one,
                note="alpha -= alpha and c odd",
            ),
            *shift,
            clear_ff([*target, gate]),
            nxt,
            clear_ff([x]),
        ],
        note="monoid table; alpha and c update; next T and g",
    )
    return Layer(
        "wide level: x = delta of the active key with c = T; delta := x delta where g; "
        "alpha := alpha and c even; c := c >> 1; next T, g",
        heads=[fetch_head(target, c, [alpha, bos], one, {delta: x})],
        ff=ff,
        updates=(delta, alpha, *c, *target, gate),
        clears=(x,),
    )


__all__ = [
    "BITS",
    "CAPACITY",
    "CONSTRUCTION",
    "NONUNIFORM_CONSTRUCTION",
    "frontier",
    "frontier_for_bits",
    "layers",
    "score_gaps",
    "smallest_gap",
    "wide_program",
]
