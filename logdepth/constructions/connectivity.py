"""Theorem 2 (graph connectivity): the (17, 2, 1)-universal transformer over n^3 padding tokens.

Input (paper Section 5; `model.inputs.encode_graph`): BoS, the adjacency matrix row-major as n^2
tokens "0"/"1", n^3 pads, then a^s b^t (vertices 1..n). One weight file serves every n; only the
unrolling d = ceil(log2 n) changes (DepthRule counts the n^2 matrix tokens, root 2).

Coordinates (the paper's Appendix D input layout, corrected as docs/errata.md says).
Token j (BoS is j = 0) has
a = j - 1 = i n + c at matrix entry (i, c) and a = n^2 + i n^2 + k n + c at pad (i, k, c).
Lemma 1 (`division.DivisionBuilder`, the shared block, dividing the position j by n held in a
cell) leaves the table "row j holds floor(j/n) and j mod n" keyed by phi(lambda j). Lookups in
that table give, with r = floor(a/n) and r2 = floor(r/n):

    x%n  = a mod n            (row a = j - 1: the previous token's remainder)   matrix c, pad c
    r%n  = r mod n            (row r)                                           matrix i, pad k
    r2%n = (r2 - 1) mod n     (row r2, its x%n)                                 pad i (r2 = 1 + i)

(`_Cells` names them for what they hold: `col` = x%n, `mid` = r%n, `pad_row` = r2%n; r and r2
are `a_div_n` and `a_div_n2`.)

Each coordinate c is stored as phi(c + 1) (converted once per table row from Lemma 1's
phi(lambda (j mod n)), so every lookup copies the same canonical hash). The source and target in
unary give phi(s) and phi(t), the same hash of the 0-indexed s - 1 and t - 1.

The 17 initial layers:
  1      statistics: n (as phi(mu n), Lemma 1's modulus cell), s/N, t/N (paper layer 1)
  2-8    Lemma 1 (division.py, 7 layers), dividing the position j by n; its free slots host
         phi(lambda (j - 1)) (Lemma 7, positions.uniform) and the coordinate hash
         phi((j mod n) + 1) (Lemma 4, lookup.ff)
  9-12   the three lookups above (Lemma 1's lookup layer for the dividends j - 1, r, r2), the
         conversions of phi(lambda (j - 1)) and phi((j mod n) + 1), [k = 0] at pads, cleanup
  13     [i = j] at matrix entries (Lemma 8, the self key ties with BoS iff i = j); phi(s)
  14     phi(t) (Lemma 4)
  15     B_0(i, j) = [i = j] OR A_ij (paper layer 17), C_0 = 0
  16-17  layer 1's statistics reset (Lemma 6); the loop's recompute-and-reset cell h initialized
Repeated (unrolled ceil(log2 n) times): C_l at pads, then B_l at matrix entries. Final: B(s, t).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from logdepth import catalog
from logdepth.compiler.cells import PICK_A, PICK_B, Cell, Layout
from logdepth.compiler.program import FeedForward, Head, Layer, Program
from logdepth.gaps import connectivity as gaps
from logdepth.kit.division import DivisionBuilder
from logdepth.kit.feedforward import clear_ff, linear_ff, stack_ff
from logdepth.kit.gadgets import lookup_head, offset_term, step_ff
from logdepth.kit.hashing import ORTHOGONAL, PSI_ROWS, UniformHead, psi_to_phi_ff, psi_to_phi_head
from logdepth.kit.rows import (
    Row,
    Unit,
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

OUTPUTS = ("disconnected", "connected")
CONSTRUCTION = catalog.config_name("connectivity")
# lambda: Lemma 1's integers (positions, floor(j/n), j mod n) are hashed as phi(lambda v).
# Chosen in gaps/connectivity.py (HASH_SCALE), where the float64 frontier it gives is derived.
LAMBDA = gaps.HASH_SCALE
# mu: the modulus cell holds phi(mu n). A power of two (mu n is exact); mu n <= 1 for n <= 64,
# so the cell is far from the saturated hashes of large arguments.
MU = gaps.MODULUS_SCALE
# BoS's [i = j]-test key and its x%n hold hashing.ORTHOGONAL, orthogonal to every
# phi(z) = <z, 1, -z, -1>/sqrt(2z^2 + 2), so it adds nothing to a hash dot product: BoS is then
# the exact competitor of the [i = j] test (it scores exactly the maximum a match can reach, so
# a match ties with it within the tie tolerance and the average of <[not BoS], [BoS]> is
# (1/2, 1/2); without a match BoS alone wins and the average is (0, 1)).
# Query weight on [BoS] that makes BoS attend to itself in the unmasked coordinate lookups: every
# other key scores at most 3 (two hash cosines, each <= 1, and a type flag), while BoS's own key
# scores at least this (its cosines are >= 0: every hash holds a value >= 0 or ORTHOGONAL).
BOS_SELF = 4.0


class _Cells:
    """The residual layout of the construction, named for what each cell holds."""

    def __init__(self) -> None:
        L = self.layout = Layout()
        self.tok = L.add("tok", "onehot", [f"tok={t}" for t in GRAPH_VOCAB], persistent=True)
        self.bos = L.bool("bos", persistent=True)  # Lemma 1's BoS flag
        self.psi_mod = L.psi("psi_n")  # psi(mu n^3/N, n^2/N), read as phi(mu n)
        self.mod = L.phi("n")  # phi(mu n): Lemma 1's modulus cell
        self.psi_s = L.psi("psi_s")  # psi(s/N, 1/N), read as phi(s)
        self.psi_t = L.psi("psi_t")
        self.psi_prev = L.psi("psi_prev")  # psi(lambda (j - 1)/(j + 1), 1/(j + 1)) (Lemma 7)
        self.prev = L.phi("j-1")  # phi(lambda (j - 1))
        # Lemma 1, dividing the position j by n; keeps its table (row j: floor(j/n), j mod n)
        # and its key phi(lambda j).
        self.div = DivisionBuilder(
            L,
            one=L.one,
            bos=self.bos,
            modulus=self.mod,
            modulus_scale=MU,
            dividend=None,
            name="div",
            scale=LAMBDA,
            keep_position=True,
        )
        assert self.div.quotient is not None and self.div.remainder is not None
        self.pos = self.div.position  # phi(lambda j): the table key, and the loop's tie-break
        self.table_floor = self.div.quotient  # phi(lambda floor(j/n))
        self.table_mod = self.div.remainder  # phi(lambda (j mod n))
        self.psi_coord = L.psi("psi_coord")  # psi((j mod n) + 1, 1)
        self.coord = L.phi("j%n")  # phi((j mod n) + 1): the canonical coordinate hash
        # The coordinates (module docstring), each as phi(coordinate + 1); the layout keeps the
        # proof's names (verify.connectivity reads x%n, r%n and r2%n from weight files).
        self.a_div_n = L.phi("r")  # phi(lambda floor(a/n)), a = j - 1 (the lookup key for mid)
        self.col = L.phi("x%n", persistent=True)  # a mod n: the column c, matrix and pads
        self.mid = L.phi("r%n", persistent=True)  # floor(a/n) mod n: row i (matrix), k (pads)
        self.a_div_n2 = L.phi("r2")  # phi(lambda floor(a/n^2)) (the lookup key for pad_row)
        self.pad_row = L.phi("r2%n", persistent=True)  # (floor(a/n^2) - 1) mod n: row i (pads)
        self.k_zero = L.bool("k=0", persistent=True)  # pads: [k = 0]
        self.diag_key = L.phi("self")  # phi(lambda j), ORTHOGONAL at BoS: the [i = j] test's key
        self.src = L.phi("s", persistent=True)  # phi(s)
        self.tgt = L.phi("t", persistent=True)  # phi(t)
        self.diag = L.bool("i=j")
        self.B = L.bool("B", persistent=True)
        self.C = L.bool("C", persistent=True)
        self.h = L.scalar("h")  # (#C in the window)/n - 1/(2n), read as its sign
        self.b_ik = L.bool("B(i,k)")
        self.b_kj = L.bool("B(k,j)")
        self.answer = L.bool("answer")

    # token-type linear forms
    def is_(self, *tokens: str) -> Row:
        v = np.array([1.0 if t in tokens else 0.0 for t in GRAPH_VOCAB])
        return row((self.tok, v))

    def is_not(self, *tokens: str) -> Row:
        return self.is_(*[t for t in GRAPH_VOCAB if t not in tokens])


def _embedding(c: _Cells) -> dict[str, dict[Cell, np.ndarray]]:
    L = c.layout
    emb = {}
    for t in GRAPH_VOCAB:
        emb[t] = {
            L.one: np.ones(1),
            c.tok: np.array([1.0 if u == t else 0.0 for u in GRAPH_VOCAB]),
            c.bos: np.array([1.0, 0.0]) if t == BOS else np.array([0.0, 1.0]),
        }
    return emb


# ---- layer 1: statistics ------------------------------------------------------------------------
def _stats_head(c: _Cells) -> Head:
    """Unmasked uniform head over all N tokens with value the token one-hot: counts / N, written
    as psi(mu n^3/N, n^2/N) (read alone: phi(mu n)), psi(s/N, 1/N) and psi(t/N, 1/N)."""
    idx = {t: k for k, t in enumerate(GRAPH_VOCAB)}
    v_bos, v0, v1, v_pad = idx[BOS], idx["0"], idx["1"], idx[PAD]
    writes = [
        (c.psi_mod, 0, v_pad, MU),
        (c.psi_mod, 2, v_pad, -MU),
        (c.psi_mod, 1, v0, 1.0),
        (c.psi_mod, 1, v1, 1.0),
        (c.psi_mod, 3, v0, -1.0),
        (c.psi_mod, 3, v1, -1.0),
    ]
    for cell, v in ((c.psi_s, idx[SOURCE]), (c.psi_t, idx[TARGET])):
        writes += [
            (cell, 0, v, 1.0),
            (cell, 1, v_bos, 1.0),
            (cell, 2, v, -1.0),
            (cell, 3, v_bos, -1.0),
        ]
    return head(
        [constant(c.layout, 0.0)],
        [constant(c.layout, 0.0)],
        vector_rows(c.tok),
        writes,
        causal=False,
        note="uniform over all tokens: mu n^3/N, n^2/N, s/N, t/N, 1/N",
    )


def _layer_stats(c: _Cells) -> Layer:
    return Layer(
        "statistics (paper layer 1): unmasked uniform head over the token one-hot gives "
        "psi(mu n^3/N, n^2/N), psi(s/N, 1/N), psi(t/N, 1/N); the feed-forward reads the first "
        "alone and stores phi(mu n), Lemma 1's modulus cell (Lemmas 2, 4)",
        heads=[_stats_head(c)],
        ff=psi_to_phi_ff(c.psi_mod, c.mod),
    )


# ---- layers 2-8: Lemma 1 (division.py) with hosted work ----------------------------------------
def _coordinate_ff(c: _Cells, sign: float) -> FeedForward:
    """psi((j mod n) + 1, 1) from phi(lambda (j mod n)) = <lambda v, 1, ...>/norm: the linear map
    a = [.]_a / lambda + [.]_b, b = [.]_b (lambda a power of two: the 1/lambda is exact).
    sign -1 recomputes and subtracts it (Lemma 6)."""
    reads = np.vstack([PICK_A / LAMBDA + PICK_B, PICK_B])
    return linear_ff(
        [({c.table_mod: reads}, {c.psi_coord: sign * PSI_ROWS})],
        note="psi_coord := psi((j mod n) + 1, 1)" if sign > 0 else "reset psi_coord",
    )


def _layers_division(c: _Cells) -> list[Layer]:
    div, L = c.div, c.layout
    p1_term, p1_needs = offset_term(c.psi_prev, 1, one=L.one, bos=c.bos, scale=LAMBDA)
    # Layer 1 (host layer 2): phi(lambda (j - 1)) by Lemma 7, in Lemma 1's uniform head.
    div.add("positions.uniform", p1_term, *p1_needs)
    div.describe("positions", "psi(lambda (j - 1)) (Lemma 7)")
    # Layer 7 (host layer 8): the coordinate hash's psi from the table's remainder (a unit
    # cell, so the sublayer still reads unit cells only); the modulus cell is no longer needed.
    div.add("lookup.ff", _coordinate_ff(c, 1.0))
    div.add("lookup.ff", clear_ff([c.mod], note="clear phi(mu n) (Lemma 5)"))
    div.declare("lookup", clears=[c.mod])
    div.describe("lookup", "psi((j mod n) + 1, 1); clear phi(mu n)")
    return div.layers()


# ---- layers 9-12: lookups in Lemma 1's table ---------------------------------------------------
def _reset_prev(c: _Cells) -> Head:
    """Lemma 4's clear of psi(lambda (j - 1)): recompute the uniform averages, subtract."""
    term, needs = offset_term(c.psi_prev, 1, one=c.layout.one, bos=c.bos, scale=LAMBDA)
    u = UniformHead(note="reset psi(lambda (j - 1)) (Lemma 4: recompute, subtract)")
    u.write(term.negated(), *needs)
    return u.head()


