"""Output a person reads: compile's summary, inspect's summaries, trace tables that name their
token, precision's fit (refused below three sizes past the floor, frontier column, signs),
verify's wording, the depth plot's formula at every n, and compile --name lowering one block."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import logdepth
from logdepth import plot
from logdepth.cli import _brief, main
from logdepth.model.config import DepthRule
from logdepth.verify import precision as vprecision

ROOT = Path(__file__).resolve().parents[1]
BASICS = ROOT / "examples" / "basics.ld"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def parity_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("out") / "parity.safetensors"
    assert main(["compile", str(BASICS), "--name", "parity", "-o", str(path)]) == 0
    return path


def test_compile_prints_a_short_summary(tmp_path, capsys):
    out = tmp_path / "parity.safetensors"
    code, text, _ = run(capsys, "compile", str(BASICS), "--name", "parity", "-o", str(out))
    assert code == 0
    lines = text.splitlines()
    model = logdepth.load(out)
    assert lines[0] == f"wrote {out}: uniform (Theorem 1 (0, 8, 9))"
    assert lines[1] == "  (0, 8, 9)-universal transformer"
    assert lines[2] == "  layers: 8 ceil(log2 n) + 9"
    assert lines[3].startswith(f"  d_model {model.config.d_model}, ")
    assert lines[3].endswith(" parameters")
    f32, f64 = model.config.frontier["float32"], model.config.frontier["float64"]
    assert lines[4].endswith(f"float32 {f32:,} symbols, float64 {f64:,} symbols")
    assert len(lines) == 5  # the internals (tie tolerance, ulps) wait for --verbose
    assert "tie_tolerance" not in text and "score_rounding_ulps" not in text
    code, text, _ = run(
        capsys, "compile", str(BASICS), "--name", "parity", "-o", str(out), "--verbose"
    )
    assert code == 0
    assert text.splitlines()[:5] == lines
    assert "  tie_tolerance: " in text and "  score_rounding_ulps: " in text


def test_compile_name_lowers_only_that_block(tmp_path, capsys):
    spec = tmp_path / "two.ld"
    spec.write_text(
        "dfa good {\n    alphabet: a\n    start: q\n    accept: q\n    q a -> q\n}\n\n"
        "dfa bad {\n    alphabet: a\n    start: q\n    q b -> q\n}\n"
        'check bad accepts "a"\n'
    )
    out = tmp_path / "good.safetensors"
    code, text, err = run(capsys, "compile", str(spec), "--name", "good", "-o", str(out))
    assert code == 0, err
    assert out.exists()
    # An error in the named block itself still stops it, located.
    code, _, err = run(capsys, "compile", str(spec), "--name", "bad", "-o", str(tmp_path / "b"))
    assert code == 1 and "two.ld:11:7: error: undefined symbol 'b'" in err
    code, _, err = run(capsys, "compile", str(spec), "--name", "nope", "-o", str(tmp_path / "b"))
    assert code == 1 and "no spec named 'nope'; the file defines good, bad" in err
    # Without --name the whole file is lowered (and the bad block stops it).
    code, _, err = run(capsys, "compile", str(spec), "-o", str(tmp_path / "b"))
    assert code == 1 and "undefined symbol 'b'" in err
    assert not (tmp_path / "b").exists()


def test_inspect_summarises_long_entries_and_json_keeps_them(parity_file, capsys):
    code, text, _ = run(capsys, "inspect", str(parity_file))
    assert code == 0
    by_bits = logdepth.load(parity_file).extra["report"]["frontier_by_bits"]
    line = next(x for x in text.splitlines() if x.startswith("  frontier_by_bits: "))
    assert line.endswith(f"... ({len(by_bits)} keys)}}")
    assert "inspect --json" in text
    code, text, _ = run(capsys, "inspect", str(parity_file), "--json")
    assert json.loads(text)["report"]["frontier_by_bits"] == by_bits


def test_brief_keeps_a_large_codebook_to_one_line():
    # The shape of a 120-element codebook (S5), without compiling one.
    n = 120
    codebook = {
        "accepting": [k == 0 for k in range(n)],
        "elements": [[int(i == k) for i in range(n)] for k in range(n)],
        "identity": 0,
        "kind": "onehot",
        "letters": {str(k): k for k in range(n)},
        "table": [list(range(n)) for _ in range(n)],
    }
    assert len(str(codebook)) > 40_000
    line = _brief(codebook)
    assert len(line) < 300
    assert "accepting: [120 items]" in line and "kind: onehot" in line
    assert "letters: {0: 0, 1: 1, " in line and "... (120 keys)}" in line
    prose = "x" * 500
    assert _brief(prose) == prose  # prose is never cut


def test_trace_table_names_its_token(parity_file):
    model = logdepth.load(parity_file)
    trace = model.trace("011")
    assert trace.table(cells=["answer"]).splitlines()[0] == (
        "cells at token 4 of 0..4 ('<$>', where the answer is read)"
    )
    assert trace.table(position=2, cells=["answer"]).splitlines()[0] == (
        "cells at token 2 of 0..4 ('1')"
    )
    with pytest.raises(IndexError, match="outside the 5 tokens"):
        trace.table(position=5)


def _fake_sweep(monkeypatch, bits_by_n: dict[int, int]) -> None:
    """A sweep's units (a size, or a group of a large size's inputs) answer from a table: the
    CLI's fit and printing without forward passes."""
    monkeypatch.setattr(vprecision, "size_bits", lambda model, unit: bits_by_n[unit.n])


