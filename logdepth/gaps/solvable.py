"""The gap model of the solvable cascade (constructions/solvable.py, docs/solvable.md): Lemma 1's
gaps for the table modulus M (`gaps.counting`) and the cascade's (`gaps.starfree`), both at the
scale M needs; the frontier n(p) of one build (its table modulus and levels, from the report).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from logdepth.errors import CompileError
from logdepth.gaps import counting, starfree
from logdepth.gaps.regular import SCORE_NOISE_ULPS, score_noise, tie_tolerance
from logdepth.gaps.starfree import FRONTIER_LIMIT
from logdepth.precision import bits_of, largest_clearing


def score_gaps(n: int, modulus: int, levels: int, bits: int) -> dict[str, float]:
    """Lemma 1's gaps for the table modulus M (counting.score_gaps: the count lookups, the
    floor query and retrieval, the sign read, the threshold steps on rem, the steps' error)
    and the cascade's (starfree.score_gaps: Lemma 10's tie-breaker and flag, the
    previous-position lookup), both at the scale M needs."""
    scale = counting.position_scale(modulus)
    gaps = {f"lemma1.{k}": v for k, v in counting.score_gaps(n, modulus, bits, scale).items()}
    gaps.update({f"cascade.{k}": v for k, v in starfree.score_gaps(n, levels, scale).items()})
    return gaps


@functools.lru_cache(maxsize=256)
def frontier_for_bits(bits: int, modulus: int, levels: int) -> int:
    """n(p): the largest n <= 2^20 whose smallest gap exceeds twice the score noise at p bits;
    -1 if even n = 0 fails."""
    need = 2.0 * score_noise(bits)
    return largest_clearing(
        lambda n: min(score_gaps(n, modulus, levels, bits).values()), need, FRONTIER_LIMIT
    )


def frontiers(modulus: int, levels: int) -> dict[str, int]:
    out = {
        dtype: frontier_for_bits(bits_of(dtype), modulus, levels)
        for dtype in ("float64", "float32")
    }
    return {dtype: n for dtype, n in out.items() if n >= 0}


def precision_model(report: Mapping[str, Any] | None = None) -> tuple[float, Callable[[int], int]]:
    """(tie tolerance, p -> n(p)) from the report's "table_modulus" and "levels"."""
    report = report or {}
    m, levels = report.get("table_modulus"), report.get("levels")
    if not isinstance(m, int) or not isinstance(levels, int):
        raise CompileError("a solvable model's report names its table modulus and levels")
    return tie_tolerance(), functools.partial(frontier_for_bits, modulus=m, levels=levels)


FRONTIER_METHOD = (
    "derived: the largest n whose smallest gap (Lemma 1's block for the table modulus, the "
    "count lookups and threshold steps, Lemma 10's rightmost read, the previous-position "
    f"lookup) exceeds twice the score noise ({SCORE_NOISE_ULPS} ulps at p bits)"
)
