"""Linear forms over cells ("rows") and the heads and feed-forwards built from them: the part of
the gadget kit (`logdepth.kit`) for hand-written heads, used by Theorem 2.

A head is written as lists of *rows*: each row is a linear form over cells ({cell: vector}).
The query and key lists pair up row by row, so the score is the sum over rows of
<query row, z_i> * <key row, z_j>. Value rows are linear forms too, and `writes` says which
value row goes, with which coefficient, into which component of which cell. Feed-forwards are
lists of units: one input row and the components each unit's ReLU is added to.

The row helpers are the recurring pieces of the graph construction: the full vector of a phi
cell (so that a row-paired dot product of two phi cells is their cosine, the equality primitive
of the paper's Section 2.1), one component of a cell, a constant. Clearing a cell (Lemma 5) is
`feedforward.clear_ff`, one definition for every construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from logdepth.compiler.cells import Cell, Layout
from logdepth.compiler.program import CellMap, FeedForward, Head, unique_cells

Row = dict[Cell, np.ndarray]
# (cell, component, value row, coefficient): add coefficient * value[row] to cell[component].
Write = tuple[Cell, int, int, float]


def row(*parts: tuple[Cell, Sequence[float] | np.ndarray]) -> Row:
    """A linear form: the sum of <vector, cell> over the parts (parts on one cell add up)."""
    out: Row = {}
    for cell, vec in parts:
        v = np.asarray(vec, dtype=float)
        if v.shape != (cell.size,):
            raise ValueError(f"row part for {cell.name!r} has shape {v.shape}")
        out[cell] = out.get(cell, np.zeros(cell.size)) + v
    return out


def add_rows(*rows: Row) -> Row:
    """The sum of linear forms."""
    return row(*[(c, v) for r in rows for c, v in r.items()])


def scaled(r: Row, c: float) -> Row:
    """c times a linear form."""
    return {cell: c * v for cell, v in r.items()}


def component(cell: Cell, k: int, c: float = 1.0) -> Row:
    """c times component k of a cell (e.g. the b of a bool <b, 1-b>, or z of phi(z))."""
    v = np.zeros(cell.size)
    v[k] = c
    return {cell: v}


def constant(layout: Layout, c: float = 1.0) -> Row:
    """The constant c, read from the constant-one cell (there are no biases: the paper's
    Definitions 2 and 3)."""
    return {layout.one: np.array([c])}


def vector_rows(cell: Cell) -> list[Row]:
    """One row per component: paired with the same rows on another phi cell, the score term is
    phi(q) . phi(k) = cos(atan q - atan k), which is 1 iff q = k (the paper's Section 2.1)."""
    return [component(cell, k) for k in range(cell.size)]


def _stack(rows: list[Row]) -> CellMap:
    out: CellMap = {}
    for c in unique_cells([c for r in rows for c in r]):
        out[c] = np.stack([r.get(c, np.zeros(c.size)) for r in rows])
    return out


def head(
    query: list[Row],
    key: list[Row],
    value: list[Row],
    writes: Iterable[Write],
    *,
    causal: bool,
    note: str,
) -> Head:
    """Assemble a Head from paired query/key rows, value rows and the writes of value rows."""
    if len(query) != len(key):
        raise ValueError(f"{note}: {len(query)} query rows but {len(key)} key rows")
    out: CellMap = {}
    for cell, comp, vrow, coef in writes:
        block = out.setdefault(cell, np.zeros((cell.size, len(value))))
        block[comp, vrow] += coef
    return Head(
        query=_stack(query),
        key=_stack(key),
        value=_stack(value),
        out=out,
        causal=causal,
        note=note,
    )


def reset_head(h: Head, note: str) -> Head:
    """The same head writing minus its output (recompute-and-reset, Lemma 6): placed where the
    cells `h` reads still hold what they held when `h` ran, it returns `h`'s writes to zero.
    (Its counterpart for one psi term of a uniform head is `hashing.PsiTerm.negated`.)"""
    return Head(
        query=h.query,
        key=h.key,
        value=h.value,
        out={c: -m for c, m in h.out.items()},
        causal=h.causal,
        note=note,
    )


Unit = tuple[Row, list[tuple[Cell, int, float]]]


def feed_forward(units: list[Unit], note: str) -> FeedForward:
    """delta = U relu(W z) from units (input row; [(cell, component, coefficient)] outputs)."""
    w_in = _stack([u[0] for u in units])
    w_out: CellMap = {}
    for k, (_, outs) in enumerate(units):
        for cell, comp, coef in outs:
            block = w_out.setdefault(cell, np.zeros((cell.size, len(units))))
            block[comp, k] += coef
    return FeedForward(w_in=w_in, w_out=w_out, note=note)
