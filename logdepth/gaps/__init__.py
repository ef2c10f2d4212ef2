"""The precision models: one module per construction, numbers only (numpy, sympy; no torch, no
builder), so that `verify` and `precision` re-derive a weight file's record without the compiler.

Every module follows `GapModel`: its smallest score gaps at input size n (`score_gaps`, a dict
of named gap families), the largest n whose gaps clear twice the score noise at p stored
mantissa bits (`frontier_for_bits`, -1 or 0 where none), and, for the catalog, the pair
(tie tolerance, n(p)) of one build (`precision_model(report)`: some frontiers depend on the
build, e.g. counting's modulus or a cascade's level count). The extra arguments of
`score_gaps` and `frontier_for_bits` are the construction's own (the modulus, the levels).
The score geometry they share (hash gaps, tie-breaks, floor margins) is the kit's
(`logdepth.kit.hashing`); the noise budget and the search are `logdepth.precision`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol


class GapModel(Protocol):
    """What a gap module provides (each module is one such model)."""

    def score_gaps(self, n: int, *args: Any, **kwargs: Any) -> dict[str, float]: ...

    def frontier_for_bits(self, bits: int, *args: Any, **kwargs: Any) -> int: ...

    def precision_model(
        self, report: Mapping[str, Any] | None = None
    ) -> tuple[float, Callable[[int], int]]: ...


__all__ = ["GapModel"]
