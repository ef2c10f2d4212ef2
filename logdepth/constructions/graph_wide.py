"""Theorem 2 with a better-conditioned position code: the "wide" connectivity construction.

The faithful construction (connectivity.py) runs Lemma 1's division block over the positions
and looks rows up by the hash phi(lambda j): neighbouring positions differ in score by about
1/(2 lambda^2 j^4), and the positions reach n^3, so float32 resolves nothing and float64
stops at 41 vertices (docs/precision.md). This module keeps Theorem 2's algorithm (B_0 =
A or I, then C_l(i, k, j) = B(i, k) and B(k, j) at the pads and B_l(i, j) = OR_k C_l at the
matrix entries, ceil(log2 n) times) and changes only how a token learns its coordinates and how
heads find each other.

Coordinates as bits. Every token gets three base-n digits (d2, d1, d0) of its index x within
its own token type (x = a for the matrix entry a = i n + j, x = p for the pad p = i n^2 + k n +
j), each as BITS bool cells <b, 1 - b>:

    matrix entry (i, j): d2 = 0, d1 = i, d0 = j        pad (i, k, j): d2 = i, d1 = k, d0 = j

Heads then compare bit vectors by agreement, sum_b [q_b = k_b]: a match scores the full count
and every mismatch at least 1 less, for every n. The score gaps never shrink.

Reading the digits costs precision only where a ratio of counts is thresholded, and each stage
reads a ratio whose spacing is fixed by n, not by the position:

1. d2 = floor(x / n^2) at pads: a causal uniform head over the token one-hot alone (exact 0/1
   values, so the two sums are exact integers) gives psi(x + 1/2, n^2) / (t + 1): the pads so
   far (minus BoS's half) against the n^2 matrix entries so far. Thresholds at q = 1 .. Q - 1
   (`wide.threshold_steps`) read phi(z1), z1 = (x + 1/2)/n^2, whose distance to an integer is at
   least 1/(2 n^2). The step slope is fixed by the weights, so it is set for the capacity Q:
   distance 1/(2 Q^2). That large slope leaves each step's output off by up to ~u S_q (the two
   ReLUs of a saturating step cancel), so every step is snapped on its own before the bits are
   summed.
2. d1 = floor(r1 / n), r1 = x - n^2 d2 the index within the block (type, d2): a causal head
   attends to exactly the tokens j <= t with the same type and d2 (bit agreement) and BoS, which
   ties with them; its values give psi(r1 + 1/2, n) / (r1 + 2) from phi(mu n) (Lemma 1's
   modulus cell, gated at BoS: `gadgets.gate_ff`). Thresholds at q, distance 1/(2 Q).
3. d0 = the index within the block (type, d2, d1): the same tie set one digit finer, values
   [not BoS] - [BoS]/2 and [BoS]: psi(d0 + 1/2, 1) / (d0 + 2). Thresholds at q, distance 1/2.
4. s - 1 and t - 1 from layer 1's statistics psi(s/N, 1/N) (exact counts): thresholds at
   q + 1/2, distance 1/2.

Why stage 1 is the one that limits float32: its spacing is 1/n^2 against values up to n, so
its gap is about 1/(4 n^3) (`score_gaps`); stages 2-4 have spacing 1/n or 1 and gaps of order
1/n^2 or 1/n. No stage divides positions: the largest value read is n, not n^3.

Layers (s, r, t) = (13, 2, 1): 2 ceil(log2 n) + 14 layers (`layers`).
  1   statistics psi(mu n^3/N, n^2/N), psi(s/N, 1/N), psi(t/N, 1/N) (unmasked) and stage 1's
      psi(x + 1/2, n^2) (causal), both over the token one-hot alone; psi(x + 1/2, n^2) -> phi
  2   phi(mu n) (self-match); phi(s)
  3   phi(t) (self-match); stage-1 steps and s - 1 bits (unsnapped); phi(mu n) gated to BoS
  4   statistics and stage 1 reset (Lemma 4); every stage-1 step snapped into the d2 bits;
      snap s - 1; t - 1 bits (unsnapped)
  5   stage 2's tie-set head: psi(r1 + 1/2, n); -> phi
  6   stage 2 reset; d1 steps (unsnapped); snap t - 1; clear phi(mu n) and its gate
  7   snap d1
  8   stage 3's tie-set head: psi(d0 + 1/2, 1); -> phi
  9   stage 3 reset; d0 steps (unsnapped)
  10  snap d0; [k = 0] at pads
  11  agree_b = [d1_b = d0_b] (the [i = j] test, bit by bit)
  12  B_0 = A or [i = j] (one saturating step); C_0 = 0
  13  h initialized as the repeated block leaves it (connectivity.py's layer 17)
Repeated (ceil(log2 n) times) and final: as connectivity.py, with bit-vector keys.

Capacity. The digits are BITS = 7 bits and the steps stop at Q - 1, Q = 128: one set of
weights serves every n <= 128 (`CAPACITY`); `run` refuses larger graphs through the frontier.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from logdepth import catalog
from logdepth.compiler.cells import PICK_A, PICK_B, PICK_TRUE, Cell, Layout
from logdepth.compiler.program import FeedForward, Head, Layer, Program
from logdepth.constructions.connectivity import loop_and_ff
from logdepth.gaps.graph_wide import (
    BALLAST,
    BITS,
    CAPACITY,
    DISTANCE_1,
    DISTANCE_2,
    DISTANCE_3,
    SCORE_SCALE,
    STEPS,
    frontier,
    frontier_for_bits,
    score_gaps,
    tie_tolerance,
)
from logdepth.kit.bits import TRUE, bit_columns, bool_init, snap, threshold_steps
from logdepth.kit.feedforward import clear_ff, stack_ff
from logdepth.kit.gadgets import gate_ff, saturating_ff, step_ff
from logdepth.kit.hashing import (
    ORTHOGONAL,
    PsiTerm,
    UniformHead,
    average_of,
    psi_to_phi_ff,
    psi_to_phi_head,
)
from logdepth.kit.rows import (
    Row,
    add_rows,
    component,
    constant,
    feed_forward,
    head,
    reset_head,
    row,
    scaled,
    vector_rows,
)
from logdepth.model.compiled import CompiledModel
from logdepth.model.config import BOS, DepthRule
from logdepth.model.inputs import GRAPH_VOCAB, PAD, SOURCE, TARGET

CONSTRUCTION = catalog.config_name("connectivity-wide")
OUTPUTS = ("disconnected", "connected")


# phi(mu n): mu n <= 1 for n <= Q, away from the saturated hashes of large arguments.
MU = 1.0 / CAPACITY
# Token types. The matrix entries "0" and "1" are one type: their index x counts both.
TYPES: dict[str, tuple[str, ...]] = {
    "matrix": ("0", "1"),
    "pad": (PAD,),
    "source": (SOURCE,),
    "target": (TARGET,),
    "bos": (BOS,),
}


# Precision (gaps, step errors, the tolerance, the frontier): logdepth/gaps/graph_wide.py.

def layers(n: int) -> int:
    """The wide connectivity construction's layer count: 2 ceil(log2 n) + 14."""
    return 2 * DepthRule.ceil_log2(n) + INITIAL_LAYERS + 1


