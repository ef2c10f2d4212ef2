"""Depth budgets: the largest input each construction handles with a fixed number of layers
(the paper's Corollaries 1.2 and 2.1), next to the exact counts of logdepth's constructions.

The paper's statements (camera-ready numbering):
- Corollary 1.2: a d-layer transformer recognizes a regular language on strings of length at
  most 2^((d - 9)/4 + 1). Its derivation text says 2^((d - 9)/4); the statement and the
  introduction's numbers (d = 32 -> 107, d = 80 -> 440K) use the "+ 1" (docs/errata.md).
- Corollary 2.1: a d-layer transformer solves connectivity on graphs of at most 2^((d - 20)/2)
  vertices (d = 32 -> 64). The introduction's "128 vertices at depth 32" and "2.1 B at depth 80"
  need one more in the exponent, 2^((d - 20)/2 + 1) (docs/errata.md).

The exact counts invert the layer formula of every construction in the catalog
(logdepth.catalog: slope * ceil(log2 n) + offset <= d, slope and offset derived from each
construction's (s, r, t) or level layout), the formulas our weights are built and tested with,
each capped at the capacity of its position code. For n <= 1 the loop runs 0 times
(ceil(log2 n) = 0), so d >= offset handles n = 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from logdepth.catalog import Construction, entries

# No input has 2^63 symbols or vertices: torch indexes positions with int64. So a budget past
# the depth at which every construction already reaches 2^63 buys nothing more, and the paper's
# bounds stay far inside float64 there (2^((d - 20)/2 + 1) at d = 513 is 2^247.5); a larger
# budget is refused rather than overflowing (or building integers of millions of digits).
MAX_INPUT_BITS = 63


LAYERS_LIMIT_REASON = (
    "past it no construction handles a larger input (each has reached its capacity or "
    f"2^{MAX_INPUT_BITS} symbols or vertices, more than any input can hold)"
)


def max_layers() -> int:
    """The largest useful layer budget: the depth at which every registered construction that
    grows with n handles inputs of 2^MAX_INPUT_BITS (slope * MAX_INPUT_BITS + offset)."""
    return max(e.slope * MAX_INPUT_BITS + e.offset for e in entries() if e.slope > 0)


@dataclass(frozen=True)
class Budget:
    """What `layers` layers buy under one construction."""

    construction: str
    reference: str
    formula: str
    largest: int | None  # the largest input size (0: not even size 1; None: any size)
    unit: str


def _largest_power(slope: int, offset: int, layers: int) -> int:
    """Largest n with slope * ceil(log2 n) + offset <= layers (0 if even n = 1 does not fit)."""
    if layers < offset:
        return 0
    return 2 ** ((layers - offset) // slope)


def _largest(entry: Construction, layers: int) -> int | None:
    """The largest input a registered construction handles in `layers` layers, capped at its
    capacity; None: any size (a constant-depth construction that fits, without a capacity)."""
    if layers < entry.offset:
        return 0
    if entry.slope == 0:
        return entry.capacity
    n = _largest_power(entry.slope, entry.offset, layers)
    return n if entry.capacity is None else min(n, entry.capacity)


def paper_regular(layers: int) -> float:
    """Corollary 1.2's bound 2^((d - 9)/4 + 1) on the string length (not rounded)."""
    return 2.0 ** ((layers - 9) / 4 + 1)


def paper_graph(layers: int, intro: bool = False) -> float:
    """Corollary 2.1's bound 2^((d - 20)/2) on the vertex count, or the introduction's
    2^((d - 20)/2 + 1) with `intro`."""
    return 2.0 ** ((layers - 20) / 2 + (1 if intro else 0))


def budgets(layers: int) -> list[Budget]:
    """Every construction's largest input for `layers` layers: exact ones first, then the
    paper's corollary bounds (floored)."""
    if layers < 0:
        raise ValueError("a layer budget is a non-negative integer")
    if layers > max_layers():
        raise ValueError(f"a layer budget is at most {max_layers():,}: {LAYERS_LIMIT_REASON}")
    exact = [
        Budget(entry.name, entry.reference, entry.formula, _largest(entry, layers), entry.unit)
        for entry in entries()
        if not entry.chooser  # auto's depth is the construction it picks
    ]
    return exact + [
        Budget(
            "paper: Corollary 1.2",
            "Corollary 1.2",
            "|w| <= 2^((d - 9)/4 + 1)",
            math.floor(paper_regular(layers)) if layers >= 9 else 0,
            "symbols",
        ),
        Budget(
            "paper: Corollary 2.1",
            "Corollary 2.1",
            "n <= 2^((d - 20)/2)",
            math.floor(paper_graph(layers)) if layers >= 20 else 0,
            "vertices",
        ),
        Budget(
            "paper: introduction",
            "Section 1",
            "n <= 2^((d - 20)/2 + 1)",
            math.floor(paper_graph(layers, intro=True)) if layers >= 20 else 0,
            "vertices",
        ),
    ]
