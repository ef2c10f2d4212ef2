"""Graph objects and importers; reachability against networkx as the oracle."""

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logdepth.errors import SpecError
from logdepth.graphs import Graph


@st.composite
def graphs(draw):
    n = draw(st.integers(1, 7))
    nodes = tuple(f"v{i}" for i in range(n))
    pairs = draw(st.lists(st.tuples(st.sampled_from(nodes), st.sampled_from(nodes)), max_size=12))
    return Graph("g", nodes, draw(st.booleans()), frozenset(pairs))


@settings(max_examples=60, deadline=None)
@given(graphs())
def test_reachable_matches_networkx(g):
    h = nx.DiGraph() if g.directed else nx.Graph()
    h.add_nodes_from(g.nodes)
    h.add_edges_from(g.edges)
    for s in g.nodes:
        for t in g.nodes:
            assert g.reachable(s, t) == nx.has_path(h, s, t), (s, t)
    adj = g.adjacency()
    assert np.array_equal(adj, nx.to_numpy_array(h, nodelist=list(g.nodes)).astype(bool))
    if not g.directed:
        assert np.array_equal(adj, adj.T)
    assert Graph.from_dict(g.to_dict()) == g


def test_index_and_unknown_node():
    g = Graph("g", ("a", "b"), True, frozenset({("a", "b")}))
    assert g.index("b") == 1
    with pytest.raises(KeyError):
        g.reachable("a", "z")


def test_edge_list_with_declared_nodes(tmp_path):
    p = tmp_path / "edges.txt"
    p.write_text("n 5\n# a comment\n1 2\n2 3  # trailing comment\n\n4 3\n")
    g = Graph.from_file(p)
    assert g.name == "edges" and g.nodes == ("1", "2", "3", "4", "5") and g.directed
    assert g.reachable("1", "3") and not g.reachable("3", "1") and not g.reachable("1", "5")


def test_edge_list_without_n_line_orders_nodes_by_appearance(tmp_path):
    p = tmp_path / "e.txt"
    p.write_text("b a\na c\n")
    assert Graph.from_file(p, name="x").nodes == ("b", "a", "c")


def test_dimacs(tmp_path):
    p = tmp_path / "g.col"
    p.write_text("c a comment\np edge 4 2\ne 1 2\ne 3 2\n")
    g = Graph.from_file(p)
    assert g.nodes == ("1", "2", "3", "4") and not g.directed
    assert g.reachable("1", "3") and g.reachable("3", "1") and not g.reachable("1", "4")


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("1 2\n1 2 3\n", 2, "expected an edge 'u v'"),
        ("n 2\n1 3\n", 2, "outside the declared nodes 1..2"),
        ("n x\n", 1, "expected 'n N'"),
        ("p edge 3 1\ne 1 4\n", 2, "node 4 is outside 1..3"),
        ("c hi\ne 1 2\n", 2, "'e' line before"),
        ("p edge 3\n", 1, "expected 'p edge N M'"),
        ("p edge 3 1\nx 1 2\n", 2, "unexpected 'x'"),
    ],
)
def test_file_errors_name_file_and_line(tmp_path, text, line, message):
    p = tmp_path / "bad.txt"
    p.write_text(text)
    with pytest.raises(SpecError, match=message) as info:
        Graph.from_file(p)
    assert info.value.file == str(p) and info.value.line == line
    assert str(info.value).startswith(f"{p}:{line}:")


def test_from_dict_validates():
    with pytest.raises(SpecError, match="undefined node"):
        Graph.from_dict({"name": "g", "nodes": ["a"], "directed": True, "edges": [["a", "b"]]})
    with pytest.raises(SpecError, match="directed"):
        Graph.from_dict({"name": "g", "nodes": ["a"], "directed": "yes", "edges": []})
