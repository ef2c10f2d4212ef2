"""verify_starfree: passes on compiled star-free weights from the file alone, and fails when
the answer layer is tampered with, when a level's table is, or when the stored cascade is not
the automaton's; it imports no construction and restates the construction's constants."""

from __future__ import annotations

from pathlib import Path

import pytest

import logdepth
from logdepth.build import build
from logdepth.cli import main
from logdepth.constructions import starfree
from logdepth.model.compiled import CompiledModel
from logdepth.verify import starfree as verify_module
from logdepth.verify.starfree import check_cells, read_claim, verify_starfree

ROOT = Path(__file__).resolve().parents[2]
SPEC = logdepth.parse_file(ROOT / "examples" / "basics.ld")
ABB = logdepth.parse_file(ROOT / "examples" / "starfree.ld")["abb"]


@pytest.fixture(scope="module")
def abb() -> CompiledModel:
    return starfree.compile_starfree(ABB)


def _tampered(model: CompiledModel, layer: str, cell: str, columns: slice) -> CompiledModel:
    """The same weights with `cell`'s rows of `layer`'s feed-forward output zeroed in
    `columns` (the other hidden units write other cells)."""
    tensors = {k: v.clone() for k, v in model.network.tensors.items()}
    info = model.config.cell(cell)
    tensors[f"{layer}.mlp.W_out"][info.offset : info.stop, columns] = 0.0
    return CompiledModel(type(model.network)(model.config, tensors), model.extra)


def test_verify_passes_from_the_weight_file_alone(tmp_path, abb):
    path = tmp_path / "abb.safetensors"
    abb.save(path)
    report = verify_starfree(
        logdepth.load(path), max_length=64, samples=20, exhaustive=5, budget_s=0
    )
    assert report.ok, report.lines
    assert report.details["levels"] == 3 and report.details["layers"] == 6
    assert report.details["cell_errors"] == 0 and report.details["mismatches"] == 0
    # Unbounded, the float32 copy reaches its frontier and emulates n(p) there, on any machine.
    small = logdepth.load(path).to("float32")
    report = verify_starfree(small, max_length=16, samples=4, exhaustive=3, budget_s=float("inf"))
    assert report.ok, report.lines
    assert report.details["largest_n_run"] == small.frontier == 110
    curve = abb.extra["report"]["frontier_by_bits"]
    bits = min(int(p) for p, n in curve.items() if n == small.frontier)
    assert report.details["emulated"] == {"bits": bits, "n": small.frontier}


def test_a_tampered_answer_layer_is_caught(abb):
    """The answer's steps removed (only its constant 'false' stays): every word is rejected."""
    broken = _tampered(abb, "final.0", "answer", slice(1, None))
    assert not broken.accepts("aabb") and abb.accepts("aabb")
    report = verify_starfree(broken, ABB, max_length=16, samples=10, exhaustive=4, budget_s=0)
    assert not report.ok and report.counterexample == "abb"


def test_a_tampered_level_table_is_caught_by_the_decoded_levels(abb):
    """Level 1's table never resets (its steps removed): level.1 keeps the start value."""
    broken = _tampered(abb, "initial.2", "rv.1", slice(None))
    broken = _tampered(broken, "initial.2", "reset.1", slice(None))
    errors = check_cells(broken, read_claim(broken), list("abab"))
    assert errors and "level.1" in errors[0]
    assert not verify_starfree(broken, ABB, max_length=8, samples=4, exhaustive=3, budget_s=0).ok


def test_a_stored_cascade_that_is_not_the_automatons_is_refused(abb):
    extra = dict(abb.extra)
    cascade = dict(extra["report"]["cascade"])
    cascade["accept"] = []
    extra["report"] = dict(extra["report"], cascade=cascade)
    forged = CompiledModel(abb.network, extra)
    report = verify_starfree(forged, ABB, max_length=8, samples=4, exhaustive=3, budget_s=0)
    assert not report.ok and "disagree on 'abb'" in report.lines[-1]


def test_the_cli_verifies_a_starfree_file(tmp_path, capsys):
    path = tmp_path / "ends_ab.safetensors"
    assert main(["compile", str(ROOT / "examples" / "basics.ld"), "--name", "ends_ab",
                 "--construction", "starfree", "-o", str(path)]) == 0
    assert main(["verify", str(path), "--max-length", "16", "--samples", "8", "--exhaustive", "4",
                 "--budget", "0"]) == 0
    assert "every level" in capsys.readouterr().out


def test_verify_restates_the_constructions_constants():
    assert verify_module.KEEP == starfree.KEEP
    assert verify_module.LAYERS_PER_LEVEL == starfree.LAYERS_PER_LEVEL
    assert verify_module.ENTRY == "starfree"


def test_the_registry_entry_drives_compile_precision_and_verify():
    from logdepth import catalog

    entry = catalog.get("starfree")
    model = build(entry, SPEC["ends_ab"], source="nfa ...")
    report = model.extra["report"]
    assert model.extra["source"] == "nfa ..." and entry.config_name == starfree.CONSTRUCTION
    assert entry.layers(10**6, report=report) == model.num_layers(10**6) == 4
    tolerance, n_of_bits = entry.precision_model(report)
    assert {"float64": n_of_bits(52), "float32": n_of_bits(23)} == model.config.frontier
    assert tolerance == model.config.tie_tolerance
    assert entry.verify_function()(model, max_length=8, samples=4, exhaustive=3, budget_s=0).ok
    with pytest.raises(logdepth.CompileError, match="number of levels"):
        entry.precision_model({})


def test_the_load_contract_restates_the_construction(tmp_path, abb):
    from logdepth.model import validate

    contract = validate.CONTRACTS[starfree.CONSTRUCTION]
    assert contract.s_r_t is None and not contract.fixed_depth
    assert contract.tolerance[0] < abb.config.tie_tolerance <= contract.tolerance[1]
    for dtype, bits in (("float64", 52), ("float32", 23)):
        best = max(starfree.frontier_for_bits(bits, levels) for levels in range(6))
        assert contract.frontier[dtype] == best == starfree.frontier_for_bits(bits, 1)
    path = tmp_path / "abb.safetensors"
    abb.save(path)
    assert logdepth.load(path).config == abb.config


def test_explain_draws_the_cascade_level_by_level(tmp_path, abb):
    """explain's page for a star-free model: every level's value at every token (none wrong
    against the stored cascade), the DFA state they name, and the layers grouped by level."""
    from logdepth.explain import explain_word, render_html

    data = explain_word(abb, "abaabb")
    assert data["kind"] == "cascade" and data["answer"] == data["expected"] == "accept"
    assert [lv["level"] for lv in data["levels"]] == [0, 1, 2]
    assert all(not lv["wrong"] and len(lv["values"]) == 8 for lv in data["levels"])
    assert data["formula"]["value"] == data["layers_run"] == 6
    assert {layer["group"] for layer in data["layers"]} == {"level 0", "level 1", "level 2"}
    page = render_html(data)
    assert "The holonomy cascade, level by level" in page and 'class="wrong"' not in page
    path = tmp_path / "abb.safetensors"
    abb.save(path)
    out = tmp_path / "abb.html"
    assert main(["explain", str(path), "abaabb", "-o", str(out)]) == 0 and out.exists()
