"""The holonomy cascade, run from its tables alone, against the DFA it decomposes."""

from __future__ import annotations

import random
from itertools import product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logdepth.automata.classes import classify, minimal_dfa
from logdepth.automata.dfa import random_dfa
from logdepth.automata.holonomy import holonomy
from logdepth.errors import CompileError
from tests.automata.test_classes import ALL, aperiodic, derived_orders, monoid

SMALL_ALPHABETS = sorted(n for n, a in ALL.items() if len(a.alphabet) <= 3)
APERIODIC = ["abb", "no000", "abba", "flipflop", "saturating6", "ends_ab", "no_aa"]


def check_runs(automaton, cascade, exhaustive: int, samples: int, longest: int) -> None:
    """Every word up to `exhaustive` letters and `samples` random words up to `longest`."""
    dfa = minimal_dfa(automaton)
    for n in range(exhaustive + 1):
        for word in product(dfa.alphabet, repeat=n):
            assert cascade.run(word) == dfa.run(word), word
    rng = random.Random(0)
    for _ in range(samples):
        word = rng.choices(dfa.alphabet, k=rng.randint(0, longest))
        assert cascade.run(word) == dfa.run(word), word
        assert cascade.accepts(word) == automaton.accepts(word)


@pytest.mark.parametrize("name", SMALL_ALPHABETS)
def test_cascade_matches_the_dfa(name):
    automaton = ALL[name]
    exhaustive = 8 if len(automaton.alphabet) <= 2 else 6
    check_runs(automaton, holonomy(automaton), exhaustive, samples=100, longest=200)


def test_large_alphabet_group():
    # The Cayley automaton of A5 over all 60 elements: words up to 2 letters, and random ones.
    check_runs(ALL["a5"], holonomy(ALL["a5"]), exhaustive=2, samples=100, longest=50)


# (levels, real states per level) as the theory's prototype measured them.
SHAPES = {
    "abb": [2, 2, 2],
    "no000": [2, 2, 2],
    "abba": [2, 2, 2, 2],
    "saturating6": [2] * 6,
    "flipflop": [2],
    "parity": [2],
    "mod3": [3],
    "div5": [5],
    "d4": [8],
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_levels(name):
    assert [level.states for level in holonomy(ALL[name]).levels] == SHAPES[name]


@pytest.mark.parametrize("name", APERIODIC)
def test_aperiodic_gives_only_resets(name):
    cascade = holonomy(ALL[name])
    assert all(g.order == 1 for level in cascade.levels for g in level.groups)
    for table in cascade.tables:
        for action in table.values():
            perm = action.permutation
            assert perm is None or perm == tuple(range(len(perm)))


def test_group_orders():
    orders = {
        name: [g.order for level in holonomy(ALL[name]).levels for g in level.groups]
        for name in ("parity", "div5", "d4", "a5gens", "a5reset")
    }
    assert orders == {"parity": [2], "div5": [20], "d4": [8], "a5gens": [60], "a5reset": [60]}
    (a5,) = holonomy(ALL["a5reset"]).levels[0].groups
    assert (a5.structure, a5.is_solvable) == ("A5", False)


@settings(max_examples=40, deadline=None)
@given(states=st.integers(1, 6), symbols=st.integers(1, 3), seed=st.integers(0, 2**32 - 1))
def test_random_dfas(states, symbols, seed):
    dfa = random_dfa(states, symbols, seed)
    cascade = holonomy(dfa)
    check_runs(dfa, cascade, exhaustive=5, samples=20, longest=60)
    # Every holonomy group divides the monoid and the monoid embeds in their cascade: trivial
    # groups exactly when aperiodic, solvable groups exactly when every subgroup is solvable.
    groups = [g for level in cascade.levels for g in level.groups]
    m = monoid(minimal_dfa(dfa))
    assert all(g.order == 1 for g in groups) == aperiodic(m)
    solvable = classify(dfa).language_class != "non-solvable"
    assert all(g.is_solvable for g in groups) == solvable


def test_non_solvable_holonomy_group_is_the_monoids():
    cascade = holonomy(ALL["a5reset"])
    (group,) = cascade.levels[0].groups
    # The tiles are the 5 singletons; the group acts on them as the letters t, f do on points.
    elements = {tuple(p.array_form) for p in group.group.generate()}
    assert len(elements) == 60 and derived_orders(elements)[-1] == 60


def test_limits_are_refused_with_the_count():
    with pytest.raises(CompileError, match=r"more than 10 image sets.*max_image_sets=N"):
        holonomy(ALL["abba"], max_image_sets=10)
    with pytest.raises(CompileError, match=r"more than 3 encodings.*max_encodings=N"):
        holonomy(ALL["abba"], max_encodings=3)
