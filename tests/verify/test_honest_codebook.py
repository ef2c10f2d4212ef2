"""verify checks the file's monoid codebook against the automaton: an edited codebook (checksum
recomputed, so the file loads) fails, with a message that says what disagrees."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

import logdepth
from logdepth.automata.dfa import random_dfa
from logdepth.constructions.regular import compile_regular
from logdepth.kit.monoid_codes import candidates, maps_encoding
from logdepth.model.compiled import load
from logdepth.verify.codebook import codebook_problems
from logdepth.verify.regular import verify_regular
from tests.test_hardening import rewrite_metadata

SPEC = logdepth.parse_file(Path(__file__).resolve().parents[2] / "examples" / "basics.ld")
AUTOMATA = {
    "parity": SPEC["parity"],
    "mod3": SPEC["mod3"],
    "ends_ab": SPEC["ends_ab"],
    "no_aa": SPEC["no_aa"],
    "rot": SPEC["rot"],
    "random6": random_dfa(6, 2, seed=6),
}


@pytest.mark.parametrize("name", sorted(AUTOMATA))
def test_every_encoding_the_compiler_can_choose_agrees(name):
    """One-hot over a DFA's maps or an NFA's relations, maps, via the determinized DFA."""
    automaton = AUTOMATA[name]
    for encoding in candidates(automaton):
        assert codebook_problems(encoding.codebook(), automaton) == [], encoding.kind


def test_flipped_accepting_flags_fail_verify(tmp_path):
    path = tmp_path / "parity.safetensors"
    compile_regular(SPEC["parity"]).save(path)

    def flip(meta):
        book = meta["extra"]["report"]["codebook"]
        book["accepting"] = [not x for x in book["accepting"]]

    rewrite_metadata(path, flip)
    model = load(path)  # the checksum was recomputed: the file loads
    report = verify_regular(model, max_length=8, samples=4, exhaustive=2, budget_s=0)
    assert not report.ok
    failure = next(line for line in report.lines if "codebook" in line)
    assert failure.startswith("FAIL: the file's monoid codebook disagrees with the automaton")
    assert "accepting flag of element 0 (reached by '') says reject" in failure
    assert "the automaton accepts ''" in failure


def _onehot(name: str) -> dict:
    return next(e for e in candidates(AUTOMATA[name]) if e.kind == "onehot").codebook()


def test_an_edited_table_entry_is_named():
    book = copy.deepcopy(_onehot("mod3"))
    a = book["letters"]["a"]
    book["table"][a][a] = book["identity"]  # "a then a" is not the identity in mod 3
    problems = codebook_problems(book, AUTOMATA["mod3"])
    assert problems and problems[0].startswith(f"table[{a}, {a}] (element {a} then letter 'a')")


def test_a_letter_pointing_at_another_element_is_caught():
    book = copy.deepcopy(_onehot("mod3"))
    book["letters"]["b"] = book["letters"]["a"]  # b (no count) now reads like a
    problems = codebook_problems(book, AUTOMATA["mod3"])
    assert problems and problems[0].endswith(
        "(reached by 'b') says reject, but the automaton accepts 'b'"
    ), problems


def test_an_edited_identity_is_caught():
    book = copy.deepcopy(_onehot("mod3"))
    book["identity"] = book["letters"]["a"]
    assert codebook_problems(book, AUTOMATA["mod3"]) == [
        f"the identity element {book['identity']} is not the identity map"
    ]


def test_maps_codes_with_a_flipped_flag_or_letter_are_caught():
    dfa = AUTOMATA["random6"].minimize()
    good = maps_encoding(dfa).codebook()
    assert codebook_problems(good, dfa) == []
    flipped = copy.deepcopy(good)
    flipped["accepting"][1][3] = not flipped["accepting"][1][3]
    problems = codebook_problems(flipped, dfa)
    assert problems and problems[0].startswith("its accepting flag of state 3 (reached by")
    moved = copy.deepcopy(good)
    row = moved["letters"]["a"]
    row[0] = (row[0] + 1) % len(row)
    assert codebook_problems(moved, dfa) != []


def test_the_wrong_alphabet_is_named():
    book = copy.deepcopy(_onehot("parity"))
    book["letters"]["2"] = book["letters"].pop("1")
    assert "are not the automaton's alphabet" in codebook_problems(book, AUTOMATA["parity"])[0]
