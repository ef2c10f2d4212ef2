"""The fused kernels (logdepth/model/fused.py, fused.c): hard attention and sparse
feed-forwards.

Against the definition of averaging-hard attention, written here in numpy one query at a time:
integer queries, keys and values keep every score and every sum exact in any order, so the
kernel's output must equal the definition's bit for bit (one correctly rounded division each),
whatever the vector width or thread split. Ties (equal scores, and scores within the tolerance
of the best) are common with small integers, and every shape crosses the kernel's vector and
group boundaries. Whole models run through the kernel against the reference in
test_floor_compact.py; here also: what falls back to the torch path, and why.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from logdepth.model import compact, fused

pytestmark = pytest.mark.skipif(fused.library() is None, reason=fused.status())

DTYPES = {"float64": (torch.float64, np.float64), "float32": (torch.float32, np.float32)}


def definition(q, k, v, causal, lengths, tol, real) -> np.ndarray:
    """out[b, i, h] = the mean of v[b, h, j] over the keys j that query i sees whose score
    q.k_j is within tol of the best it sees (exact here: integer inputs)."""
    batch, heads, tokens, _ = q.shape
    out = np.zeros((batch, tokens, heads, v.shape[-1]), dtype=real)
    for b in range(batch):
        for h in range(heads):
            for i in range(tokens):
                seen = min(i + 1, lengths[b]) if causal[h] else lengths[b]
                scores = k[b, h, :seen] @ q[b, h, i]
                chosen = scores >= real(scores.max()) - real(tol)
                total = v[b, h, :seen][chosen].sum(axis=0)
                out[b, i, h] = total.astype(real) / real(chosen.sum())
    return out


@st.composite
def problems(draw):
    batch = draw(st.integers(1, 3))
    heads = draw(st.integers(1, 3))
    tokens = draw(st.sampled_from([1, 2, 7, 8, 9, 16, 31, 32, 33, 63, 64, 65, 100, 129]))
    d_key, d_val = draw(st.integers(1, 5)), draw(st.integers(1, 6))
    causal = draw(st.lists(st.booleans(), min_size=heads, max_size=heads))
    lengths = draw(st.lists(st.integers(1, tokens), min_size=batch, max_size=batch))
    seed = draw(st.integers(0, 2**31 - 1))
    # Integer scores: 0.5 and 0 take exact ties only, 1.5 ties within 1; at 1 and 2 a score
    # lands exactly on best - tol, which must count (>=, as the torch path's test).
    tol = draw(st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0]))
    dtype = draw(st.sampled_from(sorted(DTYPES)))
    return batch, heads, tokens, d_key, d_val, causal, lengths, seed, tol, dtype


def run_kernel(q, k, v, causal, lengths, tol, dtype) -> torch.Tensor:
    """The kernel on numpy inputs (as strided views, as the compact plan passes them), writing
    into a strided view with one spare head slot that must stay untouched."""
    torch_dtype = DTYPES[dtype][0]

    def strided(x):  # [B, H, T, d] as a view of a [B, T, H, d] tensor
        return torch.from_numpy(x).to(torch_dtype).transpose(1, 2).contiguous().transpose(1, 2)

    batch, heads, tokens, _ = q.shape
    wider = torch.full((batch, tokens, heads + 1, v.shape[-1]), -7.0, dtype=torch_dtype)
    out = wider[:, :, 1:]
    fused.hard_attention(
        strided(q),
        strided(k),
        strided(v),
        torch.tensor(causal),
        torch.tensor(lengths),
        tol,
        out,
    )
    assert (wider[:, :, 0] == -7.0).all()  # nothing written outside the view
    return out


def integer_inputs(batch, heads, tokens, d_key, d_val, seed):
    rng = np.random.default_rng(seed)
    q = rng.integers(-3, 4, (batch, heads, tokens, d_key)).astype(np.float64)
    k = rng.integers(-3, 4, (batch, heads, tokens, d_key)).astype(np.float64)
    v = rng.integers(-8, 9, (batch, heads, tokens, d_val)).astype(np.float64)
    return q, k, v


@settings(max_examples=60, deadline=None)
@given(problems())
def test_the_kernel_is_the_definition(problem):
    batch, heads, tokens, d_key, d_val, causal, lengths, seed, tol, dtype = problem
    q, k, v = integer_inputs(batch, heads, tokens, d_key, d_val, seed)
    got = run_kernel(q, k, v, causal, lengths, tol, dtype).numpy()
    want = definition(q, k, v, causal, lengths, tol, DTYPES[dtype][1])
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype", sorted(DTYPES))
@pytest.mark.parametrize("tokens", [700, 4200], ids=["keys in cache", "keys past the cache"])
def test_many_key_blocks_are_the_definition(dtype, tokens):
    """64 key dimensions: kt spans several of the kernel's key blocks (BLOCK_KEY_BYTES), each
    query's maximum merged across them; at 4,200 tokens one head's keys exceed KEYS_IN_CACHE
    in both dtypes, so queries also run in blocks of BLOCK_QUERIES tiles over each key block."""
    q, k, v = integer_inputs(1, 2, tokens, 64, 3, seed=3)
    causal, lengths = [True, False], [tokens - 17]
    got = run_kernel(q, k, v, causal, lengths, 0.5, dtype).numpy()
    np.testing.assert_array_equal(got, definition(q, k, v, causal, lengths, 0.5, DTYPES[dtype][1]))


def test_float32_subnormal_queries_are_computed_in_float64(monkeypatch):
    """Queries and keys below float32's smallest normal number (the wide code's underflowing
    levels) with a tolerance at their scale run in float64: flushing them would move the
    scores by more than u tol (`fused._flush_is_negligible`). Integer multiples of 2^-140,
    exact there, give the definition's scores and ties; the averages agree to float32's
    rounding of the mean."""
    q, k, v = integer_inputs(1, 2, 80, 4, 3, seed=4)
    tiny = 2.0**-140  # subnormal in float32 (below 2^-126), exact in float64
    calls = _spy_dtypes(monkeypatch)
    got = run_kernel(q * tiny, k, v, [True, False], [80], 0.5 * tiny, "float32").numpy()
    want = definition(q * tiny, k, v, [True, False], [80], 0.5 * tiny, np.float64)
    assert calls == [torch.float32, torch.float64]
    np.testing.assert_allclose(got, want.astype(np.float32), rtol=2**-23, atol=0)


def _spy_dtypes(monkeypatch) -> list:
    """The dtypes fused.hard_attention is called with (the float64 route calls it again)."""
    calls = []
    original = fused.hard_attention
    monkeypatch.setattr(
        fused, "hard_attention", lambda *a: calls.append(a[0].dtype) or original(*a)
    )
    return calls


def test_negligible_subnormal_leftovers_are_flushed_in_float32(monkeypatch):
    """Integer queries and keys with subnormal leftovers in two more dimensions (as the wide
    code's underflowing levels leave them beside its unit-scale scores): the leftovers move a
    score by under 2^-120, far below u tol, so they are flushed and the call stays in float32;
    the ties are the definition's on the unflushed inputs, so the output is too."""
    q, k, v = integer_inputs(1, 2, 80, 4, 3, seed=6)
    rng = np.random.default_rng(6)
    leftovers = rng.integers(1, 4, (2, 1, 2, 80, 2)) * 2.0**-140  # subnormal in float32
    q, k = (np.concatenate([x, extra], axis=-1) for x, extra in zip((q, k), leftovers, strict=True))
    calls = _spy_dtypes(monkeypatch)
    got = run_kernel(q, k, v, [True, False], [80], 0.5, "float32").numpy()
    assert calls == [torch.float32]
    want = definition(q, k, v, [True, False], [80], 0.5, np.float32)
    np.testing.assert_array_equal(got, want)


def test_subnormal_queries_against_large_keys_are_not_flushed(monkeypatch):
    """A subnormal query entry (2^-130) against keys of 2^125 to 3 x 2^125 adds 2^-5 to 3 x 2^-5
    to the scores: only that term breaks the integer scores' ties (the tolerance, 2^-10, is
    below the scores' 2^-5 steps), so flushing it would change the answer. Its bound
    d_key tiny max|k| exceeds u tol (d_key tiny alone would not), so the call runs in float64,
    where the scores are exact and the output is the definition's."""
    q, k, v = integer_inputs(1, 1, 60, 3, 2, seed=7)
    rng = np.random.default_rng(7)
    q = np.concatenate([q, np.full((1, 1, 60, 1), 2.0**-130)], axis=-1)
    k = np.concatenate([k, rng.integers(1, 4, (1, 1, 60, 1)) * 2.0**125], axis=-1)
    calls = _spy_dtypes(monkeypatch)
    tol = 2.0**-10
    got = run_kernel(q, k, v, [True], [60], tol, "float32").numpy()
    assert calls == [torch.float32, torch.float64]
    want = definition(q, k, v, [True], [60], tol, np.float64)
    np.testing.assert_allclose(got, want.astype(np.float32), rtol=2**-23, atol=0)
    flushed = definition(q * (q > 2.0**-126), k, v, [True], [60], tol, np.float64)
    assert not np.allclose(flushed, want)  # the flush would have mattered


def test_split_across_threads_is_the_same(monkeypatch):
    """Rows split over threads (forced even for a small call) give the definition too."""
    monkeypatch.setattr(fused, "THREAD_MIN_PAIRS", 0)
    threads = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        q, k, v = integer_inputs(2, 3, 97, 4, 5, seed=1)
        causal, lengths = [True, False, True], [97, 40]
        got = run_kernel(q, k, v, causal, lengths, 0.5, "float64").numpy()
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_array_equal(got, definition(q, k, v, causal, lengths, 0.5, np.float64))


def _threaded_call_matches() -> None:
    q, k, v = integer_inputs(1, 2, 90, 3, 2, seed=5)
    got = run_kernel(q, k, v, [True, False], [90], 0.5, "float64").numpy()
    want = definition(q, k, v, [True, False], [90], 0.5, np.float64)
    os._exit(0 if np.array_equal(got, want) else 1)


def test_a_forked_child_gets_its_own_threads(monkeypatch):
    """A child forked after the parent's pool ran (multiprocessing's default start on Linux)
    has a copy of the pool without its threads: it must build its own, not wait for ever."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    monkeypatch.setattr(fused, "THREAD_MIN_PAIRS", 0)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        q, k, v = integer_inputs(1, 1, 40, 2, 2, seed=6)
        run_kernel(q, k, v, [True], [40], 0.5, "float64")  # the parent's pool exists
        child = multiprocessing.get_context("fork").Process(target=_threaded_call_matches)
        child.start()
        child.join(120)
        alive = child.is_alive()
        if alive:
            child.kill()
    finally:
        torch.set_num_threads(threads)
    assert not alive and child.exitcode == 0


def test_lengths_outside_the_tokens_are_refused():
    """The kernel reads and writes by the lengths: one past T would run off its buffers."""
    q = torch.zeros(2, 1, 5, 2, dtype=torch.float64)
    v = torch.zeros(2, 1, 5, 3, dtype=torch.float64)
    out = torch.zeros(2, 5, 1, 3, dtype=torch.float64)
    for lengths in ([5, 6], [0, 5], [5]):
        with pytest.raises(ValueError, match="lengths"):
            fused.hard_attention(q, q, v, torch.tensor([True]), torch.tensor(lengths), 0.5, out)


def test_a_failing_piece_waits_for_the_running_ones(monkeypatch):
    """When one thread's piece fails, the call returns only after every running piece ended:
    they write into the caller's tensors, which unwinding would free."""
    import threading
    import time

    monkeypatch.setattr(fused, "THREAD_MIN_PAIRS", 0)
    ended, lock = [], threading.Lock()

    def piece(*args):
        row0 = args[-3]
        if row0 == 0:
            raise RuntimeError("one piece fails")
        time.sleep(0.05)
        with lock:
            ended.append(row0)

    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with pytest.raises(RuntimeError, match="one piece fails"):
            fused._run_rows(piece, (), 80, 80, torch.float64, 1)
        finished = len(ended)
        time.sleep(0.3)
    finally:
        torch.set_num_threads(threads)
    assert finished == len(ended)  # nothing still ran after the call returned


def test_the_comparison_catches_a_wrong_tolerance():
    """The check can fail: ties within 1 averaged where only exact ties should be."""
    q, k, v = integer_inputs(1, 2, 65, 3, 4, seed=2)
    got = run_kernel(q, k, v, [True, False], [65], 1.5, "float64").numpy()
    assert not np.array_equal(got, definition(q, k, v, [True, False], [65], 0.5, np.float64))


def test_an_output_of_another_shape_is_refused():
    q = torch.zeros(1, 1, 5, 2, dtype=torch.float64)
    v = torch.zeros(1, 1, 5, 3, dtype=torch.float64)
    out = torch.zeros(1, 5, 1, 2, dtype=torch.float64)  # dv 2, not 3
    with pytest.raises(ValueError, match="out must be"):
        fused.hard_attention(q, q, v, torch.tensor([True]), torch.tensor([5]), 0.5, out)


def test_non_finite_activations_take_the_torch_path(monkeypatch):
    """A NaN in the queries, keys or values: the torch path runs (it defines how NaN spreads),
    and its output is what the torch path gives with the kernel switched off."""
    from tests.model.test_floor_compact import _build

    model = _build("counting")
    plan = model.network._compact_plan()
    attn = next(a for a, _ in plan.layers.values() if a is not None and len(a.scored_causal))
    z = torch.rand(1, 9, attn.qkv.shape[0], dtype=torch.float64)
    z[0, 4, 0] = float("nan")
    h = torch.zeros(1, 9, model.config.d_model, dtype=torch.float64)
    lengths = torch.tensor([9])
    valid = torch.ones(1, 9, dtype=torch.bool)
    calls = []
    monkeypatch.setattr(fused, "hard_attention", lambda *a: calls.append(a))
    state = compact._Scratch(h, valid, lengths, model.network.tie_tolerance)
    with_nan = state.attention(attn, z)
    assert not calls
    monkeypatch.setattr(fused, "applies", lambda tensor: False)
    state = compact._Scratch(h, valid, lengths, model.network.tie_tolerance)
    torch.testing.assert_close(with_nan, state.attention(attn, z), equal_nan=True, rtol=0, atol=0)
    assert torch.isnan(with_nan).any()


def _sparse(rng, rows: int, cols: int, density: float) -> np.ndarray:
    """Small integers at about `density` of the entries, some rows left empty."""
    dense = rng.integers(-4, 5, (rows, cols)) * (rng.random((rows, cols)) < density)
    dense[rng.random(rows) < 0.1] = 0
    return dense.astype(np.float64)


@settings(max_examples=30, deadline=None)
@given(
    tokens=st.sampled_from([1, 7, 8, 255, 256, 257, 600]),
    cols=st.integers(1, 12),
    units=st.integers(1, 60),
    outs=st.integers(1, 9),
    seed=st.integers(0, 2**31 - 1),
    dtype=st.sampled_from(sorted(DTYPES)),
)
def test_the_sparse_feed_forward_is_the_definition(tokens, cols, units, outs, seed, dtype):
    """relu(z W_in^T) W_out^T on integers (exact in any order), across token blocks."""
    rng = np.random.default_rng(seed)
    z = rng.integers(-5, 6, (tokens, cols)).astype(np.float64)
    w_in, w_out = _sparse(rng, units, cols, 0.3), _sparse(rng, outs, units, 0.3)
    torch_dtype, real = DTYPES[dtype]
    got = fused.sparse_feed_forward(
        torch.from_numpy(z).to(torch_dtype),
        torch.from_numpy(w_in).to(torch_dtype).to_sparse_csr(),
        torch.from_numpy(w_out).to(torch_dtype).to_sparse_csr(),
    )
    want = (np.maximum(z @ w_in.T, 0) @ w_out.T).astype(real)
    np.testing.assert_array_equal(got.numpy(), want)


def test_the_sparse_feed_forward_split_across_threads(monkeypatch):
    monkeypatch.setattr(fused, "THREAD_MIN_PAIRS", 0)
    rng = np.random.default_rng(7)
    z = rng.integers(-5, 6, (1000, 6)).astype(np.float64)
    w_in, w_out = _sparse(rng, 40, 6, 0.4), _sparse(rng, 5, 40, 0.4)
    threads = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        got = fused.sparse_feed_forward(
            torch.from_numpy(z),
            torch.from_numpy(w_in).to_sparse_csr(),
            torch.from_numpy(w_out).to_sparse_csr(),
        )
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_array_equal(got.numpy(), np.maximum(z @ w_in.T, 0) @ w_out.T)


@pytest.mark.parametrize("dtype", sorted(DTYPES))
@pytest.mark.parametrize("masked", [True, False])
@pytest.mark.parametrize(
    "write", [[1, 4, 16], [5, 6, 7], [7, 5, 6]], ids=["cells", "run", "shuffled"]
)
def test_the_residual_gather_and_scatter_are_the_torch_paths(dtype, masked, write, monkeypatch):
    """The masked pre-norm over gathered columns and the scatter-add, against the torch path's
    operations on the same tensors: a zero row reads 0 (norm(0) = 0), an infinite or NaN cell
    spreads as it does there, and every other value is within float rounding of it (the norm
    sums its squares in another order). 150 tokens: the gather's vectors of tokens and the
    tokens after them; the scatter into single cells, into a run of cells (added as one) and
    into a run's cells out of order (not a run)."""
    torch_dtype = DTYPES[dtype][0]
    rng = np.random.default_rng(8)
    h = torch.from_numpy(rng.normal(size=(3, 50, 17))).to(torch_dtype)
    h[0, 3] = 0  # a zero row
    h[1, 4, 2] = float("inf")
    h[2, 5, 9] = float("nan")
    h[2, 49] = 0  # a zero row among the last tokens
    cols = torch.tensor([0, 2, 3, 9, 16])
    mask = torch.tensor([1.0, 0.5, 0.0, 2.0, 1.0], dtype=torch_dtype) if masked else None
    plan = compact.SublayerPlan(read=cols, mask=mask, write=torch.tensor(write))
    fast = compact._prenorm(h, plan)
    delta = torch.from_numpy(rng.normal(size=(3, 50, 3))).to(torch_dtype)
    added = h.clone()
    compact._add(added, plan, delta)
    monkeypatch.setattr(fused, "applies", lambda tensor: False)
    slow = compact._prenorm(h, plan)
    expected = h.clone()
    compact._add(expected, plan, delta)
    eps = torch.finfo(torch_dtype).eps
    torch.testing.assert_close(fast, slow, rtol=8 * eps, atol=0, equal_nan=True)
    assert (fast[0, 3] == 0).all() and (fast[2, 49] == 0).all()
    assert torch.isnan(fast[1, 4]).any() == torch.isnan(slow[1, 4]).any()
    torch.testing.assert_close(added, expected, rtol=0, atol=0, equal_nan=True)
    # Tokens along the rows (the sparse feed-forward's layout): the same values, stored as a
    # contiguous [c, tokens]; a delta stored so is read through its strides.
    monkeypatch.undo()
    rows = fused.gather_norm(h, plan.read_index, mask, tokens_last=True)
    assert rows.shape == fast.shape and rows.reshape(-1, len(cols)).T.is_contiguous()
    torch.testing.assert_close(rows, fast, rtol=0, atol=0, equal_nan=True)
    stored = delta.reshape(-1, 3).T.contiguous()  # [3, tokens]
    strided = h.clone()
    compact._add(strided, plan, stored.T.view(3, 50, 3))
    torch.testing.assert_close(strided, expected, rtol=0, atol=0, equal_nan=True)


def test_a_large_layer_with_sparse_outputs_runs_in_the_sparse_kernel(monkeypatch):
    """A threshold-like layer (each of 600 units reads most of 5 cells and writes one or two
    of 34, as the wide models' widest layers do): a quarter nonzero over both matrices, so the
    kernel runs it (KERNEL_DENSITY) though its input matrix is 90 percent nonzero, which keeps
    it off torch's CSR path; its cells are the dense products' within their rounding."""
    from types import SimpleNamespace

    rng = np.random.default_rng(11)
    cells, units, outs, d = 5, 600, 34, 48
    w_in = rng.normal(size=(units, cells)) * (rng.random((units, cells)) < 0.9)
    w_out = np.zeros((d, units))
    for u in range(units):
        w_out[rng.choice(outs, size=rng.integers(1, 3), replace=False) + 10, u] = rng.normal()
    mask = torch.zeros(d, dtype=torch.float64)
    mask[:cells] = 1
    mlp = SimpleNamespace(
        mask=mask, W_in=torch.zeros(units, d, dtype=torch.float64), W_out=torch.from_numpy(w_out)
    )
    mlp.W_in[:, :cells] = torch.from_numpy(w_in)
    plan = compact.plan_feed_forward(mlp)
    assert plan.csr is not None and plan.sparse is None and not plan.small
    calls = []
    original = fused.sparse_feed_forward
    monkeypatch.setattr(fused, "sparse_feed_forward", lambda *a: calls.append(1) or original(*a))
    for dtype in (torch.float64, torch.float32):
        h = torch.from_numpy(rng.normal(size=(2, 300, d))).to(dtype)
        fast = h.clone()
        compact._feed_forward_sublayer(fast, plan)
        with monkeypatch.context() as torch_only:
            torch_only.setattr(fused, "applies", lambda tensor: False)
            slow = h.clone()
            compact._feed_forward_sublayer(slow, plan)
        eps = torch.finfo(dtype).eps
        assert not torch.equal(fast, h)
        torch.testing.assert_close(fast, slow, rtol=64 * eps, atol=64 * eps)
    assert len(calls) == 2


@pytest.mark.parametrize("dtype", sorted(DTYPES))
@pytest.mark.parametrize("masked", [True, False])
@pytest.mark.parametrize("tokens", [1, 8, 13, 150])
@pytest.mark.parametrize("by_column", [False, True], ids=["dense", "by-column"])
def test_the_small_dense_feed_forward_is_the_torch_path(
    dtype, masked, tokens, by_column, monkeypatch
):
    """The whole small dense sublayer in one pass (pre-norm, relu(z W_in) W_out, add) against
    the torch path's five operations on the same residual stream: within float rounding of it
    (the sums run in another order), a zero row adds 0, an infinite or NaN cell spreads as it
    does there; token counts around the vector width (the tokens after the last vector). With
    `by_column` the products add the nonzero weights only (a third of them here), except on the
    vectors of tokens holding the infinite and NaN cells, where a zero weight's term is NaN."""
    torch_dtype = DTYPES[dtype][0]
    rng = np.random.default_rng(9)
    h = torch.from_numpy(rng.normal(size=(1, tokens, 17))).to(torch_dtype)
    h[0, 0] = 0  # a zero row
    if tokens > 8:
        h[0, 4, 2] = float("inf")
        h[0, tokens - 1, 9] = float("nan")
    read, units, write = torch.tensor([0, 2, 3, 9, 16]), 7, torch.tensor([1, 4, 5, 6, 16])
    mask = torch.tensor([1.0, 0.5, 0.0, 2.0, 1.0], dtype=torch_dtype) if masked else None
    w_in = torch.from_numpy(rng.normal(size=(5, units)) * (rng.random((5, units)) < 0.35))
    w_out = torch.from_numpy(rng.normal(size=(units, 5)) * (rng.random((units, 5)) < 0.35))
    w_in, w_out = w_in.to(torch_dtype), w_out.to(torch_dtype)
    plan = compact.FeedForwardPlan(read=read, mask=mask, write=write, w_in=w_in, w_out=w_out)
    columns = (compact._csc(w_in), compact._csc(w_out)) if by_column else None
    fast = h.clone()
    fused.dense_feed_forward(fast, plan.read_index, mask, w_in, w_out, plan.write_index, columns)
    monkeypatch.setattr(fused, "applies", lambda tensor: False)
    slow = h.clone()
    compact._feed_forward_sublayer(slow, plan)
    eps = torch.finfo(torch_dtype).eps
    torch.testing.assert_close(fast, slow, rtol=64 * eps, atol=64 * eps, equal_nan=True)
    assert torch.equal(fast[0, 0], h[0, 0])  # the zero row reads 0 and adds relu(0) W_out = 0
    assert torch.equal(torch.isnan(fast), torch.isnan(slow))


def test_small_dense_feed_forwards_run_in_one_pass(monkeypatch):
    """The counting model's feed-forwards are all small and dense: each runs in the one-pass
    kernel (and answers right: test_floor_compact compares every cell with the reference)."""
    import logdepth

    model = logdepth.compile(
        logdepth.parse_file("examples/basics.ld")["parity"], construction="counting"
    )
    calls = []
    original = fused.dense_feed_forward
    monkeypatch.setattr(fused, "dense_feed_forward", lambda *a: calls.append(1) or original(*a))
    words = ["0110", "111", "1" * 40]
    assert model.accepts_batch(words) == [w.count("1") % 2 == 0 for w in words]
    plan = model.network._compact_plan()
    small = [p for p, (_, mlp) in plan.layers.items() if mlp is not None and mlp.small]
    assert small and len(calls) >= len(small)


def _status_in(env: dict[str, str]) -> str:
    """fused.status() and a parity answer from a fresh process with `env` added."""
    script = (
        "import logdepth\n"
        "from logdepth.model import fused\n"
        "m = logdepth.compile(logdepth.parse_file('examples/basics.ld')['parity'])\n"
        "print(m.accepts_batch(['0110', '0111', '1' * 40]))\n"
        "print(fused.status())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return done.stdout


def test_without_a_compiler_the_torch_path_answers(tmp_path):
    out = _status_in({"CC": str(tmp_path / "no-such-cc"), "XDG_CACHE_HOME": str(tmp_path)})
    answers, status = out.splitlines()
    assert answers == "[True, False, True]"
    assert status.startswith("torch path: could not build the kernel")


def test_the_switch_turns_the_kernel_off(tmp_path):
    out = _status_in({"LOGDEPTH_FUSED": "0", "XDG_CACHE_HOME": str(tmp_path)})
    assert out.splitlines() == ["[True, False, True]", "torch path: LOGDEPTH_FUSED=0"]
    assert not list(tmp_path.iterdir())  # nothing built


@pytest.mark.slow  # builds the kernel from source (a compiler run of several seconds)
def test_an_unwritable_cache_builds_in_a_temporary_directory(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    out = _status_in({"XDG_CACHE_HOME": str(blocked)})
    assert out.splitlines() == ["[True, False, True]", "fused kernel in use"]


@pytest.mark.parametrize("masked", [True, False])
@pytest.mark.parametrize("tokens", [1, 8, 13, 150])
def test_attention_inputs_are_the_projected_prenorm_laid_out(masked, tokens, monkeypatch):
    """One pass for a sublayer's queries, keys and values against the torch path's pre-norm
    and product on the same stream, rearranged by hand: q [B, H, T, dk], keys and values with
    tokens along the rows and zeros past T. Each feature sums at most three terms, in another
    order than the product's; rows of the batch split over three threads."""
    rng = np.random.default_rng(12)
    batch, heads, dk, dv = 3, 2, 3, 2
    features = 2 * heads * dk + heads * dv
    h = torch.from_numpy(rng.normal(size=(batch, tokens, 17)))
    h[0, 0] = 0  # a zero row reads 0
    cols = torch.tensor([0, 2, 3, 9, 16])
    mask = torch.tensor([1.0, 0.5, 0.0, 2.0, 1.0], dtype=torch.float64) if masked else None
    qkv = torch.from_numpy(_sparse(rng, 5, features, 0.3))
    qkv[:, 1] = 0  # a feature that reads nothing is 0
    qkv[2] = 0  # a cell no feature reads: not divided, but it is in the norm
    monkeypatch.setattr(fused, "THREAD_MIN_PAIRS", 0)
    threads = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        q, k_t, v_t = fused.attention_inputs(
            h, cols, mask, compact._csc(qkv), heads, dk, dv
        )
    finally:
        torch.set_num_threads(threads)
    monkeypatch.setattr(fused, "applies", lambda tensor: False)
    plan = compact.SublayerPlan(read=cols, mask=mask, write=cols)
    want = compact._prenorm(h, plan) @ qkv  # [B, T, F]
    queries, keys = heads * dk, 2 * heads * dk
    want_q = want[..., :queries].reshape(batch, tokens, heads, dk).transpose(1, 2)
    want_k = want[..., queries:keys].reshape(batch, tokens, heads, dk).permute(0, 2, 3, 1)
    want_v = want[..., keys:].reshape(batch, tokens, heads, dv).permute(0, 2, 3, 1)
    stride = fused.block_stride(tokens, torch.float64)
    assert k_t.shape == (batch, heads, dk, stride) and v_t.shape == (batch, heads, dv, stride)
    eps = torch.finfo(torch.float64).eps
    for got, expected in ((q, want_q), (k_t[..., :tokens], want_k), (v_t[..., :tokens], want_v)):
        torch.testing.assert_close(got, expected, rtol=16 * eps, atol=16 * eps)
    assert (k_t[..., tokens:] == 0).all() and (v_t[..., tokens:] == 0).all()
    assert (q[0, :, 0] == 0).all() and (q[:, 0, :, 1] == 0).all()  # the zero row; feature 1
    # An infinite cell that no feature reads: the dense product's zero terms make every feature
    # of its token NaN (inf / inf = NaN, times 0), and so does the kernel: no laid-out inputs.
    monkeypatch.undo()
    h[1, tokens - 1, 3] = float("inf")
    assert fused.attention_inputs(h, cols, mask, compact._csc(qkv), heads, dk, dv) is None


@pytest.mark.parametrize("name", ["starfree", "counting"])
def test_laid_out_heads_are_the_hard_attention_path(name, monkeypatch):
    """Star-free's and counting's layers of scored heads with their inputs from
    `attention_inputs`, and of constant-score heads by `uniform_add`, against the same layers
    through `hard_attention` (pre-norm, product, layout copies) and the torch prefix means:
    every residual within the rounding of the projection's sums, and the same answers, on
    words the language accepts and rejects; a float32 model keeps the other path."""
    from tests.model.test_floor_compact import _build, _inputs

    model = _build(name)
    calls, means = [], []
    original, original_means = fused.attention_inputs, fused.uniform_add
    monkeypatch.setattr(fused, "attention_inputs", lambda *a: calls.append(1) or original(*a))
    monkeypatch.setattr(
        fused, "uniform_add", lambda *a, **k: means.append(1) or original_means(*a, **k)
    )
    net = model.network
    batch = _inputs(name, model)
    answers = model.run_tokens(batch)
    assert calls and means and {"accept", "reject"} <= set(answers)
    plan = net._compact_plan()
    for tokens in batch:
        ids = torch.tensor([[model.config.vocab.index(t) for t in tokens]])
        lengths, depth = torch.tensor([len(tokens)]), model.config.depth_rule.depth(len(tokens))
        fast, slow = [], []
        plan.run(net, ids, lengths, depth, residuals=fast)
        with monkeypatch.context() as other:
            other.setattr(compact._Scratch, "_laid_out", lambda self, h, plan: None)
            plan.run(net, ids, lengths, depth, residuals=slow)
        for a, b in zip(fast, slow, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    with monkeypatch.context() as other:
        other.setattr(compact._Scratch, "_laid_out", lambda self, h, plan: None)
        assert model.run_tokens(batch) == answers
    calls.clear()
    means.clear()
    model.to("float32").run_tokens(batch)
    assert not calls and not means


@pytest.mark.parametrize("dtype", sorted(DTYPES))
def test_constant_score_heads_add_their_means(dtype, monkeypatch):
    """uniform_add against the definition written out in torch: a causal head's output at t
    is the mean of v_0..v_t, an unmasked head's the mean of v_j over j < its row's length
    (the same at every token), projected by m and added into the write columns; rows of three
    lengths, split over three threads; the cells it does not write unchanged; a length of 0
    or past T refused."""
    torch_dtype = DTYPES[dtype][0]
    rng = np.random.default_rng(21)
    batch, tokens, d, heads, dv = 3, 11, 9, 2, 2
    v = torch.from_numpy(rng.normal(size=(batch, heads, dv, tokens))).to(torch_dtype)
    v_t = torch.zeros(batch, heads, dv, fused.block_stride(tokens, torch_dtype), dtype=torch_dtype)
    v_t[..., :tokens] = v
    causal = torch.tensor([1, 0], dtype=torch.uint8)  # head 0 causal, head 1 unmasked
    lengths = torch.tensor([11, 4, 1])
    cols = torch.tensor([7, 0, 3])
    m = torch.from_numpy(rng.normal(size=(heads * dv, 3))).to(torch_dtype)
    h = torch.from_numpy(rng.normal(size=(batch, tokens, d))).to(torch_dtype)
    prefix = v.cumsum(-1) / torch.arange(1, tokens + 1, dtype=torch_dtype)
    whole = torch.stack([v[b, ..., : lengths[b]].mean(-1) for b in range(batch)])
    means = torch.where(causal.bool()[None, :, None, None], prefix, whole[..., None])
    slow = h.clone()
    slow[..., cols] += means.permute(0, 3, 1, 2).reshape(batch, tokens, heads * dv) @ m
    monkeypatch.setattr(fused, "THREAD_MIN_PAIRS", 0)
    threads = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        fast = h.clone()
        fused.uniform_add(fast, v_t, causal, lengths, cols, m)
    finally:
        torch.set_num_threads(threads)
    eps = torch.finfo(torch_dtype).eps
    torch.testing.assert_close(fast, slow, rtol=64 * eps, atol=64 * eps)
    untouched = [c for c in range(d) if c not in cols.tolist()]
    assert torch.equal(fast[..., untouched], h[..., untouched])
    # strided views of the lengths, flags and columns: read by value, not past them
    strided = h.clone()
    fused.uniform_add(
        strided, v_t, torch.tensor([1, 9, 0, 9], dtype=torch.uint8)[::2],
        torch.tensor([11, 99, 4, 99, 1, 99])[::2], torch.tensor([7, 5, 0, 5, 3, 5])[::2], m,
    )
    assert torch.equal(strided, fast)
    for wrong in ([11, 0, 1], [11, 12, 1]):
        with pytest.raises(ValueError, match="lengths"):
            fused.uniform_add(h.clone(), v_t, causal, torch.tensor(wrong), cols, m)


def test_an_infinite_cell_no_head_reads_spreads_as_on_the_torch_path(monkeypatch):
    """An infinite residual cell in a scored layer's read columns that no query, key or value
    reads: the laid-out path gives up on the NaN it makes (inf / inf in the pre-norm, times a
    zero weight), and the layer's output is the torch path's, NaN where it is NaN there."""
    from tests.model.test_floor_compact import _build

    model = _build("starfree")
    plan = model.network._compact_plan()
    attn = plan.layers["initial.1"][0]
    unused = sorted(set(range(attn.qkv.shape[0])) - set(attn.projection[3].tolist()))
    assert attn.projection is not None and unused
    h = torch.rand(2, 9, model.config.d_model, dtype=torch.float64)
    h[1, 4, attn.read_index[unused[0]]] = float("inf")
    lengths, valid = torch.tensor([9, 9]), torch.ones(2, 9, dtype=torch.bool)
    tol = model.network.tie_tolerance
    fast = h.clone()
    compact._Scratch(fast, valid, lengths, tol).sublayer(fast, attn)
    monkeypatch.setattr(fused, "applies", lambda tensor: False)
    slow = h.clone()
    compact._Scratch(slow, valid, lengths, tol).sublayer(slow, attn)
    assert torch.isnan(slow).any()
    torch.testing.assert_close(fast, slow, rtol=1e-12, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("dtype", sorted(DTYPES))
def test_the_output_projection_and_add_is_the_torch_path(dtype):
    """h[..., cols] += x @ m in one pass against the product and index_add on the same
    tensors: within the rounding of a k-term sum (another order), NaN and infinity spread as
    there, the cells it does not write unchanged."""
    torch_dtype = DTYPES[dtype][0]
    rng = np.random.default_rng(13)
    h = torch.from_numpy(rng.normal(size=(2, 11, 9))).to(torch_dtype)
    x = torch.from_numpy(rng.normal(size=(2, 11, 5))).to(torch_dtype)
    x[1, 3, 2] = float("inf")
    x[0, 7, 0] = float("nan")
    m = torch.from_numpy(rng.normal(size=(5, 3))).to(torch_dtype)
    cols = torch.tensor([6, 1, 4])
    fast = h.clone()
    fused.project_add(fast, cols, x, m)
    slow = h.clone()
    slow.index_add_(-1, cols, x @ m)
    eps = torch.finfo(torch_dtype).eps
    torch.testing.assert_close(fast, slow, rtol=16 * eps, atol=16 * eps, equal_nan=True)
    untouched = [c for c in range(9) if c not in cols.tolist()]
    assert torch.equal(fast[..., untouched], h[..., untouched])
