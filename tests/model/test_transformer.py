"""The forward pass against the semantics of DESIGN.md (paper Definitions 1-3).

Weights here are written by hand as raw tensors so the model is tested on its own, without the
compiler: each test states what the paper's model must do and checks the numbers.
"""

from __future__ import annotations

import math

import pytest
import torch

from logdepth.model.config import BOS, DepthRule, LayerShape, ModelConfig
from logdepth.model.transformer import (
    Trace,
    UniversalTransformer,
    masked_prenorm,
    tensor_schema,
)

VOCAB = (BOS, "x", "y")


def make_model(initial=(), repeated=(), final=(), d_model=4, tol=1e-9, fill=None):
    config = ModelConfig(
        d_model=d_model,
        vocab=VOCAB,
        outputs=("no", "yes"),
        initial=tuple(initial),
        repeated=tuple(repeated),
        final=tuple(final),
        depth_rule=DepthRule(count_tokens=("x", "y")),
        tie_tolerance=tol,
    )
    tensors = {
        k: torch.zeros(shape, dtype=torch.float64) for k, shape in tensor_schema(config).items()
    }
    if fill:
        fill(tensors)
    return UniversalTransformer(config, tensors)


def attn_layer(causal=(True,), d_head=1, d_value=1, d_ff=0):
    return LayerShape(len(causal), d_head, d_value, d_ff, tuple(causal))


def test_norm_of_a_lone_scalar_is_its_sign():
    h = torch.tensor([[3.5, 0.0], [-0.001, 0.0], [0.0, 0.0]], dtype=torch.float64)
    mask = torch.tensor([1.0, 0.0], dtype=torch.float64)
    z = masked_prenorm(h, mask)
    assert z[:, 0].tolist() == [1.0, -1.0, 0.0]


def test_psi_reads_back_as_phi():
    for a, b in [(3.0, 1.0), (0.25, 1 / 7), (-5.0, 2.0)]:
        psi = torch.tensor([a, b, -a, -b], dtype=torch.float64)
        z = masked_prenorm(psi[None], torch.ones(4, dtype=torch.float64))[0]
        r = a / b
        phi = torch.tensor([r, 1, -r, -1], dtype=torch.float64) / math.sqrt(2 * r * r + 2)
        assert torch.allclose(z, phi, atol=1e-15, rtol=0)


def test_zero_stays_zero():
    z = masked_prenorm(torch.zeros(3, 5, dtype=torch.float64), torch.ones(5, dtype=torch.float64))
    assert torch.equal(z, torch.zeros(3, 5, dtype=torch.float64))


def test_mask_hides_dimensions():
    h = torch.tensor([[3.0, 4.0, 100.0]], dtype=torch.float64)
    z = masked_prenorm(h, torch.tensor([1.0, 1.0, 0.0], dtype=torch.float64))
    assert torch.allclose(z, torch.tensor([[0.6, 0.8, 0.0]], dtype=torch.float64))


def _value_head(causal: bool):
    """One head, constant scores (all ties), value = dim 1, output added to dim 2."""

    def fill(t):
        t["initial.0.attn.mask"][:] = torch.tensor([1.0, 1.0, 0.0, 0.0])
        # x = (1, 1) and y = (1, -1) read as (1, +-1)/sqrt2, so the value is +-1 (BoS: 0).
        t["initial.0.attn.W_V"][0, 0, 1] = math.sqrt(2)
        t["initial.0.attn.W_O"][2, 0] = 1.0
        t["embed"][0] = torch.tensor([1.0, 0.0, 0.0, 0.0])
        t["embed"][1] = torch.tensor([1.0, 1.0, 0.0, 0.0])  # x
        t["embed"][2] = torch.tensor([1.0, -1.0, 0.0, 0.0])  # y

    return make_model(initial=[attn_layer((causal,))], fill=fill)


def _run(model, tokens, depth=0):
    ids = torch.tensor([[VOCAB.index(t) for t in tokens]])
    trace = Trace()
    model(ids, torch.tensor([len(tokens)]), depth, trace=trace)
    return trace


def test_ties_average_exactly_and_causal_heads_include_self():
    model = _value_head(causal=True)
    trace = _run(model, [BOS, "x", "y", "x"])
    # values read through the norm: BoS (1,0) -> 0; x (1,1)/sqrt2 -> 1 after the sqrt2 factor.
    values = [0.0, 1.0, -1.0, 1.0]
    out = trace.residuals[-1][0, :, 2].tolist()
    expected = [sum(values[: i + 1]) / (i + 1) for i in range(4)]
    # Each value: the norm's sum of squares, square root and division, then W_V: 4 roundings;
    # the average of at most 4 of them: 3 additions and a division; the residual addition: 1.
    # Every quantity is at most 1 in magnitude, so 8 roundings of at most eps each, doubled.
    assert out == pytest.approx(expected, abs=16 * torch.finfo(torch.float64).eps)
    weights = trace.attention["initial.0.attn"][0, 0]
    assert weights[1].tolist() == [0.5, 0.5, 0.0, 0.0]  # self included, future excluded