def _k_zero_steps(c: _Cells) -> list[FeedForward]:
    """[k = 0] at pads from r%n (Theorem 2's test for the pads' middle index k)."""
    one = c.layout.one
    # [k = 0] from r%n = phi(k + 1): [.]_a is 1/2 at k = 0 and >= p2 = 2/sqrt(10) for k >= 1, so
    # s = ([.]_a - 1/2)/(p2 - 1/2) is 0 (to rounding) or >= 1, and two saturating steps (one
    # per component) write <[s <= 0], [s >= 1]> = <[k = 0], [k >= 1]>, margins 1/2 either side
    # (each component is relu(u) - relu(u - 1) of two separately rounded inputs: 0 exactly, or
    # 1 to a few ulps; the window of h, which reads it, has the margin 1/(2n)).
    p2 = 2.0 / math.sqrt(10.0)
    s_row = {c.mid: PICK_A / (p2 - 0.5), one: np.array([-0.5 / (p2 - 0.5)])}
    k_zero = [
        step_ff(s_row, 1, {c.k_zero: np.array([0.0, 1.0])}, one=one, note="k=0: [s >= 1]"),
        step_ff(
            {cell: -r for cell, r in s_row.items()},
            0,
            {c.k_zero: np.array([1.0, 0.0])},
            one=one,
            note="k=0: [-s >= 0]",
        ),
    ]
    return k_zero


