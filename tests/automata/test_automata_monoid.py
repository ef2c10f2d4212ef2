"""Transition monoid: table and classification against direct computations."""

import itertools
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logdepth.automata.dfa import DFA
from logdepth.automata.groups import group_dfa
from logdepth.automata.monoid import TransitionMonoid
from logdepth.errors import CompileError


def random_dfa(n, alphabet, seed):
    rng = random.Random(seed)
    states = [f"q{i}" for i in range(n)]
    delta = {(q, a): rng.choice(states) for q in states for a in alphabet}
    return DFA("r", states, alphabet, states[0], {states[-1]}, delta)


def word_map(d, word):
    """Independent oracle: the map Q -> Q of a word, by running from each state."""
    return tuple(
        d.states.index(DFA("p", d.states, d.alphabet, q, d.accept, d.delta).run(word))
        for q in d.states
    )


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 5), st.integers(0, 10_000))
def test_dfa_monoid_elements_and_table(n, seed):
    d = random_dfa(n, ("a", "b"), seed)
    m = TransitionMonoid.of(d)
    assert m.identity == 0 and m.elements[0] == tuple(range(n))
    words = [w for k in range(5) for w in itertools.product("ab", repeat=k)]
    for u in words[:20]:
        for v in words[:20]:
            assert m.table[m.element_of(u), m.element_of(v)] == m.element_of(u + v)
    for w in words:
        assert m.elements[m.element_of(w)] == word_map(d, w)
        assert bool(m.accepting[m.element_of(w)]) == d.accepts(w)
    # Every element is reached by some short word (closure complete and nothing extra).
    assert len(set(m.elements)) == m.size
    assert m.table.dtype.kind == "i" and m.table.shape == (m.size, m.size)


def test_nfa_monoid_matches_subset_simulation(ends_ab):
    n = ends_ab
    m = TransitionMonoid.of(n)
    assert m.elements[0] == (1, 2, 4)  # identity relation as row bitmasks
    for k in range(6):
        for w in itertools.product("ab", repeat=k):
            assert m.accepts(w) == n.accepts(w) == ("".join(w).endswith("ab"))
            for v in itertools.product("ab", repeat=2):
                assert m.table[m.element_of(w), m.element_of(v)] == m.element_of(w + v)
    assert m.is_aperiodic and not m.is_group and m.is_solvable is None


def test_s5_cayley_monoid_is_a_nonsolvable_group():
    # Its speed is shown by benchmarks/regular.py (S5 compile time), not asserted on a clock.
    d = group_dfa("s5", kind="symmetric", degree=5)
    m = TransitionMonoid.of(d)
    table = m.table
    assert m.size == 120 and table.shape == (120, 120)
    assert m.is_group and not m.is_aperiodic and m.is_solvable is False
    assert m.derived_series == [120, 60]
    # Each element's map is the right action of a permutation: the table is a Latin square.
    assert all(len(set(row)) == 120 for row in table.tolist())


@pytest.mark.parametrize(
    "kind, n, solvable, series",
    [
        ("symmetric", 4, True, [24, 12, 4, 1]),
        ("alternating", 5, False, [60]),
        ("cyclic", 6, True, [6, 1]),
        ("dihedral", 8, True, [16, 4, 1]),
    ],
)
def test_group_classification(kind, n, solvable, series):
    m = TransitionMonoid.of(group_dfa("g", kind=kind, degree=n, alphabet="generators"))
    assert m.is_group and m.is_solvable is solvable and m.derived_series == series
    assert "a group" in m.describe()


def test_aperiodic_example():
    # "contains aa": a counter that saturates -> aperiodic, not a group.
    d = DFA(
        "aa",
        ("0", "1", "2"),
        ("a", "b"),
        "0",
        {"2"},
        {
            ("0", "a"): "1",
            ("1", "a"): "2",
            ("2", "a"): "2",
            ("0", "b"): "0",
            ("1", "b"): "0",
            ("2", "b"): "2",
        },
    )
    m = TransitionMonoid.of(d)
    assert m.is_aperiodic and not m.is_group and m.is_solvable is None


def test_ten_state_random_dfa_monoid_has_the_identity_first():
    d = random_dfa(10, ("a", "b"), seed=1)
    m = TransitionMonoid.of(d)
    _ = m.is_aperiodic, m.is_group
    assert np.array_equal(m.table[0], np.arange(m.size))


def test_cap_raises_compile_error():
    d = random_dfa(10, ("a", "b"), seed=1)
    with pytest.raises(CompileError, match="more than 50 elements"):
        TransitionMonoid.of(d, max_elements=50)
