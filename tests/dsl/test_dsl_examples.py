"""The issue's example spec parses and lowers to objects that behave as its comments say."""

import itertools
from pathlib import Path

import networkx as nx

from logdepth.automata.dfa import DFA
from logdepth.automata.nfa import NFA
from logdepth.dsl import format, parse, parse_file
from logdepth.dsl.checks import run_checks
from logdepth.graphs import Graph

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "basics.ld"


def words(alphabet, max_len):
    for n in range(max_len + 1):
        yield from itertools.product(alphabet, repeat=n)


def test_names_and_types():
    spec = parse_file(EXAMPLE)
    assert spec.names == ["parity", "mod3", "ends_ab", "no_aa", "a5", "rot", "diamond"]
    assert [type(spec[n]) for n in spec.names] == [DFA, DFA, NFA, DFA, DFA, DFA, Graph]
    assert [spec[n].source_kind for n in ("parity", "no_aa", "a5")] == ["dfa", "regex", "group"]
    assert spec.source == EXAMPLE.read_text()


def test_automata_mean_what_the_comments_say():
    spec = parse_file(EXAMPLE)
    for w in words("01", 7):
        assert spec["parity"].accepts(w) == (w.count("1") % 2 == 0)
    for w in words("ab", 7):
        assert spec["mod3"].accepts(w) == (w.count("a") % 3 == 0)
        assert spec["ends_ab"].accepts(w) == ("".join(w).endswith("ab"))
        assert spec["ends_ab"].determinize().accepts(w) == ("".join(w).endswith("ab"))
        assert spec["no_aa"].accepts(w) == ("aa" not in "".join(w))


def test_groups():
    spec = parse_file(EXAMPLE)
    a5 = spec["a5"]
    assert len(a5.states) == 60 and len(a5.alphabet) == 60
    assert a5.accepts(("23145", "31245")) and a5.accepts(()) and a5.accepts(("12345",))
    assert not a5.accepts(("23145", "23145"))
    rot = spec["rot"]
    assert rot.alphabet == ("231", "213") and len(rot.states) == 6  # S3


def test_graph_and_checks():
    spec = parse_file(EXAMPLE)
    g = spec["diamond"]
    assert g.directed and g.nodes == ("a", "b", "c", "d", "e")
    h = nx.DiGraph(list(g.edges))
    h.add_nodes_from(g.nodes)
    assert nx.has_path(h, "a", "d") and not nx.has_path(h, "a", "e")
    results = run_checks(spec)
    assert len(results) == 13 and all(r.passed for r in results)
    a5 = [r for r in results if r.check.target == "a5"]
    assert [r.case for r in a5] == [(), ("12345",), ("23145", "31245")]
    assert a5[2].line == 57 and a5[2].column == 31


def test_checks_use_supplied_deciders_and_report_failures():
    spec = parse_file(EXAMPLE)
    calls = []

    def always_accept(name, word):
        calls.append((name, word))
        return True

    results = run_checks(spec, accepts=always_accept, connected=lambda n, s, t: True)
    failed = [r for r in results if not r.passed]
    assert {(r.check.target, r.text) for r in failed} == {
        ("parity", "1"),
        ("parity", "010"),
        ("diamond", "d -> a"),
        ("diamond", "a -> e"),
    }
    assert ("a5", ("23145", "31245")) in calls
    assert "FAIL parity rejects '1' (expected reject, got accept)" in failed[0].describe()


def test_example_formats_canonically():
    spec = parse_file(EXAMPLE)
    text = format(spec)
    assert parse(text) == spec and format(parse(text)) == text
    # Every comment survives formatting (issue 10: fmt -w deleted them).
    comments = [line[line.index("#") :] for line in EXAMPLE.read_text().splitlines() if "#" in line]
    assert [line[line.index("#") :] for line in text.splitlines() if "#" in line] == comments


def test_single_line_block_and_no_trailing_newline():
    spec = parse('group c { cyclic 3 }\ncheck c accepts "231 231 231"')
    assert len(spec["c"].states) == 3
    assert all(r.passed for r in run_checks(spec))


def test_keywords_are_names_inside_blocks():
    spec = parse(
        "dfa check {\n alphabet: a\n start: accept\n accept: accept\n accept a -> accept\n}"
    )
    assert spec["check"].accepts(("a", "a"))


def test_graph_from_file_is_relative_to_spec(tmp_path):
    (tmp_path / "edges.txt").write_text("n 4\n1 2\n2 3\n")
    (tmp_path / "g.col").write_text("p edge 3 1\ne 1 3\n")
    spec_path = tmp_path / "s.ld"
    spec_path.write_text(
        'graph g from "edges.txt"\ngraph h from "g.col" directed\n'
        "check g connected 1 -> 3\ncheck g disconnected 1 -> 4, 3 -> 1\n"
        "check h disconnected 3 -> 1\n"
    )
    spec = parse_file(spec_path)
    assert spec["g"].nodes == ("1", "2", "3", "4") and spec["h"].directed
    assert all(r.passed for r in run_checks(spec))
    assert parse(format(spec), file=str(spec_path)) == spec


def test_nfa_and_states_field():
    spec = parse(
        "dfa d {\n alphabet: a\n states: p, q\n start: p\n accept:\n p a -> q\n q a -> p\n}"
    )
    assert spec["d"].states == ("p", "q") and spec["d"].accept == frozenset()
