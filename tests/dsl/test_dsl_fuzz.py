"""Fuzzing: bad input never escapes as anything but a located DSLError/SpecError, and the
canonical printer round-trips random specs."""

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logdepth.dsl import format, parse
from logdepth.errors import DSLError, SpecError

EXAMPLE = (Path(__file__).resolve().parents[2] / "examples" / "basics.ld").read_text()
TOKEN_RE = re.compile(r'"(?:[^"\\\n]|\\.)*"|->|[A-Za-z0-9_\']+|\n|[^\sA-Za-z0-9_]')


def tokens(text):
    return TOKEN_RE.findall(text)


def assert_parses_or_located(text):
    try:
        parse(text, file="fuzz.ld")
    except (DSLError, SpecError) as err:
        lines = text.split("\n")
        assert err.line is not None and 1 <= err.line <= max(len(lines), 1), str(err)
        assert err.column is not None and 1 <= err.column <= len(lines[err.line - 1]) + 1, str(err)
        assert str(err).startswith(f"fuzz.ld:{err.line}:{err.column}: error: ")


EXAMPLE_TOKENS = tokens(EXAMPLE)


@st.composite
def mutated(draw):
    toks = list(EXAMPLE_TOKENS)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "replace"]))
        i = draw(st.integers(0, len(toks) - 1))
        if op == "delete":
            del toks[i]
        elif op == "duplicate":
            toks.insert(i, toks[i])
        elif op == "swap":
            j = draw(st.integers(0, len(toks) - 1))
            toks[i], toks[j] = toks[j], toks[i]
        else:
            toks[i] = draw(st.sampled_from(EXAMPLE_TOKENS + ["@", '"', "{", "}", "(", "", "99"]))
    return " ".join(toks).replace(" \n ", "\n")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_specs_parse_or_raise_located_errors(text):
    assert_parses_or_located(text)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('dfagrphcek {}:,->()"#\n\t 0123a\\xyz')), max_size=80))
def test_random_text_parses_or_raises_located_errors(text):
    assert_parses_or_located(text)


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_unicode(text):
    assert_parses_or_located(text)


# -- round trip ---------------------------------------------------------------------------------

names = st.from_regex(r"[a-z][a-z0-9_]{0,5}", fullmatch=True)


@st.composite
def dfa_block(draw, name):
    alphabet = draw(st.sampled_from([["0", "1"], ["a", "b", "c"], ["x"], ["ab", "cd"]]))
    n = draw(st.integers(1, 4))
    states = [f"q{i}" for i in range(n)]
    lines = [
        f"alphabet: {', '.join(alphabet)}",
        f"start: {states[0]}",
        f"accept: {', '.join(s for s in states if draw(st.booleans()))}",
    ]
    for q in states:
        for a in alphabet:
            lines.append(f"{q} {a} -> {draw(st.sampled_from(states))}")
    return f"dfa {name} {{\n" + "\n".join(draw(st.permutations(lines))) + "\n}\n", alphabet


@st.composite
def nfa_block(draw, name):
    n = draw(st.integers(1, 4))
    states = [f"s{i}" for i in range(n)]
    lines = ["alphabet: a, b", f"start: {', '.join(states[: draw(st.integers(1, n))])}"]
    for _ in range(draw(st.integers(0, 5))):
        syms = draw(st.lists(st.sampled_from(["a", "b"]), min_size=1, max_size=2, unique=True))
        tg = draw(st.lists(st.sampled_from(states), min_size=1, max_size=3, unique=True))
        lines.append(f"{draw(st.sampled_from(states))} {', '.join(syms)} -> {', '.join(tg)}")
    return f"nfa {name} {{\n" + "\n   ".join(lines) + "\n}\n", ["a", "b"]


@st.composite
def regex_block(draw, name):
    pat = draw(st.sampled_from(["(b|ab)*a?", "a+", "[ab]{1,3}", ".*b", "", "\\\\a"]))
    pat = pat.replace("\\\\", "\\")  # the last one is a literal via escape: pattern \a
    return (
        f'regex {name} {{ alphabet: a, b\n pattern: "{pat.replace(chr(92), chr(92) * 2)}" }}\n',
        ["a", "b"],
    )


@st.composite
def group_block(draw, name):
    kind = draw(
        st.sampled_from(
            [
                "alternating 4",
                "symmetric 3",
                "cyclic 5",
                "dihedral 4",
                "generators: (1 2 3)(4 5), 21345",
                "generators: (1 2)",
            ]
        )
    )
    alpha = draw(st.sampled_from(["", "\n alphabet: generators", "\n alphabet: elements"]))
    return f"group {name} {{\n {kind}{alpha}\n}}\n", None


