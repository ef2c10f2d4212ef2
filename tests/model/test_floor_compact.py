"""The compact execution plan (logdepth/model/compact.py) computes what the full pass computes.

For every built-in word construction and both connectivity constructions, in the same
process: the compact run's answers equal the full pass's; every residual it produces lies within
the rounding bounds of tests/model/reference.py's independent numpy forward pass (each sublayer
reading the compact run's own previous residual, and the whole run), and every cell decodes as
the reference decodes it wherever rounding cannot change the decoding, so as the full pass
decodes it too (tests/model/test_modules.py checks the full pass against the same reference).
No stored float bytes: the bounds come from the magnitudes and the dtype.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import logdepth
from logdepth import catalog as table
from logdepth.model import compact
from logdepth.model.compiled import TraceResult
from logdepth.model.config import BOS
from logdepth.model.transformer import UniversalTransformer
from tests.model import reference
from tests.model.test_transformer import VOCAB, attn_layer, make_model

SPEC = logdepth.parse_file(reference.BASICS)
# A language each word construction compiles: star-free needs an aperiodic one.
LANGUAGE = {"starfree": "ends_ab"}
WORDS = {"parity": ["", "1", "0110100", "1101001011010"], "ends_ab": ["", "ab", "babab", "aabbaab"]}
MAX_LENGTH = 16  # the non-uniform builds' N, past every word above
WORD_CONSTRUCTIONS = [
    c.name for c in table.CONSTRUCTIONS if c.input_format == "word" and not c.chooser
]
GRAPH_CONSTRUCTIONS = [c.name for c in table.CONSTRUCTIONS if c.input_format == "graph"]
QUERIES = [("a", "d"), ("d", "a"), ("a", "e")]


def _build(name: str):
    entry = table.get(name)
    if entry.input_format == "graph":
        return logdepth.compile(construction=name)
    language = LANGUAGE.get(name, "parity")
    options = {"max_length": MAX_LENGTH} if entry.needs_max_length else {}
    return logdepth.compile(SPEC[language], construction=name, **options)


def _inputs(name: str, model) -> list[list[str]]:
    if table.get(name).input_format == "graph":
        graph = SPEC["diamond"]
        return [reference.tokens_of(model, graph, q) for q in QUERIES]
    words = WORDS[LANGUAGE.get(name, "parity")]
    return [reference.tokens_of(model, None, w) for w in words]


def compact_trace(model, tokens: list[str]) -> TraceResult:
    """The compact run's residual after every sublayer the full pass traces."""
    net = model.network
    depth = model.config.depth_rule.depth(model.input_size(tokens))
    ids = torch.tensor([[model.config.vocab.index(t) for t in tokens]])
    residuals: list[torch.Tensor] = []
    with torch.no_grad():
        net._compact_plan().run(net, ids, torch.tensor([len(tokens)]), depth, residuals)
    sublayers = ["embed"] + [
        f"{prefix}.{kind}"
        for prefix in net.schedule(depth)
        for kind, present in (
            ("attn", net.layer(prefix).shape.n_heads),
            ("mlp", net.layer(prefix).shape.d_ff),
        )
        if present
    ]
    return TraceResult(
        list(tokens), model.config, depth, sublayers, [r[0].numpy() for r in residuals]
    )


def compact_problems(model, tokens: list[str]) -> list[str]:
    """`reference.problems` for the compact run (it has no attention maps to compare)."""
    ref = reference.Reference(model)
    u = ref.u_model
    trace = compact_trace(model, tokens)
    out = []
    for k in range(1, len(trace.residuals)):
        before = trace.residuals[k - 1].astype(np.float64)
        after = ref.sublayer(trace.sublayers[k], reference.Bound(before, np.zeros_like(before)))
        if bad := reference._beyond(trace.residuals[k], after, u):
            out.append(f"step {k} ({trace.sublayers[k]}): {bad} entries beyond the tolerance")
    full = ref.forward(tokens, trace.depth)
    assert full.sublayers == trace.sublayers
    for k, (mine, theirs) in enumerate(zip(trace.residuals, full.residuals, strict=True)):
        if bad := reference._beyond(mine, theirs, u):
            out.append(f"whole run, residual {k}: {bad} entries beyond the tolerance")
    out += reference._decode_problems(trace, full, u)
    answer = model.run_tokens([tokens])[0]
    model.network.compact = False
    try:
        if model.run_tokens([tokens])[0] != answer:
            out.append("answer differs from the full pass")
    finally:
        model.network.compact = True
    if ref.answer(full.logits) != answer:
        out.append(f"answer: compact {answer}, reference {ref.answer(full.logits)}")
    return out


