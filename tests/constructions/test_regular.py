"""Theorem 1 and Corollary 1.1 through the forward pass of the compiled weights.

Oracles: the automaton itself (DFA/NFA simulation), and monoid products computed directly from
the word for the level invariants decoded from the residual stream.
"""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logdepth.automata.dfa import DFA, random_dfa
from logdepth.automata.groups import group_dfa
from logdepth.automata.nfa import NFA
from logdepth.constructions.regular import compile_regular
from logdepth.dsl import parse_file
from logdepth.errors import InputError
from logdepth.gaps.regular import frontier, score_gaps, score_noise, tie_tolerance
from logdepth.model.compiled import CompiledModel
from logdepth.model.config import DepthRule
from logdepth.verify.regular import check_levels

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "basics.ld"
SPEC = parse_file(EXAMPLES)
BASICS = ["parity", "mod3", "ends_ab", "no_aa", "a5"]


def uniform_layers(n: int) -> int:
    return 8 * DepthRule.ceil_log2(n) + 9


def nonuniform_layers(big_n: int) -> int:
    return 4 * DepthRule.ceil_log2(big_n) + 5


@pytest.fixture(scope="module")
def uniform() -> dict[str, CompiledModel]:
    return {name: compile_regular(SPEC[name]) for name in BASICS}


@pytest.fixture(scope="module")
def nonuniform8() -> dict[str, CompiledModel]:
    return {
        name: compile_regular(SPEC[name], construction="nonuniform", max_length=8)
        for name in BASICS
    }


def words_up_to(alphabet, length: int) -> list[tuple[str, ...]]:
    return [w for k in range(length + 1) for w in itertools.product(alphabet, repeat=k)]


def assert_answers(model: CompiledModel, automaton, words) -> None:
    got = model.accepts_batch([list(w) for w in words])
    wrong = [w for w, g in zip(words, got, strict=True) if g != automaton.accepts(list(w))]
    assert not wrong, f"{len(wrong)} wrong answers, shortest {min(wrong, key=len)}"


def assert_levels(model: CompiledModel, word) -> None:
    result = check_levels(model, list(word))
    assert not result.errors, result.errors[:3]
    assert result.layers == model.num_layers(len(word))


# ---------------------------------------------------------------------------------------------
# Exhaustive words on the bundled examples
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["parity", "mod3", "ends_ab", "no_aa"])
def test_every_word_up_to_length_8(uniform, nonuniform8, name):
    automaton = SPEC[name]
    words = words_up_to(automaton.alphabet, 8)
    assert_answers(uniform[name], automaton, words)
    assert_answers(nonuniform8[name], automaton, words)


# Every word of length 2 is 3,600 words per model (9 s): the slow set; by default a seeded
# sample of them.
A5_PAIRS = 300


@pytest.mark.parametrize("sample", [A5_PAIRS, pytest.param(None, marks=pytest.mark.slow)])
def test_a5_every_word_up_to_length_2(uniform, nonuniform8, sample):
    """A5's alphabet is its 60 elements: 60^8 words is out of reach, so every word up to
    length 2 (3,661 words; `sample` of the length-2 ones in the default run) plus the random
    and long tests below."""
    automaton = SPEC["a5"]
    words = words_up_to(automaton.alphabet, 2)
    if sample is not None:
        short, pairs = [w for w in words if len(w) < 2], [w for w in words if len(w) == 2]
        words = short + random.Random(2).sample(pairs, sample)
    assert_answers(uniform["a5"], automaton, words)
    assert_answers(nonuniform8["a5"], automaton, words)


@pytest.mark.parametrize("name", BASICS)
def test_lengths_around_powers_of_two_with_invariants(uniform, name):
    """n = 0, 1, 2 and 2^k - 1, 2^k, 2^k + 1: answers, level invariants and layer counts."""
    rng = random.Random(name)
    automaton = SPEC[name]
    model = uniform[name]
    lengths = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33]
    words = [tuple(rng.choice(automaton.alphabet) for _ in range(n)) for n in lengths]
    assert_answers(model, automaton, words)
    for w in words[:: 2 if name == "a5" else 1]:
        assert_levels(model, w)


