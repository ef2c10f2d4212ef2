"""construction="auto" picks by the language's class (starfree for aperiodic, counting for a
cyclic group, wide otherwise) and records why; `logdepth compare` shows every applicable
construction side by side."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import logdepth
from logdepth import catalog
from logdepth.cli import main
from logdepth.compare import compare
from logdepth.verify.precision import word_cases

ROOT = Path(__file__).resolve().parents[1]
BASICS = logdepth.parse_file(ROOT / "examples" / "basics.ld")
STARFREE = logdepth.parse_file(ROOT / "examples" / "starfree.ld")


@pytest.mark.parametrize(
    ("automaton", "levels"), [(STARFREE["abb"], 3), (BASICS["ends_ab"], 2), (BASICS["no_aa"], 2)]
)
def test_auto_compiles_star_free_languages_in_constant_depth(automaton, levels):
    model = logdepth.compile(automaton, construction="auto")
    chosen = model.extra["report"]["chosen"]
    assert chosen["construction"] == "starfree" and chosen["class"] == "aperiodic"
    assert chosen["certificate"] is None  # aperiodic: nothing cycles
    assert model.num_layers(16) == model.num_layers(4096) == 2 * levels
    for n in (64, 1000):
        cases = word_cases(model, automaton, n, 2, seed=n)
        assert any(c.want == "accept" for c in cases)
        assert model.run_tokens([c.tokens for c in cases]) == [c.want for c in cases]
    small = model.to("float32")
    assert small.frontier >= 64
    cases = word_cases(small, automaton, 64, 2, seed=4)
    assert small.run_tokens([c.tokens for c in cases]) == [c.want for c in cases]


def test_auto_takes_counting_for_a_cyclic_group():
    model = logdepth.compile(BASICS["mod3"], construction="auto")
    chosen = model.extra["report"]["chosen"]
    assert chosen["construction"] == "counting" and chosen["class"] == "solvable"
    assert chosen["certificate"]["period"]["period"] == 3
    assert model.num_layers(16) == model.num_layers(4096)
    assert model.accepts("aaab") and not model.accepts("aab")


@pytest.mark.parametrize(("name", "klass"), [("a5", "non-solvable")])
def test_auto_never_compiles_a_group_that_is_not_cyclic_to_constant_depth(name, klass):
    """A5 (non-solvable) gets the wide Theorem 1: log depth (a solvable group that is not
    cyclic, S3, now gets the solvable cascade: tests/test_solvable_auto.py)."""
    model = logdepth.compile(BASICS[name], construction="auto")
    chosen = model.extra["report"]["chosen"]
    assert chosen["construction"] == "wide" and chosen["class"] == klass
    assert model.config.construction == catalog.get("wide").config_name
    assert model.num_layers(4096) > model.num_layers(16)
    if klass == "non-solvable":
        assert chosen["certificate"]["non_solvable"]["order"] == 60
        with pytest.raises(logdepth.CompileError, match="(?s)is non-solvable.*certificate"):
            logdepth.compile(BASICS[name], construction="starfree")
    else:
        assert any(r.startswith("counting refused") for r in chosen["refused"])


def test_the_choice_is_recorded_in_the_file(tmp_path, capsys):
    path = tmp_path / "abb.ld"
    path.write_text('regex abb {\n    alphabet: a, b\n    pattern: "(a|b)*abb"\n}\n')
    out = tmp_path / "abb.safetensors"
    assert main(["compile", str(path), "--construction", "auto", "-o", str(out)]) == 0
    assert "chosen: starfree (aperiodic: " in capsys.readouterr().out
    loaded = logdepth.load(out)
    assert loaded.extra["report"]["chosen"]["construction"] == "starfree"
    assert main(["inspect", str(out)]) == 0
    # inspect summarises a long report entry by its first keys (--json keeps it whole).
    assert "construction: starfree" in capsys.readouterr().out
    assert main(["inspect", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["report"]["chosen"]["construction"] == "starfree"
    assert catalog.of_config(loaded.config.construction) is catalog.get("starfree")


def test_compare_lists_every_applicable_construction():
    rows = {r.construction: r for r in compare(BASICS["ends_ab"], (64, 4096))}
    assert {"uniform", "wide", "counting", "starfree"} <= set(rows)
    assert rows["starfree"].chosen_by_auto and not rows["uniform"].chosen_by_auto
    assert rows["starfree"].layers == {64: 4, 4096: 4}
    assert rows["uniform"].layers[4096] > rows["uniform"].layers[64]
    assert "not a group" in rows["counting"].refused
    assert rows["starfree"].frontier == {"float64": 19483, "float32": 110}
    assert rows["starfree"].d_model < rows["uniform"].d_model


def test_the_cli_compare(capsys):
    spec = str(ROOT / "examples" / "basics.ld")
    assert main(["compare", spec, "--name", "a5", "--n", "64,4096"]) == 0
    out = capsys.readouterr().out
    assert "wide (auto)" in out and "starfree: refused" in out and "non-solvable" in out
    assert main(["compare", spec, "--name", "ends_ab", "--n", "64", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["layers"] for r in rows if r["construction"] == "starfree"] == [{"64": 4}]
    assert main(["compare", spec, "--name", "ends_ab", "--n", "64,zero"]) != 0
    assert "--n takes" in capsys.readouterr().err
