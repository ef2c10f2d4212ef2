"""The wide Theorem 1 (constructions/wide.py): bit-vector position codes, verified like the
faithful construction (exhaustive, random, accepting words, level invariants, layer counts),
plus its frontier: derived from its own gaps, checked in float32 and by p-bit emulation."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest
import torch

from logdepth.automata.dfa import random_dfa
from logdepth.constructions import regular, wide
from logdepth.constructions.regular import compile_regular
from logdepth.dsl import parse_file
from logdepth.errors import CompileError, InputError
from logdepth.gaps import regular as regular_gaps
from logdepth.gaps.regular import score_noise
from logdepth.model.compiled import CompiledModel
from logdepth.model.config import DepthRule
from logdepth.verify.precision import accepted_words, all_right, word_cases
from logdepth.verify.regular import check_levels, verify_regular

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "basics.ld"
SPEC = parse_file(EXAMPLES)
BASICS = ["parity", "mod3", "ends_ab", "no_aa", "a5"]


@pytest.fixture(scope="module")
def models() -> dict[str, CompiledModel]:
    return {name: compile_regular(SPEC[name], construction="wide") for name in BASICS}


def assert_answers(model: CompiledModel, automaton, words) -> None:
    got = model.accepts_batch([list(w) for w in words])
    wrong = [w for w, g in zip(words, got, strict=True) if g != automaton.accepts(list(w))]
    assert not wrong, f"{len(wrong)} wrong answers, shortest {min(wrong, key=len)}"


def words_up_to(alphabet, length: int) -> list[tuple[str, ...]]:
    return [w for k in range(length + 1) for w in itertools.product(alphabet, repeat=k)]


@pytest.mark.parametrize("name", ["parity", "mod3", "ends_ab", "no_aa"])
def test_every_word_up_to_length_8(models, name):
    assert_answers(models[name], SPEC[name], words_up_to(SPEC[name].alphabet, 8))


# All 3,600 words of length 2 in the slow set; by default a seeded sample of them.
@pytest.mark.parametrize("sample", [300, pytest.param(None, marks=pytest.mark.slow)])
def test_a5_every_word_up_to_length_2_and_accepting_words(models, sample):
    a5 = SPEC["a5"]
    words = words_up_to(a5.alphabet, 2)
    if sample is not None:
        short, pairs = [w for w in words if len(w) < 2], [w for w in words if len(w) == 2]
        words = short + random.Random(2).sample(pairs, sample)
    assert_answers(models["a5"], a5, words)
    rng = random.Random(5)
    for n in (3, 17, 33):
        words = accepted_words(a5, n, 2, rng)
        assert words and models["a5"].accepts_batch(words) == [True] * len(words)


@pytest.mark.parametrize("name", ["parity", "ends_ab", "a5"])
def test_level_invariants_around_powers_of_two(models, name):
    rng = random.Random(7)
    alphabet = list(SPEC[name].alphabet)
    for n in (0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 64):
        word = [rng.choice(alphabet) for _ in range(n)]
        result = check_levels(models[name], word)
        assert not result.errors, result.errors[:3]
        assert result.layers == wide.layers(n) == models[name].num_layers(n)
        assert len(result.states) == DepthRule.ceil_log2(n) + 1


def test_a_broken_level_fails_the_invariants():
    """The invariant check can fail: the level layer's fetch writes nothing, so no block
    merges (parity of "1111": the pair 11 should hold 0, not the lone 1)."""
    model = compile_regular(SPEC["parity"], construction="wide")
    assert not check_levels(model, list("1111")).errors
    t = model.network.tensors
    cell = model.config.cell("left")
    for part in ("repeated", "final"):
        t[f"{part}.0.attn.W_O"][cell.offset : cell.offset + len(cell.labels)] = 0.0
    result = check_levels(model, list("1111"))
    assert any("after level 0 token 2" in e for e in result.errors), result.errors


@pytest.mark.parametrize("seed", range(2))
def test_random_dfas(seed):
    dfa = random_dfa(6, 3, seed=seed)
    model = compile_regular(dfa, construction="wide")
    rng = random.Random(seed)
    words = words_up_to(dfa.alphabet, 4)
    words += [
        tuple(rng.choice(list(dfa.alphabet)) for _ in range(rng.randint(5, 200))) for _ in range(30)
    ]
    words += [tuple(w) for n in (17, 64, 150) for w in accepted_words(dfa, n, 3, rng)]
    assert_answers(model, dfa, words)


def test_layer_counts_and_shape(models):
    model = models["parity"]
    assert model.config.s_r_t == (6, 1, 2)
    for n in list(range(0, 70)) + [1000, 1024, 1025, 4096, 10**6]:
        assert model.num_layers(n) == wide.layers(n) == DepthRule.ceil_log2(n) + 8
    # fewer layers than the faithful 8 ceil(log2 n) + 9 from n = 2 on
    assert all(wide.layers(n) < 8 * DepthRule.ceil_log2(n) + 9 for n in range(2, 100))


# budget_s=0 probes one length toward the frontier, the same on any machine; the default budget
# (30 s of longer and longer words) runs in the slow set.
@pytest.mark.parametrize("budget", [0, pytest.param(None, marks=pytest.mark.slow)])
def test_verify_accepts_the_wide_model(models, budget):
    report = verify_regular(models["ends_ab"], max_length=24, samples=20, budget_s=budget)
    assert report.ok, report.lines
    # ends_ab accepts "ab" and rejects "a": both answers ran, at least the 20 samples, no miss.
    d = report.details
    assert d["accepted_words"] > 0 and d["rejected_words"] > 0 and d["words"] >= 20
    assert d["mismatches"] == 0


def test_the_faithful_default_is_untouched():
    """construction='wide' is an option: the default weights are the faithful ones."""
    default = compile_regular(SPEC["parity"])
    assert default.config.construction == "theorem1-uniform"
    assert default.config.s_r_t == (0, 8, 9)
    assert default.config.frontier == {
        "float64": regular.frontier("float64"),
        "float32": regular.frontier("float32"),
    }


def test_unknown_construction_and_max_length_are_refused():
    import logdepth

    with pytest.raises(CompileError, match="unknown construction"):
        logdepth.compile(SPEC["parity"], construction="widest")
    with pytest.raises(CompileError, match="max_length"):
        logdepth.compile(SPEC["parity"], construction="wide", max_length=8)


# ---------------------------------------------------------------------------------------------
# Frontier
# ---------------------------------------------------------------------------------------------


def test_frontier_is_derived_from_its_gaps_and_stored(models):
    model = models["parity"]
    n64, n32 = wide.frontier("float64"), wide.frontier("float32")
    assert model.config.frontier == {"float64": n64, "float32": n32}
    assert n64 == wide.CAPACITY >= 1_000_000
    assert n32 >= 4096
    assert wide.smallest_gap(n32, 23) > 2 * score_noise(23)
    assert wide.smallest_gap(n32 + 1, 23) <= 2 * score_noise(23)
    assert wide.smallest_gap(n64, 52) > 2 * score_noise(52)
    # the tie tolerance (float64 noise) is far below every gap at the float64 frontier
    assert regular.tie_tolerance() < wide.smallest_gap(n64, 52) / 2
    with pytest.raises(InputError, match="frontier"):
        model.to("float32").accepts("0" * (n32 + 1))


def test_the_gaps_shrink_linearly_not_quartically():
    """The threshold gap is ~ 1/(4 n): doubling n halves it (one bit), where the faithful
    equality gap falls 16-fold (four bits)."""
    for n in (1 << 12, 1 << 16):
        ratio = wide.score_gaps(n, 52)["high"] / wide.score_gaps(2 * n, 52)["high"]
        assert 1.9 < ratio < 2.1
        equality = [regular_gaps.score_gaps(m)["equality"] for m in (n, 2 * n)]
        faithful = equality[0] / equality[1]
        assert faithful > 15


@pytest.mark.parametrize(
    "bits, names", [(12, "parity a5 dfa10"), (14, "parity a5 dfa10"), (16, "parity dfa10")]
)
def test_emulated_bits_are_right_at_the_predicted_frontier(bits, names):
    """n(p) from the model (13, 58, 239), then words of that length with p bits emulated: all
    right, accepting words included (parity, a5 and a random 10-state DFA)."""
    n = wide.frontier_for_bits(bits)
    assert n > 0
    for name in names.split():
        automaton = random_dfa(10, 2, seed=10) if name == "dfa10" else SPEC[name]
        model = compile_regular(automaton, construction="wide")
        cases = word_cases(model, automaton, n, 2, seed=bits)
        assert any(c.want == "accept" for c in cases)
        assert all_right(model, cases, bits), (automaton, bits, n)


def test_too_few_bits_go_wrong():
    """The emulator can fail the wide construction: 8 bits at n = 64."""
    model = compile_regular(SPEC["parity"], construction="wide")
    cases = word_cases(model, SPEC["parity"], 64, 4, seed=1)
    assert not all_right(model, cases, 8)


@pytest.mark.parametrize("name", ["parity"])
def test_float32_at_n_1024(models, name):
    automaton = SPEC[name]
    model = models[name].to("float32")
    rng = random.Random(1024)
    words = accepted_words(automaton, 1024, 2, rng)
    words += [[rng.choice(list(automaton.alphabet)) for _ in range(1024)]]
    assert_answers(model, automaton, words)


@pytest.mark.slow
@pytest.mark.parametrize("bits", [18, 20])
def test_emulated_bits_at_the_predicted_frontier_slow(bits):
    n = wide.frontier_for_bits(bits)
    for automaton in (SPEC["parity"], SPEC["a5"], random_dfa(10, 2, seed=10)):
        model = compile_regular(automaton, construction="wide")
        cases = word_cases(model, automaton, n, 2, seed=bits)
        assert all_right(model, cases, bits), (automaton, bits, n)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["parity", "a5", "dfa10"])
def test_float32_at_n_4096(name):
    automaton = random_dfa(10, 2, seed=10) if name == "dfa10" else SPEC[name]
    model = compile_regular(automaton, construction="wide").to("float32")
    rng = random.Random(4096)
    words = accepted_words(automaton, 4096, 2, rng)
    assert words
    words += [[rng.choice(list(automaton.alphabet)) for _ in range(4096)] for _ in range(2)]
    assert_answers(model, automaton, words)


@pytest.mark.slow
@pytest.mark.parametrize("threads", [1, 2])
def test_float32_parity_at_its_stored_frontier(models, threads):
    """Parity in float32 at its stored frontier (30,838 symbols): a word and the same word with
    its first symbol flipped (one accepted, one not), each alone and the two in one batch,
    through the plain run, on 1 and 2 threads. The first digit stage sums ~480 cancelling
    steps per cell; summed in float32 its cells were 0.06 to 0.34 off depending on BLAS's
    order, and with 2 threads the flipped word came out wrong (docs/precision.md). Each dot
    product of a float32 feed-forward is now summed in float64 and rounded once."""
    model = models["parity"].to("float32")
    n = model.frontier
    assert n == wide.frontier("float32")
    rng = random.Random(0)
    word = [rng.choice(["0", "1"]) for _ in range(n)]
    flipped = ["1" if word[0] == "0" else "0", *word[1:]]
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for batch in ([word], [flipped], [word, flipped]):
            assert_answers(model, SPEC["parity"], batch)
    finally:
        torch.set_num_threads(before)


# ---------------------------------------------------------------------------------------------
# Corollary 1.1, wide (construction="nonuniform-wide")
# ---------------------------------------------------------------------------------------------


def test_nonuniform_wide_layers_words_invariants_and_file(tmp_path):
    from logdepth.model.compiled import load

    for big_n in (1, 2, 5, 8, 100, 1024):
        m = compile_regular(SPEC["parity"], construction="nonuniform-wide", max_length=big_n)
        assert m.config.repeated == () and m.config.final == ()
        assert len(m.config.initial) == wide.layers(big_n) == DepthRule.ceil_log2(big_n) + 8
        assert m.config.frontier == {"float64": big_n, "float32": big_n}
    model = compile_regular(SPEC["ends_ab"], construction="nonuniform-wide", max_length=8)
    assert model.config.construction == wide.NONUNIFORM_CONSTRUCTION
    assert_answers(model, SPEC["ends_ab"], words_up_to(SPEC["ends_ab"].alphabet, 8))
    for word in ("", "a", "ab", "abbab", "bbbbbbab"):
        result = check_levels(model, list(word))
        assert not result.errors, result.errors[:3]
        assert len(result.states) == 4  # levels 0..ceil(log2 8), whatever the word's length
    with pytest.raises(InputError, match="beyond what these non-uniform weights"):
        model.accepts("a" * 9)
    path = tmp_path / "w.safetensors"
    model.save(path)
    assert load(path).accepts("abab")
    report = verify_regular(load(path), max_length=8, samples=10)
    assert report.ok, report.lines
