"""The paper's problems with Theorem 2's construction (digest 4 and 8.8), each shown by a test
(docs/errata.md, "Theorem 2", names these tests), and the precision frontier confirmed by runs."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest

from logdepth.compiler.assemble import assemble
from logdepth.compiler.hygiene import check_hygiene
from logdepth.compiler.program import Program
from logdepth.constructions.connectivity import build_program, compile_connectivity, program_shape
from logdepth.gaps import connectivity as graph_precision
from logdepth.kit.rows import add_rows, component, constant, feed_forward
from logdepth.model import inputs
from logdepth.model.compiled import CompiledModel
from logdepth.verify.connectivity import (
    bounded_reachability,
    decode_levels,
    matrix_position,
    reachability,
)


@functools.cache
def model() -> CompiledModel:
    return compile_connectivity()


def cell(program: Program, name: str):
    return next(c for c in program.layout.cells if c.name == name)


def wrong_answers(m: CompiledModel, n: int, graphs: int | None = None) -> int:
    """Wrong answers over all (s, t) of the first `graphs` directed graphs on n vertices."""
    seqs, want = [], []
    for bits in range(2 ** (n * n) if graphs is None else graphs):
        adj = np.array([(bits >> k) & 1 for k in range(n * n)], dtype=bool).reshape(n, n)
        reach = reachability(adj)
        for s, t in itertools.product(range(n), repeat=2):
            seqs.append(inputs.encode_graph(adj, s, t))
            want.append(bool(reach[s, t]))
    got = [a == "connected" for a in m.run_tokens(seqs, check=False)]
    return sum(g != w for g, w in zip(got, want, strict=True))


def layer_named(program: Program, start: str) -> int:
    return next(k for k, layer in enumerate(program.initial) if start in layer.text)


# ---- B_0 is OR, not AND (paper layer 17) ---------------------------------------------------------
def test_b0_is_or_not_and():
    adj = np.array([[0, 1, 0], [0, 0, 0], [1, 0, 0]], dtype=bool)
    trace = model().trace_tokens(inputs.encode_graph(adj, 0, 1))
    b0 = decode_levels(trace, 3)[0]
    np.testing.assert_array_equal(b0, np.eye(3, dtype=bool) | adj)
    # The printed AND: B_0 = A and [i = j] is empty here, so nothing reaches even itself.
    program = build_program()
    k = layer_named(program, "B_0(i, j) = A_ij OR")
    tok, diag, b = cell(program, "tok"), cell(program, "i=j"), cell(program, "B")
    adj_row = {tok: np.array([0, 0, 1.0, 0, 0, 0])}
    units = [
        (add_rows(adj_row, component(diag, 0), constant(program.layout, -1.0)), [(b, 0, 1.0)]),
        (
            add_rows({tok: -adj_row[tok]}, component(diag, 0, -1.0), constant(program.layout, 2.0)),
            [(b, 1, 1.0)],
        ),
        (
            add_rows({tok: -adj_row[tok]}, component(diag, 0, -1.0), constant(program.layout, 1.0)),
            [(b, 1, -1.0)],
        ),
    ]
    # keep the other units of that layer (the reset of [i = j], C_0 := 0)
    program.initial[k].ff = _merge(units, program.initial[k].ff, skip=b)
    paper = CompiledModel(assemble(program))
    assert paper.run_tokens([inputs.encode_graph(np.zeros((2, 2), bool), 0, 0)]) == ["disconnected"]
    assert wrong_answers(paper, 2) > 0
    assert wrong_answers(model(), 2) == 0


def _merge(units, old, skip):
    """`units` plus the units of the feed-forward `old` that do not write the cell `skip`."""
    kept = []
    for u in range(old.units):
        outs = [
            (c, k, float(m[k, u]))
            for c, m in old.w_out.items()
            for k in range(c.size)
            if m[k, u] != 0
        ]
        if any(c is skip for c, _, _ in outs):
            continue
        kept.append(({c: m[u] for c, m in old.w_in.items()}, outs))
    return feed_forward(units + kept, "B := A and [i=j] (the paper's text)")


# ---- keys must not match the wrong token type -------------------------------------------------
def test_lookup_keys_need_the_token_type():
    """Pads carry coordinates (r%n, x%n) = (k, j) just like matrix entries carry (i, j): without
    the type term the C-layer's lookups also hit pads."""
    trace = model().trace_tokens(inputs.encode_graph(np.zeros((3, 3), bool), 0, 2))
    end = trace.layer_ends()[16]
    pairs = lambda idx: {  # noqa: E731
        (round(trace.decode("r%n", end)[p]), round(trace.decode("x%n", end)[p])) for p in idx
    }
    matrix = [matrix_position(3, i, j) for i in range(3) for j in range(3)]
    pads = range(1 + 9, 1 + 9 + 27)
    assert pairs(matrix) == pairs(pads)
    program = build_program()
    one = program.layout.one
    for h in program.repeated[0].heads[:2]:  # the two lookups of B into the matrix entries
        h.query[one] = np.zeros_like(h.query[one])  # drop the term [matrix entry] of the key
    untyped = CompiledModel(assemble(program))
    assert wrong_answers(untyped, 3, graphs=32) > 0
    assert wrong_answers(model(), 3, graphs=32) == 0


