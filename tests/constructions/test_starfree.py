"""Star-free languages in constant depth (constructions/starfree.py) through the forward pass:
every word up to length 8 on several star-free languages and random aperiodic DFAs, random and
accepting words at n = 64 and 1,000 in float64 and at the float32 frontier, every cascade level
decoded at every token against the holonomy cascade run on its own, the same layer count for
every n, the derived frontier under p-bit emulation (and fewer bits going wrong), and
non-star-free languages refused with classify's certificate."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import logdepth
from logdepth.automata.classes import classify
from logdepth.automata.dfa import DFA, random_dfa
from logdepth.automata.holonomy import holonomy
from logdepth.constructions import starfree
from logdepth.constructions.starfree import compile_starfree, frontier_for_bits
from logdepth.errors import CompileError
from logdepth.gaps.regular import CURVE_BITS, tie_tolerance
from logdepth.model.compiled import CompiledModel
from logdepth.verify.precision import accepted_words, all_right, word_cases
from logdepth.verify.starfree import check_cells, read_claim

ROOT = Path(__file__).resolve().parents[2]
BASICS = logdepth.parse_file(ROOT / "examples" / "basics.ld")
SPEC = logdepth.parse_file(ROOT / "examples" / "starfree.ld")

CASES = {
    "abb": SPEC["abb"],
    "no000": SPEC["no000"],
    "abba": SPEC["abba"],
    "flipflop": SPEC["flipflop"],
    "counter": SPEC["counter"],
    "ends_ab": BASICS["ends_ab"],
}
_MODELS: dict[str, CompiledModel] = {}


def model_of(name: str) -> CompiledModel:
    if name not in _MODELS:
        _MODELS[name] = compile_starfree(CASES[name])
    return _MODELS[name]


def words_up_to(alphabet, length: int) -> list[tuple[str, ...]]:
    return [w for k in range(length + 1) for w in itertools.product(alphabet, repeat=k)]


def wrong_answers(model: CompiledModel, automaton, words) -> list:
    wrong = []
    for start in range(0, len(words), 1024):
        chunk = [list(w) for w in words[start : start + 1024]]
        for w, got in zip(chunk, model.accepts_batch(chunk), strict=True):
            if got != automaton.accepts(w):
                wrong.append(tuple(w))
    return wrong


# ---------------------------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------------------------


# The longer cascades (6 and 4 levels) take 4-7 s on the shared 2-core machine: slow.
SLOW_WORDS = {"counter", "abba"}


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_WORDS else n for n in sorted(CASES)],
)
def test_every_word_up_to_length_8(name):
    automaton, model = CASES[name], model_of(name)
    length = 8 if len(automaton.alphabet) == 2 else 6  # flip-flop: 3 symbols, 1,093 words
    words = words_up_to(automaton.alphabet, length)
    assert any(automaton.accepts(w) for w in words) and not all(automaton.accepts(w) for w in words)
    wrong = wrong_answers(model, automaton, words)
    assert not wrong, f"{len(wrong)} wrong, shortest {min(wrong, key=len)}"


@pytest.mark.parametrize(
    ("name", "n"),
    [
        ("abba", 64),
        ("counter", 64),
        ("flipflop", 64),
        ("flipflop", 1000),
        pytest.param("abba", 1000, marks=pytest.mark.slow),
        pytest.param("counter", 1000, marks=pytest.mark.slow),
    ],
)
def test_random_and_accepting_words_in_float64(name, n):
    automaton, model = CASES[name], model_of(name)
    assert model.dtype_name == "float64" and model.frontier >= n
    cases = word_cases(model, automaton, n, 2, seed=n)
    assert any(c.want == "accept" for c in cases) and any(c.want == "reject" for c in cases)
    assert model.run_tokens([c.tokens for c in cases]) == [c.want for c in cases]


@pytest.mark.parametrize("name", ["abb", "ends_ab", "flipflop"])
def test_float32_at_its_frontier(name):
    automaton = CASES[name]
    model = model_of(name).to("float32")
    n = model.frontier
    assert n == frontier_for_bits(23, model.extra["report"]["levels"]) >= 64
    for length in (64, n):
        cases = word_cases(model, automaton, length, 2, seed=3)
        assert any(c.want == "accept" for c in cases)
        assert model.run_tokens([c.tokens for c in cases]) == [c.want for c in cases]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(states=st.integers(2, 5), symbols=st.integers(2, 3), seed=st.integers(0, 10**6))
def test_random_aperiodic_dfas_every_word_up_to_length_6(states, symbols, seed):
    dfa = random_dfa(states, symbols, seed)
    assume(classify(dfa).language_class == "aperiodic")
    model = compile_starfree(dfa)
    words = words_up_to(dfa.alphabet, 6 if symbols == 2 else 4)
    assert not wrong_answers(model, dfa, words)
    # Every level at every token of one longer word, against the stored cascade rerun.
    word = [dfa.alphabet[(seed >> k) % symbols] for k in range(20)]
    assert check_cells(model, read_claim(model), word) == []


# ---------------------------------------------------------------------------------------------
# The cascade in the residual stream, and the constant depth
# ---------------------------------------------------------------------------------------------


def _label(value) -> str:
    return "-" if value is None else f"c{value[0]}t{value[1]}"


@pytest.mark.parametrize("name", ["abba", "counter", "no000"])
def test_every_level_decodes_at_every_token(name):
    """level.i after the last layer is the holonomy cascade's level i after each token (run
    by `Cascade.step`, not by the construction's tables); old.i is level i before it."""
    automaton, model = CASES[name], model_of(name)
    cascade = holonomy(automaton)
    rng = random.Random(11)
    samples = [[rng.choice(automaton.alphabet) for _ in range(k)] for k in (0, 1, 7, 33)]
    samples += [list(w) for w in accepted_words(automaton, 40, 2, rng)]
    for w in samples:
        trace = model.trace(w)
        runs = [cascade.start]
        for a in w:
            runs.append(cascade.step(runs[-1], a))
        runs.append(runs[-1])  # $ keeps every level
        for i in range(len(cascade.levels)):
            want = [_label(enc[i]) for enc in runs]
            assert list(trace.decode(f"level.{i}")) == want, (w, i)
            if i < len(cascade.levels) - 1:
                assert list(trace.decode(f"old.{i}"))[1:] == want[:-1], (w, i)
        assert cascade.run(w) == cascade.decode[runs[-1]]


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_layer_count_is_the_same_for_every_n(name):
    model = model_of(name)
    levels = len(holonomy(CASES[name]).levels)
    assert model.extra["report"]["levels"] == levels >= 1
    assert {model.num_layers(n) for n in (1, 8, 16, 4096, 10**6)} == {2 * levels}
    assert model.config.s_r_t[1] == 0


