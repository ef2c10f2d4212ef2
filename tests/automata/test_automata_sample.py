"""WordCounter: exact counts against brute-force enumeration, and uniform samples (every word of
a small length reached, frequencies inside a binomial bound) from both tables."""

from __future__ import annotations

import collections
import itertools
import math
import random
from pathlib import Path

import pytest

from logdepth.automata.dfa import DFA, random_dfa
from logdepth.automata.nfa import NFA
from logdepth.automata.sample import WordCounter
from logdepth.dsl import parse, parse_file

SPEC = parse_file(Path(__file__).resolve().parents[2] / "examples" / "basics.ld")
# A date-and-hour stamp YYYYMMDDHH: accepted words have length 10 only.
STAMP = parse(
    "regex stamp {\n alphabet: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9\n"
    ' pattern: "[12][0-9]{3}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])([01][0-9]|2[0-3])"\n}\n'
)["stamp"]


def _brute(automaton: DFA | NFA, n: int, accepted: bool = True) -> list[tuple[str, ...]]:
    return [
        w
        for w in itertools.product(automaton.alphabet, repeat=n)
        if automaton.accepts(list(w)) == accepted
    ]


AUTOMATA = {
    "parity": SPEC["parity"],
    "mod3": SPEC["mod3"],
    "ends_ab": SPEC["ends_ab"],
    "no_aa": SPEC["no_aa"],
    "random5": random_dfa(5, 3, seed=4),
}


@pytest.mark.parametrize("name", sorted(AUTOMATA))
def test_counts_and_existence_match_enumeration(name):
    automaton = AUTOMATA[name]
    counter = WordCounter(automaton)
    for n in range(7):
        for accepted in (True, False):
            words = _brute(automaton, n, accepted)
            assert counter.count(n, accepted) == len(words), (n, accepted)
            assert counter.has_words(n, accepted) == bool(words), (n, accepted)


def test_the_stamp_language_has_words_of_length_ten_only():
    counter = WordCounter(STAMP)
    assert [n for n in range(40) if counter.has_words(n)] == [10]
    # 2000 years x 12 months x 31 days x 24 hours (the pattern lets every month have 31 days).
    assert counter.count(10) == 2000 * 12 * 31 * 24
    assert counter.next_length(0, 10**9) == 10
    assert counter.next_length(11, 10**9) is None  # the reachable sets cycle: none ever again
    assert counter.sample(9, 3, random.Random(0)) == []
    words = counter.sample(10, 5, random.Random(0))
    assert len(words) == 5 and all(STAMP.accepts(list(w)) for w in words)


def test_an_empty_language():
    delta = {("s", "a"): "s", ("s", "b"): "s"}
    empty = DFA("empty", ["s"], ["a", "b"], "s", frozenset(), delta)
    counter = WordCounter(empty)
    assert counter.is_empty() and not counter.is_empty(accepted=False)
    assert counter.sample(4, 2, random.Random(0)) == []
    assert counter.next_length(0, 10**9) is None
    assert counter.counts(3, accepted=False) == [1, 2, 4, 8]


@pytest.mark.parametrize("exact", [True, False])
@pytest.mark.parametrize("name,n,accepted", [("no_aa", 6, True), ("ends_ab", 6, False)])
def test_samples_are_uniform(name, n, accepted, exact):
    """Every word of the length is drawn, and each word's frequency is within 6 standard
    deviations of its binomial mean (a fixed seed: the test cannot flake)."""
    automaton = AUTOMATA[name]
    words = _brute(automaton, n, accepted)
    draws = 200 * len(words)
    counter = WordCounter(automaton)
    got = collections.Counter(
        counter.sample(n, draws, random.Random(11), accepted=accepted, exact=exact)
    )
    assert set(got) == set(words)
    p = 1 / len(words)
    mean, sd = draws * p, math.sqrt(draws * p * (1 - p))
    assert all(abs(c - mean) <= 6 * sd for c in got.values()), got.most_common(3)


def test_long_words_use_the_log_table_and_stay_in_the_language():
    counter = WordCounter(SPEC["ends_ab"])
    assert not counter.exact_table_fits(20_000)
    words = counter.sample(20_000, 2, random.Random(3))
    assert len(words) == 2 and all(SPEC["ends_ab"].accepts(list(w)) for w in words)
    rejected = counter.sample(20_000, 1, random.Random(3), accepted=False)
    assert not SPEC["ends_ab"].accepts(list(rejected[0]))
