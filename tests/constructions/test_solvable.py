"""Solvable languages in constant depth (constructions/solvable.py) through the forward pass:
every word up to length 8 in float64 for parity, mod 3, div5, D4, S4, Q8; random and accepting
words at n = 1,000; every level decoded at every token, the holonomy tile it names checked
against the holonomy cascade run on its own; the same layer count for every n; random solvable
DFAs; the derived frontier under p-bit emulation; non-solvable monoids refused with classify's
certificate."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import logdepth
from logdepth.automata.classes import classify
from logdepth.automata.dfa import random_dfa
from logdepth.automata.holonomy import holonomy
from logdepth.automata.solvable import solvable_cascade
from logdepth.constructions import solvable
from logdepth.constructions.solvable import compile_solvable, layer_count
from logdepth.errors import CompileError
from logdepth.model.compiled import CompiledModel
from logdepth.verify import solvable as verify_solvable_module
from logdepth.verify.precision import accepted_words, all_right, word_cases
from logdepth.verify.solvable import read_claim, verify_solvable
from logdepth.verify.starfree import check_cells
from tests.automata.test_classes import ALL

GROUPS = ["parity", "mod3", "div5", "d4", "q8", "s4"]
# Compiling and running every word to length 8 takes over ~3 s for these on a small CPU.
SLOW = {"div5", "d4", "s4"}
_MODELS: dict[str, CompiledModel] = {}


def model_of(name: str) -> CompiledModel:
    if name not in _MODELS:
        _MODELS[name] = compile_solvable(ALL[name])
    return _MODELS[name]


def wrong_answers(model: CompiledModel, automaton, words) -> list:
    wrong = []
    for start in range(0, len(words), 1024):
        chunk = [list(w) for w in words[start : start + 1024]]
        for w, got in zip(chunk, model.accepts_batch(chunk), strict=True):
            if got != automaton.accepts(w):
                wrong.append(w)
    return wrong


@pytest.mark.parametrize(
    "name", [pytest.param(g, marks=[pytest.mark.slow] if g in SLOW else []) for g in GROUPS]
)
def test_every_word_up_to_length_8(name):
    automaton, model = ALL[name], model_of(name)
    words = [w for k in range(9) for w in itertools.product(automaton.alphabet, repeat=k)]
    assert any(automaton.accepts(w) for w in words) and not all(
        automaton.accepts(w) for w in words
    )
    assert not wrong_answers(model, automaton, words)


@pytest.mark.slow
@pytest.mark.parametrize("name", GROUPS)
def test_random_and_accepting_words_at_n_1000(name):
    automaton, model = ALL[name], model_of(name)
    cases = word_cases(model, automaton, 1000, 2, seed=5)
    assert any(c.want == "accept" for c in cases)
    assert model.run_tokens([c.tokens for c in cases]) == [c.want for c in cases]


@pytest.mark.parametrize("name", ["div5", "s4"])
def test_every_level_decodes_to_the_holonomy_tile_at_every_token(name):
    """Every level after the last layer, decoded from the residual stream, spells the group
    element and reset tile whose image is the holonomy cascade's tile after each token (run by
    `Cascade.step`, not by the split tables); old.i is level i before the token."""
    automaton, model = ALL[name], model_of(name)
    cascade, split = holonomy(automaton), solvable_cascade(automaton)
    claim = read_claim(model)
    rng = random.Random(3)
    samples = [[rng.choice(automaton.alphabet) for _ in range(k)] for k in (0, 1, 9, 40)]
    samples += [list(w) for w in accepted_words(automaton, 40, 2, rng)]
    labels = split.value_labels[0]
    for w in samples:
        assert check_cells(model, claim, w) == []
        trace = model.trace(w)
        got = [trace.decode(f"level.{i}") for i in range(len(split.levels))]
        configs = [
            tuple(labels.index(x) if i == 0 else int(x) for i, x in enumerate(col))
            for col in zip(*got, strict=True)
        ]
        runs = [cascade.start]
        for a in w:
            runs.append(cascade.step(runs[-1], a))
        runs.append(runs[-1])
        for config, enc in zip(configs, runs, strict=True):
            (tile,) = split.holonomy_values[config]
            assert labels[tile] == f"c{enc[0][0]}t{enc[0][1]}"


@pytest.mark.parametrize("name", [*GROUPS, "tomita5"])
def test_the_layer_count_is_the_same_for_every_n(name):
    model = model_of(name)
    report = model.extra["report"]
    want = layer_count([(k, m) for k, m in report["level_kinds"]])
    assert {model.num_layers(n) for n in (1, 8, 16, 4096, 10**6)} == {want}
    assert read_claim(model).layers == want  # the verifier's restated formula agrees
    assert model.config.s_r_t[1] == 0


def test_layer_counts_of_known_languages():
    """7 (table, level 0 inside) + per counter 4 (Z_2) or 5 (Z_3, Z_5) + 1 (the answer)."""
    got = {name: model_of(name).num_layers(4096) for name in GROUPS}
    assert got == {"parity": 12, "mod3": 13, "div5": 21, "d4": 20, "q8": 20, "s4": 25}
    assert verify_solvable_module.TABLE_LAYERS == solvable.TABLE_LAYERS


@pytest.mark.slow
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(states=st.integers(2, 4), symbols=st.integers(2, 2), seed=st.integers(0, 10**6))
def test_random_solvable_dfas_every_word_up_to_length_6(states, symbols, seed):
    dfa = random_dfa(states, symbols, seed)
    assume(classify(dfa).language_class == "solvable")
    model = compile_solvable(dfa)
    words = [w for k in range(7) for w in itertools.product(dfa.alphabet, repeat=k)]
    assert not wrong_answers(model, dfa, words)
    word = [dfa.alphabet[(seed >> k) % symbols] for k in range(20)]
    assert check_cells(model, read_claim(model), word) == []


@pytest.mark.slow
def test_words_at_the_predicted_frontier_are_right_under_emulation():
    automaton, model = ALL["parity"], model_of("parity")
    bits = 24
    n = model.extra["report"]["frontier_by_bits"][str(bits)]
    assert n == solvable.frontier_for_bits(bits, 2, 2) > 0
    cases = word_cases(model, automaton, n, 2, seed=bits)
    assert any(c.want == "accept" for c in cases)
    assert all_right(model, cases, bits)
    assert not all_right(model, word_cases(model, automaton, 64, 2, seed=2), 10)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["parity", "d4"])
def test_verify_passes(name):
    report = verify_solvable(model_of(name), ALL[name], budget_s=5)
    assert report.ok, report.lines
    # It ran words with both answers (both languages accept and reject words of length 1) and
    # decoded levels from traces, with nothing wrong.
    d = report.details
    assert d["accepted_words"] > 0 and d["rejected_words"] > 0 and d["traced"] > 0
    assert d["mismatches"] == 0 and d["cell_errors"] == 0
    if name == "parity":
        # Z_2 splits into a reset level and one counter of modulus 2 (one count): Lemma 1's 7
        # layers + 4 for the counter + 1 answer layer after a counter (module docstring).
        assert (d["levels"], d["layers"]) == (2, 7 + 4 + 1)


def test_verify_catches_a_wrong_claim():
    model = model_of("parity")
    report = model.extra["report"]["cascade"]
    saved = report["accept"]
    try:
        report["accept"] = [s for s in model.extra["report"]["cascade"]["accept"]][:0]
        assert not verify_solvable(model, ALL["parity"], budget_s=1).ok
    finally:
        report["accept"] = saved


@pytest.mark.parametrize("name", ["a5gens", "s5", "a5reset"])
def test_non_solvable_is_refused_with_the_certificate(name):
    with pytest.raises(CompileError, match=r"non-solvable(.|\n)*non-solvable: .* generate"):
        logdepth.compile(ALL[name], construction="solvable")


@pytest.mark.parametrize("name", ["parity", "div5", "s4"])
def test_float32_at_its_frontier(name):
    automaton = ALL[name]
    model = model_of(name).to("float32")
    report = model.extra["report"]
    n = model.frontier
    assert n == solvable.frontier_for_bits(23, report["table_modulus"], report["levels"]) > 0
    cases = word_cases(model, automaton, n, 2, seed=7)
    assert any(c.want == "accept" for c in cases)
    assert model.run_tokens([c.tokens for c in cases]) == [c.want for c in cases]


def _cyclic(m: int):
    from logdepth.automata.dfa import DFA

    states = [f"q{i}" for i in range(m)]
    delta = {(q, "a"): states[(i + 1) % m] for i, q in enumerate(states)}
    delta.update({(q, "b"): q for q in states})
    return DFA(f"mod{m}", states, ["a", "b"], "q0", frozenset({"q0"}), delta)


def test_a_large_cyclic_group_is_split_and_a_large_prime_refused():
    """Z_12 (past the 3 counts of one counter) runs as Z_2, Z_2, Z_3 counters; Z_11 has a
    prime factor past 8 and is refused with the reason."""
    model = compile_solvable(_cyclic(12))
    assert [m for k, m in model.extra["report"]["level_kinds"] if k == "counter"] == [2, 2, 3]
    words = ["a" * k + "b" for k in range(26)]
    assert model.accepts_batch(words) == [k % 12 == 0 for k in range(26)]
    with pytest.raises(CompileError, match=r"Z_11 counter.*modulus <= 8"):
        compile_solvable(_cyclic(11))


@pytest.mark.slow
@pytest.mark.parametrize(("name", "bits"), [("div5", 30), ("s4", 30)])
def test_groups_at_the_predicted_frontier_are_right_under_emulation(name, bits):
    """Table modulus 10 (div5) and 6 (S4): the derived n(p), run at p bits, and 8 bits fewer
    going wrong at the same length."""
    automaton, model = ALL[name], model_of(name)
    n = model.extra["report"]["frontier_by_bits"][str(bits)]
    cases = word_cases(model, automaton, n, 2, seed=bits)
    assert any(c.want == "accept" for c in cases)
    assert all_right(model, cases, bits)
    assert not all_right(model, word_cases(model, automaton, n, 2, seed=1), bits - 8)


@pytest.mark.parametrize("name", ["abb", "flipflop"])
def test_a_star_free_language_is_reset_levels_only(name):
    """An aperiodic monoid is solvable too: no counters, every word to length 6 right."""
    automaton = ALL[name]
    model = compile_solvable(automaton)
    assert {k for k, _ in model.extra["report"]["level_kinds"]} == {"reset"}
    words = [w for k in range(7) for w in itertools.product(automaton.alphabet, repeat=k)]
    assert not wrong_answers(model, automaton, words)


@pytest.mark.slow
def test_group_levels_between_reset_levels():
    """A random 8-state DFA whose cascade has Z_2 counters on three holonomy levels with reset
    levels between them: every word up to length 8, and every level at every token."""
    dfa = random_dfa(8, 2, 3)
    model = compile_solvable(dfa)
    kinds = [k for k, _ in model.extra["report"]["level_kinds"]]
    assert kinds.count("counter") == 3 and kinds[-1] == "counter"
    words = [w for k in range(9) for w in itertools.product(dfa.alphabet, repeat=k)]
    assert any(dfa.accepts(w) for w in words)
    assert not wrong_answers(model, dfa, words)
    for w in (list("abbabaabbbab"), [c for c in "ab" * 20]):
        assert check_cells(model, read_claim(model), w) == []


@pytest.mark.slow
def test_too_many_configurations_are_refused_with_the_count():
    with pytest.raises(CompileError, match=r"more than 20,000 configurations"):
        compile_solvable(random_dfa(10, 3, 1))


def test_the_weights_do_not_depend_on_sympys_random_state():
    """sympy's composition series is randomized; the split runs from a fixed seed, so two
    compiles from different global random states give the same weights and cascade."""
    import sympy.core.random as sympy_random

    builds = []
    for seed in (1, 2):
        sympy_random.seed(seed)
        builds.append(compile_solvable(ALL["s4"]))
    a, b = builds
    assert a.extra["report"]["cascade"] == b.extra["report"]["cascade"]
    assert a.network.tensors.keys() == b.network.tensors.keys()
    assert all(a.network.tensors[k].equal(b.network.tensors[k]) for k in a.network.tensors)