# ---- the 1/(2n) threshold, and B = relu(sgn h) exactly -------------------------------------------
@pytest.mark.parametrize("n", [3, 5])
def test_one_over_2n_threshold_and_exact_booleans(n):
    rng = np.random.default_rng(n)
    adj = rng.random((n, n)) < 0.35
    trace = model().trace_tokens(inputs.encode_graph(adj, 0, n - 1))
    matrix = [matrix_position(n, i, j) for i in range(n) for j in range(n)]
    steps = [k for k, name in enumerate(trace.sublayers) if name == "repeated.1.attn"]
    assert len(steps) == (n - 1).bit_length()
    for level, step in enumerate(steps, start=1):
        prev = bounded_reachability(adj, level - 1).astype(int)
        witnesses = (prev[:, :, None] & prev[None, :, :]).sum(axis=1)  # #k with C(i,k,j)
        h = trace.decode("h", step)[matrix].reshape(n, n)
        # h = (#k with C)/n - 1/(2n): never 0, and >= 1/(2n) exactly when some C is 1
        np.testing.assert_allclose(2 * n * h, 2 * witnesses - 1, atol=1e-9)
    for step in trace.layer_ends()[16:]:
        b = trace.cell("B", step)
        assert np.allclose(np.sort(b, axis=1), [[0.0, 1.0]] * len(b), atol=1e-12), (
            "B is an exact boolean everywhere (the printed (1 + relu(s))/2 would give 1/2)"
        )