INITIAL_LAYERS = 13

# ---------------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------------

class _Cells:
    """The residual layout, named for what each cell holds."""

    def __init__(self) -> None:
        L = self.layout = Layout()
        self.tok = L.add("tok", "onehot", [f"tok={t}" for t in GRAPH_VOCAB], persistent=True)
        self.ballast = L.ballast("ballast", BALLAST)
        self.psi_n = L.psi("psi.n")  # psi(mu n^3/N, n^2/N): read alone, phi(mu n)
        self.psi_s = L.psi("psi.s")  # psi(s/N, 1/N)
        self.psi_t = L.psi("psi.t")
        self.psi_x1 = L.psi("psi.x/n^2")  # psi(x + 1/2, n^2) / (t + 1)
        self.x1 = L.phi("x/n^2")
        self.n = L.phi("n")  # phi(mu n)
        self.s_phi = L.phi("s")
        self.t_phi = L.phi("t")
        self.n_at_bos = L.phi("n@bos")  # phi(mu n) at BoS, ORTHOGONAL elsewhere
        self.raw1 = {q: L.bool(f"x/n^2>={q}.raw") for q in STEPS}
        self.raw_s = [L.bool(f"s-1.raw.{b}") for b in range(BITS)]
        self.raw_t = [L.bool(f"t-1.raw.{b}") for b in range(BITS)]
        self.d2 = [L.bool(f"d2.{b}", persistent=True) for b in range(BITS)]
        self.src = [L.bool(f"s-1.{b}", persistent=True) for b in range(BITS)]
        self.tgt = [L.bool(f"t-1.{b}", persistent=True) for b in range(BITS)]
        self.psi_x2 = L.psi("psi.r1/n")  # psi(r1 + 1/2, n) over the tie set
        self.x2 = L.phi("r1/n")
        self.raw_d1 = [L.bool(f"d1.raw.{b}") for b in range(BITS)]
        self.d1 = [L.bool(f"d1.{b}", persistent=True) for b in range(BITS)]
        self.psi_x3 = L.psi("psi.d0")  # psi(d0 + 1/2, 1) over the tie set
        self.x3 = L.phi("d0+1/2")
        self.raw_d0 = [L.bool(f"d0.raw.{b}") for b in range(BITS)]
        self.d0 = [L.bool(f"d0.{b}", persistent=True) for b in range(BITS)]
        self.k_zero = L.bool("k=0", persistent=True)  # pads: [d1 = 0]
        self.agree = [L.bool(f"i=j.{b}") for b in range(BITS)]
        self.B = L.bool("B", persistent=True)
        self.C = L.bool("C", persistent=True)
        self.h = L.scalar("h")  # (#C in the window)/n - 1/(2n), read as its sign
        self.b_ik = L.bool("B(i,k)")
        self.b_kj = L.bool("B(k,j)")
        self.answer = L.bool("answer")

    def is_(self, *tokens: str) -> Row:
        v = np.array([1.0 if t in tokens else 0.0 for t in GRAPH_VOCAB])
        return row((self.tok, v))

    def is_type(self, name: str) -> Row:
        return self.is_(*TYPES[name])

    def is_not(self, *tokens: str) -> Row:
        return self.is_(*[t for t in GRAPH_VOCAB if t not in tokens])


