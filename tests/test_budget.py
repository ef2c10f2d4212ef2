"""Depth budgets (Corollaries 1.2 and 2.1) against the layer counts of compiled weights."""

from __future__ import annotations

import pytest

import logdepth
from logdepth.budget import budgets, paper_graph, paper_regular
from logdepth.cli import main
from logdepth.constructions.regular import compile_regular

PARITY = logdepth.parse_file("examples/basics.ld")["parity"]


@pytest.fixture(scope="module")
def uniform():
    return compile_regular(PARITY)


@pytest.fixture(scope="module")
def connectivity():
    return logdepth.compile_connectivity()


def _by_name(layers: int) -> dict[str, int]:
    return {b.construction: b.largest for b in budgets(layers)}


@pytest.mark.parametrize("layers", [8, 9, 17, 25, 32, 41, 64, 80])
def test_uniform_and_graph_budgets_are_the_compiled_layer_counts(uniform, connectivity, layers):
    """The largest n fits in `layers` by the weights' own count and n + 1 does not."""
    got = _by_name(layers)
    for model, key in ((uniform, "uniform"), (connectivity, "connectivity")):
        n = got[key]
        if n:
            assert model.num_layers(n) <= layers < model.num_layers(n + 1)
        else:
            assert model.num_layers(1) > layers


@pytest.mark.parametrize("layers", [9, 13, 21, 32])
def test_nonuniform_budget_is_the_largest_build_that_fits(layers):
    n = _by_name(layers)["nonuniform"]
    fits = compile_regular(PARITY, construction="nonuniform", max_length=n)
    assert fits.num_layers(n) <= layers
    bigger = compile_regular(PARITY, construction="nonuniform", max_length=n + 1)
    assert bigger.num_layers(n + 1) > layers


def test_the_paper_numbers():
    """Introduction: depth 32 -> strings of length 107 and 128 vertices; depth 80 -> 440K and
    2.1 B. Corollary 2.1's own formula gives half the introduction's vertex counts."""
    assert int(paper_regular(32)) == 107 and int(paper_regular(80)) == 440_871
    assert int(paper_graph(32)) == 64 and int(paper_graph(32, intro=True)) == 128
    assert int(paper_graph(80, intro=True)) == 2_147_483_648  # "2.1B"


def test_corollary_1_2_drops_the_ceiling():
    """docs/errata.md: a length-107 build of Corollary 1.1 needs 4 ceil(log2 107) + 5 = 33
    layers, one more than the 32 that Corollary 1.2 promises it."""
    model = compile_regular(PARITY, construction="nonuniform", max_length=107)
    assert model.num_layers(107) == 33
    assert _by_name(32)["nonuniform"] == 64


def test_cli_budget(capsys):
    assert main(["budget", "--layers", "32"]) == 0
    out = capsys.readouterr().out
    assert "107" in out and "128" in out and "64" in out
    assert main(["budget", "--layers", "-1"]) == 1
