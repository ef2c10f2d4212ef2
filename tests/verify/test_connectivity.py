"""verify_connectivity: passes on the compiled weights, and fails with the smallest readable
counterexample when the weights (or their depth rule) are wrong."""

from __future__ import annotations

import dataclasses
import functools

import networkx as nx
import numpy as np
import pytest

from logdepth.constructions.connectivity import compile_connectivity
from logdepth.model import inputs
from logdepth.model.compiled import CompiledModel
from logdepth.model.config import DepthRule
from logdepth.model.transformer import UniversalTransformer
from logdepth.verify.connectivity import (
    bounded_reachability,
    decode_graph_tokens,
    probe_frontier,
    reachability,
    render_counterexample,
    verify_connectivity,
)
from logdepth.verify.report import VerifyReport
from logdepth.verify.words import Budget


@functools.cache
def model() -> CompiledModel:
    return compile_connectivity()


def altered(config_changes: dict | None = None, tensor_changes=None) -> CompiledModel:
    m = model()
    config = dataclasses.replace(m.config, **(config_changes or {}))
    tensors = {k: v.clone() for k, v in m.network.tensors.items()}
    if tensor_changes is not None:
        tensor_changes(tensors)
    return CompiledModel(UniversalTransformer(config, tensors), m.extra)


def test_verify_passes_on_the_compiled_weights():
    seen = []
    report = verify_connectivity(
        model(),
        max_vertices=4,
        samples=6,
        exhaustive=2,
        progress=lambda done, total: seen.append((done, total)),
        budget_s=0,
    )
    assert report.ok, report.lines
    assert report.counterexample is None and report.checks > 60
    assert seen and seen[-1][0] == seen[-1][1]
    assert any("level invariants" in line for line in report.lines)
    # No budget: the probe toward the frontier 41 (sizes 41 >> k past the random graphs' 4)
    # runs nothing and says so.
    assert report.details["frontier_probe"] == 4
    assert any(
        line.startswith("most vertices run: 4 of the stored float64 frontier 41")
        and "5, 10, 20, 41 vertices skipped for the budget" in line
        for line in report.lines
    )


def _probe(m: CompiledModel, seconds: float) -> tuple[VerifyReport, int]:
    """probe_frontier past 3 vertices with `seconds` of budget and one query measured at 3
    vertices as taking a microsecond: 5 vertices are predicted to fit in any budget of a
    millisecond; once they ran (milliseconds on any machine), nothing more does."""
    budget = Budget(seconds)
    budget.record("run", 1 + 9 + 27 + 6, 1, 1e-6, False)
    report = VerifyReport()
    return report, probe_frontier(m, 3, budget, 0, report)


def test_the_frontier_probe_runs_what_its_budget_affords():
    report, largest = _probe(model(), 1e-3)
    assert report.ok and largest == 5
    assert report.lines == [
        "most vertices run: 5 of the stored float64 frontier 41 (toward it: 5 vertices, 2 "
        "queries each); 10, 20, 41 vertices skipped for the budget (0.001 s, --budget)"
    ]


def test_no_budget_runs_no_frontier_probe():
    report = verify_connectivity(model(), max_vertices=3, samples=2, budget_s=0)
    assert report.ok and report.details["frontier_probe"] == 3
    assert any("5, 10, 20, 41 vertices skipped for the budget" in line for line in report.lines)


def test_the_frontier_probe_catches_a_wrong_answer(monkeypatch):
    """The check can fail: answers flipped on the probe's inputs (5 vertices: 161 tokens) are
    caught, quoted, at its first size."""
    m = model()
    honest = m.run_tokens

    def flipped(sequences, *args, **kwargs):
        answers = honest(sequences, *args, **kwargs)
        return ["disconnected" if a == "connected" else "connected" for a in answers]

    monkeypatch.setattr(m, "run_tokens", flipped)
    report, largest = _probe(m, 1e-3)
    assert not report.ok and largest == 5
    assert any("n=5: on " in line and "BFS says" in line for line in report.lines), report.lines


def test_wrong_weights_give_the_smallest_counterexample():
    def swap_outputs(t):
        t["unembed"] = t["unembed"].flip(0)

    report = verify_connectivity(
        altered(tensor_changes=swap_outputs), max_vertices=2, samples=3, exhaustive=1, budget_s=0
    )
    assert not report.ok
    assert report.counterexample == "n=1 edges=[] s=1 t=1"


def test_wrong_unrolling_is_caught_by_invariants_and_layer_count():
    rule = DepthRule(count_tokens=("0", "1"), root=2, fixed=0)
    report = verify_connectivity(
        altered({"depth_rule": rule}), max_vertices=3, samples=4, budget_s=0
    )
    assert not report.ok
    assert any("layers" in line for line in report.lines)
    assert any("B_" in line or "BFS" in line for line in report.lines)


def test_refuses_a_model_that_is_not_for_graphs():
    report = verify_connectivity(altered({"input_format": "word"}), samples=1)
    assert not report.ok and "not a graph-connectivity model" in report.lines[0]


@pytest.mark.parametrize("n", [1, 2, 5])
def test_encode_decode_round_trip(n):
    rng = np.random.default_rng(n)
    adj = rng.random((n, n)) < 0.4
    for s in range(n):
        for t in range(n):
            back, s2, t2 = decode_graph_tokens(inputs.encode_graph(adj, s, t))
            assert (s2, t2) == (s, t) and np.array_equal(back, adj)
    with pytest.raises(ValueError):
        decode_graph_tokens(inputs.encode_graph(adj, 0, 0)[:-1] + [inputs.PAD])


def test_oracles_agree_with_networkx():
    rng = np.random.default_rng(7)
    for n in range(1, 9):
        adj = rng.random((n, n)) < 1.5 / n
        g = nx.DiGraph(adj.astype(int))
        for level in range(4):
            lengths = dict(nx.all_pairs_shortest_path_length(g, cutoff=2**level))
            want = np.array([[j in lengths[i] for j in range(n)] for i in range(n)])
            np.testing.assert_array_equal(bounded_reachability(adj, level), want)
        closure = dict(nx.all_pairs_shortest_path_length(g))
        want = np.array([[j in closure[i] for j in range(n)] for i in range(n)])
        np.testing.assert_array_equal(reachability(adj), want)
    assert render_counterexample(np.array([[0, 1], [0, 0]], bool), 1, 0) == (
        "n=2 edges=[1->2] s=2 t=1"
    )
