"""The gap model of Theorem 2 with bit-vector coordinates (constructions/graph_wide.py): the
threshold stages' gaps, the step errors, the key deviation of tied keys, the tie tolerance and
the frontier n(p) up to CAPACITY vertices.

Numbers only (numpy); the digit width, the stages' threshold distances and the ballast are the
construction's facts, stated here once and read by the builder.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

from logdepth import precision
from logdepth.gaps.regular import score_noise
from logdepth.kit.bits import threshold_gap
from logdepth.kit.gadgets import STEP_MARGIN
from logdepth.precision import bits_of, largest_clearing, unit_roundoff

BITS = 7


CAPACITY = 2**BITS  # largest n: digits and s - 1, t - 1 are < n <= 128


STEPS = range(1, CAPACITY)  # thresholds q = 1 .. Q - 1


# Each stage's threshold distance at the capacity (the weights do not know n, so the slopes
# are set for the worst n = Q): stage 1 reads (x + 1/2)/n^2 (spacing 1/n^2), stage 2
# (r1 + 1/2)/n (spacing 1/n), stage 3 and the counts read integers and half-integers.
DISTANCE_1 = 0.5 / CAPACITY**2


DISTANCE_2 = 0.5 / CAPACITY


DISTANCE_3 = 0.5


# The ballast cell's value (a power of two: exact in every dtype). Every snap reads it, so the
# raw steps' errors (up to STEP_MARGIN each) move the snap's pre-norm by e / BALLAST^2 at most:
# the snapped bits, which heads compare for ties, stay equal across tokens to ~1e-7 relative
# even with 140 raw cells each off by 1/4.
BALLAST = 2.0**12


# Bit-vector scores are divided by this, so every score lies in [0, 1]: the largest is the
# self match in the B layer (five type rows, three digits of BITS bits).
SCORE_SCALE = float(3 * BITS + 2)


# Relative error of a ratio read from averages whose values are exact (0/1 token flags, so the
# sums are exact integers): the two divisions by the key count, the psi write, the masked
# pre-norm of the psi (a sum of 4 squares, a root, a division) and the phi copy: 8 roundings.
EXACT_RATIO_ULPS = 8


# The output error of a step that fires, in units of u * S * h_max: its two ReLUs see 4 S h
# (S the slope, h_max the largest |h| a firing step sees), each rounded at the dot product and
# at the ReLU output, and their difference once more: 3 roundings of 4 S h, 12 u S h; 16 leaves
# room for the pre-norm's scale.
STEP_ERROR_ULPS = 16


def slope(theta: float, distance: float) -> float:
    """The slope `wide.threshold_steps` gives a threshold: 1/(2 |h|) at that distance."""
    return 1.0 / (2.0 * threshold_gap(theta, distance))


def _h_max(theta: float, top: float) -> float:
    """Largest h = (z - theta)/sqrt(2 z^2 + 2) a firing step sees for z <= top."""
    return max(0.0, top - theta) / math.sqrt(2.0 * top * top + 2.0)


def step_error(thetas: Sequence[float], distance: float, top: float, bits: int) -> list[float]:
    """The output error of each firing step (values z <= top) at p = `bits`."""
    u = unit_roundoff(bits)
    return [STEP_ERROR_ULPS * u * slope(t, distance) * _h_max(t, top) for t in thetas]


def _stage_gap(top: float, spacing: float, distance: float, rel_drift: float) -> float:
    """The gap of a threshold stage on the score-noise scale: |h| at the smallest distance
    (spacing, less the drift of the value), less what the fixed slope needs (the step saturates
    only where S |h| >= 1/4, i.e. |h| >= g_Q / 2), over sqrt(2) (the noise of h is at most
    noise * (|[phi]_0| + theta |[phi]_1|) <= sqrt(2) noise). Taken at the top value."""
    d = spacing - rel_drift * top
    if d <= 0:
        return -1.0
    return (threshold_gap(top, d) - threshold_gap(top, distance) / 2.0) / math.sqrt(2.0)


def score_gaps(n: int, bits: int) -> dict[str, float]:
    """The construction's smallest decision gaps for n-vertex inputs at p = `bits`, each on the
    scale where the score noise is SCORE_NOISE_ULPS ulps of 1 (regular.score_noise).

    stage1: thresholds on (x + 1/2)/n^2 <= n (spacing 1/(2 n^2)), exact sums;
    stage2: thresholds on (r1 + 1/2)/n <= n (spacing 1/(2 n)); its values are phi(mu n)'s
        entries summed over up to n^2 + 1 keys (relative error (n^2 + 1) u, any summation
        order), plus the exact-ratio roundings;
    stage3: thresholds on d0 + 1/2 <= n (spacing 1/2), sums over up to n + 1 keys;
    counts: s and t (exact counts), thresholds at half-integers, spacing 1/2;
    steps1: STEP_MARGIN less the largest stage-1 step error (each step is snapped alone);
    steps2, steps3: STEP_MARGIN less the summed step errors of the telescoped digit bits;
    match: 1 / SCORE_SCALE, a bit-vector match against the best mismatch (scores in [0, 1]),
        less the tie tolerance at p bits (a mismatch must stay out of the tolerance);
    ties: the tolerance at p bits less the key deviation (`key_deviation`): keys that tie in
        exact arithmetic (the window's n pads, the tie sets) must stay within the tolerance.
    """
    u = unit_roundoff(bits)
    top = float(max(n, 1))
    ex = EXACT_RATIO_ULPS * u
    below = [float(q) for q in STEPS if q < top]  # steps that can fire for values < n
    return {
        "stage1": _stage_gap(top, 0.5 / top**2, DISTANCE_1, ex),
        "stage2": _stage_gap(top, 0.5 / top, DISTANCE_2, ex + (top * top + 1) * u),
        "stage3": _stage_gap(top, 0.5, DISTANCE_3, ex + (top + 1) * u),
        "counts": _stage_gap(top, 0.5, DISTANCE_3, ex),
        "steps1": STEP_MARGIN - max(step_error(below, DISTANCE_1, top, bits), default=0.0),
        "steps2": STEP_MARGIN - sum(step_error(below, DISTANCE_2, top, bits)),
        "steps3": STEP_MARGIN - sum(step_error(below, DISTANCE_3, top, bits)),
        "match": 1.0 / SCORE_SCALE - tolerance_at(bits),
        "ties": tolerance_at(bits) - key_deviation(n, bits),
    }


def key_deviation(n: int, bits: int) -> float:
    """How far (relative) two tokens' snapped bit cells can differ when their exact values are
    equal: the largest snap (layer 4) reads the Q - 1 stage-1 flags and the s - 1 bits, whose
    errors move its pre-norm by their sum / BALLAST^2; plus the snap's own rounding (4 ulps of
    its output and 4 of the pre-norm). Tied keys' scores differ by at most this (scores <= 1)."""
    top = float(max(n, 1))
    below = [float(q) for q in STEPS if q < top]
    raw = sum(step_error(below, DISTANCE_1, top, bits))
    raw += BITS * sum(step_error([q + 0.5 for q in below], DISTANCE_3, top, bits))
    return raw / BALLAST**2 + 8.0 * unit_roundoff(bits)


def tie_tolerance() -> float:
    """The stored (float64) tie tolerance: the power of two at least four times the key
    deviation at the capacity; at p bits it is scaled by 2^(52 - p) like every tolerance
    (`network.tie_tolerance`), and the deviation scales the same way."""
    return 2.0 ** math.ceil(math.log2(4.0 * (key_deviation(CAPACITY, 52) + score_noise(52))))


def tolerance_at(bits: int) -> float:
    return precision.tolerance_at(tie_tolerance(), bits)


def smallest_gap(n: int, bits: int) -> float:
    return min(score_gaps(n, bits).values())


@functools.lru_cache(maxsize=64)
def frontier_for_bits(bits: int) -> int:
    """Largest n <= CAPACITY whose smallest gap exceeds twice the score noise at p = `bits`
    (every gap shrinks as n grows: binary search); -1 if even n = 0 fails."""
    return largest_clearing(lambda n: smallest_gap(n, bits), 2.0 * score_noise(bits), CAPACITY)


def precision_model(report=None):
    """(tie tolerance, n(p)) of the wide Theorem 2, for the catalog."""
    return tie_tolerance(), frontier_for_bits


def frontier(dtype: str) -> int:
    return frontier_for_bits(bits_of(dtype))