def _layers_lookups(c: _Cells) -> list[Layer]:
    """Theorem 2's coordinates by Lemma 1's lookups: x%n and r = floor((j - 1)/n) at row
    j - 1, r%n and r2 at row r, r2%n at row r2; [k = 0]; the [i = j] key; the table cleared."""
    k_zero = _k_zero_steps(c)
    # self := phi(lambda j) off BoS, ORTHOGONAL at BoS; x%n := ORTHOGONAL at BoS.
    diag_key = _bos_copy(c, c.pos, c.diag_key) + _bos_fix(c, [c.col])
    return [
        Layer(
            "phi(lambda (j - 1)) stored by a self-match (Lemma 4); phi((j mod n) + 1) stored "
            "(Lemma 4)",
            heads=[psi_to_phi_head(c.psi_prev, c.prev)],
            ff=psi_to_phi_ff(c.psi_coord, c.coord),
        ),
        Layer(
            "Lemma 1's lookup for the dividend a = j - 1: row j - 1 gives "
            "x%n = phi((j - 1) mod n + 1) and r = floor((j - 1)/n); psi(lambda (j - 1)) and "
            "psi_coord reset (Lemma 6)",
            heads=[
                lookup_head(
                    c.prev,
                    c.pos,
                    {c.coord: c.col, c.table_floor: c.a_div_n},
                    note="row j - 1: x%n, r",
                ),
                _reset_prev(c),
            ],
            ff=_coordinate_ff(c, -1.0),
            clears=(c.psi_prev, c.psi_coord),
        ),
        Layer(
            "lookup for the dividend r: row r gives r%n = phi(r mod n + 1) and r2 = floor(r/n); "
            "clear phi(lambda (j - 1)), r, phi((j mod n) + 1) (Lemma 5)",
            heads=[
                lookup_head(
                    c.a_div_n, c.pos, {c.coord: c.mid, c.table_floor: c.a_div_n2}, note="row r"
                )
            ],
            ff=clear_ff([c.prev, c.a_div_n, c.coord]),
            clears=(c.prev, c.a_div_n, c.coord),
        ),
        Layer(
            "lookup for the dividend r2: row r2 gives its x%n = phi((r2 - 1) mod n + 1) (at "
            "pads r2 = 1 + i); [k = 0] at pads by a saturating step; the [i = j] key "
            "self := phi(lambda j), BoS's self and x%n set orthogonal; clear the table",
            heads=[lookup_head(c.a_div_n2, c.pos, {c.col: c.pad_row}, note="row r2: r2%n")],
            ff=stack_ff(
                [
                    clear_ff([c.a_div_n2, c.table_floor, c.table_mod]),
                    *k_zero,
                    feed_forward(
                        diag_key, "self := phi(lambda j) | ORTHOGONAL; BoS: x%n := ORTHOGONAL"
                    ),
                ],
                note="clear r2 and the table; k=0; self; BoS's x%n",
            ),
            clears=(c.a_div_n2, c.table_floor, c.table_mod),
            updates=(c.col,),
        ),
    ]


