"""DFA and NFA objects against brute-force oracles written here, independently of the code."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logdepth.automata.dfa import DFA
from logdepth.automata.nfa import NFA
from logdepth.errors import SpecError


def all_words(alphabet, max_len):
    for n in range(max_len + 1):
        yield from itertools.product(alphabet, repeat=n)


@st.composite
def dfas(draw, max_states=6):
    n = draw(st.integers(1, max_states))
    alphabet = tuple(draw(st.sampled_from([("0", "1"), ("a", "b", "c"), ("x",)])))
    states = tuple(f"q{i}" for i in range(n))
    delta = {(q, a): states[draw(st.integers(0, n - 1))] for q in states for a in alphabet}
    accept = frozenset(q for q in states if draw(st.booleans()))
    return DFA("d", states, alphabet, states[draw(st.integers(0, n - 1))], accept, delta)


@st.composite
def nfas(draw, max_states=5):
    n = draw(st.integers(1, max_states))
    alphabet = ("a", "b")
    states = tuple(f"s{i}" for i in range(n))
    delta = {}
    for q in states:
        for a in alphabet:
            delta[(q, a)] = frozenset(r for r in states if draw(st.integers(0, 2)) == 0)
    start = frozenset(q for q in states if draw(st.booleans()))
    accept = frozenset(q for q in states if draw(st.booleans()))
    return NFA("n", states, alphabet, start, accept, delta)


def simulate_dfa(d, word):
    """Independent oracle: follow delta step by step."""
    q = d.start
    for a in word:
        q = d.delta[(q, a)]
    return q in d.accept


def simulate_nfa(n, word):
    """Independent oracle: forward set simulation via the dict of targets."""
    cur = set(n.start)
    for a in word:
        nxt = set()
        for q in cur:
            nxt |= set(n.delta.get((q, a), ()))
        cur = nxt
    return bool(cur & n.accept)


@settings(max_examples=60, deadline=None)
@given(dfas())
def test_minimize_preserves_language_and_is_minimal(d):
    m = d.minimize()
    for w in all_words(d.alphabet, 5):
        assert m.accepts(w) == simulate_dfa(d, w)
    # Minimal: states pairwise distinguishable by some word of length < |Q|.
    sigs = {}
    for q in m.states:
        probe = DFA("p", m.states, m.alphabet, q, m.accept, m.delta)
        sig = tuple(simulate_dfa(probe, w) for w in all_words(m.alphabet, len(m.states)))
        assert sig not in sigs, (q, sigs.get(sig))
        sigs[sig] = q
    assert m.minimize() == m  # idempotent


@settings(max_examples=60, deadline=None)
@given(dfas())
def test_dfa_dict_round_trip(d):
    assert DFA.from_dict(d.to_dict()) == d


@settings(max_examples=60, deadline=None)
@given(nfas())
def test_determinize_matches_set_simulation(n):
    d = n.determinize()
    for w in all_words(n.alphabet, 6):
        assert d.accepts(w) == simulate_nfa(n, w) == n.accepts(w)
    assert NFA.from_dict(n.to_dict()) == n
    assert n.determinize() == d  # deterministic naming


def test_determinize_names_are_readable(ends_ab):
    n = ends_ab
    d = n.determinize()
    assert d.start == "{s}"
    assert set(d.states) == {"{s}", "{s,m}", "{s,f}"}
    assert d.accept == {"{s,f}"}


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.pop("delta"), "delta"),
        (lambda d: d["delta"].pop(), "missing transitions"),
        (lambda d: d.update(start="zz"), "start state"),
        (lambda d: d.update(alphabet=[]), "alphabet"),
        (lambda d: d["delta"].append(["even", "0", "odd"]), "nondeterministic"),
        (lambda d: d["delta"].append(["even", "7", "odd"]), "outside the alphabet"),
        (lambda d: d.update(states="even"), "list of strings"),
    ],
)
def test_dfa_from_dict_rejects_bad_dicts(mutate, message):
    d = DFA(
        "p",
        ("even", "odd"),
        ("0", "1"),
        "even",
        {"even"},
        {("even", "0"): "even", ("even", "1"): "odd", ("odd", "0"): "odd", ("odd", "1"): "even"},
    )
    raw = d.to_dict()
    mutate(raw)
    with pytest.raises(SpecError, match=message):
        DFA.from_dict(raw)


def test_nfa_from_dict_rejects_bad_dicts():
    with pytest.raises(SpecError, match="not a state"):
        NFA.from_dict(
            {
                "name": "n",
                "states": ["a"],
                "alphabet": ["x"],
                "start": ["b"],
                "accept": [],
                "delta": [],
            }
        )
    with pytest.raises(SpecError, match="undefined state"):
        NFA.from_dict(
            {
                "name": "n",
                "states": ["a"],
                "alphabet": ["x"],
                "start": ["a"],
                "accept": [],
                "delta": [["a", "x", ["b"]]],
            }
        )
