"""The public Python API, importable as `logdepth.*`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from logdepth.errors import CompileError
from logdepth.model.compiled import CompiledModel
from logdepth.model.compiled import load as _load


def compile(
    automaton: Any,
    construction: str = "uniform",
    max_length: int | None = None,
    source: str | None = None,
) -> CompiledModel:
    """Compile a DFA or NFA (e.g. ``spec["parity"]``) to Theorem 1's (0, 8, 9)-universal
    transformer, or with ``construction="nonuniform", max_length=N`` to Corollary 1.1's plain
    4*ceil(log2 N) + 5 layer transformer. ``construction="wide"`` is Theorem 1 with a
    better-conditioned position code (constructions/wide.py: ceil(log2 n) + 8 layers, float32
    frontier 30,838 instead of 110); ``construction="nonuniform-wide", max_length=N`` its
    Corollary 1.1 form (ceil(log2 N) + 8 layers, all initial)."""
    from logdepth.automata.dfa import DFA
    from logdepth.automata.nfa import NFA
    from logdepth.constructions.regular import compile_regular

    if construction not in ("uniform", "nonuniform", "wide", "nonuniform-wide"):
        raise CompileError(
            f"unknown construction {construction!r} (uniform, nonuniform, wide or nonuniform-wide)"
        )
    if construction in ("nonuniform", "nonuniform-wide") and max_length is None:
        raise CompileError("the nonuniform construction (Corollary 1.1) needs max_length")
    if max_length is not None and (
        isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1
    ):
        raise CompileError(f"max_length must be a positive integer, not {max_length!r}")
    if construction in ("uniform", "wide") and max_length is not None:
        raise CompileError(
            f"max_length is for construction='nonuniform'; {construction} serves every n"
        )
    if source is not None and not isinstance(source, str):
        raise CompileError(f"source must be the spec text (a str), not {type(source).__name__}")
    if not isinstance(automaton, DFA | NFA):
        kind = type(automaton).__name__
        hint = " (graphs compile with compile_connectivity())" if kind == "Graph" else ""
        raise CompileError(f"cannot compile a {kind} as a regular language{hint}")
    model = compile_regular(
        automaton, construction=construction, max_length=max_length, source=source
    )
    return name_code_cells(model)


def name_code_cells(model: CompiledModel) -> CompiledModel:
    """Relabel the monoid-element code cells (`delta`, `left`) with the spec's names (states,
    group or monoid elements: `explain.elements.code_labels`) in place of indices, so that
    `residual_labels`, `trace.decode` and `inspect` speak the spec's language. The weights are
    unchanged; the labels are stored in the config."""
    from dataclasses import replace

    from logdepth.explain.elements import ElementNamer, code_labels
    from logdepth.verify.regular import automaton_of, encoding_of

    automaton = automaton_of(model)
    encoding = encoding_of(model, automaton)
    namer = ElementNamer(automaton, encoding)
    cells = tuple(
        replace(c, labels=tuple(code_labels(namer, c.name)))
        if c.kind == "code" and c.labels == tuple(encoding.labels(c.name))
        else c
        for c in model.config.cells
    )
    model.network.config = replace(model.config, cells=cells)
    return model


def compile_connectivity(construction: str = "uniform") -> CompiledModel:
    """Theorem 2's (17, 2, 1)-universal transformer: one set of weights for every graph size.
    ``construction="wide"`` is Theorem 2 with bit-vector coordinates (constructions/
    graph_wide.py: 2 ceil(log2 n) + 14 layers, every n <= 128; float32 frontier 31 vertices
    instead of none)."""
    if construction == "uniform":
        from logdepth.constructions.connectivity import compile_connectivity as build
    elif construction == "wide":
        from logdepth.constructions.graph_wide import compile_connectivity_wide as build
    else:
        raise CompileError(f"unknown connectivity construction {construction!r} (uniform or wide)")
    return build()


def load(path: str | Path) -> CompiledModel:
    """Load and validate a weight file; `WeightFileError` says what is wrong with a bad one."""
    return _load(path)
