"""The hygiene ledger refuses leaky loops, dead reads and undeclared overwrites (digest 8.7)."""

from __future__ import annotations

import numpy as np
import pytest

from logdepth.compiler.assemble import assemble
from logdepth.compiler.hygiene import check_hygiene
from logdepth.compiler.program import FeedForward, Layer
from logdepth.errors import CompileError
from tests.compiler.programs import counter_program


def test_a_clean_loop_assembles():
    live = check_hygiene(counter_program())
    assert "tmp" not in live["loop"] and "count" in live["loop"]


def test_a_leaky_loop_is_refused_naming_the_cell():
    with pytest.raises(CompileError, match="uncleared.*tmp"):
        assemble(counter_program(leaky=True))


def test_reading_a_cell_nothing_wrote_is_refused():
    p = counter_program()
    tmp = next(c for c in p.layout.cells if c.name == "tmp")
    p.initial.append(Layer("reads tmp too early", ff=FeedForward({tmp: [[1.0]]}, {})))
    with pytest.raises(CompileError, match="initial layer 1.*reads cell 'tmp'"):
        assemble(p)


def test_overwriting_a_persistent_cell_without_a_delta_is_refused():
    p = counter_program()
    p.repeated[1].updates = ()
    with pytest.raises(
        CompileError, match="repeated layer 1.*overwrites live persistent cell 'count'"
    ):
        assemble(p)


def test_clearing_what_the_next_iteration_needs_is_refused():
    p = counter_program()
    count = next(c for c in p.layout.cells if c.name == "count")
    p.repeated[1].clears = (*p.repeated[1].clears, count)
    with pytest.raises(CompileError, match="next iteration reads.*count"):
        assemble(p)


def test_a_variable_norm_cell_must_be_read_alone():
    p = counter_program()
    pos = next(c for c in p.layout.cells if c.name == "pos")
    p.final.append(
        Layer(
            "reads psi with one", ff=FeedForward({pos: np.ones((1, 4)), p.layout.one: [[1.0]]}, {})
        )
    )
    with pytest.raises(
        CompileError, match="'pos' \\(psi\\) has no fixed norm and must be read alone"
    ):
        assemble(p)


def test_the_loop_runs_and_counts():
    from logdepth.model.compiled import CompiledModel

    model = CompiledModel(assemble(counter_program()))
    for n in (1, 2, 3, 4, 5, 8, 9):
        trace = model.trace_tokens(["<bos>"] + ["x"] * n + ["<$>"])
        depth = 0 if n <= 1 else (n - 1).bit_length()
        assert trace.depth == depth
        assert trace.decode("count")[-1] == depth
        assert np.all(trace.cell("tmp") == 0)  # cleared at every position after the loop
        assert np.allclose(trace.decode("pos"), np.arange(1, n + 3))
