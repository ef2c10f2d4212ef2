"""The compact plan's torch path of chunked causal attention and its bias masking compute what
the full pass computes (logdepth/model/compact.py).

The regression words are short, so by default every scored head runs in one chunk of queries
and hides its future keys with the cached 0/-inf bias. Here the chunks shrink to a few rows (so
every chunk after the first scores only the keys before its last query, and the diagonal block
moves), and the masked_fill fallback (for heads whose scores could overflow) is forced: each
run must still match the numpy reference within its rounding bounds, decode alike and answer as
the full pass does, for every built-in word construction and both connectivity constructions,
compared in the same process (`test_floor_compact.compact_problems`).
"""

from __future__ import annotations

import pytest
import torch

from logdepth.model import compact
from tests.model.test_floor_compact import (
    GRAPH_CONSTRUCTIONS,
    SLOW,
    WORD_CONSTRUCTIONS,
    _build,
    _inputs,
    _uniform_model,
    compact_problems,
)


@pytest.fixture(scope="module")
def models():
    cache: dict = {}

    def get(name: str):
        if name not in cache:
            cache[name] = _build(name)
        return cache[name]

    return get


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 2 query rows (the cache block allows few rows; causal splits allow any), on the
    torch path (the fused kernel has no chunks: tests/model/test_fused_kernel.py)."""
    monkeypatch.setattr(compact.fused, "applies", lambda tensor: False)
    monkeypatch.setattr(compact, "CAUSAL_MIN_ROWS", 1)
    monkeypatch.setattr(compact, "CAUSAL_SPLITS", 1 << 20)
    monkeypatch.setattr(compact, "CACHE_BLOCK_ELEMENTS", 2 * 16)


def _fresh(model):
    model.network._compact = None
    return model


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n
        for n in WORD_CONSTRUCTIONS + GRAPH_CONSTRUCTIONS
    ],
)
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "masked_fill"])
def test_small_chunks_match_the_reference_and_the_full_pass(
    name, bias, models, small_chunks, monkeypatch
):
    if not bias:
        monkeypatch.setattr(compact, "_scores_finite", lambda w_q, w_k: False)
    model = _fresh(models(name))
    try:
        for tokens in _inputs(name, model):
            assert compact_problems(model, tokens) == [], (name, tokens)
    finally:
        _fresh(model)


def test_small_chunks_batched_answers_equal_the_full_pass(models, small_chunks):
    """Padded words of different lengths, chunked: the validity mask and the bias together."""
    model = _fresh(models("counting"))
    batch = _inputs("counting", model)
    try:
        fast = model.run_tokens(batch)
        model.network.compact = False
        assert model.run_tokens(batch) == fast
    finally:
        model.network.compact = True
        _fresh(model)


def test_the_comparison_catches_a_wrong_causal_bias(models, small_chunks, monkeypatch):
    """The check can fail: a bias that also hides each query's own key is caught."""
    model = _fresh(models("counting"))
    original = compact._Scratch._bias

    def hide_the_diagonal(self, start, stop, keys, plan):
        bias = original(self, start, stop, keys, plan).clone()
        bias.diagonal(dim1=-2, dim2=-1).fill_(float("-inf"))
        return bias

    monkeypatch.setattr(compact._Scratch, "_bias", hide_the_diagonal)
    try:
        found = [p for t in _inputs("counting", model) for p in compact_problems(model, t)]
    finally:
        _fresh(model)
    assert found


def test_scores_that_could_overflow_keep_masked_fill():
    """Weights whose scores could exceed half the dtype's range: adding -inf to an infinite
    score would give NaN, so the plan says the scores are not provably finite."""
    big = torch.finfo(torch.float64).max ** 0.5
    w = [torch.tensor([[big, 0.0], [0.0, 1.0]], dtype=torch.float64)]
    assert not compact._scores_finite(w, w)
    small = [torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)]
    assert compact._scores_finite(small, small)
    assert compact._scores_finite([], [])


def test_a_zero_read_row_normalizes_to_zero():
    """A token whose read cells are all zero (norm 0) gives an all-zero query, key and value,
    as the full pass's norm(0) = 0: the zero-query average reads 0 for it."""
    model = _uniform_model(True)
    with torch.no_grad():
        model.tensors["embed"][2].zero_()  # the token y reads (0, 0)
    ids = torch.tensor([[0, 2, 2, 1]])
    lengths = torch.tensor([4])
    fast = model(ids, lengths, 0)
    model.compact = False
    full = model(ids, lengths, 0)
    assert torch.isfinite(fast).all()
    # Both average the same few values of at most 1 (the one rounding of each sum apart).
    assert torch.allclose(fast, full, rtol=0, atol=4 * torch.finfo(torch.float64).eps)


@pytest.mark.slow
def test_sparse_feed_forwards_run_and_a_wrong_one_is_caught(models):
    """The wide model's threshold layers run as CSR products (compared with the reference by
    test_floor_compact's wide case); a CSR matrix with one entry changed is caught."""
    model = _fresh(models("wide"))
    plan = model.network._compact_plan()
    sparse = [k for k, (_, mlp) in plan.layers.items() if mlp is not None and mlp.sparse]
    assert "repeated.0" in sparse
    w_in, w_out = plan.layers["repeated.0"][1].sparse
    try:
        with torch.no_grad():
            w_out.values()[0] *= 2
        found = [p for t in _inputs("wide", model) for p in compact_problems(model, t)]
    finally:
        _fresh(model)
    assert any("repeated.0.mlp" in p for p in found)
