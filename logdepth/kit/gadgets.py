"""Gadgets of Appendix A that the constructions share: position offsets (Lemma 7), equality
retrieval, equality flags (Lemma 8), the nearest-previous retrieval of Lemma 10 and Theorem 1,
sign reads (Appendix A.1), gating and saturating steps.

The gadget kit (`logdepth.kit`, its package docstring lists the modules) defines each helper
once; this module holds the Appendix A gadgets above.

Conventions (docs/architecture.md, "Named cells"). Token index i counts from BoS = 0, so
causal attention at i sees
i + 1 keys. Integers are hashed as phi(lambda v), lambda = hashing.POSITION_SCALE (pass
`scale=1.0` for the paper's unscaled phi(v)). Every function returns `Head`s, `FeedForward`s or
`Layer`s over named cells; the caller places them in its program and declares clears.

What is exact and what is robust:
- a head with zero query scores every key 0 exactly: its average is exact up to one rounding;
- an equality retrieval (`lookup_head`) picks the unique key whose hash equals the query's;
  the runner-up is `hashing.neighbour_gap` below, which the frontier keeps above the noise;
- a sign read returns exactly -1, 0 or +1 (masked pre-norm of a lone scalar);
- the equality flag (`equality_layers`) is exactly 0 or 1: both operands are first replaced by
  the canonical copy retrieved from the position table, so equal values are bitwise equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from logdepth.compiler.cells import PICK_TRUE, Cell, Layout
from logdepth.compiler.program import CellMap, FeedForward, Head, Layer
from logdepth.kit.feedforward import stack_ff
from logdepth.kit.hashing import (
    IDENTITY4,
    POSITION_SCALE,
    Average,
    PsiTerm,
    average_of,
    first_coordinate,
)

# ---------------------------------------------------------------------------------------------
# Averages every construction uses
# ---------------------------------------------------------------------------------------------


def avg_one(one: Cell) -> Average:
    """avg_{j<=i} 1 = 1."""
    return average_of("one", one, [1.0])


def avg_bos(bos: Cell) -> Average:
    """avg_{j<=i} [j = 0] = 1 / (i + 1) (the BoS flag is the bool cell <b, 1 - b>)."""
    return average_of("bos", bos, PICK_TRUE)


def avg_flag(cell: Cell, name: str | None = None) -> Average:
    """avg_{j<=i} flag_j = (number of flagged j <= i) / (i + 1) for a bool cell."""
    return average_of(name or f"flag:{cell.name}", cell, PICK_TRUE)


def offset_term(
    cell: Cell, k: float, *, one: Cell, bos: Cell, scale: float = POSITION_SCALE
) -> tuple[PsiTerm, list[Average]]:
    """Lemma 7 (position offsets): psi(scale (i - k) / (i + 1), 1 / (i + 1)), read as
    phi(scale (i - k)), from two uniform averages: 1 and [j = 0].

    The paper's heads average [j >= k] and get (i - k + 1)/(i + 1) with BoS at index 0 (an
    off-by-one, docs/errata.md); we average 1 - (k + 1)[j = 0], whose sum over j <= i is i - k
    exactly, so the cell holds phi(scale (i - k)) at every position (also i < k, negative), and
    needs no [i < k] flags.
    """
    term = PsiTerm(cell, a={"one": scale, "bos": -scale * (k + 1)}, b={"bos": 1.0})
    return term, [avg_one(one), avg_bos(bos)]


def count_term(
    cell: Cell,
    flag: Average,
    *,
    bos: Cell,
    minus_bos: float = 0.0,
    scale: float = POSITION_SCALE,
) -> tuple[PsiTerm, list[Average]]:
    """psi(scale (c_i - minus_bos) / (i + 1), 1 / (i + 1)) with c_i = sum_{j<=i} flag_j: read as
    phi(scale (c_i - minus_bos)) (Theorem 1's prefix count of active tokens)."""
    term = PsiTerm(cell, a={flag.name: scale, "bos": -scale * minus_bos}, b={"bos": 1.0})
    return term, [flag, avg_bos(bos)]


# ---------------------------------------------------------------------------------------------
# Retrieval heads
# ---------------------------------------------------------------------------------------------


def copy_maps(values: Mapping[Cell, Cell]) -> tuple[CellMap, CellMap]:
    """Value and output maps that copy each source cell (at the attended key) into its target
    cell (at the query): the value stacks the sources, the output unstacks them."""
    sizes = [src.size for src in values]
    if any(src.size != dst.size for src, dst in values.items()):
        raise ValueError("copy_maps: a source and its target differ in size")
    total = sum(sizes)
    value: dict[Cell, np.ndarray] = {}
    out: dict[Cell, np.ndarray] = {}
    at = 0
    for src, dst in values.items():
        block = value.setdefault(src, np.zeros((total, src.size)))
        block[at : at + src.size] += np.eye(src.size)
        oblock = out.setdefault(dst, np.zeros((dst.size, total)))
        oblock[:, at : at + dst.size] += np.eye(dst.size)
        at += src.size
    return value, out


def lookup_head(
    query: Cell,
    key: Cell,
    values: Mapping[Cell, Cell],
    *,
    causal: bool = True,
    note: str = "",
) -> Head:
    """Equality retrieval (Lemma 1 layer 6, Theorem 1 merge step 2): the query phi(x_i) against
    keys phi(y_j) scores phi(x).phi(y) <= 1 with equality iff x = y, so the head copies the
    values of the key holding the same hash. `values` maps source cell (at the key) -> target
    cell (at the query). With `query` a non-integer hash it attends to the nearest key in angle
    (the floor retrieval of `division`)."""
    value, out = copy_maps(values)
    return Head(
        query={query: IDENTITY4},
        key={key: IDENTITY4},
        value=value,
        out=out,
        causal=causal,
        note=note or f"{query.name} = {key.name} -> copy {', '.join(c.name for c in values)}",
    )


def nearest_previous_head(
    flag: Cell,
    position: Cell,
    one: Cell,
    values: Mapping[Cell, Cell],
    *,
    note: str = "",
) -> Head:
    """Retrieve the values of the largest j <= i with flag_j = 1 (Lemma 10; Theorem 1's merge
    step 3 and the accumulator at $).

    Query <1, 1>, key <flag_j, [phi(lambda j)]_0>: the score flag_j + [phi(lambda j)]_0 is
    largest at the largest flagged j, since [phi]_0 is increasing in j and stays below
    1/sqrt(2) (so a flagged key always beats an unflagged one by 1 - 1/sqrt(2)). The
    camera-ready text's Lemma 10 writes a minus sign, which would select the smallest flagged j
    (docs/errata.md). If no j <= i is flagged the head returns the values at i itself.
    """
    value, out = copy_maps(values)
    return Head(
        query={one: np.array([[1.0], [1.0]])},
        key={
            flag: np.vstack([PICK_TRUE, np.zeros(2)]),
            position: np.vstack([np.zeros(4), first_coordinate(position)]),
        },
        value=value,
        out=out,
        causal=True,
        note=note or f"nearest previous {flag.name} -> copy {', '.join(c.name for c in values)}",
    )


def sign_read_head(scalar: Cell, out: Cell, out_map: np.ndarray, *, note: str = "") -> Head:
    """Read sgn(s) by attention (Appendix A.1): the sublayer must read the scalar alone, so
    masked pre-norm gives sigma = sgn(s) in {-1, 0, +1}. Query = key = value = sigma: the
    keys with the same sign tie at score 1 (exactly) and all carry the value sigma, so the head
    returns sigma exactly. `out_map` [out.size, 1] places it (e.g. [[-1/2], [1/2]] adds
    (-sigma/2, sigma/2) to a bool initialised to (1/2, 1/2): the bool [s < 0])."""
    one_by_one = np.array([[1.0]])
    return Head(
        query={scalar: one_by_one},
        key={scalar: one_by_one},
        value={scalar: one_by_one},
        out={out: np.asarray(out_map, dtype=float).reshape(out.size, 1)},
        causal=True,
        note=note or f"sign of {scalar.name}",
    )


# ---------------------------------------------------------------------------------------------
# Lemma 8: equality flags
# ---------------------------------------------------------------------------------------------


@dataclass
class EqualityGadget:
    """Lemma 8 as two layers (plus a cleanup feed-forward the caller places later).

    No construction uses it: it is the tested reference for Lemma 8 (tests/constructions/
    test_gadgets.py). Theorem 2 detects [i = j] by a tie with BoS instead (connectivity.py,
    docs/errata.md), since its two coordinate hashes are copied from different table rows.

    layers[0]: two equality retrievals replace phi(x) and phi(y) by their canonical copies from
               the position table; the feed-forward writes d = [copy x]_0 - [copy y]_0.
    layers[1]: a uniform head over the constant cell alone writes the flag's constant (1, 0)
               exactly; the feed-forward reads d alone, sigma = sgn(d), and adds
               (-|sigma|, |sigma|): flag = [x = y] exactly.
    `cleanup` reads the same cells as layers[0]'s feed-forward (so it recomputes d bitwise) and
    removes d and the copies; it must run before those cells change.
    """

    layers: list[Layer]
    flag: Cell
    cleanup: FeedForward


def _equality_sign_layer(name: str, one: Cell, d: Cell, flag: Cell) -> Layer:
    """Lemma 8's second layer: flag := (1, 0) by a uniform head over the constant cell alone
    (exact), then flag -= |sgn d| by a feed-forward that reads d alone."""
    constant = Head(
        query={one: np.zeros((1, 1))},
        key={one: np.zeros((1, 1))},
        value={one: np.array([[1.0]])},
        out={flag: np.array([[1.0], [0.0]])},
        note="flag := (1, 0) (uniform over the constant cell alone: exact)",
    )
    sign = FeedForward(
        w_in={d: np.array([[1.0], [-1.0]])},
        w_out={flag: np.array([[-1.0, -1.0], [1.0, 1.0]])},
        note="flag -= |sgn d|",
    )
    return Layer(
        f"Lemma 8 ({name}): flag = 1 - |sgn(d)|", heads=[constant], ff=sign, updates=(flag,)
    )


def _clear_copy(cell: Cell, other: Cell) -> FeedForward:
    """cell := 0 (relu(v) - relu(-v) per coordinate), reading `other` too (weight 0) so the
    pre-norm matches the difference's read (Lemma 5)."""
    return FeedForward(
        w_in={cell: np.vstack([np.eye(4), -np.eye(4)]), other: np.zeros((8, 4))},
        w_out={cell: np.hstack([-np.eye(4), np.eye(4)])},
    )


def equality_layers(
    layout: Layout,
    x: Cell,
    y: Cell,
    position: Cell,
    *,
    one: Cell,
    bos: Cell,
    name: str = "eq",
    causal: bool = True,
) -> EqualityGadget:
    """Lemma 8: write [x = y] for hashes x, y of integers in 0..i (0..n with causal=False).
    The tested reference for Lemma 8 (`EqualityGadget`: no construction uses it).

    The paper writes x - y and reads sgn; in floating point two hashes of the same integer
    computed along different paths differ by rounding, so sgn(x - y) would be +-1. Retrieving
    both from the position table first makes equal values bitwise equal (the same key's value
    vector through the same value map), and the difference of one coordinate each, with weights
    +-2 (the read of four unit cells is scaled by exactly 2), is exactly 0.
    """
    xc = layout.phi(f"{name}.x")
    yc = layout.phi(f"{name}.y")
    d = layout.scalar(f"{name}.d")
    flag = layout.bool(f"{name}.flag")
    heads = [
        lookup_head(x, position, {position: xc}, causal=causal, note=f"canonical {x.name}"),
        lookup_head(y, position, {position: yc}, causal=causal, note=f"canonical {y.name}"),
    ]
    pick0 = np.array([[1.0, 0.0, 0.0, 0.0]])
    # Four unit cells read together: the folded pre-norm scale is sqrt(4) = 2 exactly.
    reads = {xc: pick0, yc: -pick0, one: np.zeros((1, 1)), bos: np.zeros((1, 2))}

    def difference(sign: float) -> FeedForward:
        w_in = {c: np.vstack([b, -b]) for c, b in reads.items()}
        return FeedForward(w_in=w_in, w_out={d: sign * np.array([[1.0, -1.0]])})

    first = Layer(
        f"Lemma 8 ({name}): canonical copies of {x.name}, {y.name}; d = difference",
        heads=heads,
        ff=difference(1.0),
    )
    second = _equality_sign_layer(name, one, d, flag)
    removal = stack_ff(
        [difference(-1.0), _clear_copy(xc, yc), _clear_copy(yc, xc)],
        note=f"clear {name} temporaries",
    )
    return EqualityGadget([first, second], flag, removal)


# ---------------------------------------------------------------------------------------------
# Gating (bilinear products of a 0/1 flag and a bounded vector)
# ---------------------------------------------------------------------------------------------


def gate_ff(
    flag: Mapping[Cell, np.ndarray],
    src: Cell,
    dst: Cell,
    default: np.ndarray,
    *,
    one: Cell,
    note: str = "",
) -> FeedForward:
    """dst += (src if f = 1 else default), where f is a linear form over unit cells (`flag`:
    cell -> row) taking the values 0 or 1, and every coordinate of src lies in [-1, 1].

    relu(s_t + f - 1) - relu(-s_t + f - 1) is s_t when f = 1 and 0 when f = 0 (|s_t| <= 1); the
    default part is default * (1 - f), linear. This is how a product such as [j = 0] * phi(m)
    is formed without biases (Lemma 1 with a modulus held in a cell)."""
    size = src.size
    if dst.size != size or len(default) != size:
        raise ValueError("gate_ff: src, dst and default must have the same size")
    units = 2 * size + 2
    w_in: dict[Cell, np.ndarray] = {src: np.zeros((units, size)), one: np.zeros((units, 1))}
    for cell in flag:
        w_in.setdefault(cell, np.zeros((units, cell.size)))
    w_out = {dst: np.zeros((size, units))}
    for t in range(size):
        for k, sgn in enumerate((1.0, -1.0)):
            u = 2 * t + k
            w_in[src][u, t] = sgn
            for cell, row in flag.items():
                w_in[cell][u] += np.asarray(row, dtype=float).reshape(cell.size)
            w_in[one][u, 0] -= 1.0
            w_out[dst][t, u] = sgn
    # default * (1 - f) = default * (relu(1 - f) - relu(f - 1))
    for k, sgn in enumerate((1.0, -1.0)):
        u = 2 * size + k
        w_in[one][u, 0] += sgn
        for cell, row in flag.items():
            w_in[cell][u] -= sgn * np.asarray(row, dtype=float).reshape(cell.size)
        w_out[dst][:, u] = sgn * np.asarray(default, dtype=float)
    return FeedForward(w_in=w_in, w_out=w_out, note=note or f"{dst.name} = gate({src.name})")


# Saturating steps. A conjunction of k 0/1 conditions is the step [s >= k] of their sum s; one
# ReLU unit relu(c (s - k + 1/2)) has slope c at its output, so every input error is multiplied
# by c and, through a loop, compounds from level to level (the div5 failure, docs/precision.md).
# Two units relu(4t) - relu(4t - 1), t = s - k + 1/2, are flat on both sides: exactly 1 for
# t >= 1/4 and exactly 0 for t <= 0. In exact arithmetic an input error below 1/4 changes
# nothing; in floating point the output carries only the rounding of the two pre-activations,
# never the inputs' error.
STEP_SLOPE = 4.0
STEP_MARGIN = 1.0 / STEP_SLOPE  # the input error a step absorbs, on either side


def saturating_ff(
    conditions: Mapping[Cell, np.ndarray],
    threshold: np.ndarray,
    out: Mapping[Cell, np.ndarray],
    *,
    one: Cell,
    note: str = "",
) -> FeedForward:
    """Many saturating steps side by side: step u adds out[:, u] where s_u >= threshold[u].

    conditions: cell -> [units, cell.size], the rows forming each step's sum s_u of 0/1
    conditions; threshold: [units] (the k of each conjunction, or a count); out: cell ->
    [cell.size, units] (what each step adds when it fires). Two hidden units per step.
    """
    threshold = np.asarray(threshold, dtype=float).reshape(-1)
    units = len(threshold)
    bias = STEP_SLOPE * (0.5 - threshold)
    w_in: dict[Cell, np.ndarray] = {one: np.zeros((2 * units, 1))}
    for cell, rows in conditions.items():
        rows = STEP_SLOPE * np.asarray(rows, dtype=float).reshape(units, cell.size)
        block = w_in.setdefault(cell, np.zeros((2 * units, cell.size)))
        block += np.vstack([rows, rows])
    w_in[one][:, 0] += np.concatenate([bias, bias - 1.0])
    w_out = {}
    for cell, cols in out.items():
        cols = np.asarray(cols, dtype=float).reshape(cell.size, units)
        w_out[cell] = np.hstack([cols, -cols])
    return FeedForward(w_in=w_in, w_out=w_out, note=note or "saturating steps")


def step_ff(
    conditions: Mapping[Cell, np.ndarray],
    count: float,
    out: Mapping[Cell, np.ndarray],
    *,
    one: Cell,
    note: str = "",
) -> FeedForward:
    """out += [s >= count] * (each out row), with s = sum of 0/1 conditions (`conditions`: cell
    -> row; a negated condition 1 - b is a row -b plus 1 in `one`'s row). One saturating step
    (`saturating_ff`): input errors up to STEP_MARGIN are absorbed instead of passed on (a
    single ReLU conjunction would hand its inputs' rounding errors to its output, and through
    the loop they compound: docs/errata.md, Theorem 1 precision).
    """
    rows = {c: np.asarray(r, dtype=float).reshape(1, c.size) for c, r in conditions.items()}
    if one in rows:  # the constant part of a negated condition moves into the threshold
        extra = float(rows.pop(one)[0, 0])
        count -= extra
    cols = {c: np.asarray(r, dtype=float).reshape(c.size, 1) for c, r in out.items()}
    return saturating_ff(rows, np.array([count]), cols, one=one, note=note or "step")


def constant_ff(out: Mapping[Cell, np.ndarray], *, one: Cell, note: str = "") -> FeedForward:
    """out += constant rows (one ReLU unit reading the constant-one cell)."""
    w_out = {c: np.asarray(r, dtype=float).reshape(c.size, 1) for c, r in out.items()}
    return FeedForward(w_in={one: np.array([[1.0]])}, w_out=w_out, note=note or "constant")