def test_unmasked_heads_see_later_tokens():
    model = _value_head(causal=False)
    trace = _run(model, [BOS, "x", "y", "x"])
    out = trace.residuals[-1][0, :, 2]
    assert torch.allclose(out, torch.full((4,), 0.25, dtype=torch.float64))


def test_hard_attention_picks_the_maximum_within_tolerance():
    """Query 1, key = dim 1: scores are the keys' values; only the maximum is attended."""

    def fill(t):
        t["initial.0.attn.mask"][:] = torch.tensor([1.0, 1.0, 0.0, 0.0])
        t["initial.0.attn.W_Q"][0, 0, 0] = 1.0
        t["initial.0.attn.W_K"][0, 0, 1] = 1.0
        t["initial.0.attn.W_V"][0, 0, 3] = 0.0
        t["initial.0.attn.W_V"][0, 0, 1] = 1.0
        t["initial.0.attn.W_O"][2, 0] = 1.0
        t["embed"][0] = torch.tensor([1.0, 0.0, 0.0, 0.0])
        t["embed"][1] = torch.tensor([1.0, 1.0, 0.0, 0.0])
        t["embed"][2] = torch.tensor([1.0, 0.5, 0.0, 0.0])

    model = make_model(initial=[attn_layer((False,))], fill=fill)
    trace = _run(model, [BOS, "y", "x", "y", "x"])
    weights = trace.attention["initial.0.attn"][0, 0]
    for row in weights:
        assert row.tolist() == [0.0, 0.0, 0.5, 0.0, 0.5]


def test_softmax_mode_approaches_hard_attention():
    def fill(t):
        t["initial.0.attn.mask"][:] = torch.tensor([1.0, 1.0, 0.0, 0.0])
        t["initial.0.attn.W_Q"][0, 0, 0] = 1.0
        t["initial.0.attn.W_K"][0, 0, 1] = 1.0
        t["embed"][0] = torch.tensor([1.0, 0.0, 0.0, 0.0])
        t["embed"][1] = torch.tensor([1.0, 1.0, 0.0, 0.0])

    model = make_model(initial=[attn_layer((False,))], fill=fill)
    model.attention_mode, model.beta = "softmax", 200.0
    weights = _run(model, [BOS, "x", "x"]).attention["initial.0.attn"][0, 0, 0]
    assert weights[0] < 1e-30 and abs(weights[1] - 0.5) < 1e-12


@pytest.mark.parametrize("depth", [0, 1, 2, 5])
def test_layer_count_is_s_plus_r_d_plus_t(depth):
    ff = LayerShape(0, 0, 0, 1, ())
    model = make_model(initial=[ff, ff], repeated=[ff, ff, ff], final=[ff])
    trace = _run(model, [BOS, "x"], depth=depth)
    layers = {name.rsplit(".", 1)[0] for name in trace.sublayers[1:]}
    assert len(trace.sublayers) - 1 == 2 + 3 * depth + 1
    assert model.config.num_layers(depth) == 2 + 3 * depth + 1
    assert layers <= {"initial.0", "initial.1", "repeated.0", "repeated.1", "repeated.2", "final.0"}


def test_repeated_layers_see_their_own_output():
    """A repeated FF that adds 1 to a counter cell runs exactly d times."""

    def fill(t):
        t["repeated.0.mlp.mask"][0] = 1.0
        t["repeated.0.mlp.W_in"][0, 0] = 1.0
        t["repeated.0.mlp.W_out"][1, 0] = 1.0
        t["embed"][:, 0] = 1.0

    ff = LayerShape(0, 0, 0, 1, ())
    model = make_model(repeated=[ff], fill=fill)
    for depth in range(4):
        assert _run(model, [BOS, "x"], depth=depth).residuals[-1][0, -1, 1] == depth


def test_batches_of_different_lengths_match_single_runs():
    model = _value_head(causal=True)

    def fill_unembed(t):
        t["unembed"][1, 2] = 1.0

    fill_unembed(model.tensors)
    seqs = [[BOS, "x"], [BOS, "y", "y", "x", "x", "x"], [BOS, "x", "y", "y"]]
    singles = [
        model(torch.tensor([[VOCAB.index(t) for t in s]]), torch.tensor([len(s)]), 0)[0]
        for s in seqs
    ]
    width = max(map(len, seqs))
    ids = torch.zeros(len(seqs), width, dtype=torch.long)
    for r, s in enumerate(seqs):
        ids[r, : len(s)] = torch.tensor([VOCAB.index(t) for t in s])
        ids[r, len(s) :] = 1  # padding must not leak into unmasked or causal heads
    batched = model(ids, torch.tensor([len(s) for s in seqs]), 0)
    # Other shapes may take other BLAS kernels, so equal up to rounding, not bitwise: per run,
    # the norm, W_V and W_O (4 roundings), the average of at most 6 values (6), the residual
    # addition and U (2), every quantity at most 1; both runs that close to exact. A leaking
    # pad would move an answer by a whole value.
    eps = torch.finfo(torch.float64).eps
    for r in range(len(seqs)):
        assert torch.allclose(batched[r], singles[r], rtol=0, atol=2 * 12 * eps)