def _embedding(c: _Cells) -> dict[str, dict[Cell, np.ndarray]]:
    return {
        t: {
            c.layout.one: np.ones(1),
            c.ballast: np.array([BALLAST]),
            c.tok: np.array([1.0 if u == t else 0.0 for u in GRAPH_VOCAB]),
        }
        for t in GRAPH_VOCAB
    }


# ---------------------------------------------------------------------------------------------
# Rows for bit-vector scores
# ---------------------------------------------------------------------------------------------


def _agreement(query: Sequence[Cell], key: Sequence[Cell]) -> tuple[list[Row], list[Row]]:
    """Paired rows whose score is sum_b [q_b = k_b]: <b, 1-b> . <b', 1-b'> is 1 iff b = b'."""
    q_rows: list[Row] = []
    k_rows: list[Row] = []
    for qb, kb in zip(query, key, strict=True):
        q_rows += vector_rows(qb)
        k_rows += vector_rows(kb)
    return q_rows, k_rows


def _popcount(bits: Sequence[Cell]) -> Row:
    return add_rows(*[component(b, 0) for b in bits]) if bits else {}


def _scaled_rows(rows: list[Row]) -> list[Row]:
    return [scaled(r, 1.0 / SCORE_SCALE) for r in rows]


def _tie_set_head(
    c: _Cells, digits: Sequence[Sequence[Cell]], value: list[Row], writes, note: str
) -> Head:
    """Causal head over the tokens j <= t of t's type whose digits equal t's, and BoS, all tied.

    Score (before the 1/SCORE_SCALE): [same type] + sum_b [q_b = k_b] over the digits' bits;
    a member scores 1 + K (K bits), a token of another type at most K, one of t's type with
    another digit at most K. BoS's bits are all 0, so its bit agreement is K - popcount(q): the
    row [BoS] * (1 + popcount(q)) makes it score exactly 1 + K, a member's score, for every
    query (the exact competitor: its value anchors the count)."""
    q_rows: list[Row] = []
    k_rows: list[Row] = []
    for name in ("matrix", "pad", "source", "target"):
        q_rows.append(c.is_type(name))
        k_rows.append(c.is_type(name))
    bits = [b for digit in digits for b in digit]
    qb, kb = _agreement(bits, bits)
    q_rows += qb
    k_rows += kb
    q_rows.append(add_rows(constant(c.layout), _popcount(bits)))
    k_rows.append(c.is_type("bos"))
    return head(_scaled_rows(q_rows), k_rows, value, writes, causal=True, note=note)


def _psi_writes(cell: Cell, a: dict[int, float], b: dict[int, float]):
    """Writes of psi(a, b) = <a, b, -a, -b> with a, b linear in the value rows."""
    out = []
    for vrow, coef in a.items():
        out += [(cell, 0, vrow, coef), (cell, 2, vrow, -coef)]
    for vrow, coef in b.items():
        out += [(cell, 1, vrow, coef), (cell, 3, vrow, -coef)]
    return out


