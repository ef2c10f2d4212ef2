"""Every error a user can make: message and location (file:line:col, source line, caret)."""

import pytest

from logdepth.dsl import parse, parse_file
from logdepth.errors import DSLError, SpecError

DFA_OK = """dfa parity {
    alphabet: 0, 1
    start: even
    accept: even
    even 0 -> even
    even 1 -> odd
    odd 0 -> odd
    odd 1 -> even
}
"""


def located(exc_info, line, column, *fragments):
    err = exc_info.value
    assert (err.line, err.column) == (line, column), str(err)
    text = str(err)
    assert text.startswith(f"spec.ld:{line}:{column}: error: "), text
    for f in fragments:
        assert f in err.message, err.message
    lines = text.split("\n")
    assert lines[2] == "    " + " " * (column - 1) + "^"
    return err


# -- syntax errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, line, column, fragments",
    [
        ("dfa x {\n    a 0 -> \n}\n", 2, 12, ["unexpected end of line", "expected a name"]),
        ("automaton x {}\n", 1, 1, ["unexpected name 'automaton'", "'dfa'", "'check'", "'regex'"]),
        ("dfa x {\n  alphabet: a\n", 2, 14, ["unexpected end of file", "'}'"]),
        ('check p accept "1"\n', 1, 9, ["unexpected name 'accept'", "'accepts'", "'rejects'"]),
        ("dfa {\n}\n", 1, 5, ["unexpected '{'", "expected a name"]),
        ('regex r {\n  pattern: "ab\n}\n', 2, 12, ["unterminated string"]),
        ("dfa x {\n  a @ b\n}\n", 2, 5, ["unexpected character '@'"]),
        ("dfa x {\n  a 0 -> b c\n}\n", 2, 12, ["unexpected name 'c'"]),
    ],
)
def test_syntax_errors(text, line, column, fragments):
    with pytest.raises(DSLError) as info:
        parse(text, file="spec.ld")
    err = located(info, line, column, *fragments)
    assert "__ANON" not in err.message and "_NL" not in err.message and "NAME" not in err.message
    assert "$END" not in err.message


# -- meaning errors ----------------------------------------------------------------------------


def spec_error(text, line, column, *fragments):
    with pytest.raises(SpecError) as info:
        parse(text, file="spec.ld")
    return located(info, line, column, *fragments)


def test_undefined_state():
    spec_error(
        DFA_OK.replace("odd 1 -> even", "odd 1 -> evn"),
        8,
        14,
        "undefined state 'evn'",
        "did you mean 'even'",
    )


def test_undefined_state_with_states_field():
    spec_error(
        "nfa n {\n  alphabet: a\n  states: p\n  start: p\n  p a -> q\n}\n",
        5,
        10,
        "undefined state 'q'",
        "not in 'states:'",
    )


def test_undefined_symbol():
    spec_error(
        DFA_OK.replace("odd 0 -> odd", "odd 2 -> odd"),
        7,
        9,
        "undefined symbol '2'",
        "alphabet of 'parity'",
    )


def test_missing_transitions_lists_every_pair():
    text = DFA_OK.replace("    even 1 -> odd\n", "").replace("    odd 0 -> odd\n", "")
    spec_error(text, 1, 5, "missing 2 transitions: (even, 1), (odd, 0)")


def test_nondeterministic_dfa_names_both_transitions():
    text = DFA_OK.replace("    odd 1 -> even\n", "    odd 1 -> even\n    even 0 -> odd\n")
    spec_error(
        text, 9, 10, "nondeterministic", "'even 0 -> odd' (line 9)", "'even 0 -> even' (line 5)"
    )


def test_nondeterministic_dfa_several_targets():
    spec_error(
        "dfa d {\n  alphabet: a\n  start: p\n  p a -> p, q\n}\n",
        4,
        13,
        "nondeterministic",
        "several targets",
    )


def test_duplicate_names():
    spec_error(DFA_OK + "\n" + DFA_OK, 11, 5, "duplicate name 'parity'", "line 1")


