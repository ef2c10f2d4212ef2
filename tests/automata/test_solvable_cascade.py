"""The solvable cascade (holonomy levels split into reset levels and Z_p counters), run from its
tables alone, against the minimal DFA; non-solvable monoids refused with the certificate."""

from __future__ import annotations

import random
from itertools import product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy import isprime

from logdepth.automata.classes import classify, minimal_dfa
from logdepth.automata.dfa import random_dfa
from logdepth.automata.solvable import ADD, KEEP, RESET, solvable_cascade
from logdepth.errors import CompileError
from tests.automata.test_classes import ALL

GROUPS = ["parity", "mod3", "div5", "d4", "s4", "q8", "tomita5"]
APERIODIC = ["abb", "no000", "abba", "flipflop", "saturating6", "ends_ab"]


def check_runs(automaton, cascade, exhaustive: int, samples: int, longest: int) -> None:
    """Every word up to `exhaustive` letters, `samples` random words up to `longest`, and the
    accepted ones among them, against the minimal DFA."""
    dfa = minimal_dfa(automaton)
    accepted = 0
    for n in range(exhaustive + 1):
        for word in product(dfa.alphabet, repeat=n):
            assert cascade.run(word) == dfa.run(word), word
            accepted += cascade.accepts(word)
    assert accepted or not dfa.accept
    rng = random.Random(0)
    for _ in range(samples):
        word = rng.choices(dfa.alphabet, k=rng.randint(0, longest))
        assert cascade.run(word) == dfa.run(word), word
        assert cascade.accepts(word) == automaton.accepts(word)


@pytest.mark.parametrize("name", GROUPS + APERIODIC)
def test_cascade_matches_the_dfa_to_length_8(name):
    automaton = ALL[name]
    check_runs(automaton, solvable_cascade(automaton), exhaustive=8, samples=20, longest=1000)


# (group order, counter moduli) per language: a cyclic group keeps one counter, any other
# solvable group one counter of prime order per composition factor.
SPLITS = {
    "parity": (2, (2,)),
    "mod3": (3, (3,)),
    "div5": (20, (2, 2, 5)),
    "d4": (8, (2, 2, 2)),
    "q8": (8, (2, 2, 2)),
    "s4": (24, (2, 3, 2, 2)),
    "tomita5": (4, (2, 2)),
}


@pytest.mark.parametrize("name", sorted(SPLITS))
def test_group_split(name):
    cascade = solvable_cascade(ALL[name])
    (split,) = cascade.splits
    assert (split.order, split.moduli) == SPLITS[name]
    kinds = [lv.kind for lv in cascade.levels]
    assert kinds == ["reset"] + ["counter"] * len(split.moduli)
    if not split.cyclic:
        assert all(isprime(p) for p in split.moduli)
    product_of_moduli = 1
    for p in split.moduli:
        product_of_moduli *= p
    assert product_of_moduli == split.order


def test_aperiodic_levels_stay_reset_levels():
    cascade = solvable_cascade(ALL["abba"])
    assert [lv.kind for lv in cascade.levels] == ["reset"] * 4
    assert cascade.counters == 0
    for table in cascade.tables:
        assert all(isinstance(e, int) for e in table.values())


def test_counter_entries_are_resets_or_additions():
    cascade = solvable_cascade(ALL["div5"])
    for level, table in zip(cascade.levels, cascade.tables, strict=True):
        for entry in table.values():
            if level.kind == "counter":
                kind, x = entry
                assert (kind, x) == (RESET, 0) or (kind == ADD and 0 <= x < level.modulus)
            else:
                assert entry == KEEP or 0 < entry < level.modulus


@pytest.mark.parametrize("name", ["a5gens", "s5", "a5reset"])
def test_non_solvable_is_refused_with_the_certificate(name):
    with pytest.raises(CompileError, match=r"non-solvable.*\n(.|\n)*non-solvable: .* generate"):
        solvable_cascade(ALL[name])


@settings(max_examples=30, deadline=None)
@given(states=st.integers(1, 5), symbols=st.integers(1, 2), seed=st.integers(0, 2**32 - 1))
def test_random_solvable_dfas(states, symbols, seed):
    dfa = random_dfa(states, symbols, seed)
    if classify(dfa).language_class == "non-solvable":
        with pytest.raises(CompileError, match="non-solvable"):
            solvable_cascade(dfa)
        return
    check_runs(dfa, solvable_cascade(dfa), exhaustive=6, samples=10, longest=100)