def _bos_copy(c: _Cells, src: Cell, dst: Cell) -> list[Unit]:
    """dst := src off BoS and ORTHOGONAL at BoS: relu(+-x - 2[BoS]) passes x (|x| <= 1) only
    where [BoS] = 0."""
    units: list[Unit] = []
    for k in range(4):
        units.append((add_rows(component(src, k), scaled(c.is_(BOS), -2.0)), [(dst, k, 1.0)]))
        units.append(
            (add_rows(component(src, k, -1.0), scaled(c.is_(BOS), -2.0)), [(dst, k, -1.0)])
        )
    units.append((c.is_(BOS), [(dst, k, ORTHOGONAL[k]) for k in range(4)]))
    return units


def _bos_fix(c: _Cells, cells: list[Cell]) -> list[Unit]:
    """Set each phi cell to ORTHOGONAL at BoS only: gate x by [BoS] with relu(x - 2[not BoS])
    (|x| <= 1), write minus it, then add ORTHOGONAL * [BoS]."""
    not_bos = c.is_not(BOS)
    units: list[Unit] = []
    for cell in cells:
        for k in range(4):
            up = add_rows(component(cell, k), scaled(not_bos, -2.0))
            down = add_rows(component(cell, k, -1.0), scaled(not_bos, -2.0))
            units += [(up, [(cell, k, -1.0)]), (down, [(cell, k, 1.0)])]
        units.append((c.is_(BOS), [(cell, k, ORTHOGONAL[k]) for k in range(4)]))
    return units


