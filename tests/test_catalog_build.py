"""The one build driver (logdepth/build.py) and the catalog's derived facts."""

from __future__ import annotations

from dataclasses import replace

import pytest

import logdepth
from logdepth import catalog
from logdepth.build import build
from logdepth.errors import CompileError
from logdepth.model.config import DepthRule

COUNTER = catalog.Construction(
    name="test-counter",
    config_name="test-counter-config",
    reference="tests/compiler/programs.py",
    accepts="graph",
    input_format="graph",
    contract=catalog.Contract(s_r_t=(1, 2, 0)),
    program="tests.compiler.programs:counter_program",
    report="tests.test_catalog_build:counter_report",
    precision="logdepth.constructions.regular:precision_model",
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


def test_the_formula_is_derived_from_the_contract():
    for entry in catalog.CONSTRUCTIONS:
        srt, levels = entry.contract.s_r_t, entry.contract.level_layers
        if levels is not None:  # L levels: first + per (L - 1) + after, L = ceil(log2 N) + 1
            first, per, after = levels
            for big in (1, 2, 5, 64):
                want = first + per * DepthRule.ceil_log2(big) + after
                assert entry.layers(big, big) == want
        elif srt is not None:  # s + r ceil(log2 n) + t
            s, r, t = srt
            assert [entry.layers(n) for n in (1, 2, 3, 9)] == [s + t, s + r + t, s + 2 * r + t,
                                                               s + 4 * r + t]  # fmt: skip
        else:
            assert entry.depth is not None


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