def _stage2_head(c: _Cells) -> Head:
    """psi(r1 + 1/2, n) / (r1 + 2) over the tie set (type, d2) and BoS: the members' values
    [phi(mu n)]_b = 1/|.| each, BoS's -1/2 of it and (its [.]_a / mu) = n/|.|."""
    value = [
        {c.n: PICK_B},  # 1/|psi(mu n, 1)| at every token
        {c.n_at_bos: PICK_B},  # the same at BoS, 0 elsewhere (ORTHOGONAL reads 0)
        {c.n_at_bos: PICK_A / MU},  # n/|psi(mu n, 1)| at BoS
    ]
    writes = _psi_writes(c.psi_x2, {0: 1.0, 1: -1.5}, {2: 1.0})
    return _tie_set_head(
        c, [c.d2], value, writes, "tie set (type, d2) and BoS: psi(r1 + 1/2, n), r1 = x - n^2 d2"
    )


def _stage3_head(c: _Cells) -> Head:
    """psi(d0 + 1/2, 1) / (d0 + 2) over the tie set (type, d2, d1) and BoS."""
    value = [c.is_not(BOS), c.is_(BOS)]
    writes = _psi_writes(c.psi_x3, {0: 1.0, 1: -0.5}, {1: 1.0})
    return _tie_set_head(
        c, [c.d2, c.d1], value, writes, "tie set (type, d2, d1) and BoS: psi(d0 + 1/2, 1)"
    )


# ---------------------------------------------------------------------------------------------
# Initial layers
# ---------------------------------------------------------------------------------------------


def _stats_head(c: _Cells) -> Head:
    """Unmasked uniform head over the token one-hot: psi(mu n^3/N, n^2/N), psi(s/N, 1/N),
    psi(t/N, 1/N). The values are exact 0/1 flags, so the sums are exact counts."""
    value = [c.is_(PAD), c.is_type("matrix"), c.is_(SOURCE), c.is_(TARGET), c.is_(BOS)]
    writes = (
        _psi_writes(c.psi_n, {0: MU}, {1: 1.0})
        + _psi_writes(c.psi_s, {2: 1.0}, {4: 1.0})
        + _psi_writes(c.psi_t, {3: 1.0}, {4: 1.0})
    )
    zero = [constant(c.layout, 0.0)]
    return head(zero, zero, value, writes, causal=False, note="counts / N: n^3, n^2, s, t, 1")


def _stage1_head(c: _Cells) -> Head:
    """Causal uniform head over the token one-hot: psi(x + 1/2, n^2) / (t + 1) at pads (the
    pads so far less half of BoS, against the matrix entries so far)."""
    u = UniformHead(note="psi(x + 1/2, n^2): pads so far vs matrix entries so far")
    avgs = [
        average_of("pad", c.tok, c.is_(PAD)[c.tok]),
        average_of("matrix", c.tok, c.is_type("matrix")[c.tok]),
        average_of("bos", c.tok, c.is_(BOS)[c.tok]),
    ]
    u.write(PsiTerm(c.psi_x1, a={"pad": 1.0, "bos": -0.5}, b={"matrix": 1.0}), *avgs)
    return u.head()


def _steps_into_bits(
    phi: Cell, thetas: Sequence[float], distance: float, raw: Sequence[Cell], one: Cell, note: str
):
    """Thresholds whose steps add the telescoped bits of the digit (step q: digit >= q)."""
    ks = list(STEPS)
    return stack_ff(
        [
            bool_init(raw, one),
            threshold_steps(
                phi, thetas, bit_columns(raw, ks), one=one, distance=distance, note=note
            ),
        ]
    )


def _snap_bits(raw: Sequence[Cell], bits: Sequence[Cell], one: Cell):
    return [bool_init(bits, one)] + [snap(r, b, one) for r, b in zip(raw, bits, strict=True)]


def _pinned(c: _Cells, parts: list[FeedForward], note: str = "") -> FeedForward:
    """The parts side by side, reading the ballast too (weight 0): a snap of raw steps, whose
    pre-norm the raw errors would otherwise move (`BALLAST`)."""
    ff = stack_ff(parts, note=note)
    ff.w_in[c.ballast] = np.zeros((ff.units, 1))
    return ff


