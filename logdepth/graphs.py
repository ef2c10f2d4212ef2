"""Graphs for Theorem 2 (connectivity): directed or undirected, with file importers."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from logdepth.errors import SpecError
from logdepth.fileio import read_user_text

# Bound on a declared node count ('n N', 'p edge N M'): the oracle's BFS and the adjacency matrix
# stay small, and Theorem 2's model runs far fewer vertices (its float64 frontier is 41; the input
# has n^3 tokens). Checked before any node is made, so 'n 1000000000' fails at once.
MAX_GRAPH_NODES = 100_000
# A graph file is edge lists of hand-made or generated graphs; larger is not one.
MAX_GRAPH_FILE_BYTES = 64 * 1024 * 1024


def _is_number(text: str) -> bool:
    """ASCII digits only: str.isdigit() also takes '²', which int() refuses."""
    return text.isascii() and text.isdigit()


def _bad(message: str) -> SpecError:
    return SpecError(message, file="<dict>")


@dataclass(frozen=True)
class Graph:
    """A graph over `nodes`. For an undirected graph each edge is stored once, as (u, v) with u
    not after v in node order; `adjacency()` is symmetric."""

    name: str
    nodes: tuple[str, ...]
    directed: bool
    edges: frozenset[tuple[str, str]]

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", tuple(self.nodes))
        if len(set(self.nodes)) != len(self.nodes):
            raise _bad(f"graph {self.name!r} has duplicate nodes")
        pos = {v: i for i, v in enumerate(self.nodes)}
        edges = set()
        for u, v in self.edges:
            if u not in pos or v not in pos:
                raise _bad(f"edge ({u}, {v}) of graph {self.name!r} names an undefined node")
            if not self.directed and pos[u] > pos[v]:
                u, v = v, u
            edges.add((u, v))
        object.__setattr__(self, "edges", frozenset(edges))

    def index(self, node: str) -> int:
        try:
            return self.nodes.index(node)
        except ValueError:
            raise KeyError(f"{node!r} is not a node of graph {self.name!r}") from None

    def adjacency(self) -> np.ndarray:
        """Boolean adjacency matrix [n, n] in node order; symmetric when undirected."""
        n = len(self.nodes)
        pos = {v: i for i, v in enumerate(self.nodes)}
        adj = np.zeros((n, n), dtype=bool)
        for u, v in self.edges:
            adj[pos[u], pos[v]] = True
            if not self.directed:
                adj[pos[v], pos[u]] = True
        return adj

    def successors(self) -> dict[str, list[str]]:
        succ: dict[str, list[str]] = {v: [] for v in self.nodes}
        for u, v in sorted(self.edges):
            succ[u].append(v)
            if not self.directed:
                succ[v].append(u)
        return succ

    def reachable(self, s: str, t: str) -> bool:
        """Is there a path from s to t (BFS)? A node reaches itself."""
        self.index(s)
        self.index(t)
        succ = self.successors()
        seen = {s}
        queue = deque([s])
        while queue:
            u = queue.popleft()
            if u == t:
                return True
            for v in succ[u]:
                if v not in seen:
                    seen.add(v)
                    queue.append(v)
        return False

    def sorted_edges(self) -> list[tuple[str, str]]:
        pos = {v: i for i, v in enumerate(self.nodes)}
        return sorted(self.edges, key=lambda e: (pos[e[0]], pos[e[1]]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "graph",
            "name": self.name,
            "nodes": list(self.nodes),
            "directed": self.directed,
            "edges": [list(e) for e in self.sorted_edges()],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Graph:
        if not isinstance(d, Mapping):
            raise _bad("a graph must be a JSON object")
        if d.get("type", "graph") != "graph":
            raise _bad(f"expected type 'graph', got {d.get('type')!r}")
        name, nodes, directed, edges = (
            d.get("name"),
            d.get("nodes"),
            d.get("directed"),
            d.get("edges"),
        )
        if not isinstance(name, str):
            raise _bad("field 'name' must be a string")
        if not isinstance(nodes, list) or not all(isinstance(v, str) for v in nodes):
            raise _bad("field 'nodes' must be a list of strings")
        if not isinstance(directed, bool):
            raise _bad("field 'directed' must be true or false")
        if not isinstance(edges, list) or not all(
            isinstance(e, list) and len(e) == 2 and all(isinstance(x, str) for x in e)
            for e in edges
        ):
            raise _bad("field 'edges' must be a list of [u, v] string pairs")
        return cls(name, tuple(nodes), directed, frozenset((u, v) for u, v in edges))

    @classmethod
    def from_file(
        cls, path: str | Path, name: str | None = None, directed: bool | None = None
    ) -> Graph:
        """Read an edge list or a DIMACS file, recognised by content.

        Edge list: ``u v`` per line, ``#`` comments, an optional first line ``n N`` declaring
        nodes 1..N (so isolated nodes exist); directed unless `directed` says otherwise.
        DIMACS: ``c`` comments, ``p edge N M``, then ``e u v`` lines (1-based); undirected unless
        `directed` says otherwise. Errors are `SpecError` with the file and line.
        """
        path = Path(path)

        def error(message: str) -> SpecError:
            return SpecError(message, file=str(path))

        text = read_user_text(path, "graph file", MAX_GRAPH_FILE_BYTES, error)
        return parse_graph_text(text, name or path.stem, file=str(path), directed=directed)


def _is_dimacs(lines: list[str]) -> bool:
    for raw in lines:
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        if s.split()[0] in ("p", "c"):
            return True
        if s.split()[0] == "e":
            return True
        return False
    return False


def parse_graph_text(
    text: str, name: str, *, file: str = "<string>", directed: bool | None = None
) -> Graph:
    """Parse edge-list or DIMACS text (see `Graph.from_file`)."""
    lines = text.splitlines()
    where = _GraphText(lines, file)
    if _is_dimacs(lines):
        return _parse_dimacs(where, name, directed)
    return _parse_edge_list(where, name, directed)


class _GraphText:
    """The lines of a graph file and its located errors."""

    def __init__(self, lines: list[str], file: str) -> None:
        self.lines, self.file = lines, file
        self.first = next((k for k, raw in enumerate(lines, 1) if raw.split("#", 1)[0].strip()), 0)

    def err(self, msg: str, lineno: int, col: int = 1) -> SpecError:
        # The first line that says anything is not quoted: a file that fails there may not be
        # a graph file at all, and its content is not ours to print.
        shown = self.lines[lineno - 1][:200] if lineno != self.first else None
        if lineno == self.first:
            msg += " (is this an edge-list or DIMACS file?)"
        return SpecError(msg, file=self.file, line=lineno, column=col, source_line=shown)

    def count(self, text: str, lineno: int) -> int:
        n = int(text)
        if n > MAX_GRAPH_NODES:
            raise self.err(f"{n:,} nodes is over the limit of {MAX_GRAPH_NODES:,}", lineno)
        return n


def _parse_dimacs(where: _GraphText, name: str, directed: bool | None) -> Graph:
    """DIMACS: 'c' comments, one 'p edge N M' line, then 'e u v' lines over nodes 1..N."""
    err = where.err
    n = None
    edges: list[tuple[str, str]] = []
    for lineno, raw in enumerate(where.lines, 1):
        parts = raw.split()
        if not parts or parts[0] == "c":
            continue
        if parts[0] == "p":
            if n is not None:
                raise err("second 'p' line", lineno)
            if len(parts) != 4 or parts[1] != "edge" or not all(map(_is_number, parts[2:])):
                raise err("expected 'p edge N M'", lineno)
            n = where.count(parts[2], lineno)
        elif parts[0] == "e":
            if n is None:
                raise err("'e' line before the 'p edge N M' line", lineno)
            if len(parts) != 3 or not all(map(_is_number, parts[1:])):
                raise err("expected 'e u v' with two node numbers", lineno)
            for p in parts[1:]:
                if not 1 <= int(p) <= n:
                    raise err(f"node {p} is outside 1..{n}", lineno, raw.index(p, 1) + 1)
            edges.append((str(int(parts[1])), str(int(parts[2]))))
        else:
            raise err(
                f"unexpected {parts[0]!r} in a DIMACS file (expected 'c', 'p' or 'e')", lineno
            )
    if n is None:
        raise SpecError("DIMACS file has no 'p edge N M' line", file=where.file)
    nodes = tuple(str(i) for i in range(1, n + 1))
    return Graph(name, nodes, bool(directed), frozenset(edges))


def _parse_edge_list(where: _GraphText, name: str, directed: bool | None) -> Graph:
    """Edge list: an optional first line 'n N' (nodes 1..N), then one 'u v' per line."""
    err = where.err
    declared: int | None = None
    order: dict[str, None] = {}
    edges = []
    at_first = True
    for lineno, raw in enumerate(where.lines, 1):
        line = raw.split("#", 1)[0]
        parts = line.split()
        if not parts:
            continue
        if at_first and parts[0] == "n":
            at_first = False
            if len(parts) != 2 or not _is_number(parts[1]):
                raise err("expected 'n N' declaring nodes 1..N", lineno)
            declared = where.count(parts[1], lineno)
            for i in range(1, declared + 1):
                order[str(i)] = None
            continue
        at_first = False
        if len(parts) != 2:
            raise err(f"expected an edge 'u v', got {len(parts)} fields", lineno)
        for p in parts:
            if declared is not None and p not in order:
                raise err(
                    f"node {p!r} is outside the declared nodes 1..{declared}",
                    lineno,
                    raw.index(p) + 1,
                )
            order.setdefault(p, None)
        edges.append((parts[0], parts[1]))
    return Graph(name, tuple(order), True if directed is None else directed, frozenset(edges))


def reachability(adjacency: np.ndarray) -> np.ndarray:
    """BFS from every vertex (a vertex reaches itself)."""
    adj = np.asarray(adjacency, dtype=bool)
    n = len(adj)
    out = np.zeros((n, n), dtype=bool)
    for s in range(n):
        seen = {s}
        frontier = [s]
        while frontier:
            nxt = []
            for u in frontier:
                for v in np.flatnonzero(adj[u]):
                    if int(v) not in seen:
                        seen.add(int(v))
                        nxt.append(int(v))
            frontier = nxt
        out[s, sorted(seen)] = True
    return out