# ---- layers 13-17: [i = j], B_0 and loop state ------------------------------------------------
def _competitor_bool(c: _Cells, out: Cell) -> tuple[list[Row], list[tuple[Cell, int, int, float]]]:
    """Values <[not BoS], [BoS]> averaged to (1/2, 1/2) (tie with BoS) or (0, 1) (BoS alone),
    written as the boolean <2 a, b - a>."""
    values = [c.is_not(BOS), c.is_(BOS)]
    writes = [(out, 0, 0, 2.0), (out, 1, 1, 1.0), (out, 1, 0, -1.0)]
    return values, writes


def _window_h_head(c: _Cells) -> Head:
    """Repeated layer 2's averaging head: at matrix entry (i, j), uniform over the n pads
    (i, k, j); value C - [k = 0]/2, so h = (#k with C)/n - 1/(2n) (the paper's 1/(2n) head,
    folded into the value): h >= 1/(2n) iff some C is 1, else h = -1/(2n)."""
    L = c.layout
    return head(
        vector_rows(c.mid) + vector_rows(c.col) + [constant(L), scaled(c.is_(BOS), BOS_SELF)],
        vector_rows(c.pad_row) + vector_rows(c.col) + [c.is_(PAD), c.is_(BOS)],
        [component(c.C, 0), component(c.k_zero, 0)],
        [(c.h, 0, 0, 1.0), (c.h, 0, 1, -0.5)],
        causal=False,
        note="query (i, j), keys pads (i', j'): average of C - [k=0]/2 over the n pads (i,.,j)",
    )


