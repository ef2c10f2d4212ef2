"""The public Python API, importable as `logdepth.*`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from logdepth import catalog
from logdepth.catalog import DEFAULT
from logdepth.model.compiled import CompiledModel
from logdepth.model.compiled import load as _load


def compile(
    automaton: Any = None,
    construction: str = DEFAULT,
    max_length: int | None = None,
    source: str | None = None,
) -> CompiledModel:
    """Compile with a construction of the catalog (`logdepth constructions` lists them).

    Word constructions take a DFA or NFA (e.g. ``spec["parity"]``): "uniform" is Theorem 1's
    (0, 8, 9)-universal transformer; "nonuniform" with ``max_length=N`` Corollary 1.1's
    4*ceil(log2 N) + 5 layers; "wide" and "nonuniform-wide" the same with the bit-vector
    position code (docs/wide.md). Graph constructions ("connectivity", "connectivity-wide")
    take no object: one set of weights serves every graph. `logdepth.build` is the driver."""
    from logdepth.build import build

    return build(catalog.get(construction), automaton, max_length=max_length, source=source)


def compile_connectivity(construction: str = "uniform") -> CompiledModel:
    """Theorem 2's (17, 2, 1)-universal transformer: one set of weights for every graph size.
    ``construction="wide"`` is Theorem 2 with bit-vector coordinates (constructions/
    graph_wide.py: 2 ceil(log2 n) + 14 layers, every n <= 128; float32 frontier 31 vertices
    instead of none). The same as ``compile(construction="connectivity")`` (or
    "connectivity-wide"): the catalog's "connectivity" aliases."""
    return compile(construction=catalog.by_alias("connectivity", construction).name)


def register(entry: catalog.Construction) -> catalog.Construction:
    """Add a construction at run time: compile, the CLI, verify, explain, budget and load then
    serve it like a built-in one (`logdepth.catalog.register`; docs/architecture.md)."""
    return catalog.register(entry)


def load(path: str | Path) -> CompiledModel:
    """Load and validate a weight file; `WeightFileError` says what is wrong with a bad one."""
    return _load(path)


def verify(
    model: CompiledModel,
    *,
    oracle: Any = None,
    max_length: int | None = None,
    samples: int | None = None,
    exhaustive: int | None = None,
    seed: int = 0,
    budget_s: float | None = None,
    progress: Any = None,
    backend: Any = None,
) -> Any:
    """Check `model` as `logdepth verify` does, returning its `VerifyReport`. `oracle` (a
    function) decides each word or graph query instead of the stored spec or BFS; it gets a
    word as a tuple of symbols, a graph query as (adjacency rows of bools, source, target) with
    0-based vertices, and returns a bool (docs/oracle.md). `backend` (from
    `logdepth.distributed.backend`) runs the word models' forward passes on Dask workers;
    the report is the in-process one unless the budget cuts (docs/distributed.md)."""
    from logdepth import distributed
    from logdepth.errors import InputError
    from logdepth.verify import oracle as oracles

    wrapped = oracles.of(oracle)
    entry = catalog.of_config(model.config.construction)
    if entry is None:
        raise InputError(
            f"no construction is registered as {model.config.construction!r}, so there is no "
            "verifier for this model"
        )
    with oracles.using(wrapped), distributed.using(backend):
        report = entry.verify_function()(
            model,
            max_length=max_length,
            samples=samples,
            exhaustive=exhaustive,
            seed=seed,
            progress=progress,
            budget_s=budget_s,
        )
    oracles.note(report, wrapped)
    return report
