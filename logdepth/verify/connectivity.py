"""Verification of Theorem 2's transformer: answers against BFS, B_l against powers of I + A.

Every answer comes from the forward pass of the weights (`run_tokens`, batched by size); the
level invariants are decoded from `trace_tokens`, i.e. from the residual stream itself:

    B_l(i, j) = [j is reachable from i in at most 2^l steps]

(the proof of Theorem 2, the paper's Appendix D), read at matrix entry (i, j) after the l-th
unrolled iteration (l = 0: after the initial block).
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Sequence

import numpy as np

from logdepth import catalog
from logdepth.catalog import Construction
from logdepth.errors import InputError
from logdepth.graphs import reachability
from logdepth.model import inputs
from logdepth.model.compiled import CompiledModel, TraceResult
from logdepth.model.config import BOS
from logdepth.verify.oracle import graph_truth, truth_name
from logdepth.verify.precision import rederive_record
from logdepth.verify.report import Progress, VerifyReport, check_exhaustive_size
from logdepth.verify.words import Budget

# Tracing records every attention matrix ([heads, N, N] per layer), so invariants are checked on
# graphs up to this many vertices (N = 1 + n^2 + n^3 + s + t is 587 tokens at most for n = 8).
TRACE_MAX_VERTICES = 8
DEFAULT_MAX_VERTICES = 8
# Seconds for the queries past the random graphs, toward the stored frontier (`--budget`).
DEFAULT_BUDGET_S = 30.0


def expected_layers(n: int, construction: str | None = None) -> int:
    """The layer count the construction's formula (catalog) promises for n vertices:
    2 ceil(log2 n) + 18 for Theorem 2 (the default), 2 ceil(log2 n) + 14 for its wide code."""
    return construction_of(construction).layers(n)


def layer_formula(construction: str | None = None) -> str:
    return construction_of(construction).formula


def construction_of(construction: str | None) -> Construction:
    """The catalog entry of a graph construction's config name (None: Theorem 2's)."""
    entry = catalog.get("connectivity") if construction is None else catalog.of_config(construction)
    if entry is None or entry.input_format != "graph":
        raise ValueError(f"no graph construction is registered as {construction!r}")
    return entry


def bounded_reachability(adjacency: np.ndarray, level: int) -> np.ndarray:
    """[j reachable from i in at most 2^level steps] = (I + A)^(2^level) > 0, by squaring."""
    adj = np.asarray(adjacency, dtype=bool)
    m = (np.eye(len(adj), dtype=np.int64) + adj.astype(np.int64)) > 0
    for _ in range(level):
        m = (m.astype(np.int64) @ m.astype(np.int64)) > 0
    return m


def decode_graph_tokens(tokens: Sequence[str]) -> tuple[np.ndarray, int, int]:
    """Invert `encode_graph`: (adjacency, source index, target index), 0-based."""
    toks = list(tokens)
    if not toks or toks[0] != BOS:
        raise ValueError("a graph input starts with BoS")
    cells = [t for t in toks if t in ("0", "1")]
    n = int(round(len(cells) ** 0.5))
    if n * n != len(cells) or toks[1 : 1 + n * n] != cells:
        raise ValueError("the adjacency tokens must be n^2 consecutive tokens after BoS")
    pads = toks[1 + n * n : 1 + n * n + n**3]
    if pads != [inputs.PAD] * n**3:
        raise ValueError("expected n^3 padding tokens after the matrix")
    rest = toks[1 + n * n + n**3 :]
    s = rest.count(inputs.SOURCE)
    t = rest.count(inputs.TARGET)
    if rest != [inputs.SOURCE] * s + [inputs.TARGET] * t or not (1 <= s <= n and 1 <= t <= n):
        raise ValueError("expected a^s b^t with 1 <= s, t <= n")
    adj = np.array([c == "1" for c in cells], dtype=bool).reshape(n, n)
    return adj, s - 1, t - 1


def matrix_position(n: int, i: int, j: int) -> int:
    """Array index of adjacency token (i, j): BoS is index 0, rows are 0-indexed."""
    return 1 + i * n + j


def pad_position(n: int, i: int, k: int, j: int) -> int:
    """Array index of pad (i, k, j) (paper: p = n^2 + i n^2 + k n + j, plus BoS)."""
    return 1 + n * n + i * n * n + k * n + j


def decode_levels(trace: TraceResult, n: int) -> list[np.ndarray]:
    """B_0, ..., B_d as n x n boolean matrices, read from the cell "B" at the matrix entries:
    B_0 after the initial block, B_l after the l-th unrolled repeated block."""
    s, r, _ = trace.config.s_r_t
    ends = trace.layer_ends()
    at = [ends[s - 1]] + [ends[s - 1 + r * level] for level in range(1, trace.depth + 1)]
    idx = np.array([matrix_position(n, i, j) for i in range(n) for j in range(n)])
    levels = []
    for step in at:
        b = trace.decode("B", step)[idx]
        levels.append(b.reshape(n, n) > 0.5)
    return levels


def decode_coordinates(
    trace: TraceResult, n: int, step: int | None = None
) -> dict[str, np.ndarray]:
    """The 0-indexed coordinates the initial block wrote: "x%n", "r%n", "r2%n" hold
    phi(c + 1), decoded to c at every position (matrix (i, j): r%n = i, x%n = j; pad (i, k, j):
    r2%n = i, r%n = k, x%n = j)."""
    s = trace.config.s_r_t[0]
    at = trace.layer_ends()[s - 1] if step is None else step
    return {name: trace.decode(name, at) - 1.0 for name in ("x%n", "r%n", "r2%n")}


def render_counterexample(adjacency: np.ndarray, s: int, t: int) -> str:
    """A readable edge list with the query, vertices numbered 1..n as in the input format."""
    adj = np.asarray(adjacency, dtype=bool)
    n = len(adj)
    edges = [f"{i + 1}->{j + 1}" for i in range(n) for j in range(n) if adj[i, j]]
    return f"n={n} edges=[{', '.join(edges)}] s={s + 1} t={t + 1}"


def _all_graphs(n: int) -> list[np.ndarray]:
    out = []
    for bits in range(2 ** (n * n)):
        out.append(np.array([(bits >> k) & 1 for k in range(n * n)], dtype=bool).reshape(n, n))
    return out


def _random_graph(rng: random.Random, n: int) -> np.ndarray:
    p = rng.choice([0.0, 0.5 / n, 1.0 / n, 2.0 / n, 0.5])
    adj = np.array([[rng.random() < p for _ in range(n)] for _ in range(n)], dtype=bool)
    if rng.random() < 0.5:
        adj = adj | adj.T  # undirected
    return adj


def _check_layer_counts(model: CompiledModel, sizes: set[int], report: VerifyReport) -> None:
    """The layers the model unrolls for each vertex count against its construction's formula."""
    for n in sorted(sizes):
        report.checks += 1
        want = expected_layers(n, model.config.construction)
        if model.num_layers(n) != want:
            report.fail(f"n={n}: {model.num_layers(n)} layers, expected {want}")