def test_nonuniform_levels_and_refusal():
    automaton = SPEC["ends_ab"]
    model = compile_regular(automaton, construction="nonuniform", max_length=33)
    assert model.num_layers(0) == model.num_layers(33) == nonuniform_layers(33)
    rng = random.Random(5)
    for n in (0, 1, 2, 7, 8, 9, 16, 17, 32, 33):
        w = tuple(rng.choice(automaton.alphabet) for _ in range(n))
        assert model.accepts(list(w)) == automaton.accepts(list(w))
        assert_levels(model, w)
    with pytest.raises(InputError):
        model.accepts("a" * 34)


# ---------------------------------------------------------------------------------------------
# Random automata (Hypothesis)
# ---------------------------------------------------------------------------------------------


@st.composite
def dfas(draw) -> DFA:
    n = draw(st.integers(1, 6))
    k = draw(st.integers(1, 4))
    states = [f"q{i}" for i in range(n)]
    alphabet = list("abcd"[:k])
    delta = {(q, a): states[draw(st.integers(0, n - 1))] for q in states for a in alphabet}
    accept = [q for q in states if draw(st.booleans())]
    start = states[draw(st.integers(0, n - 1))]
    return DFA("random", states, alphabet, start, frozenset(accept), delta)


@st.composite
def nfas(draw) -> NFA:
    n = draw(st.integers(1, 5))
    k = draw(st.integers(1, 3))
    states = [f"q{i}" for i in range(n)]
    alphabet = list("abc"[:k])
    delta = {
        (q, a): frozenset(r for r in states if draw(st.integers(0, 9)) < 3)
        for q in states
        for a in alphabet
    }
    start = [q for q in states if draw(st.booleans())] or [states[0]]
    accept = [q for q in states if draw(st.booleans())]
    return NFA("random", states, alphabet, frozenset(start), frozenset(accept), delta)


def _random_words(automaton, seed: int, count: int, top: int = 64):
    rng = random.Random(seed)
    lengths = [0, 1, top] + [rng.randint(0, top) for _ in range(count - 3)]
    return [tuple(rng.choice(automaton.alphabet) for _ in range(n)) for n in lengths]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dfas(), st.integers(0, 10**6))
def test_random_dfas(automaton, seed):
    model = compile_regular(automaton)
    words = _random_words(automaton, seed, 8)
    assert_answers(model, automaton, words)
    assert_levels(model, words[-1])  # length 64
    assert_levels(model, words[-2])


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nfas(), st.integers(0, 10**6))
def test_random_nfas(automaton, seed):
    model = compile_regular(automaton)
    words = _random_words(automaton, seed, 8)
    assert_answers(model, automaton, words)
    assert_levels(model, words[-1])


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dfas(), st.integers(1, 40), st.integers(0, 10**6))
def test_random_dfas_nonuniform(automaton, big_n, seed):
    model = compile_regular(automaton, construction="nonuniform", max_length=big_n)
    assert model.num_layers(big_n) == nonuniform_layers(big_n)
    words = _random_words(automaton, seed, 6, top=big_n)
    assert_answers(model, automaton, words)
    assert_levels(model, words[2])


def test_both_encodings_agree():
    """The one-hot |M|^2 table and the |Q|^3 maps table give the same transformer answers."""
    automaton = SPEC["no_aa"]
    words = _random_words(automaton, 1, 12, top=40)
    for kind in ("onehot", "maps"):
        model = compile_regular(automaton, encoding=kind)
        assert model.extra["report"]["encoding"] == kind
        assert_answers(model, automaton, words)
        assert_levels(model, words[2])


# ---------------------------------------------------------------------------------------------
# Layer counts, report, files
# ---------------------------------------------------------------------------------------------


def test_layer_counts(uniform):
    model = uniform["parity"]
    assert model.config.s_r_t == (0, 8, 9)
    for n in range(0, 70):
        assert model.num_layers(n) == uniform_layers(n)
    for n in (1000, 1024, 1025):
        assert model.num_layers(n) == uniform_layers(n)
    for big_n in (1, 2, 3, 4, 5, 8, 9, 100, 1024):
        m = compile_regular(SPEC["parity"], construction="nonuniform", max_length=big_n)
        assert len(m.config.initial) + len(m.config.final) == nonuniform_layers(big_n)
        assert m.config.repeated == ()


def test_report_and_extras(uniform):
    model = uniform["a5"]
    extra = model.extra
    assert extra["spec_type"] == "dfa"
    assert DFA.from_dict(extra["spec"]) == SPEC["a5"]
    report = extra["report"]
    assert report["monoid"]["size"] == 60 and report["monoid"]["group"]
    assert report["monoid"]["solvable"] is False
    assert report["encoding"] == "onehot" and report["table_units"] <= 2 * 60 * 60  # 2 per pair
    assert uniform["ends_ab"].extra["spec_type"] == "nfa"
    assert uniform["ends_ab"].extra["report"]["monoid"]["aperiodic"] is True