def test_duplicate_field():
    spec_error(
        DFA_OK.replace("    start: even\n", "    start: even\n    start: odd\n"),
        4,
        5,
        "duplicate field 'start'",
    )


def test_unknown_field():
    spec_error(
        DFA_OK.replace("accept: even", "acept: even"),
        4,
        5,
        "unknown field 'acept'",
        "did you mean 'accept'",
    )


def test_empty_alphabet():
    spec_error(DFA_OK.replace("alphabet: 0, 1", "alphabet:"), 2, 5, "empty alphabet")


def test_duplicate_symbol():
    spec_error(DFA_OK.replace("alphabet: 0, 1", "alphabet: 0, 1, 0"), 2, 21, "duplicate symbol '0'")


def test_invalid_regex_points_inside_pattern():
    spec_error(
        'regex r {\n  alphabet: a, b\n  pattern: "(ab|b"\n}\n',
        3,
        13,
        "invalid regex",
        "unclosed '('",
    )
    spec_error(
        'regex r {\n  alphabet: a, b\n  pattern: "ab*c"\n}\n',
        3,
        16,
        "symbol 'c' is not in the alphabet",
    )
    # An escaped quote before the error shifts the column by the backslash.
    spec_error(
        'regex r {\n  alphabet: a, b\n  pattern: "a\\"b"\n}\n',
        3,
        14,
        "symbol '\"' is not in the alphabet",
    )


def test_unknown_group_kind():
    spec_error("group g {\n  abelian 5\n}\n", 2, 3, "unknown group kind 'abelian'", "alternating")


def test_group_degree_over_nine():
    spec_error("group g {\n  symmetric 10\n}\n", 2, 13, "degree 10", "1..9")
    spec_error("group g {\n  generators: (1 2 10)\n}\n", 2, 20, "degree 10")


def test_group_bad_one_line_generator():
    spec_error("group g {\n  generators: 2213\n}\n", 2, 15, "not a permutation")


def test_check_unknown_spec():
    spec_error(
        DFA_OK + 'check party accepts "0"\n', 10, 7, "unknown spec 'party'", "did you mean 'parity'"
    )


def test_check_symbol_outside_alphabet():
    spec_error(
        DFA_OK + 'check parity accepts "0", "0120"\n',
        10,
        30,
        "symbol '2' is not in the alphabet of 'parity'",
    )


def test_check_group_word_symbol_outside_alphabet():
    spec_error(
        'group a5 { alternating 5 }\ncheck a5 accepts "23145 21345"\n',
        2,
        25,
        "symbol '21345' is not in the alphabet",
    )


def test_check_wrong_kind_and_unknown_node():
    g = "graph g {\n  a -> b\n}\n"
    spec_error(g + 'check g accepts "ab"\n', 4, 7, "'accepts' needs an automaton")
    spec_error(DFA_OK + "check parity connected a -> b\n", 10, 7, "'connected' needs a graph")
    spec_error(g + "check g connected a -> z\n", 4, 24, "unknown node 'z'")


def test_graph_undefined_node():
    spec_error("graph g {\n  nodes: a, b\n  a -> c\n}\n", 3, 8, "undefined node 'c'")


def test_graph_file_errors(tmp_path):
    spec = tmp_path / "s.ld"
    spec.write_text('graph g from "missing.txt"\n')
    with pytest.raises(SpecError, match="cannot read graph file 'missing.txt'") as info:
        parse_file(spec)
    assert (info.value.file, info.value.line, info.value.column) == (str(spec), 1, 14)
    (tmp_path / "bad.txt").write_text("1 2\n1 2 3\n")
    spec.write_text('graph g from "bad.txt"\n')
    with pytest.raises(SpecError, match="expected an edge") as info:
        parse_file(spec)
    assert info.value.file == str(tmp_path / "bad.txt") and info.value.line == 2


def test_only_graphs_come_from_files():
    spec_error('dfa d from "x"\n', 1, 1, "only graphs can be read from a file")


def test_missing_spec_file(tmp_path):
    with pytest.raises(SpecError, match="cannot read spec file"):
        parse_file(tmp_path / "nope.ld")
