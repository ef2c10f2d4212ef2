"""auto takes the solvable cascade for solvable languages that are not cyclic groups (counting
stays for the cyclic ones), with the same layer count at every n; compare lists it."""

from __future__ import annotations

from pathlib import Path

import pytest

import logdepth
from logdepth.compare import compare
from logdepth.verify.precision import word_cases
from tests.automata.test_classes import ALL

ROOT = Path(__file__).resolve().parents[1]
BASICS = logdepth.parse_file(ROOT / "examples" / "basics.ld")


@pytest.mark.parametrize(
    ("automaton", "construction"),
    [
        (BASICS["rot"], "solvable"),
        (ALL["d4"], "solvable"),
        (ALL["q8"], "solvable"),
        (ALL["tomita5"], "solvable"),
        (ALL["parity"], "counting"),
        (ALL["mod3"], "counting"),
    ],
    ids=["rot", "d4", "q8", "tomita5", "parity", "mod3"],
)
def test_auto_is_constant_depth_for_every_solvable_language(automaton, construction):
    model = logdepth.compile(automaton, construction="auto")
    chosen = model.extra["report"]["chosen"]
    assert chosen["class"] == "solvable" and chosen["construction"] == construction
    assert model.num_layers(16) == model.num_layers(4096)
    cases = word_cases(model, automaton, 64, 2, seed=1)
    assert any(c.want == "accept" for c in cases)
    assert model.run_tokens([c.tokens for c in cases]) == [c.want for c in cases]


def test_auto_records_why_counting_refused_a_group_that_is_not_cyclic():
    chosen = logdepth.compile(BASICS["rot"], construction="auto").extra["report"]["chosen"]
    assert any(r.startswith("counting refused") for r in chosen["refused"])


def test_compare_lists_the_solvable_cascade():
    rows = {r.construction: r for r in compare(BASICS["rot"], (64, 4096))}
    assert rows["solvable"].chosen_by_auto and rows["solvable"].refused is None
    assert rows["solvable"].layers[64] == rows["solvable"].layers[4096]
    assert rows["wide"].layers[4096] > rows["wide"].layers[64]
    rows = {r.construction: r for r in compare(BASICS["a5"], (64,))}
    assert "non-solvable" in rows["solvable"].refused
