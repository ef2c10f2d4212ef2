"""Theorem 2 (graph connectivity): the (17, 2, 1)-universal transformer over n^3 padding tokens.

Input (paper Section 5; `model.inputs.encode_graph`): BoS, the adjacency matrix row-major as n^2
tokens "0"/"1", n^3 pads, then a^s b^t (vertices 1..n). One weight file serves every n; only the
unrolling d = ceil(log2 n) changes (DepthRule counts the n^2 matrix tokens, root 2).

Coordinates (digest 4, "Input layout", with its [I] corrections). Every position gets the integer
x = pos - 2 - n^2, where pos = 1 + (array index) counts the tokens up to it: matrix entry (i, j)
has x = i n + j - n^2 in [-n^2, -1], pad (i, k, j) has x = i n^2 + k n + j in [0, n^3). Dividing
(Lemma 1) gives r = floor(x / n) and x mod n; looking up the position whose x equals r gives
r mod n and r2 = floor(r / n); looking up x = r2 gives r2 mod n. So with 0-indexed coordinates

    matrix (i, j):   x mod n = j,   r mod n = i                    (r = i - n)
    pad (i, k, j):   x mod n = j,   r mod n = k,   r2 mod n = i     (r = i n + k, r2 = i)

and each is stored as the hash phi(c + 1) of its value c (Lemma 11 yields 1/(c + 1)). The source
and target in unary give phi(s) and phi(t), the same hash of the 0-indexed s - 1 and t - 1.

The 17 initial layers:
  1      statistics n^2/N, n^3/N, s/N, t/N (paper layer 1)
  2-8    Lemma 1, dividing x by n (hashes, Lemma 9 multiples, Lemma 10 nearest multiple,
         Lemma 11 remainder, cleanup)
  9-10   Lemma 1's lookup layer for the dividends a = r and a = r2 (the table of layers 2-8 is
         the same for every dividend, so the paper's second division block reduces to lookups)
  11-13  phi(s), phi(t) made storable (Lemma 4), layer 1's statistics reset (Lemmas 5, 6)
  14-15  B_0(i, j) = [i = j] OR A_ij (paper layer 17, with OR for its AND)
  16-17  C_0 = 0 and the loop's recompute-and-reset cell h initialized
Repeated (unrolled ceil(log2 n) times): C_l at pads, then B_l at matrix entries. Final: B(s, t).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from logdepth.compiler.assemble import assemble
from logdepth.compiler.cells import Cell, Layout
from logdepth.compiler.program import Head, Layer, Program
from logdepth.constructions import graph_precision
from logdepth.constructions.graph_layers import (
    Row,
    Unit,
    add_rows,
    clear_bool,
    clear_vector,
    component,
    constant,
    feed_forward,
    head,
    negated,
    phi_passthrough,
    row,
    scaled,
    vector_rows,
)
from logdepth.model.compiled import CompiledModel
from logdepth.model.config import BOS, DepthRule
from logdepth.model.inputs import GRAPH_VOCAB, PAD, SOURCE, TARGET

OUTPUTS = ("disconnected", "connected")
CONSTRUCTION = "connectivity (Theorem 2, (17, 2, 1)-universal)"
# BoS, whose hash cells are set to ORTHOGONAL, is the competitor key of the equality tests: it
# scores exactly the maximum a true match can reach, so a match ties with it (within the tie
# tolerance) and the average of <[not BoS], [BoS]> is (1/2, 1/2); without a match BoS alone
# wins and the average is (0, 1). ORTHOGONAL is a unit vector orthogonal to every
# phi(z) = <z, 1, -z, -1>/sqrt(2z^2 + 2), so it adds nothing to a hash dot product.
ORTHOGONAL = np.array([1.0, 0.0, 1.0, 0.0]) / math.sqrt(2.0)
# Key term that makes BoS lose every "latest position" race: the tie-break [phi]_z lies in
# (-1/sqrt 2, 1/sqrt 2), and BoS holds ORTHOGONAL whose z is 1/sqrt 2, so subtract 2 > sqrt 2.
BOS_PENALTY = 2.0
# Weight of e_j in the nearest-multiple score 2 e_j + [phi]_z(j) (Lemma 10): the tie-break has
# range < sqrt 2 < 2, so any multiple beats any non-multiple.
MULTIPLE_WEIGHT = 2.0
# Query weight on [BoS] that makes BoS attend to itself in the lookups: the other terms of those
# scores are at most 3 (two hash cosines and a type flag) and BoS's own key scores 2 + this.
BOS_SELF = 2.0


class _Cells:
    """The residual layout of the construction, named for what each cell holds."""

    def __init__(self) -> None:
        L = self.layout = Layout()
        self.tok = L.add("tok", "onehot", [f"tok={t}" for t in GRAPH_VOCAB], persistent=True)
        # Layer 1 (paper): <1, n^2, n^3>/N, doubled with signs; read alone it is a unit vector.
        self.stats = L.add(
            "stats",
            "psi",
            ["1/N", "n^2/N", "n^3/N", "-1/N", "-n^2/N", "-n^3/N"],
        )
        self.scale = L.add("scale", "code", ["scale:1", "scale:n^2", "scale:n^3"])
        # <g [BoS], [not BoS]>: g at BoS only, so a uniform causal head over it returns g/pos;
        # the last component keeps the cell a unit vector everywhere.
        self.bos_scale = L.add(
            "bos_scale", "code", ["bos_scale:1", "bos_scale:n^2", "bos_scale:n^3", "not BoS"]
        )
        self.psi_s = L.psi("psi_s")  # psi(s/N, 1/N), read as phi(s)
        self.psi_t = L.psi("psi_t")
        self.psi_key = L.psi("psi_key")  # ratio x/n^2
        self.psi_query = L.psi("psi_query")  # ratio x/n^3
        self.key = L.phi("x/n^2")  # phi(x / n^2): the key of every lookup by x
        self.query = L.phi("x/n^3", persistent=True)  # phi(x / n^3): x/n as a key value; tie-break
        self.multiple = L.bool("n|x")  # e = [n divides x] (Lemma 9)
        self.quot = L.phi("r/n^2")  # phi(floor(x/n) / n^2) (Lemma 10)
        self.psi_rem = L.psi("psi_rem")  # psi(1, 1/(x mod n + 1)) (Lemma 11)
        self.rem = L.phi("x%n", persistent=True)  # phi(x mod n + 1)
        self.quot2 = L.phi("r2/n^2")  # phi(floor(r/n) / n^2)
        self.rem2 = L.phi("r%n", persistent=True)  # phi(r mod n + 1)
        self.k_zero = L.bool("n|r", persistent=True)  # pads: [k = 0]
        self.rem3 = L.phi("r2%n", persistent=True)  # phi(r2 mod n + 1)
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
        emb[t] = {L.one: np.ones(1), c.tok: np.array([1.0 if u == t else 0.0 for u in GRAPH_VOCAB])}
    return emb


# ---- layer 1: statistics ------------------------------------------------------------------------
def _stats_head(c: _Cells) -> Head:
    """Unmasked uniform head over all N tokens with value the token one-hot: counts / N."""
    L = c.layout
    idx = {t: k for k, t in enumerate(GRAPH_VOCAB)}
    v_bos, v0, v1, v_pad, v_a, v_b = (
        idx[BOS],
        idx["0"],
        idx["1"],
        idx[PAD],
        idx[SOURCE],
        idx[TARGET],
    )
    writes = [
        (c.stats, 0, v_bos, 1.0),
        (c.stats, 3, v_bos, -1.0),
        (c.stats, 1, v0, 1.0),
        (c.stats, 1, v1, 1.0),
        (c.stats, 4, v0, -1.0),
        (c.stats, 4, v1, -1.0),
        (c.stats, 2, v_pad, 1.0),
        (c.stats, 5, v_pad, -1.0),
    ]
    for cell, v in ((c.psi_s, v_a), (c.psi_t, v_b)):
        writes += [
            (cell, 0, v, 1.0),
            (cell, 1, v_bos, 1.0),
            (cell, 2, v, -1.0),
            (cell, 3, v_bos, -1.0),
        ]
    return head(
        [constant(L, 0.0)],
        [constant(L, 0.0)],
        vector_rows(c.tok),
        writes,
        causal=False,
        note="uniform over all tokens: 1/N, n^2/N, n^3/N, s/N, t/N",
    )


def _layer_stats(c: _Cells) -> Layer:
    # stats read alone is <g, -g>/(sqrt 2 |g|), g = <1, n^2, n^3>/N: sqrt 2 * z_k = g_k/|g| >= 0.
    units: list[Unit] = [
        (component(c.stats, k, math.sqrt(2.0)), [(c.scale, k, 1.0)]) for k in range(3)
    ]
    return Layer(
        "statistics (paper layer 1): unmasked uniform head over the token one-hot gives "
        "1/N, n^2/N, n^3/N, psi(s/N, 1/N) = phi(s), psi(t/N, 1/N) = phi(t); the feed-forward "
        "stores the unit vector <1, n^2, n^3>/|.| (read alone, Lemma 2)",
        heads=[_stats_head(c)],
        ff=feed_forward(units, "scale := <1, n^2, n^3>/|.|"),
    )


# ---- layers 2-4: position hashes -------------------------------------------------------------
def _bos_heads(c: _Cells, key_sign: float, query_sign: float) -> list[Head]:
    """Digest 8.3's trick: a causal uniform head returns the (position-independent) scale vector
    g = <1, n^2, n^3>/|.| and a causal uniform head over g [BoS] returns g/pos (a BoS-only
    head would return g itself); both carry the same unknown
    factor 1/|.|, so a psi built from them reads as an exact ratio:

        psi_key   = psi(g0 - (2 g0 + g1)/pos,  g1/pos)  ->  phi((pos - 2 - n^2) / n^2) = phi(x/n^2)
        psi_query = psi(g0 - (2 g0 + g1)/pos,  g2/pos)  ->  phi(x / n^3)

    `key_sign` / `query_sign` (+1, -1 or 0) say whether each psi is written or reset (Lemma 6).
    """
    L = c.layout
    uniform_writes = []
    bos_writes = []
    for cell, sign, b_index in ((c.psi_key, key_sign, 1), (c.psi_query, query_sign, 2)):
        if sign == 0:
            continue
        uniform_writes += [(cell, 0, 0, sign), (cell, 2, 0, -sign)]
        bos_writes += [
            (cell, 0, 0, -2.0 * sign),
            (cell, 0, 1, -sign),
            (cell, 2, 0, 2.0 * sign),
            (cell, 2, 1, sign),
            (cell, 1, b_index, sign),
            (cell, 3, b_index, -sign),
        ]
    uniform = head(
        [constant(L, 0.0)],
        [constant(L, 0.0)],
        vector_rows(c.scale),
        uniform_writes,
        causal=True,
        note="uniform causal: g (constant across positions)",
    )
    bos = head(
        [constant(L, 0.0)],
        [constant(L, 0.0)],
        vector_rows(c.bos_scale)[:3],
        bos_writes,
        causal=True,
        note="uniform causal over g [BoS]: g / pos",
    )
    return [uniform, bos]


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


def _layers_hashes(c: _Cells) -> list[Layer]:
    gate = [
        (
            add_rows(component(c.scale, k), c.is_(BOS), constant(c.layout, -1.0)),
            [(c.bos_scale, k, 1.0)],
        )
        for k in range(3)
    ] + [(c.is_not(BOS), [(c.bos_scale, 3, 1.0)])]
    reset_scales = [(component(c.scale, k), [(c.scale, k, -1.0)]) for k in range(3)] + [
        (component(c.bos_scale, k), [(c.bos_scale, k, -1.0)]) for k in range(4)
    ]
    return [
        Layer(
            "g [BoS] stored beside [not BoS]: relu(g_k + [BoS] - 1) = g_k [BoS] as 0 <= g_k <= 1",
            ff=feed_forward(gate, "bos_scale := <g [BoS], [not BoS]>"),
        ),
        Layer(
            "Lemma 1 (division by n), hashes: psi(x/n^2) from two uniform causal heads "
            "(digest 8.3); the feed-forward stores phi(x/n^2) (Lemma 4)",
            heads=_bos_heads(c, 1.0, 0.0),
            ff=feed_forward(
                phi_passthrough([component(c.psi_key, 0), component(c.psi_key, 1)], c.key),
                "x/n^2 := phi(psi_key)",
            ),
        ),
        Layer(
            "hashes: psi(x/n^3), psi_key reset by recomputation (Lemma 6); the feed-forward "
            "stores phi(x/n^3) (Lemma 4)",
            heads=_bos_heads(c, -1.0, 1.0),
            ff=feed_forward(
                phi_passthrough([component(c.psi_query, 0), component(c.psi_query, 1)], c.query),
                "x/n^3 := phi(psi_query)",
            ),
            clears=(c.psi_key,),
        ),
        Layer(
            "psi_query reset (Lemma 6); BoS's hashes set orthogonal to every phi so that BoS "
            "can be the exact competitor of the equality tests; the scale vectors removed "
            "(Lemma 5)",
            heads=_bos_heads(c, 0.0, -1.0),
            ff=feed_forward(
                _bos_fix(c, [c.key, c.query]) + reset_scales,
                "BoS: x/n^2, x/n^3 := ORTHOGONAL; reset scale, bos_scale",
            ),
            clears=(c.psi_query, c.scale, c.bos_scale),
            updates=(c.key, c.query),
        ),
    ]


# ---- layers 5-8: Lemmas 9, 10, 11 ---------------------------------------------------------------
def _competitor_bool(c: _Cells, out: Cell) -> tuple[list[Row], list[tuple[Cell, int, int, float]]]:
    """Values <[not BoS], [BoS]> averaged to (1/2, 1/2) (tie with BoS) or (0, 1) (BoS alone),
    written as the boolean <2 a, b - a>."""
    values = [c.is_not(BOS), c.is_(BOS)]
    writes = [(out, 0, 0, 2.0), (out, 1, 1, 1.0), (out, 1, 0, -1.0)]
    return values, writes


def _window_head(c: _Cells) -> Head:
    L = c.layout
    return head(
        vector_rows(c.quot),
        vector_rows(c.quot),
        [constant(L), component(c.multiple, 0)],
        [
            (c.psi_rem, 0, 0, 1.0),
            (c.psi_rem, 2, 0, -1.0),
            (c.psi_rem, 1, 1, 1.0),
            (c.psi_rem, 3, 1, -1.0),
        ],
        causal=True,
        note="uniform over j <= i with the same floor(x/n); value e gives 1/(x mod n + 1)",
    )


def _layers_division(c: _Cells) -> list[Layer]:
    L = c.layout
    values, writes = _competitor_bool(c, c.multiple)
    membership = head(
        vector_rows(c.query) + [constant(L)],
        vector_rows(c.key) + [c.is_(BOS)],
        values,
        writes,
        causal=False,
        note="phi(x/n^3) . phi(y/n^2) = 1 iff y = x/n; BoS scores exactly 1",
    )
    nearest = head(
        [constant(L, MULTIPLE_WEIGHT), constant(L)],
        [
            component(c.multiple, 0),
            add_rows(component(c.query, 0), scaled(c.is_(BOS), -BOS_PENALTY)),
        ],
        vector_rows(c.query),
        [(c.quot, k, k, 1.0) for k in range(4)],
        causal=True,
        note="largest multiple of n at or before x; copy its phi(x/n^3)",
    )
    return [
        Layer(
            "Lemma 9: e = [n | x] - is x/n the x of some position? (tie with BoS, whose hash "
            "is orthogonal, detects an exact match; unmasked because matrix entries find "
            "their match to the right)",
            heads=[membership],
        ),
        Layer(
            "Lemma 10: nearest multiple m <= x by the key <e, [phi(x/n^3)]_z> (with +, not "
            "the printed -); its phi(m/n^3) = phi(floor(x/n)/n^2) is stored",
            heads=[nearest],
        ),
        Layer(
            "Lemma 11: uniform over the same quotient up to x, value e: 1/(x mod n + 1); "
            "psi(1, 1/(x mod n + 1)) stored as phi(x mod n + 1) (Lemma 4)",
            heads=[_window_head(c)],
            ff=feed_forward(
                phi_passthrough([component(c.psi_rem, 0), component(c.psi_rem, 1)], c.rem),
                "x%n := phi(psi_rem)",
            ),
        ),
        Layer(
            "Lemma 1's cleanup: psi_rem reset by recomputation (Lemma 6); BoS's x%n set orthogonal",
            heads=[negated(_window_head(c), "reset psi_rem")],
            ff=feed_forward(_bos_fix(c, [c.rem]), "BoS: x%n := ORTHOGONAL"),
            clears=(c.psi_rem,),
            updates=(c.rem,),
        ),
    ]


# ---- layers 9-13: lookups and resets ------------------------------------------------------------
def _lookup(c: _Cells, query: Cell, values: list[Cell], outs: list[Cell], note: str) -> Head:
    rows: list[Row] = []
    writes = []
    for src, dst in zip(values, outs, strict=False):
        for k in range(src.size):
            writes.append((dst, k, len(rows), 1.0))
            rows.append(component(src, k))
    return head(vector_rows(query), vector_rows(c.key), rows, writes, causal=False, note=note)


def _layers_lookups(c: _Cells) -> list[Layer]:
    return [
        Layer(
            "Lemma 1's lookup for the dividend a = r = floor(x/n): the position whose x is r "
            "gives phi(floor(r/n)/n^2), phi(r mod n + 1) and [n | r]",
            heads=[
                _lookup(
                    c,
                    c.quot,
                    [c.quot, c.rem, c.multiple],
                    [c.quot2, c.rem2, c.k_zero],
                    "query phi(r/n^2), key phi(y/n^2)",
                )
            ],
            ff=feed_forward(clear_vector(c.quot) + clear_bool(c.multiple), "reset r/n^2, n|x"),
            clears=(c.quot, c.multiple),
        ),
        Layer(
            "lookup for the dividend r2 = floor(r/n): phi(r2 mod n + 1)",
            heads=[_lookup(c, c.quot2, [c.rem], [c.rem3], "query phi(r2/n^2), key phi(y/n^2)")],
            ff=feed_forward(clear_vector(c.quot2) + clear_vector(c.key), "reset r2/n^2, x/n^2"),
            clears=(c.quot2, c.key),
        ),
        Layer(
            "phi(s) stored from psi(s/N, 1/N) (Lemma 4)",
            ff=feed_forward(
                phi_passthrough([component(c.psi_s, 0), component(c.psi_s, 1)], c.src),
                "s := phi(psi_s)",
            ),
        ),
        Layer(
            "phi(t) stored from psi(t/N, 1/N) (Lemma 4)",
            ff=feed_forward(
                phi_passthrough([component(c.psi_t, 0), component(c.psi_t, 1)], c.tgt),
                "t := phi(psi_t)",
            ),
        ),
        Layer(
            "layer 1's statistics reset by recomputation (Lemma 6)",
            heads=[negated(_stats_head(c), "reset stats, psi_s, psi_t")],
            clears=(c.stats, c.psi_s, c.psi_t),
        ),
    ]


# ---- layers 14-17: B_0 and loop state -----------------------------------------------------------
def _window_h_head(c: _Cells) -> Head:
    """Repeated layer 2's averaging head: at matrix entry (i, j), uniform over the n pads
    (i, k, j); value C - [k = 0]/2, so h = (#k with C)/n - 1/(2n) (the paper's 1/(2n) head,
    folded into the value): h >= 1/(2n) iff some C is 1, else h = -1/(2n)."""
    L = c.layout
    return head(
        vector_rows(c.rem2) + vector_rows(c.rem) + [constant(L), scaled(c.is_(BOS), BOS_SELF)],
        vector_rows(c.rem3) + vector_rows(c.rem) + [c.is_(PAD), c.is_(BOS)],
        [component(c.C, 0), component(c.k_zero, 0)],
        [(c.h, 0, 0, 1.0), (c.h, 0, 1, -0.5)],
        causal=False,
        note="query (i, j), keys pads (i', j'): average of C - [k=0]/2 over the n pads (i,.,j)",
    )


def _layers_b0(c: _Cells) -> list[Layer]:
    L = c.layout
    values, writes = _competitor_bool(c, c.diag)
    diag = head(
        vector_rows(c.query) + vector_rows(c.rem2) + [constant(L, 2.0)],
        vector_rows(c.query) + vector_rows(c.rem) + [c.is_(BOS)],
        values,
        writes,
        causal=True,
        note="self (phi(x/n^3) . phi(x/n^3) = 1) scores 1 + phi(i+1).phi(j+1) = 2 iff i = j; "
        "BoS scores exactly 2",
    )
    adj = c.is_("1")
    or_units: list[Unit] = [
        (add_rows(adj, component(c.diag, 0)), [(c.B, 0, 1.0)]),
        (add_rows(adj, component(c.diag, 0), constant(L, -1.0)), [(c.B, 0, -1.0)]),
        (add_rows(component(c.diag, 1), scaled(adj, -1.0)), [(c.B, 1, 1.0)]),
    ]
    return [
        Layer(
            "Lemma 8: [i = j] at matrix entries (self ties with BoS iff r%n = x%n)", heads=[diag]
        ),
        Layer(
            "B_0(i, j) = A_ij OR [i = j] (the paper prints AND; reachability in <= 1 step "
            "needs OR); [i = j] reset (Lemma 5); C_0 := 0 everywhere",
            ff=feed_forward(
                or_units + clear_bool(c.diag) + [(constant(L), [(c.C, 1, 1.0)])],
                "B := A or [i=j]; C := <0, 1>",
            ),
            clears=(c.diag,),
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
        vector_rows(c.rem2) + vector_rows(c.rem) + [c.is_("0", "1"), c.is_(BOS)],
        vector_rows(c.B),
        [(out, 0, 0, 1.0), (out, 1, 1, 1.0)],
        causal=False,
        note=note,
    )


def _repeated(c: _Cells) -> list[Layer]:
    L = c.layout
    and_units: list[Unit] = [
        (
            add_rows(component(c.b_ik, 0), component(c.b_kj, 0), constant(L, -1.0)),
            [(c.C, 0, 1.0), (c.C, 1, -1.0)],
        ),
        (component(c.C, 0), [(c.C, 0, -1.0), (c.C, 1, 1.0)]),
        (c.is_not("0", "1"), [(c.h, 0, -1.0)]),
    ]
    c_layer = Layer(
        "C_l(i, k, j) = B_{l-1}(i, k) AND B_{l-1}(k, j) at pads: two unmasked lookups into the "
        "matrix entries; h reset by recomputation; C += C_l - C_{l-1}",
        heads=[
            _matrix_lookup(c, c.rem3, c.rem2, c.b_ik, "query (i, k), keys matrix (i', j'): B(i,k)"),
            _matrix_lookup(c, c.rem2, c.rem, c.b_kj, "query (k, j), keys matrix (i', j'): B(k,j)"),
            negated(_window_h_head(c), "reset h (recompute repeated layer 2's average)"),
        ],
        ff=feed_forward(
            and_units + clear_bool(c.b_ik) + clear_bool(c.b_kj),
            "C += AND - C; reset B(i,k), B(k,j), the offset in h",
        ),
        clears=(c.b_ik, c.b_kj, c.h),
        updates=(c.C,),
    )
    latest = head(
        [constant(L)],
        [add_rows(component(c.query, 0), scaled(c.is_(BOS), -BOS_PENALTY))],
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
        vector_rows(c.rem2) + vector_rows(c.rem) + [c.is_("0", "1")],
        vector_rows(c.B),
        [(c.answer, 0, 0, 1.0), (c.answer, 1, 1, 1.0)],
        causal=True,
        note="query (phi(s), phi(t)), keys matrix (phi(i+1), phi(j+1)): B(s, t)",
    )
    return Layer("final: answer = B(s, t) read at the last token", heads=[answer])


def build_program() -> Program:
    """The whole construction as a Program over named cells (before assembly)."""
    c = _Cells()
    initial = (
        [_layer_stats(c)]
        + _layers_hashes(c)
        + _layers_division(c)
        + _layers_lookups(c)
        + _layers_b0(c)
    )
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
        tie_tolerance=graph_precision.TIE_TOLERANCE,
        input_format="graph",
        construction=CONSTRUCTION,
        frontier=graph_precision.frontier(),
    )


def compile_connectivity() -> CompiledModel:
    """Theorem 2's transformer: the same weights for every graph size n (only the unrolling
    ceil(log2 n) changes); 2 ceil(log2 n) + 18 layers."""
    program = build_program()
    network = assemble(program)
    return CompiledModel(network, {"report": report(program)})


def report(program: Program) -> dict[str, Any]:
    s, r, t = len(program.initial), len(program.repeated), len(program.final)
    return {
        "theorem": "Theorem 2 (graph connectivity)",
        "shape": [s, r, t],
        "layers": "2 ceil(log2 n) + 18",
        "d_model": program.layout.d_model,
        "input": "BoS, n^2 adjacency tokens row-major, n^3 pads, a^s b^t",
        "tie_tolerance": program.tie_tolerance,
        "frontier": dict(program.frontier),
        "precision": graph_precision.explain(),
        "layer_texts": [layer.text for layer in program.initial + program.repeated + program.final],
    }