def _stage1_steps(c: _Cells) -> tuple[FeedForward, FeedForward]:
    """Stage 1's thresholds [(x + 1/2)/n^2 >= q], one raw flag per step (layer 3), and their
    snap into the bits of d2 (layer 4)."""
    one = c.layout.one
    raw1 = [c.raw1[q] for q in STEPS]
    stage1_steps = stack_ff(
        [
            bool_init(raw1, one),
            threshold_steps(
                c.x1,
                [float(q) for q in STEPS],
                {c.raw1[q]: np.outer(TRUE, np.eye(len(raw1))[k]) for k, q in enumerate(STEPS)},
                one=one,
                distance=DISTANCE_1,
                note="[x/n^2 >= q], one raw flag per step",
            ),
        ]
    )
    # Snap every stage-1 flag alone and sum the snapped flags into the bits of d2.
    snap1 = saturating_ff(
        {c.raw1[q]: np.outer(np.eye(len(raw1))[k], PICK_TRUE) for k, q in enumerate(STEPS)},
        np.ones(len(raw1)),
        bit_columns(c.d2, list(STEPS)),
        one=one,
        note="d2 bits from the snapped flags [x/n^2 >= q]",
    )
    return stage1_steps, snap1


def _stage1_layers(c: _Cells) -> list[Layer]:
    """Layers 1-4 (stages 1 and 4 of the module docstring): the statistics and
    psi(x + 1/2, n^2); phi(mu n), phi(s), phi(t) by self-matches (Lemma 4); stage 1's
    thresholds snapped into the bits of d2; s - 1 and t - 1 as bits; the statistics reset
    by recomputation (Lemma 4). Theorem 2's coordinates, read as bits."""
    one = c.layout.one
    stats, stage1 = _stats_head(c), _stage1_head(c)
    raw1 = [c.raw1[q] for q in STEPS]
    stage1_steps, snap1 = _stage1_steps(c)
    count_thetas = [q + 0.5 for q in STEPS]  # s - 1 >= q iff s >= q + 1/2
    gate = gate_ff(c.is_(BOS), c.n, c.n_at_bos, ORTHOGONAL, one=one, note="n@bos")
    return [
        Layer(
            "statistics (paper layer 1: counts / N, unmasked) and psi(x + 1/2, n^2) (causal), "
            "both over the token one-hot alone; psi(x + 1/2, n^2) -> phi",
            heads=[stats, stage1],
            ff=psi_to_phi_ff(c.psi_x1, c.x1),
        ),
        Layer(
            "phi(mu n) by a self-match (Lemma 4); phi(s)",
            heads=[psi_to_phi_head(c.psi_n, c.n)],
            ff=psi_to_phi_ff(c.psi_s, c.s_phi),
        ),
        Layer(
            "phi(t) by a self-match; stage 1 steps [(x + 1/2)/n^2 >= q]; s - 1 and t - 1 bits "
            "(unsnapped); phi(mu n) gated to BoS",
            heads=[psi_to_phi_head(c.psi_t, c.t_phi)],
            ff=stack_ff(
                [
                    stage1_steps,
                    _steps_into_bits(c.s_phi, count_thetas, DISTANCE_3, c.raw_s, one, "s - 1"),
                    gate,
                ]
            ),
        ),
        Layer(
            "statistics and stage 1 reset (Lemma 4: recompute, subtract); snap every stage-1 "
            "flag into the d2 bits; snap s - 1, t - 1 (the t thresholds ride here)",
            heads=[reset_head(stats, "reset statistics"), reset_head(stage1, "reset psi(x, n^2)")],
            ff=_pinned(
                c,
                [
                    bool_init(c.d2, one),
                    snap1,
                    *_snap_bits(c.raw_s, c.src, one),
                    clear_ff([*raw1, *c.raw_s, c.x1, c.s_phi]),
                    _steps_into_bits(c.t_phi, count_thetas, DISTANCE_3, c.raw_t, one, "t - 1"),
                    clear_ff([c.t_phi]),
                ],
            ),
            clears=(c.psi_n, c.psi_s, c.psi_t, c.psi_x1, *raw1, *c.raw_s, c.x1, c.s_phi, c.t_phi),
        ),
    ]


