"""p-bit emulation in the fused kernels (fused.c's rounding, `Attention._emulated`,
`FeedForward._emulated`): every rounding as `transformer.round_to_bits` rounds it.

Against definitions written here one value at a time: integer inputs keep every product and
sum exact in any order, so the kernel must equal the definition bit for bit at every p (small p
rounds the integer scores and sums, and makes ties). Whole models: emulated answers by the
kernel are right wherever the torch path's are; a hook or pre-hook on what the kernels never
form, or a non-finite weight they would drop, brings the torch path back.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import logdepth
from logdepth.automata.stored import automaton_of
from logdepth.model import fused, transformer
from logdepth.model.transformer import round_to_bits, split_constants
from logdepth.verify.precision import word_cases

pytestmark = pytest.mark.skipif(fused.library() is None, reason=fused.status())


def rounded(x: float, p: int) -> float:
    return float(round_to_bits(torch.tensor([x], dtype=torch.float64), p)[0])


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.floats(allow_nan=False, allow_infinity=False, min_value=-1e250, max_value=1e250),
        min_size=1,
        max_size=40,
    ),
    st.integers(1, 51),
    st.integers(0, 2**31 - 1),
)
def test_round_block_is_round_to_bits(values, p, seed):
    """fused.c's Veltkamp split (built without contraction) against the torch one, with exact
    midpoints between p-bit neighbours (the ties: p + 2 significant bits, the last one set)
    mixed in, all far from overflow (round_to_bits: |x| < 2^900)."""
    rng = np.random.default_rng(seed)
    middles = rng.integers(2**p, 2 ** (p + 1), 8)
    scales = rng.integers(-300, 300, 8)
    ties = [float(2 * int(m) + 1) * 2.0 ** int(e) for m, e in zip(middles, scales, strict=True)]
    x = torch.tensor(values + ties, dtype=torch.float64)
    got = x.clone()
    split = torch.full_like(x, float(2 ** (52 - p) + 1))
    fused.library().round_block_f64(got.data_ptr(), len(got), split.data_ptr())
    assert torch.equal(got, round_to_bits(x, p))


def emulated_attention_definition(q, k, v, causal, lengths, tols, bits) -> np.ndarray:
    """Attention under p-bit emulation (transformer.Attention): scores rounded, floor
    round(best - tol), hits within it, the attended sum rounded, its division rounded."""
    batch, heads, tokens, _ = q.shape
    out = np.zeros((batch, tokens, heads, v.shape[-1]))
    for b in range(batch):
        p = bits[b]
        for h in range(heads):
            for i in range(tokens):
                seen = min(i + 1, lengths[b]) if causal[h] else lengths[b]
                scores = [rounded(float(k[b, h, j] @ q[b, h, i]), p) for j in range(seen)]
                floor = rounded(max(scores) - tols[b], p)
                hits = [j for j in range(seen) if scores[j] >= floor]
                for e in range(v.shape[-1]):
                    total = rounded(float(sum(v[b, h, j, e] for j in hits)), p)
                    out[b, i, h, e] = rounded(total / len(hits), p)
    return out


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 3),
    st.integers(1, 2),
    st.sampled_from([1, 5, 8, 9, 17, 33]),
    st.integers(1, 4),
    st.integers(1, 3),
    st.integers(0, 2**31 - 1),
)
def test_emulated_attention_is_the_definition(batch, heads, tokens, d_key, d_val, seed):
    rng = np.random.default_rng(seed)
    q = rng.integers(-3, 4, (batch, heads, tokens, d_key)).astype(np.float64)
    k = rng.integers(-3, 4, (batch, heads, tokens, d_key)).astype(np.float64)
    v = rng.integers(-40, 41, (batch, heads, tokens, d_val)).astype(np.float64)
    causal = [bool(c) for c in rng.integers(0, 2, heads)]
    lengths = [int(n) for n in rng.integers(1, tokens + 1, batch)]
    bits = [int(p) for p in rng.integers(1, 9, batch)]  # small p: scores and sums round
    tols = [float(t) for t in rng.choice([0.0, 0.5, 1.0, 2.0, 4.0], batch)]
    out = torch.empty(batch, tokens, heads, d_val, dtype=torch.float64)
    emulated = (split_constants(torch.tensor(bits), out.device), torch.tensor(tols))
    t = {name: torch.from_numpy(x) for name, x in (("q", q), ("k", k), ("v", v))}
    lens = torch.tensor(lengths)
    fused.hard_attention(t["q"], t["k"], t["v"], torch.tensor(causal), lens, 0.0, out, emulated)
    want = emulated_attention_definition(q, k, v, causal, lengths, tols, bits)
    np.testing.assert_array_equal(out.numpy(), want)


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 300),
    st.integers(1, 6),
    st.integers(1, 40),
    st.integers(1, 5),
    st.integers(0, 2**31 - 1),
)
def test_emulated_feed_forward_is_the_definition(tokens, cells, units, outs, seed):
    """round(W_out relu(round(W_in z))) per token at its own p, against dense products of
    integers (exact) rounded by round_to_bits; tokens cross the kernel's 256-token blocks."""
    rng = np.random.default_rng(seed)
    z = rng.integers(-9, 10, (tokens, cells)).astype(np.float64)
    w_in = rng.integers(-3, 4, (units, cells)) * (rng.random((units, cells)) < 0.4)
    w_out = rng.integers(-3, 4, (outs, units)) * (rng.random((outs, units)) < 0.3)
    bits = torch.tensor(rng.integers(1, 12, tokens))
    split = split_constants(bits, torch.device("cpu"))
    pair = [torch.from_numpy(w.astype(np.float64)).to_sparse_csr() for w in (w_in, w_out)]
    got = fused.sparse_feed_forward(torch.from_numpy(z), *pair, split)
    hidden = torch.from_numpy(z @ w_in.T.astype(np.float64))
    hidden = torch.relu(round_to_bits(hidden, bits))
    want = round_to_bits(hidden @ torch.from_numpy(w_out.T.astype(np.float64)), bits)
    assert torch.equal(got, want)


