"""Theorem 2 on random graphs (hypothesis): answers against networkx, and the per-level
invariant B_l(i, j) = [path of length <= 2^l] decoded from the residual stream."""

from __future__ import annotations

import functools

import networkx as nx
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logdepth.constructions.connectivity import compile_connectivity
from logdepth.graphs import Graph
from logdepth.model import inputs
from logdepth.verify.connectivity import (
    bounded_reachability,
    decode_coordinates,
    decode_levels,
    matrix_position,
    pad_position,
)


@functools.cache
def model():
    return compile_connectivity()


@st.composite
def graphs(draw, max_n: int = 8) -> tuple[np.ndarray, bool]:
    n = draw(st.integers(1, max_n))
    directed = draw(st.booleans())
    p = draw(st.sampled_from([0.0, 0.5 / n, 1.0 / n, 2.0 / n, 0.5]))
    bits = draw(st.lists(st.floats(0, 1, exclude_max=True), min_size=n * n, max_size=n * n))
    adj = np.array(bits).reshape(n, n) < p
    if not directed:
        adj = adj | adj.T
    return adj, directed


def as_graph(adj: np.ndarray, directed: bool) -> Graph:
    n = len(adj)
    nodes = tuple(f"v{k}" for k in range(n))
    edges = {(nodes[i], nodes[j]) for i, j in zip(*np.nonzero(adj), strict=True)}
    if not directed:
        edges = {(u, v) for u, v in edges if nodes.index(u) <= nodes.index(v)}
    return Graph("g", nodes, directed, frozenset(edges))


SETTINGS = settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SETTINGS
@given(graphs(), st.data())
def test_random_graphs_against_networkx(graph, data):
    adj, directed = graph
    g = as_graph(adj, directed)
    oracle = nx.DiGraph() if directed else nx.Graph()
    oracle.add_nodes_from(g.nodes)
    oracle.add_edges_from(g.edges)
    pairs = data.draw(
        st.lists(
            st.tuples(st.sampled_from(g.nodes), st.sampled_from(g.nodes)), min_size=1, max_size=3
        )
    )
    got = model().connected_batch([(g, s, t) for s, t in pairs])
    assert got == [nx.has_path(oracle, s, t) for s, t in pairs]


@SETTINGS
@given(graphs())
def test_level_invariants_and_coordinates(graph):
    adj, _ = graph
    n = len(adj)
    trace = model().trace_tokens(inputs.encode_graph(adj, 0, n - 1))
    levels = decode_levels(trace, n)
    assert len(levels) == (n - 1).bit_length() + 1
    for level, got in enumerate(levels):
        np.testing.assert_array_equal(got, bounded_reachability(adj, level), f"B_{level}")
    # the last level is plain reachability (networkx transitive closure)
    closure = nx.transitive_closure(nx.DiGraph(adj.astype(int)), reflexive=True)
    want = np.zeros((n, n), dtype=bool)
    for i, j in closure.edges:
        want[i, j] = True
    np.testing.assert_array_equal(levels[-1], want)
    # 0-indexed coordinates at every matrix entry and pad (p = i n + j; p = i n^2 + k n + j)
    coords = decode_coordinates(trace, n)
    for i in range(n):
        for j in range(n):
            at = matrix_position(n, i, j)
            assert round(coords["r%n"][at]) == i and round(coords["x%n"][at]) == j
            for k in range(n):
                at = pad_position(n, i, k, j)
                got = tuple(round(coords[c][at]) for c in ("r2%n", "r%n", "x%n"))
                assert got == (i, k, j)
