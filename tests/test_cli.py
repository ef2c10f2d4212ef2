"""The CLI on bad input: one clear message, exit 1, no traceback, nothing of the user's lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from logdepth.cli import main
from logdepth.compiler.assemble import assemble
from logdepth.model.compiled import CompiledModel
from tests.compiler.programs import counter_program

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def demo(tmp_path) -> Path:
    path = tmp_path / "demo.safetensors"
    CompiledModel(assemble(counter_program()), {"report": {"what": "demo"}}).save(path)
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_inspect_shows_cells_and_layer_texts(capsys, demo):
    code, out, _ = run(capsys, "inspect", str(demo))
    assert code == 0
    assert "pos (psi): pos:a pos:b pos:-a pos:-b" in out
    assert "tmp := 0 and count += 1" in out
    code, out, _ = run(capsys, "inspect", str(demo), "--json")
    info = json.loads(out)
    assert (info["config"]["s"], info["config"]["r"], info["config"]["t"]) == (1, 2, 0)
    assert [c["name"] for c in info["cells"]] == ["one", "bos", "pos", "tmp", "count"]


def test_unknown_symbol_is_a_clear_error(capsys, demo):
    code, out, err = run(capsys, "run", str(demo), "xq")
    assert code == 1 and out == ""
    assert "symbol 'q' at position 2 is not in the alphabet" in err


def test_input_past_the_frontier_is_refused(capsys, demo):
    code, _, err = run(capsys, "run", str(demo), "x" * 1001)
    assert code == 1 and "beyond the verified frontier" in err


def test_corrupt_weight_file(capsys, tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 3)
    for verb in ("inspect", "run", "verify"):
        code, _, err = run(capsys, verb, str(bad), *(["x"] if verb == "run" else []))
        assert code == 1 and "not a safetensors file" in err


def test_malformed_spec_is_located_and_nothing_is_overwritten(capsys, tmp_path):
    spec = tmp_path / "bad.ld"
    spec.write_text("dfa p {\n    alphabet: 0, 1\n    start even\n}\n")
    out = tmp_path / "keep.safetensors"
    out.write_bytes(b"the user's precious file")
    code, _, err = run(capsys, "compile", str(spec), "-o", str(out))
    assert code == 1
    assert err.startswith(f"{spec}:3:")
    assert "^" in err
    assert out.read_bytes() == b"the user's precious file"


def test_no_traceback_from_the_installed_entry_point(tmp_path):
    spec = tmp_path / "bad.ld"
    spec.write_text("dfa p { alphabet: 0\n start: a\n accept: a\n a 0 -> b }\n")
    result = subprocess.run(
        [sys.executable, "-m", "logdepth", "compile", str(spec), "-o", str(tmp_path / "x")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "error:" in result.stderr and "'b'" in result.stderr
    assert not (tmp_path / "x").exists()
