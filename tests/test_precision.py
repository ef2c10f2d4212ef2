"""The precision model: exact gap forms, p-bit emulation, predicted frontiers checked by
emulation, and attention margins read off a trace against the stored tie tolerance."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

import logdepth
from logdepth.automata.dfa import random_dfa
from logdepth.constructions.regular import compile_regular
from logdepth.gaps.regular import frontier, frontier_for_bits
from logdepth.kit.hashing import POSITION_SCALE, neighbour_gap, one_minus_cos, phi_first
from logdepth.model.transformer import masked_prenorm, round_to_bits
from logdepth.precision import cos_gap_form, exact, fit_bits, tiebreak_form
from logdepth.verify.precision import accepted_words, all_right, cases_for, least_bits

DIV5 = """
dfa div5 {
    alphabet: 0, 1
    start: r0
    accept: r0
    r0 0 -> r0
    r0 1 -> r1
    r1 0 -> r2
    r1 1 -> r3
    r2 0 -> r4
    r2 1 -> r0
    r3 0 -> r1
    r3 1 -> r2
    r4 0 -> r3
    r4 1 -> r4
}
"""


@pytest.fixture(scope="module")
def models() -> dict[str, logdepth.CompiledModel]:
    basics = logdepth.parse_file("examples/basics.ld")
    spec = logdepth.parse(DIV5)
    out = {"parity": compile_regular(basics["parity"]), "div5": compile_regular(spec["div5"])}
    out["random10"] = compile_regular(random_dfa(10, 2, seed=10))
    return out


# ---- exact forms -------------------------------------------------------------------------------
@pytest.mark.parametrize("v", [0, 1, 7, 63, 64, 1000, 8191, 19483])
def test_neighbour_gap_matches_its_exact_form(v):
    lam = POSITION_SCALE
    want = exact(cos_gap_form(), x=lam * v, y=lam * (v + 1))
    assert neighbour_gap(v, 1.0) == pytest.approx(want, rel=1e-9)
    assert float(one_minus_cos(lam * v, lam * (v + 0.5))) == pytest.approx(
        exact(cos_gap_form(), x=lam * v, y=lam * (v + 0.5)), rel=1e-9
    )


@pytest.mark.parametrize("v", [0, 5, 100, 4096, 20000])
def test_tiebreak_matches_its_exact_form(v):
    want = exact(tiebreak_form(), v=v, **{"lambda": POSITION_SCALE})
    got = float(phi_first(v + 1) - phi_first(v))
    assert got == pytest.approx(want, rel=1e-6)  # a float difference of two nearby values


def test_fit_recovers_a_line():
    c, b, r2 = fit_bits([4, 8, 16, 32], [10, 14, 18, 22])
    assert (round(c, 9), round(b, 9), r2) == (4.0, 2.0, 1.0)


# ---- the emulator --------------------------------------------------------------------------------
def test_round_to_bits_is_correct_rounding():
    x = torch.tensor(
        [1.0, 1.0 + 2.0**-10, 1.0 + 3 * 2.0**-12, -(1.0 + 2.0**-11), 3.0], dtype=torch.float64
    )
    got = round_to_bits(x, 10).tolist()
    # p = 10 stored bits: spacing 2^-10 on [1, 2); 1 + 3/4 ulp rounds up, a tie goes to even.
    assert got == [1.0, 1.0 + 2.0**-10, 1.0 + 2.0**-10, -1.0, 3.0]


def test_emulation_at_51_bits_answers_like_float64(models):
    cases = cases_for(models["div5"], 24, k=3)
    m = models["div5"]
    base = m.run_tokens([c.tokens for c in cases])
    m.network.precision_bits = 51
    try:
        assert m.run_tokens([c.tokens for c in cases]) == base
    finally:
        m.network.precision_bits = None


def test_accepted_words_are_accepted():
    spec = logdepth.parse(DIV5)["div5"]
    words = accepted_words(spec, 40, 5, random.Random(1))
    assert len(words) == 5 and all(len(w) == 40 and spec.accepts(w) for w in words)
    assert len({tuple(w) for w in words}) > 1


# ---- predicted frontiers, checked by emulation ---------------------------------------------------
@pytest.mark.parametrize(
    "bits,name",
    [
        (22, "parity"),
        (22, "div5"),
        (22, "random10"),
        (26, "parity"),
        pytest.param(26, "div5", marks=pytest.mark.slow),
        pytest.param(26, "random10", marks=pytest.mark.slow),
        pytest.param(30, "div5", marks=pytest.mark.slow),
    ],
)
def test_words_at_the_predicted_frontier_are_right_under_emulation(models, name, bits):
    """n(p) from the precision model; the emulator runs accepting and random words there."""
    n = frontier_for_bits(bits)
    assert n > 0
    cases = cases_for(models[name], n, k=4, seed=bits)
    assert any(c.want == "accept" for c in cases)
    assert all_right(models[name], cases, bits)


@pytest.fixture(scope="module")
def connectivity() -> logdepth.CompiledModel:
    return logdepth.compile_connectivity()


@pytest.mark.parametrize("bits", [44, pytest.param(46, marks=pytest.mark.slow)])
def test_graphs_at_the_predicted_frontier_are_right_under_emulation(connectivity, bits):
    """Theorem 2 on the same footing: n(p) from gaps.connectivity.frontier_for_bits(p),
    connected and disconnected queries at n(p) vertices, p bits emulated."""
    curve = connectivity.extra["report"]["frontier_by_bits"]
    n = curve[str(bits)]
    assert n >= 4
    cases = cases_for(connectivity, n, k=3, seed=bits)
    assert {c.want for c in cases} == {"connected", "disconnected"}
    assert all_right(connectivity, cases, bits)


def test_an_nfa_at_the_predicted_frontier_is_right_under_emulation():
    nfa = logdepth.parse_file("examples/basics.ld")["ends_ab"]
    model = compile_regular(nfa)
    n = frontier_for_bits(24)
    cases = cases_for(model, n, k=3, seed=24)
    assert any(c.want == "accept" for c in cases)
    assert all_right(model, cases, 24)


def test_a_few_bits_below_the_floor_go_wrong(models):
    """The emulator is not vacuous: with p well below what n needs, answers go wrong."""
    cases = cases_for(models["parity"], 64, k=4, seed=3)
    assert not all_right(models["parity"], cases, 12)


def test_least_bits_is_run_right_and_one_less_is_not(models):
    cases = cases_for(models["parity"], 128, k=3, seed=5)
    p = least_bits(models["parity"], cases)
    assert p is not None and all_right(models["parity"], cases, p)
    assert not all_right(models["parity"], cases, p - 1)
    # A sweep's guesses, too high or too low, land on the same p.
    assert least_bits(models["parity"], cases, guess=p + 3) == p
    assert least_bits(models["parity"], cases, lo=p - 2, guess=p - 2) == p


def test_frontiers_by_dtype_are_the_model_at_52_and_23_bits():
    assert frontier("float64") == frontier_for_bits(52) >= 8192
    assert frontier("float32") == frontier_for_bits(23) > 0


# ---- margins in a trace against the stored tolerance ---------------------------------------------
def _score_rows(model, trace):
    """Recompute every hard-attention sublayer's scores from the residual before it."""
    net = model.network
    for k, name in enumerate(trace.sublayers):
        if not name.endswith(".attn"):
            continue
        prefix = name[: -len(".attn")]
        h = torch.from_numpy(trace.residuals[k - 1])[None]
        mask = net.tensors[prefix + ".attn.mask"]
        cols = torch.nonzero(mask, as_tuple=True)[0]
        z = masked_prenorm(h[..., cols], mask[cols])
        wq = net.tensors[prefix + ".attn.W_Q"][..., cols]
        wk = net.tensors[prefix + ".attn.W_K"][..., cols]
        q = torch.einsum("bnm,hdm->bhnd", z, wq)[0]
        kk = torch.einsum("bnm,hdm->bhnd", z, wk)[0]
        shape = net._shape(prefix)
        for head in range(shape.n_heads):
            scores = (q[head] @ kk[head].T).numpy()
            if shape.causal[head]:
                scores = np.where(np.tril(np.ones_like(scores)) > 0, scores, -np.inf)
            yield name, head, scores


