"""Generic feed-forward blocks: linear maps through ReLU pairs, several computations side by
side in one sublayer, and clearing cells (Lemma 5).

Nothing here knows about hashes: a feed-forward sublayer `U relu(W z)` over named cells, built
from blocks per cell (logdepth.compiler.program.FeedForward). The hash conversions that use
these blocks live in `hashing`, the saturating steps and gates in `gadgets`, and feed-forwards
written as linear forms over cells in `rows`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from logdepth.compiler.cells import Cell
from logdepth.compiler.program import CellMap, FeedForward
from logdepth.errors import CompileError


def linear_ff(maps: Sequence[tuple[CellMap, CellMap]], note: str = "") -> FeedForward:
    """A feed-forward sublayer computing linear maps y = M x via relu(u) - relu(-u).

    Each entry is (reads, writes): reads maps cell -> [r, cell.size] (r outputs u = R x),
    writes maps cell -> [cell.size, r] (added into that cell). Two hidden units per output.
    """
    parts = []
    for reads, writes in maps:
        w_in = {}
        for c, b in reads.items():
            b = np.atleast_2d(np.asarray(b, dtype=float))
            w_in[c] = np.vstack([b, -b])
        w_out = {}
        for c, b in writes.items():
            b = np.asarray(b, dtype=float).reshape(c.size, -1)
            w_out[c] = np.hstack([b, -b])
        parts.append(FeedForward(w_in=w_in, w_out=w_out))
    return stack_ff(parts, note)


def stack_ff(parts: Sequence[FeedForward], note: str = "") -> FeedForward:
    """Several feed-forward computations side by side in one sublayer (their hidden units are
    concatenated; each part reads and writes only its own cells' blocks)."""
    parts = [p for p in parts if p is not None and p.units]
    if not parts:
        raise CompileError("stack_ff needs at least one non-empty feed-forward")
    total = sum(p.units for p in parts)
    w_in: dict[Cell, np.ndarray] = {}
    w_out: dict[Cell, np.ndarray] = {}
    at = 0
    for p in parts:
        u = p.units
        for c, b in p.w_in.items():
            block = w_in.setdefault(c, np.zeros((total, c.size)))
            block[at : at + u] += np.atleast_2d(np.asarray(b, dtype=float)).reshape(u, c.size)
        for c, b in p.w_out.items():
            block = w_out.setdefault(c, np.zeros((c.size, total)))
            block[:, at : at + u] += np.asarray(b, dtype=float).reshape(c.size, u)
        at += u
    notes = [p.note for p in parts if p.note]
    return FeedForward(w_in=w_in, w_out=w_out, note=note or "; ".join(notes))


def clear_ff(
    cells: Iterable[Cell], note: str = "", *, nonnegative: bool = False, paired: bool = False
) -> FeedForward:
    """Lemma 5: read unit-norm cells and write minus their content (exact up to rounding).

    Each component x is removed as relu(x) - relu(-x): two hidden units, per cell first the
    relu(x) units of every component, then the relu(-x) units. `paired=True` orders them
    x_0, -x_0, x_1, -x_1, ... instead (the order Theorem 2's B_0 layer was first written in, kept
    so that its weights stay bit-identical). `nonnegative=True` is for cells whose components
    are all >= 0 (a bool <b, 1 - b>): relu(x) = x, one unit per component.
    """
    cells = list(cells)
    parts = []
    for c in cells:
        eye = np.eye(c.size)
        if nonnegative:
            w_in, w_out = eye, -eye
        elif paired:
            w_in = np.empty((2 * c.size, c.size))
            w_in[0::2], w_in[1::2] = eye, -eye
            w_out = np.empty((c.size, 2 * c.size))
            w_out[:, 0::2], w_out[:, 1::2] = -eye, eye
        else:
            w_in, w_out = np.vstack([eye, -eye]), np.hstack([-eye, eye])
        parts.append(FeedForward(w_in={c: w_in}, w_out={c: w_out}))
    return stack_ff(parts, note or "clear " + ", ".join(c.name for c in cells))
