"""Gadgets through the forward pass of assembled weights (float64): Lemma 7 offsets, psi -> phi
conversions, Lemma 8 equality flags, nearest-previous retrieval, sign reads, gating."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logdepth.compiler.cells import PICK_TRUE, Layout, boolean, phi
from logdepth.compiler.program import FeedForward, Head, Layer
from logdepth.kit.gadgets import (
    avg_bos,
    avg_one,
    equality_layers,
    gate_ff,
    lookup_head,
    nearest_previous_head,
    offset_term,
    sign_read_head,
)
from logdepth.kit.hashing import (
    POSITION_SCALE,
    PsiTerm,
    UniformHead,
    average_of,
    hashed,
    psi_to_phi_ff,
    psi_to_phi_head,
    read_hash,
)
from tests.constructions.harness import run

N = 512


def _positions(layout: Layout, bos, scale: float) -> tuple[list[Layer], object, object]:
    pos_psi, pos = layout.psi("pos.psi"), layout.phi("pos")
    uni = UniformHead()
    uni.write(*_term(offset_term(pos_psi, 0, one=layout.one, bos=bos, scale=scale)))
    return [Layer("positions", heads=[uni.head()], ff=psi_to_phi_ff(pos_psi, pos))], pos_psi, pos


def _term(pair):
    term, needs = pair
    return (term, *needs)


@pytest.mark.parametrize("scale", [1.0, POSITION_SCALE])
def test_lemma7_offsets_read_back_as_phi_of_i_minus_k(scale):
    """Lemma 7: for every i <= 512 and k in 1..4 the cell reads back (masked pre-norm of the
    psi block, i.e. its normalization) as phi(scale (i - k)) within 1e-12."""
    L = Layout()
    bos = L.bool("bos", persistent=True)
    cells = {k: L.psi(f"off{k}") for k in range(1, 5)}
    uni = UniformHead()
    for k, cell in cells.items():
        uni.write(*_term(offset_term(cell, k, one=L.one, bos=bos, scale=scale)))
    trace = run(L, bos, [Layer("Lemma 7", heads=[uni.head()])], [{}] * (N + 1))
    i = np.arange(N + 1)
    for k, cell in cells.items():
        block = trace.cell(cell.name)
        read = block / np.linalg.norm(block, axis=1, keepdims=True)
        want = np.stack([phi(scale * (t - k)) for t in i])
        assert np.abs(read - want).max() < 1e-12, k
        assert np.abs(read_hash(block, scale) - (i - k)).max() < 1e-7


def test_psi_to_phi_by_feed_forward_and_by_self_match():
    L = Layout()
    bos = L.bool("bos", persistent=True)
    layers, pos_psi, pos = _positions(L, bos, POSITION_SCALE)
    half_psi, half = L.psi("half.psi"), L.phi("half")
    uni = UniformHead()
    uni.write(
        PsiTerm(half_psi, a={"notbos": POSITION_SCALE / 2}, b={"bos": 1.0}),
        average_of("notbos", bos, [0.0, 1.0]),
        avg_bos(bos),
    )
    layers.append(Layer("half", heads=[uni.head()]))
    layers.append(Layer("self-match", heads=[psi_to_phi_head(half_psi, half)]))
    trace = run(L, bos, layers, [{}] * (N + 1))
    i = np.arange(N + 1)
    assert np.abs(trace.cell("pos") - np.stack([hashed(t) for t in i])).max() < 1e-12
    assert np.abs(trace.cell("half") - np.stack([hashed(t / 2) for t in i])).max() < 1e-12


def test_lemma8_equality_flags_are_exactly_zero_or_one():
    rng = np.random.default_rng(7)
    n = 200
    L = Layout()
    bos = L.bool("bos", persistent=True)
    x, y = L.phi("x", persistent=True), L.phi("y", persistent=True)
    layers, _, pos = _positions(L, bos, POSITION_SCALE)
    gadget = equality_layers(L, x, y, pos, one=L.one, bos=bos)
    layers += gadget.layers
    xs = [0] + [int(rng.integers(0, i + 1)) for i in range(1, n + 1)]
    ys = [v if rng.random() < 0.5 else int(rng.integers(0, i + 1)) for i, v in enumerate(xs)]
    values = [{x: hashed(a), y: hashed(b)} for a, b in zip(xs, ys, strict=True)]
    trace = run(L, bos, layers, values)
    flag = trace.cell(gadget.flag.name)
    want = np.array([a == b for a, b in zip(xs, ys, strict=True)], dtype=float)
    assert set(np.unique(flag)) <= {0.0, 1.0}, "flags must be exactly 0 or 1"
    assert np.array_equal(flag[:, 0], want)
    assert np.array_equal(flag[:, 1], 1.0 - want)
    assert want.sum() > 20 and (1 - want).sum() > 20


@settings(max_examples=25, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=160))
def test_nearest_previous_retrieval_returns_the_largest_flagged_j(flags):
    """Key <flag_j, [phi(lambda j)]_0>, query <1, 1>: the largest j <= i with flag_j = 1
    (the + sign of Lemma 10; with no flagged j <= i the head returns i itself)."""
    flags = [False, *flags]  # BoS unflagged
    L = Layout()
    bos = L.bool("bos", persistent=True)
    flag = L.bool("flag", persistent=True)
    layers, _, pos = _positions(L, bos, POSITION_SCALE)
    got = L.phi("got")
    layers.append(Layer("nearest", heads=[nearest_previous_head(flag, pos, L.one, {pos: got})]))
    trace = run(L, bos, layers, [{flag: boolean(f)} for f in flags])
    found = np.rint(read_hash(trace.cell("got"))).astype(int)
    last = -1
    for i, f in enumerate(flags):
        if f:
            last = i
        assert found[i] == (last if last >= 0 else i), (i, found[i], last)


def test_minus_sign_of_the_camera_ready_lemma10_selects_the_smallest_j():
    """Errata check: with key <flag_j, -[phi(j)]_0> the head returns the *first* flagged j."""
    L = Layout()
    bos = L.bool("bos", persistent=True)
    flag = L.bool("flag", persistent=True)
    layers, _, pos = _positions(L, bos, POSITION_SCALE)
    got = L.phi("got")
    head = nearest_previous_head(flag, pos, L.one, {pos: got})
    head.key[pos] = -head.key[pos]
    layers.append(Layer("minus", heads=[head]))
    flags = [False, False, True, False, True, True, False]
    trace = run(L, bos, layers, [{flag: boolean(f)} for f in flags])
    found = np.rint(read_hash(trace.cell("got"))).astype(int)
    assert list(found[2:]) == [2, 2, 2, 2, 2]


def test_equality_lookup_copies_the_row_with_the_same_hash():
    rng = np.random.default_rng(3)
    n = 300
    L = Layout()
    bos = L.bool("bos", persistent=True)
    q = L.phi("q", persistent=True)
    layers, _, pos = _positions(L, bos, POSITION_SCALE)
    got = L.phi("got")
    layers.append(Layer("lookup", heads=[lookup_head(q, pos, {pos: got})]))
    a = [0] + [int(rng.integers(0, i + 1)) for i in range(1, n + 1)]
    trace = run(L, bos, layers, [{q: hashed(v)} for v in a])
    assert np.array_equal(np.rint(read_hash(trace.cell("got"))).astype(int), a)


def test_sign_read_is_exact_and_gate_multiplies():
    L = Layout()
    bos = L.bool("bos", persistent=True)
    src = L.phi("src", persistent=True)
    s = L.scalar("s")
    flag = L.bool("neg")
    gated = L.phi("gated")
    w = np.array([1.0, 0.0, 1.0, 0.0]) / np.sqrt(2)
    values = [-3.0, 2.0, -1e-9, 5.0, 0.25, -0.5]
    write = Head(  # s := [src]_a through a self-match (one key, exact copy)
        query={src: np.eye(4)},
        key={src: np.eye(4)},
        value={src: np.array([[0.5, 0.0, -0.5, 0.0]])},
        out={s: np.array([[1.0]])},
    )
    init = FeedForward(w_in={L.one: np.array([[1.0]])}, w_out={flag: np.array([[0.5], [0.5]])})
    layers = [
        Layer("s", heads=[write], ff=init),
        Layer(
            "sign",
            heads=[sign_read_head(s, flag, np.array([[-0.5], [0.5]]))],
            ff=gate_ff({flag: PICK_TRUE}, src, gated, w, one=L.one),
            updates=(flag,),
        ),
    ]
    trace = run(L, bos, layers, [{src: phi(v)} for v in values])
    neg = trace.cell("neg")[:, 0]
    assert list(neg) == [float(v < 0) for v in values]
    want = np.stack([phi(v) if v < 0 else w for v in values])
    assert np.abs(trace.cell("gated") - want).max() < 1e-15


def test_uniform_averages_one_and_bos():
    """The building block of Lemma 7: avg 1 = 1 and avg [j = 0] = 1/(i + 1)."""
    L = Layout()
    bos = L.bool("bos", persistent=True)
    cell = L.psi("c")
    uni = UniformHead()
    uni.write(PsiTerm(cell, a={"one": 1.0}, b={"bos": 1.0}), avg_one(L.one), avg_bos(bos))
    trace = run(L, bos, [Layer("u", heads=[uni.head()])], [{}] * 40)
    block = trace.cell("c")
    assert np.allclose(block[:, 0], 1.0)
    assert np.allclose(block[:, 1], 1.0 / np.arange(1, 41))
