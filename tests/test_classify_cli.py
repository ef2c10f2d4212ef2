"""`logdepth classify SPEC [--name NAME] [--json]`: the class of each automaton's language."""

from __future__ import annotations

import json
from pathlib import Path

import logdepth
from logdepth.automata.words import parse_word
from logdepth.cli import main

ROOT = Path(__file__).resolve().parents[1]
BASICS = str(ROOT / "examples" / "basics.ld")
AUTOMATA = ["parity", "mod3", "ends_ab", "no_aa", "a5", "rot"]  # basics.ld minus its graph


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_every_automaton_gets_a_section(capsys):
    code, out, err = run(capsys, "classify", BASICS)
    assert code == 0 and err == ""
    heads = [line for line in out.splitlines() if line and not line.startswith(" ")]
    assert heads == [
        "parity: solvable",
        "mod3: solvable",
        "ends_ab: aperiodic",
        "no_aa: aperiodic",
        "a5: non-solvable",
        "rot: solvable",
    ]
    assert "A5: order 60, NOT solvable" in out
    assert "syntactic monoid: 60 elements" in out


def test_json_lines_one_object_per_automaton(capsys):
    code, out, _ = run(capsys, "classify", BASICS, "--json")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["name"] for r in rows] == AUTOMATA
    assert [r["monoid_size"] for r in rows] == [2, 3, 5, 6, 60, 6]
    assert all(r["certificate"] is None for r in rows if r["class"] == "aperiodic")


def test_json_certificate_replays(capsys):
    code, out, _ = run(capsys, "classify", BASICS, "--name", "a5", "--json")
    assert code == 0
    data = json.loads(out)
    assert (data["class"], data["monoid_size"]) == ("non-solvable", 60)
    assert data["subgroups"][0]["structure"] == "A5"
    a5 = logdepth.parse_file(BASICS)["a5"]
    cert = data["certificate"]["period"]

    def word(text: str) -> list[str]:
        return list(parse_word(text, a5.alphabet))

    x = word(cert["word"])
    answers = [
        a5.accepts(word(cert["prefix"]) + x * k + word(cert["suffix"]))
        for k in (cert["index"], cert["index"] + 1)
    ]
    assert answers[0] == cert["accepted_at_index"] != answers[1]
    assert data["certificate"]["non_solvable"]["derived_series"] == [60]


def test_a_graph_is_refused(capsys):
    code, out, err = run(capsys, "classify", BASICS, "--name", "diamond")
    assert code == 1 and out == ""
    assert "'diamond' is a graph; classify takes an automaton" in err
    assert "Traceback" not in err


def test_a_file_without_automata_is_refused(capsys, tmp_path):
    spec = tmp_path / "g.ld"
    spec.write_text("graph g {\n    directed\n    nodes: a, b\n    a -> b\n}\n")
    code, out, err = run(capsys, "classify", str(spec))
    assert code == 1 and out == ""
    assert "defines no automaton to classify" in err


def test_over_the_budget_fails_only_its_own_block(capsys, monkeypatch):
    monkeypatch.setenv("LOGDEPTH_MAX_MONOID", "2")  # parity has 2 elements, mod3 has 3
    code, out, err = run(capsys, "classify", BASICS, "--json")
    assert code == 1
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[0]["class"] == "solvable"
    assert "more than 2 elements" in rows[1]["error"]
    assert "mod3: the syntactic monoid of 'mod3' has more than 2 elements" in err
    assert "LOGDEPTH_MAX_MONOID" in err
    code, _, err = run(capsys, "classify", BASICS, "--name", "mod3")
    assert code == 1 and "LOGDEPTH_MAX_MONOID=N" in err