SPEC = logdepth.parse_file("examples/basics.ld")
MODELS = [("uniform", "parity", 8), ("wide", "parity", 16), ("counting", "parity", 16)]


@pytest.fixture(scope="module", params=MODELS, ids=lambda m: f"{m[0]}-{m[1]}-{m[2]}")
def emulated_case(request):
    construction, language, n = request.param
    model = logdepth.compile(SPEC[language], construction=construction).to("float64")
    cases = word_cases(model, automaton_of(model), n, 4, seed=0)
    return model, cases


def emulated_answers(model, cases, bits) -> list:
    network = model.network
    network.precision_bits = bits
    try:
        return model.run_tokens([c.tokens for c in cases], check=False)
    finally:
        network.precision_bits = None


def test_emulated_models_run_in_the_kernel_and_answer_right(emulated_case, monkeypatch):
    """With one p per row (p = 24..51, past every model's least p here): the kernel answers
    every word right, as the torch path does, and was reached by both kinds of sublayer."""
    model, cases = emulated_case
    bits = torch.arange(len(cases)) % 28 + 24
    calls = {"attention": 0, "feed-forward": 0}

    def spy(name, original):
        def run(*args, **kwargs):
            calls[name] += 1
            return original(*args, **kwargs)

        return run

    monkeypatch.setattr(fused, "hard_attention", spy("attention", fused.hard_attention))
    feed_forward = spy("feed-forward", fused.sparse_feed_forward)
    monkeypatch.setattr(fused, "sparse_feed_forward", feed_forward)
    want = [c.want for c in cases]
    assert emulated_answers(model, cases, bits) == want
    assert calls["attention"] and calls["feed-forward"]
    monkeypatch.setattr(fused, "applies", lambda tensor: False)
    assert emulated_answers(model, cases, bits) == want


