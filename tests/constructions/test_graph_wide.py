"""The wide Theorem 2 (constructions/graph_wide.py): answers against BFS from the forward pass,
the coordinates and B_l decoded from the residual stream, layer counts, frontiers by emulation
and float32 runs."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace

import numpy as np
import pytest

import logdepth
from logdepth.constructions import graph_wide
from logdepth.gaps import graph_wide as graph_wide_gaps
from logdepth.model import inputs
from logdepth.model.config import DepthRule
from logdepth.model.validate import CONTRACTS
from logdepth.verify.connectivity import (
    bounded_reachability,
    check_answers,
    decode_levels,
    expected_layers,
    reachability,
)
from logdepth.verify.precision import all_right, cases_for
from logdepth.verify.report import VerifyReport


@pytest.fixture(scope="module")
def model() -> logdepth.CompiledModel:
    return logdepth.compile_connectivity(construction="wide")


def _graphs(rng: random.Random, n: int, count: int) -> list[np.ndarray]:
    out = []
    for k in range(count):
        p = (0.0, 0.5 / n, 1.0 / n, 2.0 / n, 0.5)[k % 5]
        out.append(np.array([[rng.random() < p for _ in range(n)] for _ in range(n)]))
    return out


def _answers(model, graphs) -> tuple[int, set[bool]]:
    """Wrong answers over every (s, t) of every graph, and which truths were asked."""
    report = VerifyReport()
    check_answers(model, graphs, report, "graphs")
    wrong = sum(line.startswith("FAIL") for line in report.lines)
    truths = {
        bool(reachability(a)[s, t]) for a in graphs for s in range(len(a)) for t in range(len(a))
    }
    return wrong, truths


def test_every_directed_graph_up_to_two_vertices(model):
    graphs = [
        np.array([(bits >> k) & 1 for k in range(n * n)], dtype=bool).reshape(n, n)
        for n in (1, 2)
        for bits in range(2 ** (n * n))
    ]
    wrong, truths = _answers(model, graphs)
    assert wrong == 0 and truths == {True, False}


SLOW = pytest.mark.slow


# n >= 5 in the slow set (5 s, 9 s, 18 s); n = 5 and 6 also decode by default (below).
@pytest.mark.parametrize("n", [3, 4, *(pytest.param(n, marks=SLOW) for n in (5, 6, 7))])
def test_random_graphs_with_both_answers(model, n):
    wrong, truths = _answers(model, _graphs(random.Random(n), n, 5 if n < 6 else 3))
    assert truths == {True, False}
    assert wrong == 0


def _digits(trace, name: str, step: int) -> np.ndarray:
    return sum(
        (trace.decode(f"{name}.{b}", step) > 0.5).astype(int) << b for b in range(graph_wide.BITS)
    )


@pytest.mark.parametrize("n", [5, 6])
def test_coordinates_and_levels_decode_from_the_stream(model, n):
    """Every matrix entry holds (0, i, j), every pad (i, k, j), the last token s - 1 and t - 1;
    B_l at the matrix entries is (I + A)^(2^l) > 0 after every level."""
    rng = np.random.default_rng(n)
    adj = rng.random((n, n)) < 1.2 / n
    s, t = 1, n - 1
    tokens = inputs.encode_graph(adj, s, t)
    trace = model.trace_tokens(tokens)
    end = trace.layer_ends()[graph_wide.INITIAL_LAYERS - 1]
    got = np.stack([_digits(trace, d, end) for d in ("d2", "d1", "d0")], axis=1)
    for j, tok in enumerate(tokens):
        if tok in ("0", "1"):
            want = (0, (j - 1) // n, (j - 1) % n)
        elif tok == inputs.PAD:
            x = j - 1 - n * n
            want = (x // (n * n), (x // n) % n, x % n)
        else:
            continue
        assert tuple(got[j]) == want, (j, tok)
    assert _digits(trace, "s-1", end)[-1] == s
    assert _digits(trace, "t-1", end)[-1] == t
    for level, b in enumerate(decode_levels(trace, n)):
        assert np.array_equal(b, bounded_reachability(adj, level)), level


def test_layer_count_is_its_formula_and_below_the_faithful_one(model):
    for n in [1, 2, 3, 4, 5, 8, 9, 16, 17, 100, 128]:
        want = 2 * DepthRule.ceil_log2(n) + 14
        assert model.num_layers(n) == expected_layers(n, graph_wide.CONSTRUCTION) == want
        assert graph_wide.layers(n) == want < expected_layers(n)
    trace = model.trace_tokens(inputs.encode_graph(np.eye(5, dtype=bool), 0, 4))
    assert len(trace.layer_ends()) == 2 * 3 + 14


def test_frontiers_meet_the_targets_and_match_the_contract(model):
    assert model.config.frontier == {"float64": 128, "float32": graph_wide.frontier("float32")}
    assert graph_wide.frontier("float32") >= 16
    assert graph_wide.frontier("float64") == graph_wide.CAPACITY == 128
    contract = CONTRACTS[graph_wide.CONSTRUCTION]
    assert dict(contract.frontier) == model.config.frontier
    assert contract.tolerance[0] < model.config.tie_tolerance == contract.tolerance[1]
    assert model.config.tie_tolerance == graph_wide_gaps.tie_tolerance()
    assert model.config.s_r_t == contract.s_r_t
    # The tolerance covers the key deviation at the capacity, and stays below the match gap at
    # every p the curve claims an n for.
    assert graph_wide_gaps.tie_tolerance() > 2 * graph_wide_gaps.key_deviation(128, 52)
    for p, n in model.extra["report"]["frontier_by_bits"].items():
        if n >= 1:
            assert graph_wide_gaps.tolerance_at(int(p)) < 1.0 / graph_wide_gaps.SCORE_SCALE


def test_float32_at_8_vertices(model):
    m32 = logdepth.compile_connectivity(construction="wide").to(dtype="float32")
    cases = cases_for(m32, 8, k=3, seed=8)
    assert {c.want for c in cases} == {"connected", "disconnected"}
    assert m32.run_tokens([c.tokens for c in cases]) == [c.want for c in cases]


@pytest.mark.slow
def test_float32_at_16_vertices():
    """Issue 13's target: float32 right at 16 vertices (4,369 tokens), both answers."""
    m32 = logdepth.compile_connectivity(construction="wide").to(dtype="float32")
    cases = cases_for(m32, 16, k=3, seed=16)
    assert {c.want for c in cases} == {"connected", "disconnected"}
    assert m32.run_tokens([c.tokens for c in cases]) == [c.want for c in cases]