@pytest.fixture(scope="module")
def models():
    cache: dict = {}

    def get(name: str, dtype: str = "float64"):
        if name not in cache:
            cache[name] = _build(name)
        return cache[name].to(dtype) if dtype != "float64" else cache[name]

    return get


@pytest.fixture(params=["fused", "torch"])
def attention_path(request, monkeypatch):
    """Each test twice: the scored heads by the fused kernel (model/fused.py), and by the torch
    path of score blocks. The fused run is skipped only where no kernel could be built (it says
    why); CI's machine builds it."""
    if request.param == "torch":
        monkeypatch.setattr(compact.fused, "applies", lambda tensor: False)
        yield request.param
        return
    if compact.fused.library() is None:
        pytest.skip(compact.fused.status())
    calls = []
    original = compact.fused.attend  # every kernel run of a scored head goes through it
    spy = lambda *a, **k: calls.append(1) or original(*a, **k)  # noqa: E731
    monkeypatch.setattr(compact.fused, "attend", spy)
    yield request.param
    assert calls, "the fused run never reached the kernel"


# Over ~3 s each (the reference's numpy pass over long graph encodings, wide layers).
SLOW = {"uniform", "wide", "nonuniform-wide", "connectivity", "connectivity-wide"}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n
        for n in WORD_CONSTRUCTIONS + GRAPH_CONSTRUCTIONS
    ],
)
def test_compact_runs_match_the_reference_and_the_full_pass(name, models, attention_path):
    model = models(name)
    for tokens in _inputs(name, model):
        assert compact_problems(model, tokens) == [], (name, tokens)


def test_float32_compact_runs_match_the_reference(models, attention_path):
    model = models("uniform", "float32")
    for tokens in _inputs("uniform", model):
        assert compact_problems(model, tokens) == [], tokens


@pytest.mark.parametrize(
    "name", ["uniform", "wide", pytest.param("connectivity", marks=pytest.mark.slow)]
)
def test_batched_compact_answers_equal_the_full_pass(name, models, attention_path):
    """Words of different lengths in one batch (padding) answer as the full pass does."""
    model = models(name)
    batch = _inputs(name, model)
    fast = model.run_tokens(batch)
    model.network.compact = False
    try:
        assert model.run_tokens(batch) == fast
    finally:
        model.network.compact = True


def test_the_comparison_catches_a_wrong_compact_plan(models, monkeypatch):
    """The check can fail: a plan that drops one live feed-forward unit is caught."""
    model = models("uniform")
    original = compact.plan_feed_forward

    def drop_first_unit(mlp):
        plan = original(mlp)
        if plan is not None and mlp is model.network.repeated[7].mlp:
            plan.w_in = plan.w_in.clone()
            plan.w_in[:, 0] = 0
            plan.by_column = None  # (the one-pass kernel would read the CSC copy instead)
        return plan

    monkeypatch.setattr(compact, "plan_feed_forward", drop_first_unit)
    model.network._compact = None
    found = compact_problems(model, _inputs("uniform", model)[-1])
    model.network._compact = None
    assert any("repeated.7.mlp" in p for p in found)


def test_the_plan_drops_what_the_weights_make_zero(models):
    """Padded heads, dead value dims, constant-score heads and unwritten rows are found."""
    net = models("uniform").network
    plan = net._compact_plan()
    attn, _ = plan.layers["repeated.0"]  # psi(lambda i): a zero-query average, one head
    assert len(attn.scored_causal) == 0 and attn.uniform_causal == (True,)
    attn, _ = plan.layers["repeated.5"]  # one constant-score head and one scored head
    assert len(attn.scored_causal) == 1 and attn.uniform_causal == (True,)
    wide = models("wide").network._compact_plan()
    _, mlp = wide.layers["initial.1"]  # thousands of threshold units, a few cells written
    d_model = models("wide").config.d_model
    assert mlp.w_out.shape[1] < d_model // 2


