"""The `count` block: parsed, lowered to its residue DFA, printed canonically, and every bad
input refused at its line and column (docs/dsl.md shows these messages)."""

import itertools

import pytest

from logdepth.dsl import format, parse
from logdepth.dsl.ast import Assign
from logdepth.dsl.checks import run_checks
from logdepth.errors import DSLError, SpecError

MOD3A = """count mod3a {
    alphabet: a, b
    weights: a = 1
    modulus: 3
    accept: 0
}
"""


def located(text, line, column, *fragments, error=SpecError):
    with pytest.raises(error) as info:
        parse(text, file="spec.ld")
    err = info.value
    assert (err.line, err.column) == (line, column), str(err)
    assert str(err).startswith(f"spec.ld:{line}:{column}: error: ")
    for f in fragments:
        assert f in err.message, err.message
    assert str(err).split("\n")[2] == "    " + " " * (column - 1) + "^"
    return err


def test_count_lowers_to_the_residue_dfa():
    dfa = parse(MOD3A)["mod3a"]
    assert dfa.states == ("r0", "r1", "r2") and dfa.start == "r0" and dfa.accept == {"r0"}
    assert dfa.source_kind == "count"
    assert dfa.delta[("r2", "a")] == "r0" and dfa.delta[("r1", "b")] == "r1"
    for w in itertools.chain.from_iterable(itertools.product("ab", repeat=k) for k in range(8)):
        assert dfa.accepts(w) == (w.count("a") % 3 == 0)


def test_weights_are_taken_mod_m_and_unlisted_symbols_weigh_nothing():
    spec = parse(
        "count c {\n  alphabet: x, y, z\n  weights: x = 7, y = 2\n  modulus: 5\n  accept: 1, 4\n}\n"
    )
    dfa = spec["c"]
    for w in itertools.chain.from_iterable(itertools.product("xyz", repeat=k) for k in range(6)):
        total = 7 * w.count("x") + 2 * w.count("y")
        assert dfa.accepts(w) == (total % 5 in (1, 4))
    assert dfa.to_dict()["source_kind"] == "count"
    assert type(dfa).from_dict(dfa.to_dict()).source_kind == "count"  # weight files keep it


def test_empty_accept_and_no_weights():
    dfa = parse("count none {\n  alphabet: a\n  modulus: 2\n  accept:\n}\n")["none"]
    assert not dfa.accept and not dfa.accepts(()) and dfa.delta[("r0", "a")] == "r0"


def test_checks_run_on_a_count_block():
    checks = 'check mod3a accepts "", "aaa", "bababa"\ncheck mod3a rejects "a", "babab"\n'
    spec = parse(MOD3A + checks)
    results = run_checks(spec)
    assert len(results) == 5 and all(r.passed for r in results)


def test_fmt_round_trip():
    messy = (
        "count   mod3a{alphabet:a,b\n weights:a=1 ,b = 0   # w\n\n modulus:3\naccept:0,2}\n"
        'check mod3a accepts "aaa"\n'
    )
    spec = parse(messy)
    text = format(spec)
    assert text == (
        "count mod3a {\n"
        "    alphabet: a, b\n"
        "    weights: a = 1, b = 0  # w\n"
        "    modulus: 3\n"
        "    accept: 0, 2\n"
        "}\n"
        "\n"
        'check mod3a accepts "aaa"\n'
    )
    assert parse(text) == spec and format(parse(text)) == text
    field = next(s for s in spec.blocks[0].body if s.key.text == "weights")
    assert all(isinstance(v, Assign) for v in field.values)
    assert [(v.key.text, v.value.text) for v in field.values] == [("a", "1"), ("b", "0")]


# -- errors (the first four are the examples of docs/dsl.md) -----------------------------------


def test_modulus_below_two():
    located(MOD3A.replace("modulus: 3", "modulus: 1"), 4, 14, "modulus 1 is out of range")


def test_unknown_symbol():
    located(
        MOD3A.replace("a = 1", "c = 1"),
        3,
        14,
        "undefined symbol 'c': not in the alphabet of 'mod3a' (a, b)",
    )


def test_duplicate_symbol():
    located(
        MOD3A.replace("a = 1", "a = 1, a = 2"),
        3,
        21,
        "duplicate symbol 'a' in weights (first given on line 3)",
    )


def test_residue_out_of_range():
    located(
        MOD3A.replace("accept: 0", "accept: 3"),
        5,
        13,
        "residue 3 is out of range 0..2 (the modulus is 3)",
    )


def test_docs_show_the_same_messages():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "dsl.md").read_text()
    for text in (
        "spec.ld:4:14: error: modulus 1 is out of range: a count needs at least 2",
        "spec.ld:3:14: error: undefined symbol 'c': not in the alphabet of 'mod3a' (a, b)",
        "spec.ld:3:21: error: duplicate symbol 'a' in weights (first given on line 3)",
        "spec.ld:5:13: error: residue 3 is out of range 0..2 (the modulus is 3)",
    ):
        assert text in doc


@pytest.mark.parametrize(
    "old, new, line, column, fragment",
    [
        ("accept: 0", "accept: 1, 1", 5, 16, "duplicate residue 1"),
        ("accept: 0", "accept: r0", 5, 13, "a residue must be a whole number, not 'r0'"),
        ("modulus: 3", "modulus: three", 4, 14, "the modulus must be a whole number"),
        ("modulus: 3", "modulus: 3, 4", 4, 5, "modulus: expected one number"),
        ("modulus: 3", "modulus: 999999999", 4, 14, "over the state budget"),
        ("    modulus: 3\n", "", 1, 7, "count 'mod3a' has no modulus"),
        ("a = 1", "a", 3, 14, "weights: expected 'symbol = weight'"),
        ("a = 1", "a = x", 3, 18, "the weight of 'a' must be a whole number, not 'x'"),
        ("a = 1", '"a = 1"', 3, 14, "not a string"),
        ("weights:", "weigths:", 3, 5, "unknown field 'weigths' in count 'mod3a'"),
        ("alphabet: a, b", "alphabet: a, a", 2, 18, "duplicate symbol 'a'"),
        ("accept: 0", "r0 a -> r1", 5, 5, "a count has no transitions"),
    ],
)
def test_bad_count_blocks(old, new, line, column, fragment):
    assert old in MOD3A
    located(MOD3A.replace(old, new), line, column, fragment)


def test_assignments_elsewhere_are_refused():
    located("dfa x {\n  alphabet: a = 1\n}\n", 2, 13, "expected symbols, not an assignment 'a = 1'")
    located("group g {\n  generators: a = 1\n}\n", 2, 15, "generators: expected cycles")
    located("count c {\n  alphabet: a\n  modulus: 2 = 3\n}\n", 3, 12, "expected a number")


def test_syntax_error_in_an_assignment():
    located(MOD3A.replace("a = 1", "a = "), 3, 18, "unexpected end of line", error=DSLError)