def _digit_layers(c: _Cells) -> list[Layer]:
    """Layers 5-9 (stages 2-3 of the module docstring): d1 = floor(r1 / n) and d0 by the
    tie-set heads over (type, d2) and (type, d2, d1), read by thresholds and snapped; the
    modulus phi(mu n) and its BoS gate (Lemma 1's modulus cell) cleared."""
    one = c.layout.one
    return [
        Layer(
            "stage 2: tie set (type, d2) and BoS gives psi(r1 + 1/2, n); -> phi(r1/n)",
            heads=[_stage2_head(c)],
            ff=psi_to_phi_ff(c.psi_x2, c.x2),
        ),
        Layer(
            "stage 2 reset (recompute, subtract); d1 steps [(r1 + 1/2)/n >= q] (unsnapped); "
            "snap t - 1; clear phi(mu n), its BoS gate and phi(r1/n)",
            heads=[reset_head(_stage2_head(c), "reset psi(r1, n)")],
            ff=_pinned(
                c,
                [
                    _steps_into_bits(
                        c.x2, [float(q) for q in STEPS], DISTANCE_2, c.raw_d1, one, "d1"
                    ),
                    *_snap_bits(c.raw_t, c.tgt, one),
                    clear_ff([c.n, c.n_at_bos, c.x2, *c.raw_t]),
                ],
            ),
            clears=(c.psi_x2, c.n, c.n_at_bos, c.x2, *c.raw_t),
        ),
        Layer(
            "snap d1",
            ff=_pinned(c, [*_snap_bits(c.raw_d1, c.d1, one), clear_ff(c.raw_d1)]),
            clears=tuple(c.raw_d1),
        ),
        Layer(
            "stage 3: tie set (type, d2, d1) and BoS gives psi(d0 + 1/2, 1); -> phi",
            heads=[_stage3_head(c)],
            ff=psi_to_phi_ff(c.psi_x3, c.x3),
        ),
        Layer(
            "stage 3 reset; d0 steps [d0 + 1/2 >= q] (unsnapped)",
            heads=[reset_head(_stage3_head(c), "reset psi(d0, 1)")],
            ff=stack_ff(
                [
                    _steps_into_bits(
                        c.x3, [float(q) for q in STEPS], DISTANCE_3, c.raw_d0, one, "d0"
                    ),
                    clear_ff([c.x3]),
                ]
            ),
            clears=(c.psi_x3, c.x3),
        ),
    ]


def _k_zero_ff(c: _Cells) -> FeedForward:
    """[k = 0] at pads: every bit of d1 is 0 (Theorem 2's pads (i, k, j) with k = 0)."""
    one = c.layout.one
    # [k = 0] = [d1 = 0]: (0, 1) + TRUE * [sum of "bit is 0" >= BITS].
    k_zero = stack_ff(
        [
            bool_init([c.k_zero], one),
            step_ff(
                {
                    **{b: -PICK_TRUE for b in c.d1},
                    one: np.array([float(BITS)]),
                },
                BITS,
                {c.k_zero: TRUE},
                one=one,
                note="k=0: every d1 bit 0",
            ),
        ]
    )
    return k_zero


def _agree_ff(c: _Cells) -> FeedForward:
    """The [i = j] test bit by bit (Theorem 2's identity I in B_0 = A or I)."""
    one = c.layout.one
    # agree_b = [d1_b = d0_b] = [d1_b and d0_b] + [not d1_b and not d0_b], two steps.
    agree = [bool_init(c.agree, one)]
    for a, x, y in zip(c.agree, c.d1, c.d0, strict=True):
        agree.append(step_ff({x: PICK_TRUE, y: PICK_TRUE}, 2, {a: TRUE}, one=one))
        agree.append(
            step_ff({x: np.array([0.0, 1.0]), y: np.array([0.0, 1.0])}, 2, {a: TRUE}, one=one)
        )
    return stack_ff(agree)


def _b0_ff(c: _Cells) -> FeedForward:
    """Theorem 2's B_0 = A or I at the matrix entries, one saturating step; C_0 := 0."""
    one = c.layout.one
    # B_0 = A or [i = j] = [BITS * A + sum agree >= BITS]; C_0 = 0 everywhere.
    adjacency = c.is_("1")[c.tok]
    b0 = stack_ff(
        [
            bool_init([c.B], one),
            step_ff(
                {c.tok: BITS * adjacency, **{a: PICK_TRUE for a in c.agree}},
                BITS,
                {c.B: TRUE},
                one=one,
                note="B := A or [i = j]",
            ),
            bool_init([c.C], one),
            clear_ff(c.agree),
        ]
    )
    return b0