def probe_frontier(
    model: CompiledModel, checked: int, budget: Budget, seed: int, report: VerifyReport
) -> int:
    """Toward the stored frontier F: vertex counts F/2^k above `checked` (the most vertices run
    so far), smallest first, while the next fits in the budget (`_affordable`: the queries
    measured so far, the random graphs' included, scaled by the square of the token count, and
    never below the forward pass's floor), then the most vertices short of the
    first size that does not fit that still fit. Each size gets a directed path with
    random forward edges (a DAG) and two queries, first to last (connected) and last to first
    (not), against BFS. Returns the most vertices run; a wrong answer fails the report."""
    frontier = model.frontier or 0
    sizes = [n for n in sorted({frontier >> k for k in range(32)} - {0}) if n > checked]
    rng = random.Random(seed)
    largest, ran, skipped = checked, [], []
    for index, n in enumerate(sizes):
        if not _affordable(model, budget, n):
            # the most vertices between the last size run and this one that still fit
            n = max((m for m in range(largest + 1, n) if _affordable(model, budget, m)), default=0)
            skipped = sizes[index:]
            if not n:
                break
        tokens = _tokens(n)
        adj = np.triu(np.array([[rng.random() < 2 / n for _ in range(n)] for _ in range(n)]), 1)
        adj[np.arange(n - 1), np.arange(1, n)] = True
        start = time.perf_counter()
        right = check_queries(model, [(adj, 0, n - 1), (adj, n - 1, 0)], report, f"n={n}")
        budget.record("run", tokens, 2, time.perf_counter() - start, True)
        if not right:
            return n
        largest = n
        ran.append(str(n))
        if skipped:
            break
    line = f"most vertices run: {largest} of the stored {model.dtype_name} frontier {frontier}"
    if ran:
        line += f" (toward it: {', '.join(ran)} vertices, 2 queries each)"
    if skipped:
        line += (
            f"; {', '.join(map(str, skipped))} vertices skipped for the budget "
            f"({budget.seconds:g} s, --budget)"
        )
    report.lines.append(line)
    return largest