def _layers_b0(c: _Cells) -> list[Layer]:
    L = c.layout
    values, writes = _competitor_bool(c, c.diag)
    diag = head(
        vector_rows(c.diag_key) + vector_rows(c.mid) + [constant(L, 2.0)],
        vector_rows(c.diag_key) + vector_rows(c.col) + [c.is_(BOS)],
        values,
        writes,
        causal=True,
        note="self (phi(lambda j) . phi(lambda j) = 1) scores 1 + phi(i+1).phi(j+1) = 2 iff "
        "i = j; BoS (orthogonal self and x%n) scores exactly 2",
    )
    adj = c.is_("1")
    or_units: list[Unit] = [
        (add_rows(adj, component(c.diag, 0)), [(c.B, 0, 1.0)]),
        (add_rows(adj, component(c.diag, 0), constant(L, -1.0)), [(c.B, 0, -1.0)]),
        (add_rows(component(c.diag, 1), scaled(adj, -1.0)), [(c.B, 1, 1.0)]),
    ]
    return [
        Layer(
            "Lemma 8: [i = j] at matrix entries (the self key ties with BoS iff r%n = x%n); "
            "phi(s) stored from psi(s/N, 1/N) (Lemma 4)",
            heads=[diag],
            ff=psi_to_phi_ff(c.psi_s, c.src),
        ),
        Layer(
            "phi(t) stored from psi(t/N, 1/N) (Lemma 4)",
            ff=psi_to_phi_ff(c.psi_t, c.tgt),
        ),
        Layer(
            "B_0(i, j) = A_ij OR [i = j] (the paper prints AND; reachability in <= 1 step "
            "needs OR); [i = j] and self reset (Lemma 5); C_0 := 0 everywhere",
            ff=stack_ff(
                [
                    feed_forward(or_units, "B := A or [i=j]"),
                    clear_ff([c.diag], nonnegative=True),
                    clear_ff([c.diag_key], paired=True),
                    feed_forward([(constant(L), [(c.C, 1, 1.0)])], "C := <0, 1>"),
                ],
                note="B := A or [i=j]; C := <0, 1>",
            ),
            clears=(c.diag, c.diag_key),
        ),
        Layer(
            "layer 1's statistics reset by recomputation (Lemma 6)",
            heads=[reset_head(_stats_head(c), "reset psi_n, psi_s, psi_t")],
            clears=(c.psi_mod, c.psi_s, c.psi_t),
        ),
        Layer(
            "h initialized as repeated layer 2 would leave it (on C_0), so that repeated "
            "layer 1 can always reset h by recomputation (replaces the paper's alternation flag)",
            heads=[_window_h_head(c)],
            ff=feed_forward([(c.is_not("0", "1"), [(c.h, 0, 1.0)])], "h += [not a matrix entry]"),
            updates=(c.h,),
        ),
    ]


# ---- the repeated block and the final layer -----------------------------------------------------
def _matrix_lookup(c: _Cells, first: Cell, second: Cell, out: Cell, note: str) -> Head:
    L = c.layout
    return head(
        vector_rows(first) + vector_rows(second) + [constant(L), scaled(c.is_(BOS), BOS_SELF)],
        vector_rows(c.mid) + vector_rows(c.col) + [c.is_("0", "1"), c.is_(BOS)],
        vector_rows(c.B),
        [(out, 0, 0, 1.0), (out, 1, 1, 1.0)],
        causal=False,
        note=note,
    )


def loop_and_ff(
    layout: Layout, b_ik: Cell, b_kj: Cell, C: Cell, h: Cell, not_matrix: Row
) -> FeedForward:
    """The C layer's feed-forward (shared with graph_wide.py): C += (B(i,k) AND B(k,j)) - C,
    the B(i,k) and B(k,j) copies cleared, and h's offset at non-matrix tokens removed (the B
    layer's self head adds it back, so that h can be reset by recomputation)."""
    and_units: list[Unit] = [
        (
            add_rows(component(b_ik, 0), component(b_kj, 0), constant(layout, -1.0)),
            [(C, 0, 1.0), (C, 1, -1.0)],
        ),
        (component(C, 0), [(C, 0, -1.0), (C, 1, 1.0)]),
        (not_matrix, [(h, 0, -1.0)]),
    ]
    return stack_ff(
        [feed_forward(and_units, "C += AND - C"), clear_ff([b_ik, b_kj], nonnegative=True)],
        note="C += AND - C; reset B(i,k), B(k,j), the offset in h",
    )