def _adjacency_layers(c: _Cells) -> list[Layer]:
    """Layers 10-13: snap d0 and [k = 0]; [i = j] bit by bit; Theorem 2's B_0 = A or I
    (the paper prints AND: docs/errata.md) and C_0 = 0; h as the repeated block leaves it
    (connectivity.py's layer 17)."""
    one = c.layout.one
    layers: list[Layer] = []
    k_zero = _k_zero_ff(c)
    layers.append(
        Layer(
            "snap d0; [k = 0] = [d1 = 0]",
            ff=_pinned(c, [*_snap_bits(c.raw_d0, c.d0, one), clear_ff(c.raw_d0), k_zero]),
            clears=tuple(c.raw_d0),
        )
    )
    layers.append(Layer("[i = j] bit by bit: agree_b = [d1_b = d0_b]", ff=_agree_ff(c)))
    b0 = _b0_ff(c)
    layers.append(
        Layer(
            "B_0(i, j) = A_ij OR [i = j] (the paper prints AND; reachability in <= 1 step needs "
            "OR), one saturating step; C_0 := 0 everywhere",
            ff=b0,
            clears=tuple(c.agree),
        )
    )
    layers.append(
        Layer(
            "h initialized as repeated layer 2 would leave it (on C_0), so that repeated layer 1 "
            "can always reset h by recomputation",
            heads=[_window_h_head(c)],
            ff=feed_forward([(c.is_not("0", "1"), [(c.h, 0, 1.0)])], "h += [not a matrix entry]"),
            updates=(c.h,),
        )
    )
    return layers


def _initial(c: _Cells) -> list[Layer]:
    """Theorem 2's initial layers with bit coordinates (the module docstring's 1-13)."""
    layers = [*_stage1_layers(c), *_digit_layers(c), *_adjacency_layers(c)]
    assert len(layers) == INITIAL_LAYERS
    return layers


# ---------------------------------------------------------------------------------------------
# The loop and the answer (connectivity.py's, with bit-vector keys)
# ---------------------------------------------------------------------------------------------


def _match_head(
    c: _Cells,
    query: Sequence[Sequence[Cell]],
    key: Sequence[Sequence[Cell]],
    key_type: str,
    value: list[Row],
    writes,
    *,
    causal: bool,
    note: str,
) -> Head:
    """Keys of `key_type` whose digits `key` equal the query's `query`, by bit agreement
    (scores in [0, 1]; a match beats the best mismatch by 1/SCORE_SCALE)."""
    q_rows, k_rows = _agreement([b for d in query for b in d], [b for d in key for b in d])
    q_rows.append(constant(c.layout))
    k_rows.append(c.is_type(key_type))
    return head(_scaled_rows(q_rows), k_rows, value, writes, causal=causal, note=note)


def _window_h_head(c: _Cells) -> Head:
    """At matrix entry (i, j) = (d1, d0): uniform over the n pads (i, ., j) = (d2, ., d0)
    (identical keys: bitwise ties); value C - [k = 0]/2, so h = (#k with C)/n - 1/(2n)."""
    return _match_head(
        c,
        [c.d1, c.d0],
        [c.d2, c.d0],
        "pad",
        [component(c.C, 0), component(c.k_zero, 0)],
        [(c.h, 0, 0, 1.0), (c.h, 0, 1, -0.5)],
        causal=False,
        note="query (i, j), keys pads (i, ., j): average of C - [k=0]/2",
    )


def _matrix_lookup(c: _Cells, first: Sequence[Cell], second: Sequence[Cell], out: Cell, note: str):
    return _match_head(
        c,
        [first, second],
        [c.d1, c.d0],
        "matrix",
        vector_rows(c.B),
        [(out, 0, 0, 1.0), (out, 1, 1, 1.0)],
        causal=False,
        note=note,
    )