def _affordable(model: CompiledModel, budget: Budget, n: int) -> bool:
    """Whether two queries on n vertices fit in what is left of the budget (predicted from the
    queries measured so far, and at least the forward pass's own floor, `run_cost`) and within
    the memory and time limits every query is held to (`limits.Estimate.check`)."""
    estimate = model.run_cost(_tokens(n), model.config.depth_rule.depth(n))
    try:
        estimate.check(InputError)
    except InputError:
        return False
    floor = 2 * (estimate.seconds or 0.0)
    return budget.fits("run", _tokens(n), 2) and floor <= budget.seconds - budget.spent


def _tokens(n: int) -> int:
    """The tokens of the longer of probe_frontier's two queries on n vertices."""
    return 1 + n * n + n**3 + 2 * n


def check_queries(
    model: CompiledModel,
    queries: Sequence[tuple[np.ndarray, int, int]],
    report: VerifyReport,
    label: str,
) -> bool:
    """(graph, s, t) queries through the transformer in one batch, against BFS; whether every
    answer was right (each wrong one fails the report, quoted)."""
    reaches: dict[int, np.ndarray] = {}
    cases = []
    for adj, s, t in queries:
        reach = reaches.setdefault(id(adj), reachability(adj))
        cases.append((adj, s, t, graph_truth(adj, s, t, reach)))
    answers = model.run_tokens([inputs.encode_graph(adj, s, t) for adj, s, t, _ in cases])
    right = True
    for (adj, s, t, want), got in zip(cases, answers, strict=True):
        report.checks += 1
        if (got == "connected") != want:
            right = False
            query = render_counterexample(adj, s, t)
            report.fail(
                f"{label}: on {query} (vertices 1..n), {truth_name('BFS')} says "
                f"{'connected' if want else 'disconnected'}, the transformer {got}",
                query,
            )
    return right


def check_answers(
    model: CompiledModel, graphs: Sequence[np.ndarray], report: VerifyReport, label: str
) -> None:
    """Every (s, t) pair of every graph through the transformer, against BFS."""
    queries = [
        (adj, s, t) for adj in graphs for s, t in itertools.product(range(len(adj)), repeat=2)
    ]
    if check_queries(model, queries, report, label):
        report.lines.append(
            f"{label}: {len(queries)} (graph, s, t) answers agree with {truth_name('BFS')}"
        )