def _repeated(c: _Cells) -> list[Layer]:
    L = c.layout
    c_layer = Layer(
        "C_l(i, k, j) = B_{l-1}(i, k) AND B_{l-1}(k, j) at pads: two unmasked lookups into the "
        "matrix entries; h reset by recomputation; C += C_l - C_{l-1}",
        heads=[
            _matrix_lookup(
                c, c.pad_row, c.mid, c.b_ik, "query (i, k), keys matrix (i', j'): B(i,k)"
            ),
            _matrix_lookup(c, c.mid, c.col, c.b_kj, "query (k, j), keys matrix (i', j'): B(k,j)"),
            reset_head(_window_h_head(c), "reset h (recompute repeated layer 2's average)"),
        ],
        ff=loop_and_ff(L, c.b_ik, c.b_kj, c.C, c.h, c.is_not("0", "1")),
        clears=(c.b_ik, c.b_kj, c.h),
        updates=(c.C,),
    )
    # [phi(lambda j)]_z increases with j and is 0 at BoS, so the causal head picks j itself.
    latest = head(
        [constant(L)],
        [component(c.pos, 0)],
        [component(c.B, 0), c.is_not("0", "1")],
        [(c.B, 0, 0, -1.0), (c.B, 1, 0, 1.0), (c.h, 0, 1, 1.0)],
        causal=True,
        note="self (latest position): B := <0, 1>; h += [not a matrix entry]",
    )
    b_layer = Layer(
        "B_l(i, j) = OR_k C_l(i, k, j): h = (#C)/n - 1/(2n) over the n pads (i, ., j), read as "
        "sgn(h); B := relu(sgn h) (the paper's (1 + relu)/2 gives 1/2 for false)",
        heads=[_window_h_head(c), latest],
        ff=feed_forward(
            [(component(c.h, 0), [(c.B, 0, 1.0), (c.B, 1, -1.0)])], "B += relu(sgn h) * <1, -1>"
        ),
        updates=(c.B,),
    )
    return [c_layer, b_layer]


def _final(c: _Cells) -> Layer:
    L = c.layout
    answer = head(
        vector_rows(c.src) + vector_rows(c.tgt) + [constant(L)],
        vector_rows(c.mid) + vector_rows(c.col) + [c.is_("0", "1")],
        vector_rows(c.B),
        [(c.answer, 0, 0, 1.0), (c.answer, 1, 1, 1.0)],
        causal=True,
        note="query (phi(s), phi(t)), keys matrix (phi(i+1), phi(j+1)): B(s, t)",
    )
    return Layer("final: answer = B(s, t) read at the last token", heads=[answer])


@functools.lru_cache(maxsize=1)
def program_shape() -> tuple[int, int]:
    """(d_model, widest head) of the construction, read off its program, not restated: the
    widest head pairs 10 rows (two phi cells, a type flag, a BoS flag), d_model is 135. The gap
    model's rounding bound is a function of it (`gaps.connectivity.rounding_terms`)."""
    return shape_of(build_program(with_frontier=False))


def shape_of(program: Program) -> tuple[int, int]:
    """(d_model, widest head) of a program: the most query rows of any head."""
    heads = [h for layer in program.initial + program.repeated + program.final for h in layer.heads]
    widest = max(np.atleast_2d(next(iter(h.query.values()))).shape[0] for h in heads)
    return program.layout.d_model, widest


def build_program(with_frontier: bool = True) -> Program:
    """The whole construction as a Program over named cells (before assembly). The frontier
    depends on the program's own shape (`program_shape` builds it without)."""
    c = _Cells()
    initial = [_layer_stats(c)] + _layers_division(c) + _layers_lookups(c) + _layers_b0(c)
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
        tie_tolerance=gaps.TIE_TOLERANCE,
        input_format="graph",
        construction=CONSTRUCTION,
        frontier=gaps.frontier(program_shape()) if with_frontier else {},
    )


def compile_connectivity() -> CompiledModel:
    """Theorem 2's transformer: the same weights for every graph size n (only the unrolling
    ceil(log2 n) changes); the catalog's formula gives its layer count."""
    from logdepth.build import build  # the driver: program, hygiene, assembly, report

    return build(catalog.get("connectivity"))


def report(program: Program) -> dict[str, Any]:
    s, r, t = len(program.initial), len(program.repeated), len(program.final)
    entry = catalog.get("connectivity")
    return {
        "theorem": entry.title,
        "shape": [s, r, t],
        "layers": entry.formula,
        "d_model": program.layout.d_model,
        "input": "BoS, n^2 adjacency tokens row-major, n^3 pads, a^s b^t",
        "tie_tolerance": program.tie_tolerance,
        "frontier": dict(program.frontier),
        "frontier_basis": {dtype: "derived" for dtype in program.frontier},
        "frontier_method": (
            "derived: the largest n whose smallest score gap clears the tolerance plus twice "
            "the score rounding bound (logdepth/gaps/connectivity.py); checked by p-bit "
            "emulation at n(p) (docs/precision.md)"
        ),
        "frontier_by_bits": gaps.frontier_curve(program_shape()),
        "precision": gaps.explain(program_shape()),
        "layer_texts": [layer.text for layer in program.initial + program.repeated + program.final],
    }
