"""Small hand-written programs over named cells, for testing the compiler and weight files."""

from __future__ import annotations

import numpy as np

from logdepth.compiler.cells import PICK_TRUE, Layout, boolean
from logdepth.compiler.program import FeedForward, Head, Layer, Program
from logdepth.model.config import BOS, DepthRule
from logdepth.model.inputs import END

ZERO = np.zeros((1, 1))


def uniform_head(layout: Layout, value_cell, value, out_cell, out, causal=True) -> Head:
    """A head with constant scores (attends uniformly) over the keys it sees."""
    return Head(
        query={layout.one: ZERO},
        key={layout.one: ZERO},
        value={value_cell: np.atleast_2d(value)},
        out={out_cell: np.asarray(out, dtype=float).reshape(-1, np.atleast_2d(value).shape[0])},
        causal=causal,
    )


def counter_program(leaky: bool = False) -> Program:
    """Initial: psi(1, 1/pos) from a BoS head (reads as phi(pos)). Repeated: a temporary written
    and (unless `leaky`) cleared again, and a persistent counter bumped by a declared delta."""
    L = Layout()
    bos = L.bool("bos", persistent=True)
    pos = L.psi("pos", persistent=True)
    tmp = L.scalar("tmp")
    count = L.scalar("count", persistent=True)
    emb = {t: {L.one: np.ones(1), bos: boolean(t == BOS)} for t in (BOS, "x", "y", END)}
    emb = {t: {**v, count: np.zeros(1)} for t, v in emb.items()}
    first = Layer(
        "psi(1, 1/pos): BoS-flag head gives 1/pos, constant head gives 1 (Lemma 7's heads)",
        heads=[
            uniform_head(L, bos, PICK_TRUE, pos, [[0], [1], [0], [-1]]),
            uniform_head(L, L.one, [[1.0]], pos, [[1], [0], [-1], [0]]),
        ],
    )
    write_tmp = Layer("tmp := 1", ff=FeedForward({L.one: [[1.0]]}, {tmp: [[1.0]]}))
    clear_tmp = Layer(
        "tmp := 0 and count += 1",
        ff=FeedForward({L.one: [[1.0]]}, {tmp: [[-1.0]], count: [[1.0]]}),
        clears=() if leaky else (tmp,),
        updates=(count, tmp) if leaky else (count,),
    )
    return Program(
        layout=L,
        vocab=[BOS, "x", "y", END],
        embedding=emb,
        initial=[first],
        repeated=[write_tmp, clear_tmp],
        final=[],
        outputs=["reject", "accept"],
        readout={"accept": {count: np.ones((1, 1))}},
        depth_rule=DepthRule(count_tokens=("x", "y")),
        tie_tolerance=0.0,
        frontier={"float64": 1000, "float32": 10},
    )
