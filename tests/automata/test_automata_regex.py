"""Regex -> minimal DFA against Python's `re` as the independent oracle."""

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logdepth.automata.regex import compile_regex
from logdepth.errors import SpecError


def words(alphabet, max_len):
    for n in range(max_len + 1):
        yield from ("".join(w) for w in itertools.product(alphabet, repeat=n))


def agree(pattern, alphabet, py_pattern=None, max_len=6):
    d = compile_regex(pattern, alphabet, "r")
    rx = re.compile(py_pattern or pattern)
    for w in words(alphabet, max_len):
        assert d.accepts(tuple(w)) == bool(rx.fullmatch(w)), (pattern, w)
    return d


@pytest.mark.parametrize(
    "pattern, py",
    [
        ("(b|ab)*a?", None),
        ("a+b", None),
        ("(ab){2}", None),
        ("a{1,3}b?", None),
        ("a{2,}", None),
        ("[ab]c", None),
        ("[^a]*", "[bc]*"),
        ("[a-b]+c", None),
        (".c.", "[abc]c[abc]"),
        ("", None),
        ("()*", None),
        ("a|", None),
    ],
)
def test_examples_match_python_re(pattern, py):
    agree(pattern, ("a", "b", "c"), py)


def test_no_aa_is_minimal_with_three_states():
    d = agree("(b|ab)*a?", ("a", "b"))
    assert len(d.states) == 3
    assert d.states == ("q0", "q1", "q2")
    assert d.source_kind == "regex"


def test_multichar_symbols_in_angle_brackets():
    d = compile_regex("<ab>+<c>", ("ab", "c"), "m")
    assert d.accepts(("ab", "ab", "c")) and not d.accepts(("c",))


regexes = st.recursive(
    st.sampled_from(["a", "b", "."]),
    lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda t: t[0] + t[1]),
        st.tuples(inner, inner).map(lambda t: f"({t[0]}|{t[1]})"),
        inner.map(lambda r: f"({r})*"),
        inner.map(lambda r: f"({r})?"),
        inner.map(lambda r: f"({r})+"),
        st.tuples(inner, st.integers(0, 2), st.integers(0, 2)).map(
            lambda t: f"({t[0]}){{{min(t[1], t[2])},{max(t[1], t[2])}}}"
        ),
    ),
    max_leaves=6,
)


@settings(max_examples=80, deadline=None)
@given(regexes)
def test_random_regexes_match_python_re(pattern):
    agree(pattern, ("a", "b"), pattern.replace(".", "[ab]"), max_len=5)


@pytest.mark.parametrize(
    "pattern, message, column",
    [
        ("(ab", "unclosed '('", 1),
        ("ab)", "unmatched ')'", 3),
        ("*a", "nothing to repeat", 1),
        ("a|*", "nothing to repeat", 3),
        ("az", "symbol 'z' is not in the alphabet", 2),
        ("a[bz]", "symbol 'z' is not in the alphabet", 4),
        ("a[ab", "unclosed '['", 2),
        ("a{3,1}", "maximum is below the minimum", 2),
        ("a{x}", "expected {m}", 2),
        ("a{2", "unclosed '{'", 2),
    ],
)
def test_errors_have_column_inside_pattern(pattern, message, column):
    with pytest.raises(SpecError, match=re.escape(message)) as info:
        compile_regex(pattern, ("a", "b"), "r")
    assert info.value.column == column