def test_level_counts_of_known_languages():
    """The theory notes' table: (a|b)*abb 3 levels, no 000 3, contains abba 4, flip-flop 1,
    the saturating counter 0..6 with reset 6."""
    got = {name: model_of(name).extra["report"]["levels"] for name in CASES}
    assert got == {"abb": 3, "no000": 3, "abba": 4, "flipflop": 1, "counter": 6, "ends_ab": 2}


def test_a_one_state_language_is_one_layer():
    dfa = DFA("all", ["q"], ["a", "b"], "q", frozenset({"q"}), {("q", "a"): "q", ("q", "b"): "q"})
    model = compile_starfree(dfa)
    assert model.num_layers(4096) == 1 and model.extra["report"]["levels"] == 0
    assert model.accepts_batch(["", "a", "abba"]) == [True, True, True]


# ---------------------------------------------------------------------------------------------
# Precision
# ---------------------------------------------------------------------------------------------


def test_frontier_record():
    model = model_of("abba")
    report = model.extra["report"]
    assert model.config.tie_tolerance == tie_tolerance()
    assert model.config.frontier == {
        "float64": frontier_for_bits(52, 4),
        "float32": frontier_for_bits(23, 4),
    }
    curve = [report["frontier_by_bits"][str(p)] for p in CURVE_BITS]
    assert curve == sorted(curve) and curve[-1] == model.config.frontier["float64"]
    tolerance, n_of_bits = starfree.precision_model(report)
    assert tolerance == model.config.tie_tolerance
    assert {"float64": n_of_bits(52), "float32": n_of_bits(23)} == model.config.frontier
    # One level reads no previous position: its frontier is the rightmost read's, larger.
    assert frontier_for_bits(23, 1) > frontier_for_bits(23, 2) == frontier_for_bits(23, 4)


@pytest.mark.parametrize(("name", "bits"), [("ends_ab", 24), ("flipflop", 20)])
def test_words_at_the_predicted_frontier_are_right_under_emulation(name, bits):
    automaton, model = CASES[name], model_of(name)
    n = model.extra["report"]["frontier_by_bits"][str(bits)]
    assert n == frontier_for_bits(bits, model.extra["report"]["levels"]) > 0
    cases = word_cases(model, automaton, n, 2, seed=bits)
    assert any(c.want == "accept" for c in cases)
    assert all_right(model, cases, bits)


def test_fewer_bits_go_wrong():
    """The emulator can fail: 12 bits at n = 64 answer some word wrongly."""
    automaton, model = CASES["ends_ab"], model_of("ends_ab")
    cases = word_cases(model, automaton, 64, 2, seed=2)
    assert all_right(model, cases, 24) and not all_right(model, cases, 12)


# ---------------------------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "klass"), [("parity", "solvable"), ("a5", "non-solvable")])
def test_languages_that_are_not_star_free_are_refused_with_the_certificate(name, klass):
    with pytest.raises(CompileError, match=f"(?s)is {klass}.*certificate: x = "):
        compile_starfree(BASICS[name])


def test_the_table_limit_is_refused_with_the_estimate(monkeypatch):
    monkeypatch.setattr(starfree, "MAX_TABLE_ROWS", 3)
    with pytest.raises(CompileError, match=r"needs \d+ table rows .* past the limit of 3"):
        compile_starfree(CASES["abba"])


@pytest.mark.parametrize("n", [10, 1000, 19483])
def test_the_gaps_are_the_exact_closed_forms(n):
    """score_gaps against logdepth.precision's sympy forms at 50 digits: the previous read's
    equality gap at positions n, n + 1 and Lemma 10's tie-breaker between them."""
    from logdepth.kit.hashing import POSITION_SCALE as lam
    from logdepth.precision import cos_gap_form, exact, tiebreak_form

    gaps = starfree.score_gaps(n, 2)
    equality = exact(cos_gap_form(), x=lam * n, y=lam * (n + 1))
    tiebreak = exact(tiebreak_form(), v=n, **{"lambda": lam})
    assert gaps["equality"] == pytest.approx(equality, rel=1e-9)
    assert gaps["tiebreak"] == pytest.approx(tiebreak, rel=1e-9)
    assert "equality" not in starfree.score_gaps(n, 1)
