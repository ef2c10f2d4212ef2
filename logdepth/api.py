"""The public Python API, importable as `logdepth.*`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from logdepth.errors import CompileError
from logdepth.model.compiled import CompiledModel
from logdepth.model.compiled import load as _load


def compile(
    automaton: Any = None,
    construction: str = "uniform",
    max_length: int | None = None,
    source: str | None = None,
) -> CompiledModel:
    """Compile with a construction of the registry (`logdepth constructions` lists them).

    Word constructions take a DFA or NFA (e.g. ``spec["parity"]``): "uniform" is Theorem 1's
    (0, 8, 9)-universal transformer; "nonuniform" with ``max_length=N`` Corollary 1.1's
    4*ceil(log2 N) + 5 layers; "wide" and "nonuniform-wide" the same with the bit-vector
    position code (docs/wide.md). Graph constructions ("connectivity", "connectivity-wide")
    take no object: one set of weights serves every graph."""
    from logdepth import registry
    from logdepth.automata.dfa import DFA
    from logdepth.automata.nfa import NFA

    entry = registry.get(construction)
    if max_length is not None and (
        isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1
    ):
        raise CompileError(f"max_length must be a positive integer, not {max_length!r}")
    if source is not None and not isinstance(source, str):
        raise CompileError(f"source must be the spec text (a str), not {type(source).__name__}")
    if entry.accepts == "automaton" and not isinstance(automaton, DFA | NFA):
        kind = type(automaton).__name__
        hint = " (graphs compile with construction='connectivity')" if kind == "Graph" else ""
        raise CompileError(f"cannot compile a {kind} as a regular language{hint}")
    return entry.compile(automaton, max_length=max_length, source=source)


def compile_connectivity(construction: str = "uniform") -> CompiledModel:
    """Theorem 2's (17, 2, 1)-universal transformer: one set of weights for every graph size.
    ``construction="wide"`` is Theorem 2 with bit-vector coordinates (constructions/
    graph_wide.py: 2 ceil(log2 n) + 14 layers, every n <= 128; float32 frontier 31 vertices
    instead of none). The same as ``compile(construction="connectivity")`` (or
    "connectivity-wide")."""
    names = {"uniform": "connectivity", "wide": "connectivity-wide"}
    if construction not in names:
        raise CompileError(f"unknown connectivity construction {construction!r} (uniform or wide)")
    return compile(construction=names[construction])


def load(path: str | Path) -> CompiledModel:
    """Load and validate a weight file; `WeightFileError` says what is wrong with a bad one."""
    return _load(path)
