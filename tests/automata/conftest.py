"""Automata shared by the automata tests."""

import pytest

from logdepth.automata.nfa import NFA


@pytest.fixture
def ends_ab() -> NFA:
    """The issue's `ends_ab`: words over {a, b} ending in ab (s loops, s -a-> m -b-> f)."""
    return NFA(
        "e",
        ("s", "m", "f"),
        ("a", "b"),
        {"s"},
        {"f"},
        {("s", "a"): {"s", "m"}, ("s", "b"): {"s"}, ("m", "b"): {"f"}},
    )