# ---- positions counted from BoS; Lemma 1's table and the dividends j - 1, r, r2 -----------------
def test_positions_count_bos_and_quotients_round_down():
    """Lemma 1 (division.py's block, host layers 2-8) leaves row j = floor(j/n), j mod n with
    BoS at j = 0; the lookup of row j - 1 gives floor((j - 1)/n) (not the printed nearest
    multiple with its sign slip) and the coordinates decode to (i, k, c) at every pad."""
    n = 3
    lam = graph_precision.HASH_SCALE
    trace = model().trace_tokens(inputs.encode_graph(np.ones((n, n), bool), 1, 2))
    j = np.arange(len(trace.tokens))
    at = trace.layer_ends()
    np.testing.assert_allclose(trace.decode("div.pos", at[7]) / lam, j, atol=1e-9)
    np.testing.assert_allclose(trace.decode("div.floor", at[7]) / lam, j // n, atol=1e-9)
    np.testing.assert_allclose(trace.decode("div.mod", at[7]) / lam, j % n, atol=1e-9)
    np.testing.assert_allclose(trace.decode("r", at[9])[1:] / lam, (j[1:] - 1) // n, atol=1e-9)
    np.testing.assert_allclose(trace.decode("x%n", at[9])[1:] - 1, (j[1:] - 1) % n, atol=1e-9)
    pads = 1 + n * n + np.arange(n**3)
    a = pads - 1 - n * n  # = i n^2 + k n + c
    end = at[16]
    np.testing.assert_allclose(trace.decode("r2%n", end)[pads] - 1, a // (n * n), atol=1e-9)
    np.testing.assert_allclose(trace.decode("r%n", end)[pads] - 1, (a // n) % n, atol=1e-9)
    k_zero = trace.cell("k=0", end)[pads]
    np.testing.assert_allclose(k_zero[:, 0], (a // n) % n == 0, atol=1e-12)
    np.testing.assert_allclose(k_zero.sum(axis=1), 1.0, atol=1e-12)


# ---- no alternation flag is needed ----------------------------------------------------------
def test_loop_needs_no_alternation_flag():
    program = build_program()
    assert len(program.repeated) == 2
    live = check_hygiene(program)
    assert "h" in live["loop"] and not any("alt" in name for name in live["loop"])


# ---- precision: tolerance, gaps, frontier ------------------------------------------------------
def test_tolerance_clears_rounding_and_frontier_clears_tolerance():
    program = build_program()
    # The bound's shape is the program's own, counted here independently of shape_of.
    widest = max(
        next(iter(h.query.values())).shape[0]
        for part in (program.initial, program.repeated, program.final)
        for layer in part
        for h in layer.heads
    )
    shape = program_shape()
    assert shape == (program.layout.d_model, widest)
    assert graph_precision.rounding_terms(shape) == 2 * (program.layout.d_model // 2 + 8) + widest
    tau = graph_precision.TAU
    err = graph_precision.rounding_bound("float64", shape)
    assert 2 * err < tau
    n64 = graph_precision.frontier(shape)["float64"]
    smallest = graph_precision.smallest_gap
    assert smallest(n64) > tau + 2 * err >= smallest(n64 + 1)
    gaps = [graph_precision.smallest_gap(n) for n in range(2, 40)]
    assert all(a > b for a, b in zip(gaps, gaps[1:], strict=False))
    # the documented orders: 1/(2 lambda^2 N^4) for positions, 1/(2 n^4) for coordinates
    fam = graph_precision.score_gaps(32)
    lam, big = graph_precision.HASH_SCALE, graph_precision.tokens(32)
    assert 0.5 < fam["position"] * 2 * lam**2 * big**4 < 2
    assert 0.5 < fam["coordinate"] * 2 * 32**4 < 2
    # the float64 frontier ends at the position gap (lambda = 2^-13, graph_precision)
    past = graph_precision.score_gaps(n64 + 1)
    assert min(past, key=past.get) == "position"


def test_float32_has_no_frontier_because_ties_break():
    assert graph_precision.rounding_bound("float32", program_shape()) > graph_precision.TAU
    assert graph_precision.frontier(program_shape())["float32"] == 0
    assert wrong_answers(model().to("float32"), 2) > 0  # run past the refusal: it does fail


# ---- Lemma 1 is the shared block --------------------------------------------------------------
def test_division_is_the_shared_lemma_1_block():
    """Host layers 2-8 are division.py's DivisionBuilder layers (dividing the position by the
    modulus cell phi(mu n)), with Theorem 2's work only in their free slots."""
    program = build_program()
    texts = [layer.text for layer in program.initial]
    for k in range(7):
        assert f"Lemma 1 (div) layer {k + 1}:" in texts[1 + k]
    assert not any("Lemma 1 (div)" in t for t in texts[:1] + texts[8:])
    assert cell(program, "div.floor").kind == "phi" and cell(program, "n").kind == "phi"