def test_weight_file_round_trip(tmp_path, uniform):
    model = uniform["mod3"]
    again = compile_regular(SPEC["mod3"])
    assert model.to_bytes() == again.to_bytes()
    path = tmp_path / "mod3.safetensors"
    model.save(path)
    from logdepth.model.compiled import load

    loaded = load(path)
    words = _random_words(SPEC["mod3"], 3, 10, top=30)
    assert loaded.accepts_batch([list(w) for w in words]) == model.accepts_batch(
        [list(w) for w in words]
    )
    assert_levels(loaded, words[2])


# ---------------------------------------------------------------------------------------------
# Frontier
# ---------------------------------------------------------------------------------------------


def test_frontier_is_derived_from_gaps_and_stored(uniform):
    model = uniform["parity"]
    n64, n32 = frontier("float64"), frontier("float32")
    assert model.config.frontier == {"float64": n64, "float32": n32}
    assert n64 >= 1024
    for dtype, n in (("float64", n64), ("float32", n32)):
        assert min(score_gaps(n).values()) > 2 * score_noise(dtype)
        assert min(score_gaps(n + 1).values()) <= 2 * score_noise(dtype)
    assert tie_tolerance() < min(score_gaps(n64).values()) / 2
    with pytest.raises(InputError, match="frontier"):
        model.accepts("0" * (n64 + 1))


