"""The gap model of the star-free cascade (constructions/starfree.py, docs/starfree.md): Lemma
10's rightmost read, the reset flag and, with two or more levels, the previous-position lookup;
the frontier n(p) of one build (its level count, from the report).

Numbers only (numpy), read off the kit's score geometry.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from logdepth.errors import CompileError
from logdepth.gaps.regular import FLAG_MARGIN, SCORE_NOISE_ULPS, score_noise, tie_tolerance
from logdepth.kit.hashing import POSITION_SCALE, neighbour_gap, phi_first
from logdepth.precision import bits_of, largest_clearing


def levels_of(report: Mapping[str, Any]) -> int:
    """The cascade's level count a starfree model's report names (a CompileError if none)."""
    levels = report.get("levels")
    if isinstance(levels, bool) or not isinstance(levels, int) or levels < 0:
        raise CompileError(
            "a starfree model's report names its number of levels; this one does not"
        )
    return levels


FRONTIER_LIMIT = 1 << 20


def score_gaps(n: int, levels: int, scale: float = POSITION_SCALE) -> dict[str, float]:
    """The smallest legitimate score gaps at input size n (positions 0..n + 1).

    tiebreak: Lemma 10's rightmost read, neighbouring [phi(lambda j)]_0 at the largest j;
    flag: a resetting key beats any other by 1 - 1/sqrt(2);
    equality (L >= 2 only): the previous-position read, phi(lambda (t - 1)) against its
        neighbours phi(lambda (t - 1 +- 1)) at the largest t (Theorem 1's equality gap).
    The tables are saturating steps on one-hot codes (margin 1/4, exact inputs): no gap.
    """
    top = n + 1
    gaps = {
        "tiebreak": float(phi_first(top, scale) - phi_first(top - 1, scale)) if top else 1.0,
        "flag": FLAG_MARGIN,
    }
    if levels >= 2:
        gaps["equality"] = float(neighbour_gap(max(top - 1, 0), 1.0, scale))
    return gaps


@functools.lru_cache(maxsize=256)
def frontier_for_bits(bits: int, levels: int) -> int:
    """n(p): the largest n <= 2^20 whose smallest gap exceeds twice the score noise at p bits
    (SCORE_NOISE_ULPS ulps of 1, Theorem 1's budget); -1 if even n = 0 fails."""
    need = 2.0 * score_noise(bits)
    return largest_clearing(
        lambda n: min(score_gaps(n, levels).values()), need, FRONTIER_LIMIT
    )


def frontiers(levels: int) -> dict[str, int]:
    """The frontier per dtype the weight file stores."""
    out = {dtype: frontier_for_bits(bits_of(dtype), levels) for dtype in ("float64", "float32")}
    return {dtype: n for dtype, n in out.items() if n >= 0}


def precision_model(report: Mapping[str, Any] | None = None) -> tuple[float, Callable[[int], int]]:
    """(tie tolerance, p -> n(p)) from the file's report: the frontier depends on whether the
    cascade has a second level (a previous-position read), read from the report's "levels"."""
    return tie_tolerance(), functools.partial(frontier_for_bits, levels=levels_of(report or {}))


FRONTIER_METHOD = (
    "derived: the largest n whose smallest score gap (Lemma 10's rightmost read; with two or "
    "more levels the previous-position equality lookup) exceeds twice the score noise "
    f"({SCORE_NOISE_ULPS} ulps at p bits); checked by p-bit emulation and by runs "
    "(docs/starfree.md)"
)