def test_attention_margins_clear_the_stored_tolerance(models):
    """Theorem 1's legitimate ties are bitwise (zero-query averages, sign reads), so every key
    the model's tolerance lets into an average must score exactly the row maximum, and the
    best other key must sit more than the tolerance below it. A tolerance as loose as 0.5
    lets non-maximal keys in and fails here."""
    model = models["div5"]
    tol = model.network.tie_tolerance
    spec = logdepth.parse(DIV5)["div5"]
    word = accepted_words(spec, 40, 1, random.Random(7))[0]
    trace = model.trace(word, attention=False)
    rows = 0
    for name, head, scores in _score_rows(model, trace):
        best = scores.max(axis=1, keepdims=True)
        admitted = scores >= best - tol
        assert np.all(scores[admitted] == np.broadcast_to(best, scores.shape)[admitted]), (
            name,
            head,
        )
        others = np.where(scores < best, scores, -np.inf).max(axis=1)
        finite = np.isfinite(others)
        assert np.all(best[finite, 0] - others[finite] > tol), (name, head)
        rows += len(scores)
    assert rows > 1000


def test_margin_check_fails_with_a_loose_tolerance(models):
    model = models["parity"]
    trace = model.trace("0110100", attention=False)
    loose = 0.5
    broken = False
    for _, _, scores in _score_rows(model, trace):
        best = scores.max(axis=1, keepdims=True)
        admitted = scores >= best - loose
        if np.any(scores[admitted] != np.broadcast_to(best, scores.shape)[admitted]):
            broken = True
    assert broken