def test_unmasked_heads_ignore_padding_in_a_batch():
    model = _value_head(causal=False)
    ids = torch.tensor([[0, 1, 1, 1], [0, 1, 2, 2]])
    trace = Trace()
    model(ids, torch.tensor([2, 4]), 0, trace=trace)
    out = trace.residuals[-1][:, :, 2]
    assert torch.allclose(out[0, :2], torch.full((2,), 0.5, dtype=torch.float64))


def test_chunked_attention_equals_unchunked(monkeypatch):
    import logdepth.model.transformer as tr

    model = _value_head(causal=True)
    seq = [BOS] + ["x", "y", "y", "x"] * 10
    full = _run(model, seq).residuals[-1]
    monkeypatch.setattr(tr, "SCORE_BLOCK_ELEMENTS", 3)
    chunked = _run(model, seq).residuals[-1]
    # Same sums, different BLAS blocking: equal up to rounding. Each run is within
    # (n + 4) eps of exact: the average of at most n values of magnitude at most 1 (n - 1
    # additions, a division), the norm and W_V (4 roundings, less the division counted).
    eps = torch.finfo(torch.float64).eps
    assert torch.allclose(full, chunked, atol=2 * (len(seq) + 4) * eps, rtol=0)


def test_editing_weights_in_place_after_a_run_takes_effect():
    """The per-sublayer column cache must notice in-place edits (tests tamper with weights)."""
    model = _value_head(causal=True)
    before = _run(model, [BOS, "x", "y"]).residuals[-1][0, :, 2].clone()
    model.tensors["initial.0.attn.W_V"][0, 0, 1] *= 2
    after = _run(model, [BOS, "x", "y"]).residuals[-1][0, :, 2]
    assert torch.allclose(after, 2 * before)
    model.tensors["initial.0.attn.mask"][1] = 0.0  # stop reading the value column
    assert torch.equal(
        _run(model, [BOS, "x", "y"]).residuals[-1][0, :, 2], torch.zeros(3, dtype=torch.float64)
    )


def test_every_run_of_a_repeated_layer_keeps_its_attention():
    """attention_runs: one [heads, n, n] per attention sublayer run, repeats included."""
    import logdepth

    model = logdepth.compile(logdepth.parse_file("examples/basics.ld")["parity"])
    trace = model.trace("0110")
    attn_steps = [k for k, name in enumerate(trace.sublayers) if name.endswith(".attn")]
    assert len(trace.attention_runs) == len(attn_steps) > len(trace.attention)
    last = max(k for k in attn_steps if trace.sublayers[k] == "repeated.0.attn")
    assert trace.attention_of(last) is trace.attention_runs[attn_steps.index(last)]
    assert (trace.attention_of(last) == trace.attention["repeated.0.attn"]).all()
    assert trace.attention_of(0) is None  # the embedding


def test_float32_feed_forward_products_are_rounded_once():
    """`_dot_once` (the full pass's feed-forward products): a float32 dot product is summed in
    float64 and rounded once. 8 copies of (2^25, 1, -2^25): summed in float32, each 1 is lost
    next to 2^25 (spacing 4 there) and the product is 0; rounded once it is exactly 8."""
    from logdepth.model.transformer import _dot_once

    a = torch.tensor([[2.0**25, 1.0, -(2.0**25)] * 8], dtype=torch.float32)
    w = torch.ones(24, 2, dtype=torch.float32)
    got = _dot_once(a, w)
    assert got.dtype == torch.float32 and got.tolist() == [[8.0, 8.0]]
    assert _dot_once(a.double(), w.double()).tolist() == [[8.0, 8.0]]  # float64: as it is


def test_the_compact_plans_float32_feed_forwards_are_rounded_once():
    """The compact plan's float32 feed-forward sums each product in float64 too: hidden units
    8 x (2^25, 1, 2^25) written with weights 8 x (1, 1, -1) add exactly 8 (summed in float32,
    0), on the one-pass kernel's path, the dense products' and the sparse kernel's alike."""
    from logdepth.model import compact

    units = torch.tensor([2.0**25, 1.0, 2.0**25] * 8)
    plan = compact.FeedForwardPlan(
        read=torch.tensor([0]),
        mask=None,
        write=torch.tensor([1]),
        w_in=units[None, :].float(),
        w_out=torch.tensor([1.0, 1.0, -1.0] * 8)[:, None].float(),
    )
    csr = (plan.w_in.T.to_sparse_csr(), plan.w_out.T.to_sparse_csr())
    for small, kernel in ((True, None), (False, None), (False, csr)):
        plan.small, plan.csr, plan._float64 = small, kernel, None  # (in_float64 caches)
        h = torch.zeros(1, 3, 2, dtype=torch.float32)
        h[..., 0] = 1.0  # the read cell: its pre-norm is 1
        compact._feed_forward_sublayer(h, plan)
        assert h[..., 1].tolist() == [[8.0, 8.0, 8.0]]