@pytest.mark.parametrize("name", ["parity", "ends_ab"])
def test_float32_is_right_up_to_its_frontier_and_refuses_beyond(uniform, name):
    automaton = SPEC[name]
    model = uniform[name].to("float32")
    n32 = model.frontier
    assert n32 is not None and n32 >= 16
    rng = random.Random(32)
    words = [
        tuple(rng.choice(automaton.alphabet) for _ in range(n))
        for n in (n32, n32, n32 - 1, n32 // 2 + 1, 17)
    ]
    assert_answers(model, automaton, words)
    assert_levels(model, words[0])
    with pytest.raises(InputError, match="frontier"):
        model.accepts([automaton.alphabet[0]] * (n32 + 1))


# ---------------------------------------------------------------------------------------------
# Groups and long words
# ---------------------------------------------------------------------------------------------


def _group_words(automaton: DFA, rng: random.Random, length: int, count: int):
    """Random words, half of them completed so that their product is the identity."""
    out = []
    for k in range(count):
        w = [rng.choice(automaton.alphabet) for _ in range(length - 1)]
        if k % 2 == 0:
            state = automaton.run(w)
            last = next(
                a for a in automaton.alphabet if automaton.delta[(state, a)] in automaton.accept
            )
            w.append(last)
        else:
            w.append(rng.choice(automaton.alphabet))
        out.append(tuple(w))
    return out


def test_a5_random_words_of_length_256(uniform):
    automaton = SPEC["a5"]
    words = _group_words(automaton, random.Random(60), 256, 4)
    assert sum(automaton.accepts(list(w)) for w in words) >= 2
    assert_answers(uniform["a5"], automaton, words)


@pytest.mark.slow
def test_s5_random_words_of_length_256():
    automaton = group_dfa("s5", kind="symmetric", degree=5)
    model = compile_regular(automaton)
    assert model.extra["report"]["monoid"]["size"] == 120
    words = _group_words(automaton, random.Random(120), 256, 8)
    assert_answers(model, automaton, words)


def test_length_100(uniform):
    rng = random.Random(100)
    for name in ("parity", "mod3", "ends_ab"):
        automaton = SPEC[name]
        words = [tuple(rng.choice(automaton.alphabet) for _ in range(100)) for _ in range(4)]
        assert_answers(uniform[name], automaton, words)


@pytest.mark.slow
@pytest.mark.parametrize("n", [100, 257, 1000, 1024])
@pytest.mark.parametrize("name", ["parity", "mod3", "a5", "ends_ab"])
def test_long_words(uniform, name, n):
    automaton = SPEC[name]
    rng = random.Random(n)
    if name == "a5":
        words = _group_words(automaton, rng, n, 4)
    else:
        words = [tuple(rng.choice(automaton.alphabet) for _ in range(n)) for _ in range(4)]
    assert_answers(uniform[name], automaton, words)
    assert uniform[name].num_layers(n) == uniform_layers(n)


@pytest.mark.slow
@pytest.mark.parametrize("n", [257, 1024])
def test_long_words_invariants_and_nonuniform(n):
    automaton = SPEC["mod3"]
    rng = random.Random(n)
    word = tuple(rng.choice(automaton.alphabet) for _ in range(n))
    model = compile_regular(automaton)
    assert model.accepts(list(word)) == automaton.accepts(list(word))
    if n <= 257:
        assert_levels(model, word)
    nonuniform = compile_regular(automaton, construction="nonuniform", max_length=1024)
    assert nonuniform.num_layers(n) == nonuniform_layers(1024)
    assert nonuniform.accepts(list(word)) == automaton.accepts(list(word))


def test_scores_in_a_trace_respect_the_derived_gap(uniform):
    """Confirm the gap model on the weights: in a traced run every hard-attention row either
    spreads evenly over exactly-tied keys or puts all weight on one key (no accidental ties)."""
    model = uniform["mod3"]
    trace = model.trace(list("ab" * 20))
    for name, weights in trace.attention.items():
        for row in weights.reshape(-1, weights.shape[-1]):
            nz = row[row > 0]
            assert np.allclose(nz, nz[0]), name


def test_float32_past_its_frontier_goes_wrong(uniform):
    """The float32 frontier is not vacuous: forced past the refusal (check=False), float32
    answers some words of length 4 * N32 wrongly (float64, the same weights, does not). Measured
    with the saturating tables: right at 2 * N32 = 220, wrong from about 330 on (the stored
    frontier is conservative by 2-3x, docs/precision.md)."""
    from logdepth.model import inputs

    automaton = SPEC["parity"]
    model64 = uniform["parity"]
    model32 = model64.to("float32")
    n = 4 * model32.frontier
    rng = random.Random(2)
    words = [[rng.choice(automaton.alphabet) for _ in range(n)] for _ in range(16)]
    tokens = [inputs.encode_word(w) for w in words]
    want = [automaton.accepts(w) for w in words]
    got32 = [o == "accept" for o in model32.run_tokens(tokens, check=False)]
    got64 = [o == "accept" for o in model64.run_tokens(tokens)]
    assert got64 == want
    assert got32 != want


@pytest.mark.slow
def test_float64_beyond_the_unscaled_hash_limit():
    """n = 4096: past where the paper's unscaled phi(v) hashes stop being resolvable in float64
    (neighbour gap 1/(2 v^4) ~ 1.8e-15 at v = 4096), within our scaled-hash frontier."""
    automaton = SPEC["mod3"]
    model = compile_regular(automaton)
    rng = random.Random(4096)
    words = [tuple(rng.choice(automaton.alphabet) for _ in range(4096)) for _ in range(2)]
    assert_answers(model, automaton, words)


def test_cleared_cells_stay_clean_across_levels():
    """Regression: table units whose threshold sat on the ReLU kink leaked rounding noise into
    delta; through the clears (which read delta with other cells) the noise compounded over
    levels until, at n = 1024, a lookup picked the wrong key. With a margin of 1/2 on every
    conjunction, temporaries are back to ~1e-12 after every level at n = 256."""
    from logdepth.verify.regular import level_steps

    automaton = random_dfa(10, 2, seed=10)  # the benchmark's DFA: maps encoding, |M| = 1679
    model = compile_regular(automaton)
    assert model.extra["report"]["encoding"] == "maps"
    rng = random.Random(0)
    word = [rng.choice(automaton.alphabet) for _ in range(256)]
    trace = model.trace(word)
    persistent = {"one", "bos", "end", "active", "delta", "answer"}
    worst = 0.0
    for step in level_steps(model, trace):
        for info in model.config.cells:
            if info.name not in persistent:
                block = trace.residuals[step][:, info.offset : info.stop]
                worst = max(worst, float(np.abs(block).max()))
            elif info.name in ("delta", "active"):
                block = trace.residuals[step][:, info.offset : info.stop]
                assert np.abs(np.linalg.norm(block, axis=1) - 1).max() < 1e-10
    assert worst < 1e-10


@pytest.mark.slow
def test_random_ten_state_dfa_at_1024():
    automaton = random_dfa(10, 2, seed=10)
    model = compile_regular(automaton)
    rng = random.Random(0)
    words = [tuple(rng.choice(automaton.alphabet) for _ in range(1024)) for _ in range(16)]
    assert_answers(model, automaton, words)