@pytest.mark.parametrize("bits", [20, pytest.param(21, marks=pytest.mark.slow)])
def test_graphs_at_the_predicted_frontier_are_right_under_emulation(model, bits):
    """n(p) from graph_wide.frontier_for_bits, connected and disconnected queries at n(p)
    vertices with every operation rounded to p bits."""
    n = model.extra["report"]["frontier_by_bits"][str(bits)]
    assert n >= 4
    cases = cases_for(model, n, k=2, seed=bits)
    assert {c.want for c in cases} == {"connected", "disconnected"}
    assert all_right(model, cases, bits)


def test_too_few_bits_go_wrong(model):
    """The emulator is not vacuous for this construction: at 12 bits, 5 vertices go wrong."""
    cases = cases_for(model, 5, k=3, seed=3)
    assert not all_right(model, cases, 12)


@pytest.mark.parametrize(("n", "count"), [(4, 1), pytest.param(7, 3, marks=SLOW)])
def test_exact_ties_are_needed_a_zero_tolerance_breaks_them(model, n, count):
    """The window and tie-set heads average keys whose scores are equal only up to rounding;
    with the tie tolerance at 0 those averages lose members and answers go wrong."""
    m = model.to("float64")  # a copy: the shared model keeps its tolerance
    assert m.network is not model.network
    m.network.config = replace(m.config, tie_tolerance=0.0)
    rng = random.Random(7)
    wrong = 0
    for adj in _graphs(rng, n, count):
        wrong += _answers(m, [adj])[0]
    assert wrong > 0


def test_cli_compiles_and_verifies_the_wide_graph_model(tmp_path, capsys):
    from logdepth.cli import main

    out = tmp_path / "wide.safetensors"
    assert main(["compile", "--connectivity", "--construction", "wide", "-o", str(out)]) == 0
    assert main(["verify", str(out), "--samples", "6", "--max-length", "4", "--budget", "0"]) == 0
    text = capsys.readouterr().out
    assert "2 ceil(log2 n) + 14" in text and "OK" in text
    bad = tmp_path / "bad.safetensors"
    assert main(["compile", "--connectivity", "--construction", "nonuniform", "-o", str(bad)]) != 0
    assert not bad.exists()


def test_pairs_cover_every_source_and_target(model):
    """Both query tokens are read from their own bits: every (s, t) on a 4-cycle."""
    n = 4
    adj = np.zeros((n, n), dtype=bool)
    for i in range(n):
        adj[i, (i + 1) % n] = True
    adj[0, 1] = False  # a path 1 -> 2 -> 3 -> 0
    reach = reachability(adj)
    seqs = [inputs.encode_graph(adj, s, t) for s, t in itertools.product(range(n), repeat=2)]
    want = [
        "connected" if reach[s, t] else "disconnected"
        for s, t in itertools.product(range(n), repeat=2)
    ]
    assert model.run_tokens(seqs) == want
