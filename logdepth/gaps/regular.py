"""The gap model of Theorem 1 and Corollary 1.1 (constructions/regular.py): the smallest score
gaps at input size n, the score noise at p bits, the tie tolerance and the frontier n(p).

Numbers only (numpy): the model reads the kit's score geometry (`kit.hashing`), never a
builder, so `verify` re-derives a file's precision record without the compiler.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from logdepth.kit.hashing import POSITION_SCALE, floor_margin, neighbour_gap, phi_first
from logdepth.precision import MAX_EMULATED_BITS, bits_of, largest_clearing

# Score noise, in units of the dtype's epsilon. A score is q . k with |q|, |k| <= ~1.5 (unit
# cells, folded pre-norm scale); each coordinate of q and k carries the relative error of the
# masked pre-norm (a sum of <= 64 squares, a square root, a division and the folded scale:
# ~8 eps) and of the value that produced it (a hash is one division a/b of two averages, each
# exact to ~2 eps); the dot product of <= 8 terms adds ~8 eps. Sum: <= 32 eps. A cell read
# with the key whose norm is off by r scales the score by ~r/k: booleans and codes are kept
# exact to a few eps by saturating steps and margin-1/2 tables (gadgets.step_ff), so r stays
# within the same budget; test_cleared_cells_stay_clean_across_levels watches it.
SCORE_NOISE_ULPS = 32


# A flagged key beats an unflagged one by 1 - max [phi]_0 = 1 - 1/sqrt(2) (nearest-previous).
FLAG_MARGIN = 1.0 - 1.0 / math.sqrt(2.0)


def score_noise(bits: int | str) -> float:
    """SCORE_NOISE_ULPS ulps (of 1) at p stored mantissa bits (or a dtype name)."""
    p = bits_of(bits) if isinstance(bits, str) else int(bits)
    return SCORE_NOISE_ULPS * 2.0**-p


def tie_tolerance() -> float:
    """The float64 score noise: legitimate ties are bitwise (zero-score uniform heads, sign
    reads), so this only has to stay below the smallest gap at the float64 frontier, which the
    frontier guarantees (gap > 2 noise)."""
    return score_noise("float64")  # the model scales it by 2^(52 - p) for p bits


def precision_model(report=None):
    """(tie tolerance, n(p)) of Theorem 1 and Corollary 1.1, for the catalog."""
    return tie_tolerance(), frontier_for_bits


def score_gaps(n: int, scale: float = POSITION_SCALE) -> dict[str, float]:
    """The smallest legitimate gaps of the construction for inputs of size <= n (positions
    0..n + 1), each a difference of two attention scores, or of the two sides of a sign read.

    equality: hashes of neighbouring integers <= n + 1 (prev-copy, count lookup, the P and
        P1 self-matches, the halving retrieval's keys);
    half: the floor query's self-match, whose values are (t - 1/2)/2, spacing 1/2;
    floor: the floor retrieval's best key versus the runner-up (m = 2);
    tiebreak: neighbouring [phi(lambda j)]_0 in the nearest-previous retrieval;
    sign: |S| = |[phi(lambda (t - 1/2)/2)]_0 - [phi(lambda floor(t/2))]_0| in Lemma 9's sign read.
    (Exact forms: logdepth.precision, tested against these floats.)
    """
    top = n + 1
    floor_min, sign_min = _position_minima(top, scale)
    return {
        "equality": float(neighbour_gap(max(top - 1, 0), 1.0, scale)),
        "half": float(neighbour_gap(max((top - 0.5) / 2 - 0.5, 0.0), 0.5, scale)),
        "floor": floor_min,
        "tiebreak": float(phi_first(top, scale) - phi_first(top - 1, scale)) if top else 1.0,
        "sign": sign_min,
        "flag": FLAG_MARGIN,
    }


# Positions covered by the cached prefix minima (the frontier searches run up to 2^20).
GAP_TABLE_POSITIONS = (1 << 20) + 2


@functools.lru_cache(maxsize=4)
def _prefix_minima(scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Running minima over positions j = 0, 1, ... of the floor retrieval's margin and the sign
    read's |S|: the frontier searches ask for them at many n, and each is O(n) from scratch."""
    j = np.arange(0, GAP_TABLE_POSITIONS, dtype=float)
    sign = np.abs(phi_first((j - 0.5) / 2, scale) - phi_first(np.floor(j / 2), scale))
    return np.minimum.accumulate(floor_margin(j, 2.0, scale)), np.minimum.accumulate(sign)


def _position_minima(top: int, scale: float) -> tuple[float, float]:
    """min over j = 0..top of the floor margin and of the sign read's |S|."""
    if top < GAP_TABLE_POSITIONS:
        floors, signs = _prefix_minima(scale)
        return float(floors[top]), float(signs[top])
    j = np.arange(0, top + 1, dtype=float)
    sign = np.abs(phi_first((j - 0.5) / 2, scale) - phi_first(np.floor(j / 2), scale))
    return float(floor_margin(j, 2.0, scale).min()), float(sign.min())


def smallest_gap(n: int, scale: float = POSITION_SCALE) -> float:
    return min(score_gaps(n, scale).values())


@functools.lru_cache(maxsize=256)
def frontier_for_bits(
    bits: int,
    *,
    limit: int = 1 << 20,
    scale: float = POSITION_SCALE,
    noise_ulps: float | None = None,
) -> int:
    """Largest n <= limit whose smallest gap clears the score noise at p = `bits` stored
    mantissa bits (the gaps shrink as n grows: binary search); -1 if even n = 0 fails.

    Without `noise_ulps`: gap > 2 * score_noise(p), the budget of SCORE_NOISE_ULPS (the
    construction's own bound, the most any build may claim: model/validate.py). With the
    worst-case rounding of the assembled weights (`precision.score_rounding_ulps`): a wrong
    key must stay out of the tolerance after both scores moved by that much, gap > 2 noise +
    tolerance, the tolerance being score_noise(p) (`tie_tolerance`)."""
    if noise_ulps is None:
        need = 2.0 * score_noise(bits)
    else:
        need = 2.0 * noise_ulps * 2.0**-bits + score_noise(bits)
    return largest_clearing(lambda n: smallest_gap(n, scale), need, limit)


def frontier(dtype: str, *, limit: int = 1 << 20, scale: float = POSITION_SCALE) -> int:
    """The derived frontier of a dtype ("float64": p = 52, "float32": p = 23)."""
    return frontier_for_bits(bits_of(dtype), limit=limit, scale=scale)


FRONTIER_METHOD = (
    "derived: the largest n whose smallest score gap exceeds twice the score noise "
    f"({SCORE_NOISE_ULPS} ulps at p bits); checked by p-bit emulation at n(p) and by runs "
    "(docs/precision.md)"
)


# p of the frontier curve a weight file carries: every p the emulator can run, and 52.
CURVE_BITS = (*range(16, MAX_EMULATED_BITS + 1), 52)


def frontier_curve(cap: int | None = None, model=None) -> dict[str, int]:
    """n(p) for CURVE_BITS (capped at `cap`, a non-uniform build's N), as stored in reports;
    `model` is the function p -> n(p) (default: this module's `frontier_for_bits`; the wide
    construction passes its own)."""
    model = model or frontier_for_bits
    out = {}
    for p in CURVE_BITS:
        n = model(p)
        out[str(p)] = n if cap is None else min(n, cap)
    return out
