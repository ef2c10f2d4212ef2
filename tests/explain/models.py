"""The models and inputs the explain, plot and browser tests share (compiled once per session)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import logdepth
from logdepth.graphs import Graph

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "basics.ld"

# A directed path a -> ... -> e plus a back edge and an isolated f: 6 vertices, d = 3 levels.
SIX = Graph(
    name="six",
    nodes=("a", "b", "c", "d", "e", "f"),
    directed=True,
    edges=(("a", "b"), ("b", "c"), ("c", "d"), ("d", "e"), ("e", "b")),
)
SIX_SPEC = """graph six {
    directed
    nodes: a, b, c, d, e, f
    a -> b
    b -> c
    c -> d
    d -> e
    e -> b
}
"""


@cache
def spec():
    return logdepth.parse_file(EXAMPLES)


@cache
def model(name: str):
    """A Theorem 1 model of examples/basics.ld, or "connectivity" for Theorem 2's."""
    if name == "connectivity":
        return logdepth.compile_connectivity()
    return logdepth.compile(spec()[name])
