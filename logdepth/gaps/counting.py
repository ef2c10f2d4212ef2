"""The gap model of modular counting (constructions/counting.py): Lemma 1's gaps for modulus m
(count lookups, the floor query, floor retrieval and sign read), the residue steps, the hash
scale lambda(m) and the frontier n(p) of one build (its modulus, from the report).

Numbers only (numpy); the counts' slots, drift and step-error budgets are the construction's
facts, stated here once and read by the builder.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from logdepth.errors import CompileError
from logdepth.gaps.regular import SCORE_NOISE_ULPS, score_noise, tie_tolerance
from logdepth.kit.bits import threshold_gap
from logdepth.kit.division import max_modulus
from logdepth.kit.gadgets import STEP_MARGIN
from logdepth.kit.hashing import (
    POSITION_SCALE,
    floor_margin,
    neighbour_gap,
    one_minus_cos,
    phi_first,
)
from logdepth.precision import bits_of, largest_clearing

# The sublayers where Lemma 1's block (int modulus) reads nothing, so a host may read a psi
# alone there: one count's psi -> phi conversion each (division.py's slot table).
COUNT_SLOTS = ("positions.ff", "queries.attn", "multiple.ff")


MAX_COUNTS = len(COUNT_SLOTS)


# Rounding drift of rem.b, the table's Lemma 11 remainder, in units of u (n + 2): its psi is
# lambda (j/(j+1) - m #mult/(j+1) + m/(j+1)) over 1/(j+1), each average within a few u, so the
# value j mod m read back is off by ~6 u (j + 1); the margin as in wide.DRIFT_ULPS.
DRIFT_ULPS = 16


# A fired saturating step's output is 1 up to the rounding of its two pre-activations, about
# u |4 t| each, with t = slope h <= 2 (m - 1) sqrt(1 + (lambda m)^2) for a threshold step on
# phi(lambda r), r < m: STEP_ERROR_ULPS u m sqrt(1 + (lambda m)^2) bounds it.
STEP_ERROR_ULPS = 16


FRONTIER_LIMIT = 1 << 20


# Positions covered by the cached running minima (the frontier searches run up to 2^20).
GAP_TABLE_POSITIONS = FRONTIER_LIMIT + 2


@functools.lru_cache(maxsize=16)
def _prefix_minima(m: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Running minima over positions j = 0, 1, ... of Lemma 1's floor-retrieval margin and of
    its sign read's |S| = |[phi(lambda (j - 1/2)/m)]_0 - [phi(lambda floor(j/m))]_0| (the
    frontier searches ask for them at many n; regular.py keeps the same table for m = 2)."""
    j = np.arange(GAP_TABLE_POSITIONS, dtype=float)
    sign = np.abs(phi_first((j - 0.5) / m, scale) - phi_first(np.floor(j / m), scale))
    return np.minimum.accumulate(floor_margin(j, float(m), scale)), np.minimum.accumulate(sign)


def _position_minima(top: int, m: int, scale: float) -> tuple[float, float]:
    """min over j = 0..top of the floor margin and of the sign read's |S|."""
    if top < GAP_TABLE_POSITIONS:
        floors, signs = _prefix_minima(m, scale)
        return float(floors[top]), float(signs[top])
    j = np.arange(top + 1, dtype=float)
    sign = np.abs(phi_first((j - 0.5) / m, scale) - phi_first(np.floor(j / m), scale))
    return float(floor_margin(j, float(m), scale).min()), float(sign.min())


def score_gaps(n: int, modulus: int, bits: int, scale: float | None = None) -> dict[str, float]:
    """The construction's smallest gaps at input size n (positions 0..n + 1) with p = `bits`,
    each on the scale where the score noise is SCORE_NOISE_ULPS ulps of 1.

    equality: hashes of neighbouring integers <= n + 1 (the count lookups, keys <= n + 1, and
        count.1's self-match);
    query: Lemma 1's floor query self-match, values (j - (m-1)/2)/m, spacing 1/m, at both ends;
    floor, sign: Lemma 1's floor retrieval margin and sign read over j <= n + 1;
    threshold: the steps on rem.b (values 0..m-1 at distance 1/2 - drift from the thresholds;
        the error of h = [phi]_0 - lambda theta [phi]_1 is at most (1 + lambda theta) noise);
    steps: what layer 8's steps have to spare (STEP_MARGIN) after the output errors of layer 7's
        steps, summed into S' = sum_b part.b, and 1/2 for the answer after layer 8's own.
    """
    m = modulus
    lam = position_scale(m) if scale is None else scale
    u = 2.0 ** -(bits + 1)
    top = n + 1
    floor_min, sign_min = _position_minima(top, m, lam)
    low, high = -(m - 1) / (2 * m), (top - (m - 1) / 2) / m
    query = min(
        float(one_minus_cos(lam * low, lam * (low + 1 / m))),
        float(neighbour_gap(max(high - 1 / m, low), 1 / m, lam)),
    )
    theta = m - 1.5  # the largest threshold
    d = 0.5 - DRIFT_ULPS * u * (n + 2)
    threshold = threshold_gap(theta, d, lam) / (1 + lam * theta) if d > 0 and m > 1 else -1.0
    step_error = STEP_ERROR_ULPS * u * m * math.sqrt(1 + (lam * m) ** 2)
    s_error = 2 * MAX_COUNTS * (m - 1) ** 2 * step_error  # 2: the codes' norm moves too
    answer_error = 16 * u * (MAX_COUNTS * m) ** 2
    return {
        "equality": float(neighbour_gap(max(top - 1, 0), 1.0, lam)),
        "query": query,
        "floor": floor_min,
        "sign": sign_min,
        "threshold": threshold,
        "steps": min(STEP_MARGIN - s_error, 0.5 - answer_error),
    }


