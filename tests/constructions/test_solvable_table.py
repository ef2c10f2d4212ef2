"""The solvable rows docs/results.md's depth table adds (examples/solvable.ld): div7, A4, Q8
and Tomita 3 (a solvable monoid that is not a group). Each example is first checked against
an independent Python predicate, then auto's model (the solvable cascade for all four) on every
word up to length 8, on random and accepting words, with one layer count for every n."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

import logdepth
from logdepth.automata.classes import classify
from logdepth.model.compiled import CompiledModel
from logdepth.verify.precision import word_cases

ROOT = Path(__file__).resolve().parents[2]
SPEC = logdepth.parse_file(ROOT / "examples" / "solvable.ld")
NAMES = ["div7", "a4", "q8", "tomita3"]
_MODELS: dict[str, CompiledModel] = {}


def model_of(name: str) -> CompiledModel:
    if name not in _MODELS:
        _MODELS[name] = logdepth.compile(SPEC[name], construction="auto")
    return _MODELS[name]


def div7(word) -> bool:
    return int("0" + "".join(word), 2) % 7 == 0  # the empty word is the number 0


def tomita3(word) -> bool:
    """No maximal run of 1s of odd length has, as the next run, a run of 0s of odd length."""
    runs = [(c, len(list(g))) for c, g in itertools.groupby(word)]
    return not any(
        a == "1" and b == "0" and m % 2 and k % 2 for (a, m), (b, k) in itertools.pairwise(runs)
    )


def product_is_identity(word) -> bool:
    """A letter spells its permutation's images of 1..k; apply the letters left to right."""
    if not word:
        return True
    points = list(range(len(word[0])))
    for letter in word:
        points = [int(letter[p]) - 1 for p in points]
    return points == sorted(points)


PREDICATES = {
    "div7": div7,
    "a4": product_is_identity,
    "q8": product_is_identity,
    "tomita3": tomita3,
}


def words_up_to(automaton, length: int) -> list[tuple[str, ...]]:
    return [w for k in range(length + 1) for w in itertools.product(automaton.alphabet, repeat=k)]


@pytest.mark.parametrize("name", NAMES)
def test_the_example_is_the_language_it_names(name):
    automaton, want = SPEC[name], PREDICATES[name]
    words = words_up_to(automaton, 10 if len(automaton.alphabet) == 2 else 6)
    assert [automaton.accepts(w) for w in words] == [want(w) for w in words]


def test_classes():
    """All four solvable, auto takes the solvable cascade; only Tomita 3's monoid is no group
    (a finite monoid is a group exactly when its only idempotent is the identity)."""
    for name in NAMES:
        chosen = model_of(name).extra["report"]["chosen"]
        assert (chosen["class"], chosen["construction"]) == ("solvable", "solvable"), name
        assert classify(SPEC[name]).language_class == "solvable"
    assert {name: classify(SPEC[name]).idempotents > 1 for name in NAMES} == {
        "div7": False,
        "a4": False,
        "q8": False,
        "tomita3": True,
    }


@pytest.mark.parametrize("name", NAMES)
def test_every_word_up_to_length_8(name):
    automaton, model, want = SPEC[name], model_of(name), PREDICATES[name]
    words = words_up_to(automaton, 8)
    answers = []
    for start in range(0, len(words), 1024):
        answers += model.accepts_batch([list(w) for w in words[start : start + 1024]])
    assert any(answers) and not all(answers)
    assert answers == [want(w) for w in words]


# n = 1,000: about 1 s a language on one idle core, several under load: slow.
@pytest.mark.parametrize("n", [64, pytest.param(1000, marks=pytest.mark.slow)])
@pytest.mark.parametrize("name", NAMES)
def test_random_and_accepting_words(name, n):
    automaton, model = SPEC[name], model_of(name)
    cases = word_cases(model, automaton, n, 2, seed=7)
    assert any(c.want == "accept" for c in cases) and any(c.want == "reject" for c in cases)
    assert model.run_tokens([c.tokens for c in cases]) == [c.want for c in cases]


@pytest.mark.parametrize("name", NAMES)
def test_auto_has_one_layer_count_for_every_n(name):
    model = model_of(name)
    assert model.num_layers(16) == model.num_layers(4096)
    # The wide Theorem 1 grows with n (it can be the shallower one at n = 4,096: A4's 20 < 21).
    wide = logdepth.compile(SPEC[name], construction="wide")
    assert wide.num_layers(10**6) > model.num_layers(10**6) == model.num_layers(16)
