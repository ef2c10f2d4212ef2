"""Facts read from the catalog rather than restated: which entries auto may choose (`serves`),
Theorem 2's precision entry in the gap models, and the word constructions on the driver's
program path."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import pytest

import logdepth
from logdepth import catalog

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def fresh_catalog(monkeypatch):
    """The catalog as it was before the test: registrations undone."""
    monkeypatch.setattr(catalog, "_BY_NAME", dict(catalog._BY_NAME))
    monkeypatch.setattr(catalog, "_BY_CONFIG", dict(catalog._BY_CONFIG))
    return monkeypatch


def test_every_precision_entry_is_a_gap_model():
    """verify re-derives a file's precision record through the entry: it must reach logdepth/gaps,
    never a builder (Theorem 2's entry once named constructions.connectivity)."""
    for entry in catalog.CONSTRUCTIONS:
        assert entry.precision.startswith("logdepth.gaps."), entry.name


def test_theorem_2s_gap_model_is_the_programs():
    """The catalog's Theorem 2 model (the shape the catalog states) equals the gap model at the
    shape the builder reads off its program."""
    from logdepth.constructions.connectivity import program_shape
    from logdepth.gaps import connectivity as gaps

    tolerance, n_of_bits = catalog.get("connectivity").precision_model()
    assert tolerance == gaps.TAU
    assert n_of_bits.func is gaps.frontier_for_bits and n_of_bits.keywords == {
        "shape": program_shape()
    }


def test_auto_names_no_construction():
    """auto's choices are the catalog's: its module states no construction name as a value
    (docstrings aside), neither a candidate nor the fallback."""
    names = {e.name for e in catalog.CONSTRUCTIONS} | {e.config_name for e in catalog.CONSTRUCTIONS}
    tree = ast.parse((ROOT / "logdepth" / "constructions" / "auto.py").read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    stated = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in names and id(node) not in docstrings
    ]
    # "solvable" is also a language class: the fallback's reasons are keyed by class.
    assert set(stated) <= {"solvable"}, stated


def test_serving_lists_the_entries_for_a_class_in_catalog_order(fresh_catalog):
    assert [e.name for e, _ in catalog.serving("aperiodic")] == ["starfree"]
    assert [e.name for e, _ in catalog.serving("solvable")] == ["counting", "solvable"]
    assert catalog.serving("non-solvable") == []
    extra = logdepth.register(
        replace(
            catalog.get("wide"),
            name="test-serving",
            config_name="test-serving-config",
            serves={"non-solvable": "a test entry for the class"},
        )
    )
    assert catalog.serving("non-solvable") == [(extra, "a test entry for the class")]


def test_auto_chooses_a_registered_entry_serving_the_class(fresh_catalog):
    """A plug-in that serves a class joins auto's choice (A5: non-solvable, which no built-in
    constant-depth entry serves)."""
    logdepth.register(
        replace(
            catalog.get("wide"),
            name="test-serving",
            config_name="test-serving-config",
            serves={"non-solvable": "a test entry for the class"},
        )
    )
    a5 = logdepth.parse_file(ROOT / "examples" / "basics.ld")["a5"]
    model = logdepth.compile(a5, construction="auto")
    chosen = model.extra["report"]["chosen"]
    assert chosen["construction"] == "test-serving" and chosen["class"] == "non-solvable"
    assert chosen["reason"] == "a test entry for the class"
    assert model.config.construction == "test-serving-config"


def test_word_constructions_build_through_the_program_path():
    """Every built-in construction but the chooser gives the driver a Program and a report
    (no `build` of its own), and its compile_* function is the driver's build."""
    from logdepth.constructions import counting

    for entry in catalog.CONSTRUCTIONS:
        assert (entry.program is None) == entry.chooser, entry.name
        assert (entry.report is None) == entry.chooser, entry.name
    cyclic = logdepth.parse_file(ROOT / "examples" / "basics.ld")["mod3"]
    model = counting.compile_counting(cyclic)
    assert model.config.construction == catalog.get("counting").config_name
    assert model.extra["report"]["modulus"] == 3 and model.extra["source"] is None