def test_a_hook_on_the_hidden_units_takes_the_torch_path(emulated_case, monkeypatch):
    """The kernel never forms the hidden units or the pattern: a hook on them gets the torch
    path, and sees them."""
    model, cases = emulated_case
    monkeypatch.setattr(fused, "sparse_feed_forward", lambda *a: pytest.fail("kernel ran"))
    monkeypatch.setattr(fused, "hard_attention", lambda *a, **k: pytest.fail("kernel ran"))
    seen = []
    handles = []
    for module in model.network.modules():
        if isinstance(module, transformer.FeedForward):
            handles.append(module.hook_pre.register_forward_hook(lambda m, i, o: seen.append(o)))
        if isinstance(module, transformer.Attention):
            handles.append(module.hook_pattern.register_forward_hook(lambda m, i, o: None))
    try:
        assert emulated_answers(model, cases, 40) == [c.want for c in cases]
    finally:
        for handle in handles:
            handle.remove()
    assert seen


def test_the_emulated_batch_budget_leaves_out_hidden_units_the_kernel_never_forms(monkeypatch):
    """rows_per_forward counts d_ff only where the emulated pass forms the hidden units."""
    from logdepth.verify import precision

    model = logdepth.compile(SPEC["parity"], construction="wide")
    with_kernel = precision.rows_per_forward(model, 64)
    monkeypatch.setattr(precision, "emulation_forms_hidden", lambda device: True)
    assert precision.rows_per_forward(model, 64) < with_kernel


@pytest.mark.parametrize("tokens", [700, 4200], ids=["keys in cache", "keys past the cache"])
def test_emulated_attention_across_key_blocks_is_the_definition(tokens):
    """64 key dimensions and long rows: several key blocks, and at 4,200 tokens query blocks
    over each (the wide code's long-input path), every score rounded at p = 6 (integer scores
    up to 576 round to 7 significant bits, so ties form); the definition vectorized."""
    rng = np.random.default_rng(5)
    q = torch.from_numpy(rng.integers(-3, 4, (1, 2, tokens, 64)).astype(np.float64))
    k = torch.from_numpy(rng.integers(-3, 4, (1, 2, tokens, 64)).astype(np.float64))
    v = torch.from_numpy(rng.integers(-40, 41, (1, 2, tokens, 2)).astype(np.float64))
    bits, tol, length, causal = 6, 4.0, tokens - 17, [True, False]
    out = torch.empty(1, tokens, 2, 2, dtype=torch.float64)
    emulated = (split_constants(torch.tensor([bits]), out.device), torch.tensor([tol]))
    fused.hard_attention(q, k, v, torch.tensor(causal), torch.tensor([length]), 0.0, out, emulated)
    for h in range(2):
        scores = round_to_bits(q[0, h] @ k[0, h, :length].T, bits)  # [queries, keys]
        if causal[h]:
            scores = scores.masked_fill(torch.ones_like(scores).triu(1).bool(), float("-inf"))
        floor = round_to_bits(scores.amax(dim=1, keepdim=True) - tol, bits)
        hits = (scores >= floor).double()
        total = round_to_bits(hits @ v[0, h, :length], bits)
        want = round_to_bits(total / hits.sum(dim=1, keepdim=True), bits)
        assert torch.equal(out[0, :, h], want)


def test_a_pre_hook_takes_the_torch_path_too(emulated_case, monkeypatch):
    """A forward pre-hook on the hidden units may patch them: the kernel, which never forms
    them, must not run past it."""
    model, cases = emulated_case
    monkeypatch.setattr(fused, "sparse_feed_forward", lambda *a: pytest.fail("kernel ran"))
    calls = []
    handles = [
        m.hook_pre.register_forward_pre_hook(lambda m, args: calls.append(1))
        for m in model.network.modules()
        if isinstance(m, transformer.FeedForward)
    ]
    try:
        emulated_answers(model, cases, 40)
    finally:
        for handle in handles:
            handle.remove()
    assert calls


