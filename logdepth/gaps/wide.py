"""The gap model of the wide Theorem 1 (constructions/wide.py, docs/wide.md): threshold gaps of
the digit stages, the snap margin, the fetch match, and the frontier n(p) below CAPACITY.

Numbers only (numpy); the digit widths are the construction's facts, stated here once and read
by the builder.
"""

from __future__ import annotations

import functools
import math

from logdepth.gaps.regular import score_noise, tie_tolerance
from logdepth.kit.bits import WIDE_SCALE, threshold_gap
from logdepth.kit.gadgets import STEP_MARGIN
from logdepth.precision import bits_of, largest_clearing

# Digit widths: the low digit m mod 2^LOW_BITS and the high digit floor(m / 2^LOW_BITS).
# Each stage costs (2^w - 1) threshold steps (the high stage 2^w more for the multiples flag),
# so two stages of 10 bits cost ~3,000 steps and cover m < 2^20 (the float64 target 10^6).
LOW_BITS = 10


HIGH_BITS = 10


BITS = LOW_BITS + HIGH_BITS


CAPACITY = 2**BITS - 1  # largest n: m = n must fit in BITS bits


# Rounding drift of a digit read from a uniform average, in units of u (n + 2): the numerator
# of psi is a combination of four averages (each within u of its value, the combination
# rounded once more), the denominator is 1/(t + 1), so the read value m or m mod D is off by
# at most ~6 u (t + 1); 16 leaves room for the pre-norm and the psi -> phi copy.
DRIFT_ULPS = 16


# The output error of an unsnapped threshold step, in units of u (n + 1): a threshold theta <= m
# that fires has slope S = 1/(2 |h(theta + 1/2)|) ~ sqrt(2) theta (scale 1), its two units read
# 4 S h with |h| <= 1/sqrt(2), so |4 S h| <= 4 theta, each rounded at u |4 S h|: ~8 u theta,
# at most 8 u (n + 1). Thresholds above m read a negative pre-activation: exactly 0.
STEP_ERROR_ULPS = 8


def drift(n: int, bits: int) -> float:
    """The largest rounding error of a digit read from a uniform average at positions <= n + 1."""
    return DRIFT_ULPS * 2.0 ** -(bits + 1) * (n + 2)


def score_gaps(n: int, bits: int, scale: float = WIDE_SCALE) -> dict[str, float]:
    """The construction's smallest decision gaps at input size n with p = `bits`, each on the
    scale where the score noise is SCORE_NOISE_ULPS ulps of 1.

    high: a threshold of the high stage read at m <= n (every half-integer is treated as a
        threshold: conservative); the error of h is <= noise (|[phi]_0| + scale theta |[phi]_1|)
        <= sqrt(2) noise, so the gap is |h| / sqrt(2);
    low: the same for the low stage, whose value m mod 2^LOW_BITS stays below 2^LOW_BITS;
        both at distance 1/2 - drift (the digit read from averages drifts);
    snap: what a snap step has to spare: STEP_MARGIN minus the unsnapped step's error;
    fetch: 1 / (BITS + 1), a bit-vector match against the best mismatch (scores in [0, 1]).
    """
    top = n + 1
    d = 0.5 - drift(n, bits)
    if d <= 0:
        return {"high": -1.0, "low": -1.0, "snap": -1.0, "fetch": 1.0 / (BITS + 1)}
    low_top = min(top, 2**LOW_BITS - 1)
    return {
        "high": threshold_gap(top, d, scale) / math.sqrt(2.0),
        "low": threshold_gap(low_top, d, scale) / math.sqrt(2.0),
        "snap": STEP_MARGIN - STEP_ERROR_ULPS * 2.0 ** -(bits + 1) * (top + 1),
        "fetch": 1.0 / (BITS + 1),
    }


def smallest_gap(n: int, bits: int) -> float:
    return min(score_gaps(n, bits).values())


@functools.lru_cache(maxsize=64)
def frontier_for_bits(bits: int) -> int:
    """Largest n <= CAPACITY whose smallest gap exceeds twice the score noise at p = `bits`
    (the gaps shrink as n grows: binary search); -1 if even n = 0 fails."""
    return largest_clearing(lambda n: smallest_gap(n, bits), 2.0 * score_noise(bits), CAPACITY)


def precision_model(report=None):
    """(tie tolerance, n(p)) of the wide Theorem 1, for the catalog: Theorem 1's tolerance."""
    return tie_tolerance(), frontier_for_bits


def frontier(dtype: str) -> int:
    return frontier_for_bits(bits_of(dtype))