@st.composite
def graph_block(draw, name):
    nodes = ["a", "b", "c", "d"]
    lines = [draw(st.sampled_from(["directed", "undirected", ""]))]
    if draw(st.booleans()):
        lines.append("nodes: " + ", ".join(nodes))
    for _ in range(draw(st.integers(0, 4))):
        tg = draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=3, unique=True))
        lines.append(f"{draw(st.sampled_from(nodes))} -> {', '.join(tg)}")
    return f"graph {name} {{\n" + "\n".join(lines) + "\n}\n", nodes


@st.composite
def specs(draw):
    count = draw(st.integers(1, 4))
    block_names = draw(st.lists(names, min_size=count, max_size=count, unique=True))
    parts, checks = [], []
    for name in block_names:
        kind = draw(st.sampled_from([dfa_block, nfa_block, regex_block, group_block, graph_block]))
        text, _ = draw(kind(name))
        parts.append(text)
        if kind is graph_block and "nodes" in text or kind is graph_block and "->" in text:
            spec = parse(text)
            nodes = spec[name].nodes
            if nodes:
                pairs = draw(
                    st.lists(
                        st.tuples(st.sampled_from(nodes), st.sampled_from(nodes)),
                        min_size=1,
                        max_size=3,
                    )
                )
                verb = draw(st.sampled_from(["connected", "disconnected"]))
                checks.append(f"check {name} {verb} " + ", ".join(f"{s} -> {t}" for s, t in pairs))
        elif kind is not graph_block:
            alphabet = parse(text)[name].alphabet
            ws = draw(
                st.lists(st.lists(st.sampled_from(alphabet), max_size=4), min_size=1, max_size=3)
            )
            sep = "" if all(len(a) == 1 for a in alphabet) else "  "
            verb = draw(st.sampled_from(["accepts", "rejects"]))
            checks.append(f"check {name} {verb} " + ", ".join(f'"{sep.join(w)}"' for w in ws))
    items = parts + checks
    order = draw(st.permutations(items))
    return "\n# comment\n\n".join(order) + "\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_round_trip_and_idempotent(text):
    spec = parse(text)
    canon = format(spec)
    again = parse(canon)
    assert again == spec
    assert format(again) == canon
    for name in spec.names:
        assert again[name] == spec[name]  # the lowered objects agree too


# -- structured fuzz: well-formed statements with wrong meanings reach the lowering -------------

_word = st.sampled_from(
    [
        "a",
        "b",
        "0",
        "1",
        "12",
        "123",
        "21",
        "10",
        "x",
        "alphabet",
        "start",
        "accept",
        "states",
        "pattern",
        "generators",
        "degree",
        "nodes",
        "directed",
        "undirected",
        "alternating",
        "symmetric",
        "cyclic",
        "dihedral",
        "elements",
        "5",
        "9",
    ]
)
_value = st.one_of(
    _word,
    st.sampled_from(
        [
            '"ab"',
            '""',
            '"(a"',
            '"a*"',
            '"[a-"',
            '"\\\\"',
            '"<ab>"',
            "(1 2)",
            "(1 2 3)(4 5)",
            "()",
            "(0)",
            "(1 1)",
            "(a)",
        ]
    ),
)
_stmt = st.one_of(
    st.builds(lambda k, vs: f"{k}: " + ", ".join(vs), _word, st.lists(_value, max_size=3)),
    st.builds(
        lambda s, syms, ts: f"{s} {', '.join(syms)} -> {', '.join(ts)}",
        _word,
        st.lists(_word, max_size=2),
        st.lists(_word, min_size=1, max_size=2),
    ),
    st.builds(" ".join, st.lists(_word, min_size=1, max_size=2)),
)
_block = st.builds(
    lambda k, n, body: f"{k} {n} {{\n" + "\n".join(body) + "\n}\n",
    st.sampled_from(["dfa", "nfa", "regex", "group", "graph"]),
    st.sampled_from(["g", "h"]),
    st.lists(_stmt, max_size=7),
)
_check = st.builds(
    lambda n, v, args: f"check {n} {v} {args}",
    st.sampled_from(["g", "h"]),
    st.sampled_from(["accepts", "rejects", "connected", "disconnected"]),
    st.sampled_from(['""', '"ab"', '"12 21"', "a -> b", "1 -> 0, a -> a", '"0"']),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_block, _check), max_size=4))
def test_wellformed_nonsense_raises_located_spec_errors(items):
    assert_parses_or_located("\n".join(items))
