"""Precision of Theorem 2's construction: the score gaps, the tie tolerance, the frontier.

Averaging-hard attention needs two things of the arithmetic (digest 8.4):
- scores that tie in exact arithmetic must land within the tie tolerance TAU of each other, so
  TAU must exceed twice the rounding error of a score; and
- a key that should lose must score more than TAU (plus that rounding, twice) below the best.

Every hard decision of the construction compares hash cosines phi(a) . phi(b) = cos(atan a -
atan b); a wrong key of one of those heads loses at least the deficit 1 - cos(delta), delta the
angle between its hash and the query's. `score_gap(n)` is the smallest such deficit over every
head and every position of an n-vertex input (each family below is named after its layer):

- "multiple" (Lemma 9, layer 6): phi(x/n^3) against the keys phi(y/n^2); when n does not divide
  x, x/n is at least 1/n from every integer y; about 1/(10 n^6).
- "self" (the [i = j] test, layer 15, and position identity): phi(x/n^3) against its neighbour
  phi((x - 1)/n^3); about 1/(8 n^6).
- "quotient" (Lemma 11's window, lookups of layers 10-11): phi(r/n^2) against phi((r +- 1)/n^2)
  for every quotient r; about 1/(9 n^4).
- "coordinate" (repeated layers, final layer): phi(c + 1) against phi(c + 2), c < n;
  about 1/(2 n^4).
- "latest" (Lemma 10's and the self-copy's tie-break [phi(x/n^3)]_z): its smallest increment
  between neighbouring positions; about 1/(4 n^3).
The remaining terms (type flags, BoS's penalty, the weight 2 on multiples) have gaps of order 1.

Rounding. A score is sum_r q_r k_r over at most D_HEAD rows; each q_r (k_r) is a short dot
product (one cell, at most 6 entries) with the normalized stream z = h/|h|, whose entries carry
a relative error of at most (d_model/2 + 2) u (the norm is a d_model-term sum of squares, then a
root and a division; u the unit roundoff). So every factor is off by at most ~(d_model/2 + 8) u
relatively, and the whole score by at most ROUNDING_TERMS * u * SCORE_MAGNITUDE, where
ROUNDING_TERMS = 2 (D_MODEL_MAX/2 + 8) + D_HEAD accumulated operations and SCORE_MAGNITUDE
bounds sum_r |q_r k_r| (two hash cosines, each <= 1 by Cauchy-Schwarz, a type flag and a BoS
flag of weight <= 2).

TAU = 2^-40 (about 9.1e-13) exceeds twice the float64 bound (about 8.5e-14). The float64
frontier is the largest n with score_gap(n) > TAU + 2 * bound. In float32 the bound (about 5e-5)
is far above TAU: scores that tie exactly (a match against BoS, the n pads of a window) would no
longer tie, so the weights have no float32 frontier at all (0: every input is refused); see
docs/errata.md ("Theorem 2", precision) and tests/constructions/test_connectivity_precision.py.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

TAU = 2.0**-40
TIE_TOLERANCE = TAU
# The widest head of the construction pairs 10 rows (two phi cells, a type flag, a BoS flag).
D_HEAD = 10
# The construction's d_model is below this (checked by the tests).
D_MODEL_MAX = 100
ROUNDING_TERMS = 2 * (D_MODEL_MAX // 2 + 8) + D_HEAD
# sum_r |q_r k_r| <= 1 + 1 + 1 + 2 (two cosines, a type flag, BoS's self weight), rounded up.
SCORE_MAGNITUDE = 6.0
UNIT_ROUNDOFF = {"float64": 2.0**-53, "float32": 2.0**-24}
# Scanned vertex counts: beyond this the input (n^3 pads) is far past any machine anyway.
MAX_SCANNED_N = 256


def rounding_bound(dtype: str) -> float:
    """Worst-case absolute rounding error of one attention score in `dtype`."""
    k = ROUNDING_TERMS * UNIT_ROUNDOFF[dtype]
    return k / (1.0 - k) * SCORE_MAGNITUDE


def _deficit(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """1 - cos(atan a - atan b) for tan(delta) = num/den = (a - b)/(1 + ab), computed as
    2 sin^2(delta/2) so that tiny deficits keep full relative precision."""
    delta = np.arctan2(np.abs(num), den)
    return 2.0 * np.sin(delta / 2.0) ** 2


@cache
def gap_families(n: int) -> dict[str, float]:
    """Smallest deficit of each family (module docstring) for n-vertex inputs."""
    n = int(n)
    # x over every non-BoS position (s, t <= n add at most 2n tokens after the pads).
    x = np.arange(-(n**2), n**3 + 2 * n, dtype=np.float64)
    n2, n3 = float(n**2), float(n**3)
    gaps: dict[str, float] = {}
    # multiple: query a = x/n^3, key b = y/n^2 for y = floor(x/n), ceil(x/n); a - b = (x - n y)/n^3.
    off = x[np.mod(x, n) != 0] if n > 1 else np.array([])
    if off.size:
        best = np.full(off.shape, np.inf)
        for y in (np.floor(off / n), np.ceil(off / n)):
            a, b = off / n3, y / n2
            best = np.minimum(best, _deficit((off - n * y) / n3, 1.0 + a * b))
        gaps["multiple"] = float(best.min())
    # self: phi(x/n^3) against phi((x - 1)/n^3).
    a, b = x[1:] / n3, x[:-1] / n3
    gaps["self"] = float(_deficit(np.full(a.shape, 1.0 / n3), 1.0 + a * b).min())
    # quotient: r over every quotient floor(x/n) and one beyond; phi(r/n^2) vs phi((r+1)/n^2).
    r = np.arange(math.floor(-(n**2) / n) - 1, (n**3 + 2 * n) // n + 2, dtype=np.float64)
    a, b = r[1:] / n2, r[:-1] / n2
    gaps["quotient"] = float(_deficit(np.full(a.shape, 1.0 / n2), 1.0 + a * b).min())
    # coordinate: phi(c + 1) vs phi(c + 2) for c + 2 <= n.
    if n > 1:
        c = np.arange(1, n, dtype=np.float64)
        gaps["coordinate"] = float(_deficit(np.ones_like(c), 1.0 + c * (c + 1.0)).min())
    # latest: increments of z/sqrt(2 z^2 + 2) between neighbouring x/n^3.
    z = x / n3
    first = z / np.sqrt(2.0 * z * z + 2.0)
    gaps["latest"] = float(np.diff(first).min())
    return gaps


def score_gap(n: int) -> float:
    """The smallest legitimate score gap of the construction on n-vertex inputs."""
    return min(gap_families(n).values())


def frontier_for(dtype: str, tau: float = TAU) -> int:
    """Largest n (scanned up to MAX_SCANNED_N) such that ties stay within tau and every
    legitimate gap clears tau plus twice the rounding bound in `dtype`; 0 if none."""
    err = rounding_bound(dtype)
    if 2.0 * err >= tau:
        return 0
    best = 0
    for n in range(1, MAX_SCANNED_N + 1):
        if score_gap(n) > tau + 2.0 * err:
            best = n
        else:
            break
    return best


def frontier() -> dict[str, int]:
    """The stored frontier: largest vertex count verified per dtype."""
    return {dtype: frontier_for(dtype) for dtype in ("float64", "float32")}


def explain() -> dict[str, object]:
    """Numbers behind the frontier, for the weight file's report."""
    f = frontier()
    n64 = f["float64"]
    return {
        "tie_tolerance": TAU,
        "rounding_bound": {d: rounding_bound(d) for d in UNIT_ROUNDOFF},
        "frontier": f,
        "gap_at_frontier": gap_families(n64) if n64 else {},
        "gap_past_frontier": score_gap(n64 + 1) if n64 else None,
    }
