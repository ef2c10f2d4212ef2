"""The one build driver (logdepth/build.py) and the catalog's derived facts."""

from __future__ import annotations

from dataclasses import replace

import pytest

import logdepth
from logdepth import catalog
from logdepth.build import build
from logdepth.errors import CompileError

COUNTER = catalog.Construction(
    name="test-counter",
    config_name="test-counter-config",
    reference="tests/compiler/programs.py",
    accepts="graph",
    input_format="graph",
    contract=catalog.Contract(s_r_t=(1, 2, 0)),
    program="tests.compiler.programs:counter_program",
    report="tests.test_catalog_build:counter_report",
    precision="logdepth.gaps.regular:precision_model",
    verifier="logdepth.verify.connectivity:verify_connectivity",
)


def counter_report(program, network, obj) -> dict:
    return {"layers": len(program.initial) + len(program.repeated), "obj": obj}


def test_a_program_entry_is_checked_assembled_reported_and_named():
    model = build(COUNTER)
    assert model.config.construction == "test-counter-config"  # the catalog names the file
    assert model.extra["report"] == {"layers": 3, "obj": None}
    assert model.config.s_r_t == COUNTER.contract.s_r_t
    leaky = replace(COUNTER, options={"leaky": True})
    with pytest.raises(CompileError, match="tmp"):  # the hygiene ledger runs before assembly
        build(leaky)
    wrong = replace(COUNTER, program="logdepth.catalog:get", options={"name": "uniform"})
    with pytest.raises(CompileError, match="returned a Construction, not a logdepth Program"):
        build(wrong)


def _ceil_log2(n: int) -> int:
    """ceil(log2 n) for n >= 1, by bit length (not DepthRule's)."""
    return (n - 1).bit_length()


# The layer counts as the paper and the construction docs state them, written out here (c is
# ceil(log2 n), or ceil(log2 N) for a non-uniform build): Theorem 1, Corollary 1.1 (4 layers
# per level, levels 0..c, then the answer), the wide code (docs/wide.md), Theorem 2 and its
# wide form, and Lemma 1's counting block plus its answer layer.
STATED = {
    "uniform": lambda c: 8 * c + 9,
    "nonuniform": lambda c: 4 * c + 5,
    "wide": lambda c: c + 8,
    "nonuniform-wide": lambda c: c + 8,
    "connectivity": lambda c: 2 * c + 18,
    "connectivity-wide": lambda c: 2 * c + 14,
    "counting": lambda c: 8,
}


def test_the_formula_is_the_papers():
    for name, stated in STATED.items():
        entry = catalog.get(name)
        for n in (1, 2, 3, 5, 9, 64, 1000):
            assert entry.layers(n, n) == stated(_ceil_log2(n)), (name, n)
    # The cascades' depth is the language's: no formula in n, a hook on the build's report.
    for entry in catalog.CONSTRUCTIONS:
        assert (entry.name in STATED) != (entry.depth is not None), entry.name


def test_the_assembled_networks_run_the_stated_layers():
    """The layers a compiled network runs (its stored layers unrolled by its depth rule), not
    the catalog's arithmetic, against the stated counts."""
    parity = logdepth.parse_file("examples/basics.ld")["parity"]
    for name in ("uniform", "counting"):  # the wide code: nonuniform-wide below
        model = logdepth.compile(parity, construction=name)
        for n in (1, 2, 7, 100):
            assert model.num_layers(n) == STATED[name](_ceil_log2(n)), (name, n)
    for name, big in (("nonuniform", 5), ("nonuniform-wide", 33)):
        model = logdepth.compile(parity, construction=name, max_length=big)
        layers = len(model.config.initial)
        assert not model.config.repeated and not model.config.final
        assert layers == STATED[name](_ceil_log2(big)), name


def test_a_construction_must_state_its_depth_and_one_builder():
    uniform = catalog.get("uniform")
    with pytest.raises(CompileError, match="states no depth"):
        replace(uniform, contract=catalog.Contract())
    with pytest.raises(CompileError, match="needs one of build and program"):
        replace(uniform, build="x:y")  # it has a program already


def test_the_connectivity_aliases_come_from_the_catalog():
    assert catalog.aliases("connectivity") == ["uniform", "wide"]
    assert catalog.by_alias("connectivity", "wide").name == "connectivity-wide"
    with pytest.raises(CompileError, match="unknown connectivity construction 'x' .uniform or"):
        logdepth.compile_connectivity("x")


def test_the_stated_shapes_and_capacities_are_the_constructions():
    """The catalog states as data what `model` may not compute (it imports no builder)."""
    from logdepth.constructions import connectivity, graph_wide, wide
    from logdepth.gaps import connectivity as graph_gaps

    shape = connectivity.program_shape()
    assert catalog.GRAPH_SHAPE == shape
    assert catalog.GRAPH_TOLERANCE[0] == 2 * graph_gaps.rounding_bound("float64", shape)
    assert catalog.WIDE_CAPACITY == 2**wide.BITS - 1 == catalog.get("wide").capacity
    assert catalog.GRAPH_WIDE_CAPACITY == graph_wide.CAPACITY
    assert catalog.get("connectivity-wide").capacity == graph_wide.CAPACITY