def _repeated(c: _Cells) -> list[Layer]:
    c_layer = Layer(
        "C_l(i, k, j) = B_{l-1}(i, k) AND B_{l-1}(k, j) at pads: two unmasked bit-vector "
        "lookups into the matrix entries; h reset by recomputation; C += C_l - C_{l-1}",
        heads=[
            _matrix_lookup(c, c.d2, c.d1, c.b_ik, "pad (i, k, .) -> matrix (i, k): B(i,k)"),
            _matrix_lookup(c, c.d1, c.d0, c.b_kj, "pad (., k, j) -> matrix (k, j): B(k,j)"),
            reset_head(_window_h_head(c), "reset h (recompute repeated layer 2's average)"),
        ],
        ff=loop_and_ff(c.layout, c.b_ik, c.b_kj, c.C, c.h, c.is_not("0", "1")),
        clears=(c.b_ik, c.b_kj, c.h),
        updates=(c.C,),
    )
    every = [c.d2, c.d1, c.d0]
    self_q, self_k = _agreement([b for d in every for b in d], [b for d in every for b in d])
    types = list(TYPES)
    self_head = head(
        _scaled_rows([c.is_type(t) for t in types] + self_q),
        [c.is_type(t) for t in types] + self_k,
        [component(c.B, 0), c.is_not("0", "1")],
        [(c.B, 0, 0, -1.0), (c.B, 1, 0, 1.0), (c.h, 0, 1, 1.0)],
        causal=True,
        note="self (type and all three digits): B := <0, 1>; h += [not a matrix entry]",
    )
    b_layer = Layer(
        "B_l(i, j) = OR_k C_l(i, k, j): h = (#C)/n - 1/(2n) over the n pads (i, ., j), read as "
        "sgn(h); B := relu(sgn h)",
        heads=[_window_h_head(c), self_head],
        ff=feed_forward(
            [(component(c.h, 0), [(c.B, 0, 1.0), (c.B, 1, -1.0)])], "B += relu(sgn h) * <1, -1>"
        ),
        updates=(c.B,),
    )
    return [c_layer, b_layer]


def _final(c: _Cells) -> Layer:
    answer = _match_head(
        c,
        [c.src, c.tgt],
        [c.d1, c.d0],
        "matrix",
        vector_rows(c.B),
        [(c.answer, 0, 0, 1.0), (c.answer, 1, 1, 1.0)],
        causal=True,
        note="query (s - 1, t - 1), keys matrix (i, j): B(s, t)",
    )
    return Layer("final: answer = B(s, t) read at the last token", heads=[answer])


def build_program() -> Program:
    c = _Cells()
    initial = _initial(c)
    for k, layer in enumerate(initial, start=1):
        layer.text = f"{k}. {layer.text}"
    return Program(
        layout=c.layout,
        vocab=list(GRAPH_VOCAB),
        embedding=_embedding(c),
        initial=initial,
        repeated=_repeated(c),
        final=[_final(c)],
        outputs=list(OUTPUTS),
        readout={
            "connected": {c.answer: np.array([[1.0, 0.0]])},
            "disconnected": {c.answer: np.array([[0.0, 1.0]])},
        },
        depth_rule=DepthRule(count_tokens=("0", "1"), root=2),
        tie_tolerance=tie_tolerance(),
        input_format="graph",
        construction=CONSTRUCTION,
        frontier={"float64": frontier("float64"), "float32": frontier("float32")},
    )


CURVE_BITS = tuple(range(14, 53))


def frontier_curve() -> dict[str, int]:
    return {str(p): frontier_for_bits(p) for p in CURVE_BITS}


def compile_connectivity_wide() -> CompiledModel:
    """Theorem 2 with bit-vector coordinates: one set of weights for every n <= 128;
    2 ceil(log2 n) + 14 layers."""
    from logdepth.build import build  # the driver: program, hygiene, assembly, report

    return build(catalog.get("connectivity-wide"))


def report(program: Program) -> dict[str, Any]:
    s, r, t = len(program.initial), len(program.repeated), len(program.final)
    entry = catalog.get("connectivity-wide")
    return {
        "theorem": entry.title,
        "shape": [s, r, t],
        "layers": entry.formula,
        "d_model": program.layout.d_model,
        "input": "BoS, n^2 adjacency tokens row-major, n^3 pads, a^s b^t",
        "capacity": CAPACITY,
        "tie_tolerance": program.tie_tolerance,
        "frontier": dict(program.frontier),
        "frontier_basis": {dtype: "derived" for dtype in program.frontier},
        "frontier_method": (
            "derived: the largest n <= 128 whose smallest decision gap (graph_wide.score_gaps: "
            "three threshold stages, their step errors, bit-vector matches) exceeds twice the "
            "score noise; checked by p-bit emulation at n(p) and by float32 runs (docs/wide.md)"
        ),
        "frontier_by_bits": frontier_curve(),
        "layer_texts": [layer.text for layer in program.initial + program.repeated + program.final],
    }


__all__ = [
    "BITS",
    "CAPACITY",
    "CONSTRUCTION",
    "build_program",
    "compile_connectivity_wide",
    "frontier",
    "frontier_for_bits",
    "layers",
    "score_gaps",
]
