"""Bit-vector gadgets of the wide constructions (constructions/wide.py, graph_wide.py): threshold
steps that turn a hashed value phi(scale v) into exact 0/1 bools, the output columns that write a
digit's bits from its steps, fresh bool cells and snapping a bool to an exact 0/1.

`threshold_gap` is the geometry the steps' slopes are set from (and the wide gap models' margin,
`logdepth.gaps.wide`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from logdepth.compiler.cells import PICK_A, PICK_B, PICK_TRUE, Cell
from logdepth.compiler.program import FeedForward
from logdepth.kit.gadgets import constant_ff, saturating_ff, step_ff

# The scale of the digit hashes phi(WIDE_SCALE v). The threshold gap is
# (scale/2) / sqrt(2 (scale v)^2 + 2): about 1/(2 sqrt(2) v) once scale v >> 1, whatever the
# scale, but only scale/(2 sqrt(2)) for v < 1/scale. Scale 1 has the larger gap at every v
# (1/4 at v = 1 against 2^-7.5 for the faithful lambda = 2^-6), so small p resolve small n.
WIDE_SCALE = 1.0


def threshold_gap(v: float, distance: float, scale: float = WIDE_SCALE) -> float:
    """|h| for a value at `distance` from a threshold, both near v: the linear form
    h = [phi]_0 - scale theta [phi]_1 of phi(scale v) is
    scale (v - theta) / sqrt(2 (scale v)^2 + 2). Taken at v + distance (the larger value;
    |h| falls as v grows)."""
    z = scale * (v + distance)
    return scale * distance / math.sqrt(2.0 * z * z + 2.0)


TRUE = np.array([1.0, -1.0])  # a bool write: (b, 1 - b) += b (TRUE) after (0, 1)


def threshold_steps(
    phi: Cell,
    thresholds: Sequence[float],
    out: dict[Cell, np.ndarray],
    *,
    one: Cell,
    scale: float = WIDE_SCALE,
    distance: float = 0.5,
    note: str = "",
) -> FeedForward:
    """Step u adds out[:, u] where the value v hashed in `phi` (phi(scale v)) is >= thresholds[u]
    (every value at least `distance` from every threshold: integers against half-integers by
    default). The pre-activation is S h with h = [phi]_0 - scale theta [phi]_1 and
    S = 1 / (2 |h(theta + distance)|), so it is >= 1/2 at values above theta and <= 0 below it;
    saturating_ff fires at >= 1/4."""
    thresholds = np.asarray(thresholds, dtype=float)
    rows = np.zeros((len(thresholds), 4))
    for u, theta in enumerate(thresholds):
        slope = 1.0 / (2.0 * threshold_gap(theta, distance, scale))
        rows[u] = slope * (PICK_A - scale * theta * PICK_B)
    return saturating_ff(
        {phi: rows}, np.full(len(thresholds), 0.5), out, one=one, note=note or "thresholds"
    )


def bit_columns(
    bits: Sequence[Cell], digit_of_step: Sequence[int], first_bit: int = 0
) -> dict[Cell, np.ndarray]:
    """Output columns writing the bits of the digit: step u (the digit reaches k = digit_of_step
    [u]) adds bit_i(k) - bit_i(k - 1) to bit i (a telescoping sum: exact when the steps are)."""
    cols = {b: np.zeros((2, len(digit_of_step))) for b in bits}
    for u, k in enumerate(digit_of_step):
        for i, b in enumerate(bits):
            delta = ((k >> (i + first_bit)) & 1) - (((k - 1) >> (i + first_bit)) & 1)
            cols[b][:, u] = delta * TRUE
    return cols


def bool_init(cells: Sequence[Cell], one: Cell) -> FeedForward:
    """(0, 1) into each fresh bool cell (the steps then add (b, -b))."""
    return constant_ff({c: np.array([0.0, 1.0]) for c in cells}, one=one)


def snap(src: Cell, dst: Cell, one: Cell, extra: dict | None = None, count: int = 1):
    """dst := [src (and the extra 0/1 conditions) all true], a slope-4 step on bools (exact)."""
    conditions = {src: PICK_TRUE}
    if extra:
        conditions.update(extra)
    return step_ff(conditions, count, {dst: TRUE}, one=one, note=f"{dst.name} = snap")
