"""Precision of Theorem 2's construction: the score gaps, the tie tolerance, the frontier.

Averaging-hard attention needs two things of the arithmetic (docs/precision.md):
- scores that tie in exact arithmetic must land within the tie tolerance TAU of each other, so
  TAU must exceed twice the rounding error of a score; and
- a key that should lose must score more than TAU (plus that rounding, twice) below the best.

The division is Lemma 1's shared block (`division.DivisionBuilder`), whose integers are hashed
with a fixed scale, phi(lambda v), lambda = HASH_SCALE; the coordinates are phi(c + 1). A wrong
key of a hash comparison loses 1 - cos(delta), delta the angle between its hash and the
query's. `smallest_gap(n)` is the smallest legitimate gap over every head (and sign read) and
every position of an n-vertex input, N = 1 + n^2 + n^3 + 2n tokens at most (s, t <= n):

- "position": phi(lambda v) against phi(lambda (v + 1)), v < N: the lookups of rows j - 1, r,
  r2 (layers 10-12), the self-match storing phi(lambda (j - 1)) (layer 9), the [i = j] test's
  self key (layer 13). For lambda v >> 1 it is about 1/(2 lambda^2 v^4): this is the gap that
  ends the float64 frontier.
- "fquery": Lemma 1 layer 3's self-match on its floor query, values (j - (n-1)/2)/n, spacing
  1/n (host layer 4).
- "floor": Lemma 1 layer 4's centred floor retrieval (`hashing.floor_margin` with m = n).
- "sign": Lemma 1 layer 5's sign read, |S| = |[phi(lambda (j - 1/2)/n)]_0 -
  [phi(lambda floor(j/n))]_0| (a sign read needs no tolerance, only that rounding cannot flip
  S; counting it here with the same threshold is conservative).
- "coordinate": phi(c + 1) against phi(c + 2), c + 2 <= n: the C-layer lookups, the window of
  h, the final lookup, the [i = j] test; about 1/(2 n^4).
- "latest": the repeated B-layer's self-copy, increments of [phi(lambda j)]_0 between
  neighbouring positions.
The remaining terms (type flags, BoS's self weight, the competitor flag, the step reading
[k = 0] with margin 1/2) have gaps of order 1.

Why lambda = 2^-13. The old private division hashed x / n^3 (an n-dependent scale built from
layer 1's statistics), whose gaps shrink like 1/n^6; Lemma 1's block hashes with one fixed
lambda for every n (the weights do not know n), so the position gap at v ~ n^3 is
~ 1/(2 lambda^2 n^12), and the floor retrieval's and the floor query's gaps behave like
lambda^2 / n^2 at small v. Scanning lambda = 2^-6 .. 2^-16 for the float64 frontier gives 18,
20, 23, 25, 29, 32, 36, 41, 39, 19, 9: 2^-13 is the best, and the position gap ends it (from
2^-14 on Lemma 1's floor query self-match does).

Rounding. A score is sum_r q_r k_r over at most d_head rows; each q_r (k_r) is a short dot
product (one cell, at most 6 entries) with the normalized stream z = h/|h|, whose entries carry
a relative error of at most (d_model/2 + 2) u (the norm is a d_model-term sum of squares, then a
root and a division; u the unit roundoff). So every factor is off by at most ~(d_model/2 + 8) u
relatively, and the whole score by at most rounding_terms() * u * SCORE_MAGNITUDE, where
`rounding_terms(shape)` = 2 (d_model/2 + 8) + d_head accumulated (both read off the program
by the builder, `constructions.connectivity.program_shape`) operations and SCORE_MAGNITUDE
bounds sum_r |q_r k_r| (two hash cosines, each <= 1 by Cauchy-Schwarz, a type flag and BoS's
self weight 4).

TAU = 2^-40 (about 9.1e-13) exceeds twice the float64 bound (about 2.6e-13). The float64
frontier is the largest n with smallest_gap(n) > TAU + 2 * bound. Float32: Lemma 1's equality
and floor decisions are exact arguments or sign reads, but three heads of Theorem 2 still
decide by ties between scores computed at different positions: the [i = j] test (self against
BoS), the window of h (the n pads (i, ., j) must tie) and, through h, every B_l. Their scores
differ by the rounding of each key's masked pre-norm, about 1e-5 in float32, far above the one
stored tolerance TAU. And even with every tie made bitwise, Lemma 1's own gaps are below the
float32 rounding: the floor query's self-match gap is lambda^2/(2 n^2) (3.7e-9 at n = 1 with
lambda = 2^-13; 3.0e-5 at n = 2 even with Theorem 1's lambda = 2^-6), against twice the float32
bound, 1.4e-4. So the float32 frontier is 0 (every input is refused); see docs/errata.md
("Theorem 2", precision).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

import numpy as np

from logdepth.catalog import GRAPH_SHAPE
from logdepth.kit.hashing import floor_margin, neighbour_gap, phi_first
from logdepth.precision import MAX_EMULATED_BITS, bits_of, tolerance_at, unit_roundoff

TAU = 2.0**-40
TIE_TOLERANCE = TAU
# lambda of Lemma 1's hashes phi(lambda v) (module docstring: why 2^-13); a power of two, so
# lambda v is exact.
HASH_SCALE = 2.0**-13
# mu of the modulus cell phi(mu n) (Lemma 1 with the modulus in a cell).
MODULUS_SCALE = 2.0**-6


# (d_model, widest head) of the program, read off it by the builder
# (`constructions.connectivity.program_shape`) and passed in, or the catalog's statement of it
# (`catalog.GRAPH_SHAPE`, checked against the builder by the tests): this model imports no
# builder.
Shape = tuple[int, int]


def rounding_terms(shape: Shape) -> int:
    """2 (d_model/2 + 8) + d_head accumulated operations of one score (module docstring)."""
    d_model, d_head = shape
    return 2 * (d_model // 2 + 8) + d_head


# sum_r |q_r k_r| <= 1 + 1 + 1 + 4 (two cosines, a type flag, BoS's self weight).
SCORE_MAGNITUDE = 7.0
# Scanned vertex counts: beyond this the input (n^3 pads) is far past any machine anyway.
MAX_SCANNED_N = 256


def tokens(n: int) -> int:
    """Largest input length for n vertices: BoS, n^2 entries, n^3 pads, s + t <= 2n."""
    return 1 + n * n + n**3 + 2 * n


def _bits(dtype_or_bits: str | int) -> int:
    return bits_of(dtype_or_bits) if isinstance(dtype_or_bits, str) else int(dtype_or_bits)


def rounding_bound(dtype_or_bits: str | int, shape: Shape) -> float:
    """Worst-case absolute rounding error of one attention score at p stored mantissa bits (or
    a dtype name), unit roundoff u = 2^-(p+1), for a program of this shape."""
    k = rounding_terms(shape) * unit_roundoff(_bits(dtype_or_bits))
    return k / (1.0 - k) * SCORE_MAGNITUDE


def model_at(shape: Shape) -> tuple[float, Callable[[int], int]]:
    """(tie tolerance, n(p)) of Theorem 2 for a program of this shape."""
    return TIE_TOLERANCE, functools.partial(frontier_for_bits, shape=shape)


def precision_model(report: Mapping[str, Any] | None = None) -> tuple[float, Callable[[int], int]]:
    """(tie tolerance, n(p)) of Theorem 2, for the catalog: every build has the same program,
    whose shape the catalog states (`catalog.GRAPH_SHAPE`; tests/test_catalog_build.py checks
    it against the builder's `program_shape`), so the report adds nothing."""
    return model_at(GRAPH_SHAPE)


def tau_for(bits: int) -> float:
    """The tolerance the model applies at p bits: the stored TAU (float64's) x 2^(52 - p)
    (UniversalTransformer.tie_tolerance)."""
    return tolerance_at(TAU, bits)


@cache
def score_gaps(n: int) -> dict[str, float]:
    """Smallest gap of each family (module docstring) for n-vertex inputs."""
    n = int(n)
    lam = HASH_SCALE
    j = np.arange(0, tokens(n) + 1, dtype=np.float64)
    gaps: dict[str, float] = {"position": float(neighbour_gap(j[:-1], 1.0, lam).min())}
    gaps["fquery"] = float(neighbour_gap((j[:-1] - (n - 1) / 2.0) / n, 1.0 / n, lam).min())
    gaps["floor"] = float(floor_margin(j, float(n), lam).min())
    gaps["sign"] = float(
        np.abs(phi_first((j - 0.5) / n, lam) - phi_first(np.floor(j / n), lam)).min()
    )
    if n > 1:
        c = np.arange(1, n, dtype=np.float64)  # phi(c) vs phi(c + 1), c + 1 <= n
        gaps["coordinate"] = float(neighbour_gap(c, 1.0, 1.0).min())
    gaps["latest"] = float(np.diff(phi_first(j, lam)).min())
    return gaps


def smallest_gap(n: int) -> float:
    """The smallest legitimate score gap of the construction on n-vertex inputs."""
    return min(score_gaps(n).values())


def frontier_for_bits(dtype_or_bits: str | int, tau: float | None = None, *, shape: Shape) -> int:
    """Largest n (scanned up to MAX_SCANNED_N) such that ties stay within tau and every
    legitimate gap clears tau plus twice the rounding bound at p bits (or a dtype name); tau
    defaults to the tolerance the model applies at p (tau_for); 0 if none."""
    bits = _bits(dtype_or_bits)
    tau = tau_for(bits) if tau is None else tau
    err = rounding_bound(bits, shape)
    if 2.0 * err >= tau:
        return 0
    best = 0
    # Lemma 1's floor retrieval also needs n < 4/lambda (division.max_modulus); far above.
    for n in range(1, min(MAX_SCANNED_N, math.ceil(4.0 / HASH_SCALE) - 1) + 1):
        if smallest_gap(n) > tau + 2.0 * err:
            best = n
        else:
            break
    return best


def frontier(shape: Shape) -> dict[str, int]:
    """The stored frontier: largest vertex count derived per dtype."""
    return {dtype: frontier_for_bits(dtype, shape=shape) for dtype in ("float64", "float32")}


def frontier_curve(shape: Shape) -> dict[str, int]:
    """n(p) for every p the emulator runs, and 52 (stored in reports, like Theorem 1's)."""
    bits = (*range(16, MAX_EMULATED_BITS + 1), 52)
    return {str(p): frontier_for_bits(p, shape=shape) for p in bits}


def explain(shape: Shape) -> dict[str, object]:
    """Numbers behind the frontier, for the weight file's report."""
    f = frontier(shape)
    n64 = f["float64"]
    return {
        "tie_tolerance": TAU,
        "rounding_bound": {d: rounding_bound(d, shape) for d in ("float64", "float32")},
        "frontier": f,
        "gap_at_frontier": score_gaps(n64) if n64 else {},
        "gap_past_frontier": smallest_gap(n64 + 1) if n64 else None,
    }
