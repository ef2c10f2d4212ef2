"""`verify` counts what it ran and never overstates: accepted words run at every length that has
them (a date-stamp regex accepts words of length 10 only), the empty language is said to be
empty, and the budget bounds everything past the base words (a billion-symbol --max-length
returns promptly and says what it skipped)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import logdepth
from logdepth.automata.dfa import DFA
from logdepth.constructions.regular import compile_regular
from logdepth.verify.counting import verify_counting
from logdepth.verify.regular import verify_regular
from logdepth.verify.words import BASE_LENGTH

ROOT = Path(__file__).resolve().parents[2]
SPEC = logdepth.parse_file(ROOT / "examples" / "basics.ld")
# A date-and-hour stamp YYYYMMDDHH over the digits: every accepted word has length 10, which is
# neither exhaustive (10^10 words) nor one of the lengths 2^k - 1, 2^k, 2^k + 1.
STAMP = logdepth.parse(
    "regex stamp {\n alphabet: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9\n"
    ' pattern: "[12][0-9]{3}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])([01][0-9]|2[0-3])"\n}\n'
)["stamp"]


def _by_length(report) -> dict[int, dict]:
    return {entry["n"]: entry for entry in report.details["lengths"]}


def test_a_date_stamp_runs_accepted_words_where_it_has_them():
    model = compile_regular(STAMP)
    report = verify_regular(model, max_length=12, samples=4, exhaustive=1, budget_s=0)
    assert report.ok, report.lines
    lengths = _by_length(report)
    assert sorted(lengths) == list(range(13))
    # Length 10 is the only one with accepted words, and accepted words ran there.
    assert [n for n, e in lengths.items() if e["language_accepts"]] == [10]
    assert lengths[10]["accepted"] >= 1 and lengths[10]["rejected"] >= 1
    assert lengths[10]["language_accepted_count"] == 2000 * 12 * 31 * 24
    assert all(e["accepted"] == 0 for n, e in lengths.items() if n != 10)
    assert report.details["accepted_words"] == lengths[10]["accepted"]
    assert "  length 10: 1 accepted, 1 rejected ran" in report.lines
    assert any(line.startswith("  lengths 0-9: 0 accepted (the language accepts no word of these")
               for line in report.lines)
    assert not any("with accepting ones" in line for line in report.lines)


def test_an_empty_language_is_said_to_be_empty():
    delta = {("s", "a"): "s", ("s", "b"): "s"}
    empty = DFA("none", ["s"], ["a", "b"], "s", frozenset(), delta)
    report = verify_regular(
        compile_regular(empty), max_length=12, samples=4, exhaustive=3, budget_s=0
    )
    assert report.ok, report.lines  # a model that rejects everything is right here
    assert report.details["language_empty"] is True
    assert report.details["accepted_words"] == 0 and report.details["rejected_words"] > 0
    assert any(line.startswith("the language is empty: the automaton accepts no word of any")
               for line in report.lines)


def test_a_universal_language_says_no_rejected_word_exists():
    delta = {("s", "a"): "s", ("s", "b"): "s"}
    everything = DFA("all", ["s"], ["a", "b"], "s", frozenset({"s"}), delta)
    report = verify_regular(
        compile_regular(everything), max_length=8, samples=2, exhaustive=2, budget_s=0
    )
    assert report.ok, report.lines
    assert report.details["language_universal"] is True
    assert any("no rejected word exists" in line for line in report.lines)


def test_a_zero_budget_runs_the_base_words_and_says_what_it_skipped():
    """max_length far past the frontier: clamped to it; nothing past BASE_LENGTH fits in a
    zero budget (every measured run costs more than nothing), and the report says so. (The
    word runner is shared; the 8-layer counting model keeps the test fast.)"""
    model = logdepth.compile(SPEC["parity"], construction="counting")
    report = verify_counting(model, max_length=10**9, samples=20, exhaustive=2, budget_s=0)
    assert report.ok, report.lines
    assert report.details["max_length"] == model.frontier
    assert max(_by_length(report)) <= BASE_LENGTH
    skipped = report.details["skipped_for_budget"]
    assert skipped["words"] > 0 and min(skipped["lengths"]) > BASE_LENGTH
    assert any(line.startswith("skipped for the budget of 0 s:") for line in report.lines)
    assert any("skipped for the budget" in line and "longest words run" in line
               for line in report.lines)


def test_the_cli_with_a_billion_max_length_and_a_one_second_budget_returns(tmp_path):
    path = tmp_path / "parity.safetensors"
    model = logdepth.compile(SPEC["parity"], construction="counting")
    model.save(path)
    command = [sys.executable, "-m", "logdepth", "verify", str(path), "--max-length",
               "1000000000", "--budget", "1", "--samples", "20", "--exhaustive", "2", "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] and report["details"]["max_length"] == model.frontier
    assert report["details"]["skipped_for_budget"]["words"] > 0
    assert any(line.startswith("skipped for the budget of 1 s:") for line in report["lines"])


@pytest.mark.slow
def test_the_emulated_check_counts_its_accepted_words():
    """The float32 stamp model's emulated check runs words of length n(p) != 10: none can be
    accepted, and the line says 0 accepted instead of "with accepting ones" (an unbounded
    budget: the probe reaches the frontier 110 on any machine)."""
    model = compile_regular(STAMP).to("float32")
    report = verify_regular(
        model, max_length=12, samples=2, exhaustive=1, budget_s=float("inf")
    )
    assert report.ok, report.lines
    assert report.details["emulated"] is not None and report.details["emulated"]["n"] != 10
    emulated = [line for line in report.lines if line.startswith("precision model checked")]
    assert len(emulated) == 1 and ": 0 accepted, " in emulated[0], emulated