def test_a_non_finite_weight_in_a_dropped_unit_still_shows(monkeypatch):
    """A unit that reads nothing adds relu(0) * W_out = 0 * inf = NaN on the torch path; the
    kernel drops such units, so a non-finite weight sends the sublayer to the torch path."""
    model = logdepth.compile(SPEC["parity"], construction="wide").to("float64")
    mlp = max(
        (m for m in model.network.modules() if isinstance(m, transformer.FeedForward)),
        key=lambda m: m.W_in.shape[0],
    )
    mlp.W_in[0] = 0.0
    mlp.W_out[:, 0] = float("inf")
    monkeypatch.setattr(fused, "sparse_feed_forward", lambda *a: pytest.fail("kernel ran"))
    h = torch.rand(2, 5, mlp.W_in.shape[1], dtype=torch.float64)
    model.network.precision_bits = 30
    try:
        assert torch.isnan(mlp(h)).any()
    finally:
        model.network.precision_bits = None


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
def test_threads_split_rows_across_batch_rows_and_token_blocks(monkeypatch):
    """Every call split over threads (THREAD_MIN_PAIRS = 0): pieces start inside a batch row
    and inside a 256-token block, each still rounding with its own row's p."""
    monkeypatch.setattr(fused, "THREAD_MIN_PAIRS", 0)
    threads = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        rng = np.random.default_rng(11)
        batch, heads, tokens = 3, 2, 37
        q = rng.integers(-3, 4, (batch, heads, tokens, 2)).astype(np.float64)
        k = rng.integers(-3, 4, (batch, heads, tokens, 2)).astype(np.float64)
        v = rng.integers(-40, 41, (batch, heads, tokens, 2)).astype(np.float64)
        causal, lengths, bits, tols = [True, False], [37, 20, 5], [3, 5, 8], [0.0, 1.0, 2.0]
        out = torch.empty(batch, tokens, heads, 2, dtype=torch.float64)
        emulated = (split_constants(torch.tensor(bits), out.device), torch.tensor(tols))
        t = [torch.from_numpy(x) for x in (q, k, v)]
        fused.hard_attention(*t, torch.tensor(causal), torch.tensor(lengths), 0.0, out, emulated)
        want = emulated_attention_definition(q, k, v, causal, lengths, tols, bits)
        np.testing.assert_array_equal(out.numpy(), want)

        z = rng.integers(-9, 10, (700, 4)).astype(np.float64)
        w_in = rng.integers(-3, 4, (30, 4)).astype(np.float64)
        w_out = rng.integers(-3, 4, (3, 30)).astype(np.float64)
        p = torch.tensor(rng.integers(1, 12, 700))
        pair = [torch.from_numpy(w).to_sparse_csr() for w in (w_in, w_out)]
        got = fused.sparse_feed_forward(torch.from_numpy(z), *pair, split_constants(p, "cpu"))
        hidden = torch.relu(round_to_bits(torch.from_numpy(z @ w_in.T), p))
        assert torch.equal(got, round_to_bits(hidden @ torch.from_numpy(w_out.T), p))
    finally:
        torch.set_num_threads(threads)


def test_no_head_dimension_is_refused_not_run():
    q = torch.zeros(1, 1, 4, 0, dtype=torch.float64)
    out = torch.empty(1, 4, 1, 1, dtype=torch.float64)
    emulated = (split_constants(torch.tensor([10]), out.device), torch.tensor([0.0]))
    v = torch.zeros(1, 1, 4, 1, dtype=torch.float64)
    with pytest.raises(ValueError, match="at least one dimension"):
        fused.hard_attention(q, q, v, torch.tensor([True]), torch.tensor([4]), 0.0, out, emulated)


def test_torch_path_holds_the_kernels_off_and_lets_go(emulated_case, monkeypatch):
    """`fused.torch_path()` (the benchmarks' way to time both paths in one process): no
    kernel runs inside it, and they run again after it."""
    model, cases = emulated_case
    calls = []
    original = fused.hard_attention
    spy = lambda *a, **k: calls.append(1) or original(*a, **k)  # noqa: E731
    monkeypatch.setattr(fused, "hard_attention", spy)
    with fused.torch_path():
        assert not fused.applies(torch.zeros(1, dtype=torch.float64))
        emulated_answers(model, cases, 40)
    assert not calls
    emulated_answers(model, cases, 40)
    assert calls
