"""benchmarks/depth_by_class.py's "constant depth shallower than wide from n" column: the least
n found by bisection is checked against both builds' layer counts on every n around it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import logdepth

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from depth_by_class import shallower_from  # noqa: E402

BASICS = logdepth.parse_file(ROOT / "examples" / "basics.ld")
STARFREE = logdepth.parse_file(ROOT / "examples" / "starfree.ld")


@pytest.mark.parametrize(
    ("automaton", "construction"),
    [(BASICS["parity"], "counting"), (BASICS["rot"], "solvable"), (STARFREE["abb"], "solvable")],
    ids=["parity-counting", "rot-solvable", "abb-solvable"],
)
def test_the_least_n_from_which_constant_depth_is_shallower(automaton, construction):
    const = logdepth.compile(automaton, construction=construction).num_layers(1)
    wide = logdepth.compile(automaton, construction="wide")
    n = int(shallower_from(automaton, construction).replace(",", ""))
    assert wide.num_layers(n - 1) <= const < wide.num_layers(n)
    assert all(const < wide.num_layers(m) for m in range(n, 4 * n))  # and from there on


def test_always_when_shallower_at_n_1():
    flipflop = STARFREE["flipflop"]
    assert shallower_from(flipflop, "starfree") == "always"
    const = logdepth.compile(flipflop, construction="starfree").num_layers(1)
    assert const < logdepth.compile(flipflop, construction="wide").num_layers(1)