# ---- runs in the dtype itself ----------------------------------------------------------------
LANGUAGES = ["parity", "mod3", "ends_ab", "no_aa", "a5", "div5", "random10"]


def _automaton(name: str):
    if name == "div5":
        return logdepth.parse(DIV5)["div5"]
    if name == "random10":
        return random_dfa(10, 2, seed=10)
    return logdepth.parse_file("examples/basics.ld")[name]


@pytest.mark.parametrize("name", LANGUAGES)
def test_float32_at_its_frontier_with_accepting_words(name):
    model = compile_regular(_automaton(name)).to("float32")
    cases = cases_for(model, model.frontier, k=4, seed=32)
    assert any(c.want == "accept" for c in cases)
    assert all_right(model, cases, None)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["div5", "a5", "random10"])
def test_float64_at_8192_with_accepting_words(name):
    """The issue-8 failure: div5 rejected accepting 8,192-bit words in float64 (fixed by the
    saturating tables). A few minutes each on a 2-core CPU."""
    model = compile_regular(_automaton(name))
    assert model.frontier >= 8192
    cases = cases_for(model, 8192, k=2, seed=8192)
    assert sum(c.want == "accept" for c in cases) >= 2
    assert all_right(model, cases, None)


# ---- the worst-case bound read off the weights --------------------------------------------------
def test_worst_case_rounding_is_read_off_the_weights(models):
    """A wider read (the random DFA's 10-state maps code against parity's) gives a larger
    bound: it follows the tensors, not a constant; the report stores what the tensors give."""
    from logdepth.precision import score_rounding_ulps

    parity = score_rounding_ulps(models["parity"].network)
    wide = score_rounding_ulps(models["random10"].network)
    assert 0 < parity < wide
    report = models["random10"].extra["report"]
    assert report["score_rounding_ulps"] == round(wide, 1)
    # The guaranteed frontier is below the stored one, which rests on the 32-ulp budget.
    assert 0 < report["frontier_worst_case"]["float64"] < report["frontier"]["float64"]


# p = 26 runs words of length n(26) = 205 and 2 * 253; p = 30 (the slow set) 425 and 2 * 513.
@pytest.mark.parametrize("bits", [26, pytest.param(30, marks=pytest.mark.slow)])
def test_emulated_failures_come_from_the_tolerance_not_the_rounding(models, bits):
    """At p bits the emulator stays right well past the worst-case frontier n(p), and goes
    wrong only where the smallest gap falls below the tolerance (32 ulps at p): the rounding
    actually incurred is far below the first-order worst case."""
    from logdepth.gaps.regular import smallest_gap

    model = models["parity"]
    bound = model.extra["report"]["score_rounding_ulps"]
    guaranteed = frontier_for_bits(bits, noise_ulps=bound)
    budget = frontier_for_bits(bits)
    assert 0 < guaranteed < budget
    assert all_right(model, cases_for(model, budget, k=3, seed=bits), bits)
    past = next(n for n in range(budget, 4 * budget, 8) if smallest_gap(n) < 32 * 2.0**-bits)
    assert not all_right(model, cases_for(model, 2 * past, k=4, seed=bits + 1), bits)


def test_the_case_set_has_a_rejected_word_when_the_random_ones_are_all_accepted():
    """The wide parity model accepts every word at p = 4; its seed-0 words of length 64 were all
    accepted, so that model passed them (docs/results.md). Now a rejecting word is added."""
    from logdepth.verify.precision import rejected_words, word_cases

    parity = logdepth.parse_file(
        __import__("pathlib").Path(__file__).resolve().parents[1] / "examples" / "basics.ld"
    )["parity"]
    model = compile_regular(parity, construction="wide")
    cases = word_cases(model, parity, 64, 6, 0)
    assert {c.want for c in cases} == {"accept", "reject"}
    assert not all_right(model, cases, 4)
    words = rejected_words(parity, 9, 3, random.Random(1))
    assert len(words) == 3 and not any(parity.accepts(w) for w in words)
