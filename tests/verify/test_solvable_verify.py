"""verify_solvable: passes on compiled solvable-cascade weights from the file alone, and fails
when the weights or the stored cascade are wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

import logdepth
from logdepth import catalog
from logdepth.cli import main
from logdepth.constructions import solvable
from logdepth.model.compiled import CompiledModel
from logdepth.verify import solvable as verify_module
from logdepth.verify.solvable import read_claim, verify_solvable
from logdepth.verify.starfree import check_cells
from tests.automata.test_classes import ALL

ROOT = Path(__file__).resolve().parents[2]
BASICS = logdepth.parse_file(ROOT / "examples" / "basics.ld")
PARITY = ALL["parity"]


@pytest.fixture(scope="module")
def parity() -> CompiledModel:
    return solvable.compile_solvable(PARITY)


def _tampered(model: CompiledModel, layer: str, cell: str, columns: slice) -> CompiledModel:
    """The same weights with `cell`'s rows of `layer`'s feed-forward output zeroed in
    `columns`."""
    tensors = {k: v.clone() for k, v in model.network.tensors.items()}
    info = model.config.cell(cell)
    tensors[f"{layer}.mlp.W_out"][info.offset : info.stop, columns] = 0.0
    return CompiledModel(type(model.network)(model.config, tensors), model.extra)


def test_a_tampered_counter_is_caught_by_the_decoded_levels(parity):
    """The counter's difference steps removed (its constant stays): level.1 never moves."""
    layer = f"initial.{solvable.layer_count([('reset', 3), ('counter', 2)]) - 2}"
    broken = _tampered(parity, layer, "level.1", slice(1, None))
    errors = check_cells(broken, read_claim(broken), list("0110"))
    assert errors and "level.1" in errors[0]
    assert not verify_solvable(broken, PARITY, max_length=8, samples=4, exhaustive=3,
                               budget_s=0).ok


def test_a_stored_cascade_that_is_not_the_automatons_is_refused(parity):
    extra = dict(parity.extra)
    cascade = dict(extra["report"]["cascade"])
    cascade["accept"] = []
    extra["report"] = dict(extra["report"], cascade=cascade)
    forged = CompiledModel(parity.network, extra)
    report = verify_solvable(forged, PARITY, max_length=8, samples=4, exhaustive=3, budget_s=0)
    assert not report.ok and "disagree on" in report.lines[-1]


def test_the_cli_compiles_and_verifies_a_solvable_file(tmp_path, capsys):
    path = tmp_path / "rot.safetensors"
    assert main(["compile", str(ROOT / "examples" / "basics.ld"), "--name", "rot",
                 "--construction", "solvable", "-o", str(path)]) == 0
    assert main(["verify", str(path), "--max-length", "16", "--samples", "8", "--exhaustive", "4",
                 "--budget", "0"]) == 0
    assert "every level" in capsys.readouterr().out


def test_the_cli_refuses_a_non_solvable_language(tmp_path, capsys):
    out = tmp_path / "a5.safetensors"
    assert main(["compile", str(ROOT / "examples" / "basics.ld"), "--name", "a5",
                 "--construction", "solvable", "-o", str(out)]) != 0
    err = capsys.readouterr().err
    assert "non-solvable" in err and "generate a group of order 60" in err
    assert "Traceback" not in err and not out.exists()


def test_verify_restates_the_constructions_constants():
    assert verify_module.TABLE_LAYERS == solvable.TABLE_LAYERS
    assert verify_module.RESET_LAYERS == solvable.RESET_LAYERS
    assert verify_module.ENTRY == "solvable"


def test_the_registry_entry_drives_compile_precision_and_verify(parity):
    entry = catalog.get("solvable")
    assert entry.config_name == solvable.CONSTRUCTION == parity.config.construction
    report = parity.extra["report"]
    assert entry.layers(10**6, report=report) == parity.num_layers(10**6) == 12
    tolerance, n_of_bits = entry.precision_model(report)
    assert {"float64": n_of_bits(52), "float32": n_of_bits(23)} == parity.config.frontier
    assert tolerance == parity.config.tie_tolerance
    assert entry.verify_function()(parity, max_length=8, samples=4, exhaustive=3, budget_s=0).ok


def test_explain_refuses_a_solvable_file_with_the_reason(tmp_path, capsys):
    path = tmp_path / "parity.safetensors"
    solvable.compile_solvable(PARITY).save(path)
    out = tmp_path / "run.html"
    assert main(["explain", str(path), "0110", "-o", str(out)]) != 0
    err = capsys.readouterr().err
    assert "solvable cascade" in err and "Traceback" not in err and not out.exists()