def test_emulation_traces_and_hooks_keep_the_full_pass(models, monkeypatch):
    """p-bit emulation, a trace and a hook never see the compact plan; a plain run does."""
    model = models("uniform")
    calls = []
    monkeypatch.setattr(
        compact.CompactForward, "run", lambda self, *a, **k: calls.append(1) or 1 / 0
    )
    model.network._compact = None
    tokens = _inputs("uniform", model)[2]
    model.trace_tokens(tokens)
    emulated = reference.prepare(model, "float64", 30)
    emulated.run_tokens([tokens])
    hook = model.network.final[0].hook_resid_post.register_forward_hook(lambda *a: None)
    try:
        model.run_tokens([tokens])
    finally:
        hook.remove()
    assert calls == []
    with pytest.raises(ZeroDivisionError):
        model.run_tokens([tokens])
    assert calls == [1]
    model.network._compact = None


def _uniform_model(causal: bool) -> UniversalTransformer:
    """One zero-query head averaging the cell [x] (the value 1 on x, 0 elsewhere) into cell 2;
    logits read that cell."""

    def fill(t):
        t["embed"][1, 1] = 1.0  # x
        t["embed"][:, 0] = 1.0  # one
        t["initial.0.attn.mask"][:2] = 1.0
        t["initial.0.attn.W_V"][0, 0, 1] = 1.0
        t["initial.0.attn.W_O"][2, 0] = 1.0
        t["unembed"][1, 2] = 1.0

    return make_model(initial=[attn_layer(causal=(causal,))], fill=fill)


@pytest.mark.parametrize("causal", [True, False])
def test_constant_score_heads_average_the_visible_keys_with_padding(causal):
    """The prefix-sum (causal) and valid-sum (unmasked) averages equal the full pass's, and
    padding past each length does not leak in."""
    model = _uniform_model(causal)
    seqs = [[BOS, "x"], [BOS, "y", "x", "x", "y", "x"], [BOS, "x", "y"]]
    width = max(map(len, seqs))
    ids = torch.full((len(seqs), width), VOCAB.index("x"))
    for r, s in enumerate(seqs):
        ids[r, : len(s)] = torch.tensor([VOCAB.index(t) for t in s])
    lengths = torch.tensor([len(s) for s in seqs])
    fast = model(ids, lengths, 0)
    model.compact = False
    full = model(ids, lengths, 0)
    # Exact: sums of 0/1 values of at most 6 terms, one division, a norm of (1) or (1, 1)
    # whose value sqrt(2) both runs compute alike; the means differ at most by the rounding of
    # that norm, 2 ulps of values at most 1.
    eps = torch.finfo(torch.float64).eps
    assert torch.allclose(fast, full, rtol=0, atol=4 * eps)
    expected = [sum(t == "x" for t in s) / len(s) for s in seqs]  # last query sees every key
    norm = 2**-0.5  # the x token reads (one, x) = (1, 1), normed
    assert torch.allclose(
        fast[:, 1], torch.tensor(expected, dtype=torch.float64) * norm, rtol=0, atol=4 * eps
    )


def test_in_place_weight_edits_rebuild_the_plan():
    model = _uniform_model(True)
    ids = torch.tensor([[0, 1, 1]])
    before = model(ids, torch.tensor([3]), 0).clone()
    model.tensors["initial.0.attn.W_O"][2, 0] = 2.0
    after = model(ids, torch.tensor([3]), 0)
    assert torch.allclose(after, 2 * before)


def test_a_non_finite_weight_takes_the_full_pass():
    """NaN times an exact 0 is NaN: with a NaN in a weight the plan would drop, the run still
    shows it (the full pass), never a finite answer."""
    model = _uniform_model(True)
    model.tensors["initial.0.attn.W_Q"][0, 0, 0] = float("nan")  # the head's W_K stays zero
    assert model._compact_plan() is None
    logits = model(torch.tensor([[0, 1, 1]]), torch.tensor([3]), 0)
    assert not torch.isfinite(logits).all()