def smallest_gap(n: int, modulus: int, bits: int, scale: float | None = None) -> float:
    return min(score_gaps(n, modulus, bits, scale).values())


@functools.lru_cache(maxsize=1024)
def frontier_for_bits(bits: int, modulus: int, *, scale: float | None = None) -> int:
    """n(p): the largest n <= 2^20 whose smallest gap exceeds twice the score noise at p =
    `bits` stored mantissa bits, for modulus m (the gaps shrink as n grows: binary search);
    -1 if even n = 0 fails. The scale is `position_scale(m)` unless given."""
    m = lifted_modulus(modulus)
    if not 2 <= m < max_modulus(POSITION_SCALE):
        raise CompileError(f"modulus {modulus} is outside 1..{int(max_modulus()) - 1}")
    need = 2.0 * score_noise(bits)
    return largest_clearing(lambda n: smallest_gap(n, m, bits, scale), need, FRONTIER_LIMIT)


def frontier(dtype: str, modulus: int) -> int:
    """The derived frontier of a dtype ("float64": p = 52, "float32": p = 23)."""
    return frontier_for_bits(bits_of(dtype), modulus)


def frontiers(modulus: int) -> dict[str, int]:
    """The frontier a weight file stores: each dtype whose n(p) is at least 0. A dtype where
    even n = 0 fails (float32 for m >= 25: no scale clears Lemma 1's floor query there) is left
    out, so the weights promise no input in it (CompiledModel refuses to run them there)."""
    out = {dtype: frontier(dtype, modulus) for dtype in ("float64", "float32")}
    return {dtype: n for dtype, n in out.items() if n >= 0}


@functools.lru_cache(maxsize=256)
def position_scale(modulus: int) -> float:
    """The hash scale lambda for modulus m: the smallest 2^-6 2^k (k >= 0, m < 4 / lambda, the
    floor retrieval's limit) whose float32 frontier is positive; 2^-6 if none is. Lemma 1's
    floor query compares values 1/m apart, a score gap of about (lambda / m)^2 / 2 already at
    n = 0, so a larger m needs a larger lambda; a larger lambda shrinks the gaps of large
    integers (~ 1 / (2 lambda^2 n^4)), so no larger than that."""
    m = lifted_modulus(modulus)
    k = 0
    while m < max_modulus(POSITION_SCALE * 2**k):
        lam = POSITION_SCALE * 2**k
        if frontier_for_bits(bits_of("float32"), m, scale=lam) > 0:
            return lam
        k += 1
    return POSITION_SCALE


def lifted_modulus(modulus: int) -> int:
    """Z_1 (a trivial language) is run as Z_2 with every weight 0: Lemma 1 needs m >= 2."""
    return max(int(modulus), 2)


def precision_model(report: Mapping[str, Any] | None = None) -> tuple[float, Callable[[int], int]]:
    """(tie tolerance, p -> n(p)) of a counting model, from its weight file's report (the
    catalog's precision interface): the frontier depends on the report's "modulus", the
    tolerance does not (Theorem 1's: every multi-key tie is bitwise or harmless, `score_gaps`)."""
    modulus = (report or {}).get("modulus")
    if isinstance(modulus, bool) or not isinstance(modulus, int):
        raise CompileError("a counting model's report names its modulus; this one does not")
    return tie_tolerance(), functools.partial(frontier_for_bits, modulus=lifted_modulus(modulus))


FRONTIER_METHOD = (
    "derived: the largest n whose smallest gap (count lookups, Lemma 1's block for this "
    f"modulus, the residue steps) exceeds twice the score noise ({SCORE_NOISE_ULPS} ulps at p "
    "bits); checked by p-bit emulation and by runs (docs/precision.md)"
)
