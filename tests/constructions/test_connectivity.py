"""Theorem 2: the compiled connectivity transformer against BFS (networkx), exhaustively for
n <= 3 and on named graphs at n = 12 and 16; layer counts; one weight file for every n."""

from __future__ import annotations

import functools
import itertools

import networkx as nx
import numpy as np
import pytest

from logdepth.constructions.connectivity import compile_connectivity, program_shape
from logdepth.errors import InputError
from logdepth.gaps import connectivity as graph_precision
from logdepth.graphs import Graph
from logdepth.model import inputs
from logdepth.model.compiled import load
from logdepth.verify.connectivity import decode_graph_tokens, expected_layers


@functools.cache
def model():
    return compile_connectivity()


def nx_reach(adj: np.ndarray, s: int, t: int) -> bool:
    g = nx.DiGraph()
    g.add_nodes_from(range(len(adj)))
    g.add_edges_from(zip(*np.nonzero(adj), strict=True))
    return s == t or nx.has_path(g, s, t)


def all_graphs(n: int):
    for bits in range(2 ** (n * n)):
        yield np.array([(bits >> k) & 1 for k in range(n * n)], dtype=bool).reshape(n, n)


# n = 3 is 512 graphs x 9 pairs (12 s): the slow set; random and named graphs cover n >= 3 here.
@pytest.mark.parametrize("n", [1, 2, pytest.param(3, marks=pytest.mark.slow)])
def test_every_directed_graph_and_pair_matches_bfs(n):
    seqs, want = [], []
    for adj in all_graphs(n):
        for s, t in itertools.product(range(n), repeat=2):
            seqs.append(inputs.encode_graph(adj, s, t))
            want.append(nx_reach(adj, s, t))
    got = [a == "connected" for a in model().run_tokens(seqs)]
    bad = [k for k, (g, w) in enumerate(zip(got, want, strict=True)) if g != w]
    assert not bad, f"{len(bad)} wrong, first: {decode_graph_tokens(seqs[bad[0]])}"


def test_shape_and_layer_count_from_one_weight_file():
    m = model()
    assert m.config.s_r_t == (17, 2, 1)
    for n in range(1, 70):
        assert m.num_layers(n) == expected_layers(n) == 2 * (n - 1).bit_length() + 18
    # the layers actually run, counted in the trace
    for n in (1, 2, 3, 4, 5):
        adj = np.zeros((n, n), dtype=bool)
        trace = m.trace_tokens(inputs.encode_graph(adj, 0, n - 1))
        assert len(trace.layer_ends()) == expected_layers(n)


def test_same_bytes_and_saved_file_answers(tmp_path):
    a, b = compile_connectivity(), compile_connectivity()
    assert a.to_bytes() == b.to_bytes()
    path = tmp_path / "conn.safetensors"
    a.save(path)
    loaded = load(path)
    adj = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]], dtype=bool)
    seqs = [inputs.encode_graph(adj, s, t) for s in range(3) for t in range(3)]
    assert loaded.run_tokens(seqs) == a.run_tokens(seqs)
    assert loaded.config.frontier == graph_precision.frontier(program_shape())
    assert "report" in loaded.extra and loaded.extra["report"]["shape"] == [17, 2, 1]


def test_connected_on_graph_objects_directed_and_undirected():
    m = model()
    directed = Graph("g", ("a", "b", "c", "d"), True, frozenset({("a", "b"), ("b", "c")}))
    undirected = Graph("u", ("a", "b", "c", "d"), False, frozenset({("a", "b"), ("c", "b")}))
    queries = [(g, s, t) for g in (directed, undirected) for s in g.nodes for t in g.nodes]
    got = m.connected_batch(queries)
    assert got == [g.reachable(s, t) for g, s, t in queries]
    assert m.connected(directed, "a", "c") and not m.connected(directed, "c", "a")


def test_frontier_is_stored_and_enforced():
    m = model()
    f = graph_precision.frontier(program_shape())
    assert m.config.frontier == f and f["float64"] >= 32
    big = f["float64"] + 1
    tokens = inputs.encode_graph(np.zeros((big, big), dtype=bool), 0, 0)
    with pytest.raises(InputError, match="frontier"):
        m.run_tokens([tokens])
    with pytest.raises(InputError):
        m.to("float32").run_tokens([inputs.encode_graph(np.zeros((2, 2), dtype=bool), 0, 1)])


def named_graphs(n: int) -> dict[str, np.ndarray]:
    """Paths, cycles, two components, complete, one edge in the wrong direction."""
    path = np.zeros((n, n), dtype=bool)
    for v in range(n - 1):
        path[v, v + 1] = True
    cycle = path.copy()
    cycle[n - 1, 0] = True
    half = n // 2
    two = np.zeros((n, n), dtype=bool)
    for v in range(n - 1):
        if v != half - 1:
            two[v, v + 1] = two[v + 1, v] = True
    complete = ~np.eye(n, dtype=bool)
    wrong = path.copy()
    wrong[half - 1, half] = False
    wrong[half, half - 1] = True  # the one edge that points back
    return {
        "path": path,
        "cycle": cycle,
        "two components": two,
        "complete": complete,
        "wrong-way edge": wrong,
    }


def _queries(n: int) -> list[tuple[str, np.ndarray, int, int]]:
    """One query per graph, chosen so that the answers differ: far end of the path (yes), back
    along the path through the cycle (yes), across the components (no), complete (yes), across
    the wrong-way edge (no)."""
    ends = {
        "path": (0, n - 1),
        "cycle": (n - 1, 0),
        "two components": (0, n - 1),
        "complete": (n - 1, 0),
        "wrong-way edge": (0, n - 1),
    }
    return [(name, adj, *ends[name]) for name, adj in named_graphs(n).items()]


def _check_named(n: int) -> None:
    cases = _queries(n)
    got = model().run_tokens([inputs.encode_graph(adj, s, t) for _, adj, s, t in cases])
    for (name, adj, s, t), answer in zip(cases, got, strict=True):
        assert (answer == "connected") == nx_reach(adj, s, t), (name, s, t)
    assert [a == "connected" for a in got] == [True, True, False, True, False]


def test_named_graphs_n12():
    _check_named(12)


@pytest.mark.slow
def test_named_graphs_n16():
    _check_named(16)
