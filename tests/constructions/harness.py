"""Run gadget layers through the real forward pass: a program whose tokens carry given values.

Each test builds its cells, places per-token values in the embedding (a token per distinct
value tuple), assembles the program with `logdepth.compiler.assemble` and reads cells from
`CompiledModel.trace_tokens`, i.e. from the residual stream of the assembled weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from logdepth.compiler.assemble import assemble
from logdepth.compiler.cells import Cell, Layout, boolean
from logdepth.compiler.program import Layer, Program
from logdepth.model.compiled import CompiledModel, TraceResult
from logdepth.model.config import BOS, DepthRule

# Gadget programs are exercised far below any frontier; tests pass the frontier explicitly.
UNLIMITED = 10**9


def run(
    layout: Layout,
    bos: Cell,
    layers: Sequence[Layer],
    values: Sequence[dict[Cell, np.ndarray]],
    *,
    dtype: str = "float64",
    tie_tolerance: float = 0.0,
) -> TraceResult:
    """Trace BoS followed by len(values) - 1 tokens; values[i] are the embedding cells of
    token i (besides `one` and `bos`, which are filled in)."""
    keys: dict[tuple, str] = {}
    tokens = []
    embedding: dict[str, dict[Cell, np.ndarray]] = {}
    for i, cells in enumerate(values):
        row = {layout.one: np.ones(1), bos: boolean(i == 0), **cells}
        key = (
            i == 0,
            *(
                (c.name, tuple(np.round(v, 15)))
                for c, v in sorted(cells.items(), key=lambda kv: kv[0].name)
            ),
        )
        if key not in keys:
            name = BOS if i == 0 else f"t{len(keys)}"
            keys[key] = name
            embedding[name] = row
        tokens.append(keys[key])
    if tokens[0] != BOS:
        raise ValueError("position 0 must be BoS")
    vocab = [BOS] + [t for t in embedding if t != BOS]
    program = Program(
        layout,
        vocab,
        embedding,
        list(layers),
        [],
        [],
        ["no", "yes"],
        {},
        DepthRule(()),
        tie_tolerance,
    )
    network = assemble(program)
    network.config.frontier.update({"float64": UNLIMITED, "float32": UNLIMITED})
    model = CompiledModel(network)
    if dtype != "float64":
        model = model.to(dtype)
    return model.trace_tokens(tokens)