def test_precision_refuses_a_fit_through_two_sizes(parity_file, monkeypatch, capsys):
    # Flat to n = 64, then two growing sizes: a line through two points always fits.
    bits = {2: 21, 4: 21, 8: 21, 16: 21, 32: 21, 64: 21, 128: 23, 256: 27}
    _fake_sweep(monkeypatch, bits)
    code, text, _ = run(capsys, "precision", str(parity_file), "--max-n", "256")
    assert code == 1
    assert "no fit: 2 sizes past the flat floor (n = 128, 256)" in text
    assert "needs at least 3" in text and "fit over" not in text


def test_precision_prints_frontier_column_and_signed_fit(parity_file, monkeypatch, capsys):
    # p = 4 log2 n - 5 past a flat floor at n <= 8: the slope 4 of the issue, a negative b.
    bits = {n: (21 if n <= 8 else 4 * int(math.log2(n)) - 5) for n in (2, 4, 8, 16, 32, 64, 128)}
    _fake_sweep(monkeypatch, bits)
    code, text, _ = run(capsys, "precision", str(parity_file), "--max-n", "128")
    assert code == 0, text
    assert "p = 4.00 log2(n) - 5.00" in text and "+ -" not in text
    curve = logdepth.load(parity_file).extra["report"]["frontier_by_bits"]
    rows = {int(r.split()[0]): r.split() for r in text.splitlines() if r.strip()[:1].isdigit()}
    for n, p in bits.items():
        promised = curve.get(str(p))
        want = "-" if promised is None else ("none" if promised < 1 else f"{promised:,}")
        assert rows[n] == [str(n), str(p), want]
    assert rows[128][2] == f"{curve['23']:,}"  # a filled column where the file promises one


def test_verify_says_mantissa_bits(tmp_path, capsys):
    # A non-uniform build for N = 12 has a predicted n(p) <= 12 to emulate at; with no budget
    # the check is skipped, and the line that says so names p the same way.
    out = tmp_path / "nu.safetensors"
    assert main(["compile", str(BASICS), "--name", "parity", "--construction", "nonuniform",
                 "--max-length", "12", "-o", str(out)]) == 0
    capsys.readouterr()
    code, text, _ = run(capsys, "verify", str(out), "--exhaustive", "3", "--samples", "10",
                        "--budget", "0")
    assert code == 0, text
    assert "mantissa bits (emulated)" in text
    assert "-bit emulation" not in text


def test_depth_plot_formula_steps_at_every_n():
    series = plot.depth_series(max_n=20)
    corollary = series["Corollary 1.1 (non-uniform, N = n)"]
    assert corollary["n"] == list(range(1, 21))
    # Between powers of two the layer count is that of the next power: N = 5 needs 3 levels.
    formula = dict(zip(corollary["n"], corollary["formula"], strict=True))
    for n in range(1, 21):
        assert formula[n] == 4 * DepthRule.ceil_log2(n) + 5
    assert formula[5] == formula[8] == 4 * 3 + 5 and formula[4] == 4 * 2 + 5
    assert corollary["compiled_n"] == [1, 2, 4, 8, 16]