def check_invariants(model: CompiledModel, adj: np.ndarray, report: VerifyReport) -> None:
    """Trace one input; B_l against (I + A)^(2^l) at every level, and the layer count."""
    n = len(adj)
    trace = model.trace_tokens(inputs.encode_graph(adj, 0, n - 1))
    layers = len(trace.layer_ends())
    report.checks += 1
    want = expected_layers(n, model.config.construction)
    if layers != want or model.num_layers(n) != want:
        report.fail(
            f"n={n}: {layers} layers run ({model.num_layers(n)} declared), expected "
            f"{layer_formula(model.config.construction)} = {want}"
        )
    for level, got in enumerate(decode_levels(trace, n)):
        report.checks += 1
        want = bounded_reachability(adj, level)
        if not np.array_equal(got, want):
            i, j = np.argwhere(got != want)[0]
            report.fail(
                f"B_{level}({i + 1}, {j + 1}) = {int(got[i, j])}, but reachability in "
                f"<= 2^{level} steps is {int(want[i, j])}",
                render_counterexample(adj, int(i), int(j)),
            )


def verify_connectivity(
    model: CompiledModel,
    *,
    max_vertices: int | None = None,
    samples: int | None = None,
    exhaustive: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    max_length: int | None = None,
    budget_s: float | None = None,
) -> VerifyReport:
    """Random graphs (directed and undirected, n <= max_vertices, every (s, t) pair) and every
    directed graph with n <= `exhaustive` vertices against BFS; B_l level invariants on the
    random graphs small enough to trace; layer counts against the construction's formula.

    `max_length` is `max_vertices` under verify's common name (the catalog calls every
    verifier alike). `budget_s` (default DEFAULT_BUDGET_S) buys the frontier probe: graphs of
    more vertices, toward the stored frontier (`probe_frontier`)."""
    if max_vertices is None:
        max_vertices = max_length
    samples = 100 if samples is None else samples
    report = VerifyReport()
    if model.config.input_format != "graph":
        report.fail(f"not a graph-connectivity model (input format {model.config.input_format!r})")
        return report
    entry = catalog.of_config(model.config.construction)
    if entry is None or entry.input_format != "graph":
        report.fail(f"no layer formula is known for construction {model.config.construction!r}")
        return report
    construction = model.config.construction
    limit = model.frontier or 0
    top = min(DEFAULT_MAX_VERTICES if max_vertices is None else max_vertices, limit)
    if top < 1:
        report.fail(f"no vertex count is within the frontier ({limit}) in {model.dtype_name}")
        return report
    for n in range(1, min(exhaustive or 0, limit) + 1):
        check_exhaustive_size(
            2 ** (n * n) * n * n, f"every directed graph on {n} vertices with every (s, t)"
        )
    rng = random.Random(seed)
    total = samples + (exhaustive or 0)
    done = 0
    for n in range(1, min(exhaustive or 0, limit) + 1):
        check_answers(model, _all_graphs(n), report, f"all directed graphs on {n} vertices")
        done += 1
        if progress is not None:
            progress(done, total)
    by_size: dict[int, list[np.ndarray]] = {}
    for _ in range(samples):
        n = rng.randint(1, top)
        by_size.setdefault(n, []).append(_random_graph(rng, n))
    budget = Budget(DEFAULT_BUDGET_S if budget_s is None else budget_s)
    for n in sorted(by_size):
        start = time.perf_counter()
        check_answers(model, by_size[n], report, f"{len(by_size[n])} random graphs, n={n}")
        # Not charged (the random graphs always run); the probe scales its predictions from it.
        queries = len(by_size[n]) * n * n
        budget.record("run", _tokens(n), queries, time.perf_counter() - start, False)
        for adj in by_size[n][:2] if n <= TRACE_MAX_VERTICES else []:
            check_invariants(model, adj, report)
        done += len(by_size[n])
        if progress is not None:
            progress(done, total)
    _check_layer_counts(model, set(by_size) | {1, 2, 3, 4, 5, 8, 16, 32}, report)
    probed = probe_frontier(model, max([top, *by_size]), budget, seed, report)
    rederive_record(model, report)
    report.details = {
        "max_vertices": top,
        "frontier_probe": probed,
        "budget_s": budget.seconds,
        "exhaustive": exhaustive,
        "samples": samples,
        "frontier": dict(model.config.frontier),
    }
    if report.ok:
        report.lines.append(
            "level invariants B_l = [(I + A)^(2^l) > 0] and layer counts "
            f"{layer_formula(construction)} hold"
        )
    return report
