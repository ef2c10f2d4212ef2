"""verify_regular: passes on compiled weights, and fails with the shortest counterexample when
the weights and the spec disagree (answers) or when the residual stream is corrupted
(invariants)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from logdepth.automata.dfa import DFA
from logdepth.constructions.regular import compile_regular
from logdepth.dsl import parse_file
from logdepth.model.compiled import CompiledModel, load
from logdepth.verify.regular import check_levels, verify_regular

SPEC = parse_file(Path(__file__).resolve().parents[2] / "examples" / "basics.ld")


@pytest.fixture(scope="module")
def mod3() -> CompiledModel:
    return compile_regular(SPEC["mod3"])


def test_verify_passes_from_the_weight_file_alone(tmp_path, mod3):
    path = tmp_path / "mod3.safetensors"
    mod3.save(path)
    report = verify_regular(load(path), max_length=24, samples=40, budget_s=0)
    assert report.ok, report.lines
    assert report.counterexample is None
    assert report.details["exhaustive_length"] >= 8
    assert any("level invariants" in line for line in report.lines)
    assert report.checks > 500


def test_verify_nfa_and_nonuniform():
    model = compile_regular(SPEC["ends_ab"], construction="nonuniform", max_length=20)
    report = verify_regular(model, samples=30, budget_s=0)
    assert report.ok, report.lines
    assert report.details["max_length"] == 20  # capped at the non-uniform frontier N


def test_verify_reports_the_shortest_counterexample(mod3):
    """Pair the mod-3 weights with a spec that differs first on the word "aa"."""
    d = mod3.extra["spec"]
    other = DFA.from_dict({**d, "accept": ["r0", "r2"]})
    model = CompiledModel(mod3.network, {**mod3.extra, "spec": other.to_dict()})
    report = verify_regular(model, max_length=12, samples=20, budget_s=0)
    assert not report.ok
    assert report.counterexample == "aa"
    assert any(line.startswith("FAIL") for line in report.lines)


def test_invariant_decoder_detects_a_corrupted_table(mod3):
    """Zero the monoid table of the repeated block: answers of short words may survive, the
    decoded block products do not."""
    tensors = dict(mod3.network.tensors)
    key = "repeated.7.mlp.W_out"
    tensors[key] = tensors[key] * 0
    broken = type(mod3.network)(mod3.network.config, tensors)
    model = CompiledModel(broken, mod3.extra)
    result = check_levels(model, list("abaab"))
    assert result.errors
    report = verify_regular(model, max_length=10, samples=10, budget_s=0)
    assert not report.ok and report.counterexample is not None


def test_verify_refuses_beyond_the_frontier(mod3):
    model = mod3.to("float32")
    report = verify_regular(model, max_length=10**6, samples=5, exhaustive=3, budget_s=0)
    assert report.ok
    assert report.details["max_length"] == model.frontier
    assert "frontier" in report.lines[0]


def test_verify_reaches_the_float32_frontier_and_checks_the_prediction(mod3):
    """float32 (frontier 110) is cheap: the probe runs words of length 110 itself, then the
    precision model's n(p) for the largest p with n(p) <= 110 under p-bit emulation. No time
    budget: on a slow or loaded machine a finite one could stop the probe short of 110."""
    model = mod3.to("float32")
    report = verify_regular(model, max_length=16, samples=10, budget_s=math.inf)
    assert report.ok, report.lines
    assert report.details["largest_n_run"] == model.frontier
    emulated = report.details["emulated"]
    curve = mod3.extra["report"]["frontier_by_bits"]
    assert emulated is not None and curve[str(emulated["bits"])] == emulated["n"] <= 110
    assert any("precision model checked" in line for line in report.lines)
    assert report.details["frontier_basis"] == "derived"
    assert report.details["invariants_traced"] > 0


def test_a_model_that_rejects_everything_fails_through_accepting_words():
    """A rare-acceptance language (only words of a's): no exhaustive words, random words are
    almost never accepted, so only the accepting words verify adds can catch this model."""
    delta = {("s", "a"): "s", ("s", "b"): "x", ("x", "a"): "x", ("x", "b"): "x"}
    only_a = DFA("only_a", ["s", "x"], ["a", "b"], "s", frozenset({"s"}), delta)
    model = compile_regular(only_a)
    tensors = dict(model.network.tensors)
    tensors["unembed"] = tensors["unembed"][[0, 0]]  # both outputs read "reject"'s row
    broken = CompiledModel(type(model.network)(model.network.config, tensors), model.extra)
    assert not broken.accepts("aaa")
    report = verify_regular(broken, max_length=32, samples=20, exhaustive=0, budget_s=0)
    assert not report.ok


def test_invariants_decode_from_the_files_codebook_whatever_the_spec(mod3):
    """The same language as an NFA: the weights' element codes (built via the DFA) come from
    the codebook the file carries, not from the spec, so the invariants still decode."""
    from logdepth.automata.nfa import NFA

    dfa = SPEC["mod3"]
    nfa = NFA.from_dict(
        {
            "name": "mod3n",
            "states": list(dfa.states),
            "alphabet": list(dfa.alphabet),
            "start": [dfa.start],
            "accept": sorted(dfa.accept),
            "delta": [[q, a, [dfa.delta[(q, a)]]] for q in dfa.states for a in dfa.alphabet],
        }
    )
    extra = {**mod3.extra, "spec": nfa.to_dict(), "spec_type": "nfa"}
    report = verify_regular(CompiledModel(mod3.network, extra), max_length=8, samples=5, budget_s=0)
    assert report.ok, report.lines
    assert report.details["invariants_traced"] > 0


def test_verify_fails_when_invariants_cannot_be_decoded(mod3):
    """A file without the codebook (compiled before it was stored): the invariants cannot be
    decoded, which is a failure that says to recompile, not a skipped check."""
    report_without = {k: v for k, v in mod3.extra["report"].items() if k != "codebook"}
    extra = {**mod3.extra, "report": report_without}
    report = verify_regular(CompiledModel(mod3.network, extra), max_length=8, samples=5, budget_s=0)
    assert not report.ok
    assert any("cannot be decoded" in line and "recompile" in line for line in report.lines)


def test_verify_rederives_the_precision_record(tmp_path, mod3):
    """An edited file whose checksum was recomputed: a lower (still loadable) frontier, or a
    report claiming another worst-case rounding, fails verify's re-derivation."""
    from tests.test_hardening import _set, rewrite_metadata

    path = tmp_path / "m.safetensors"
    mod3.save(path)
    report = verify_regular(load(path), max_length=8, samples=5, budget_s=0)
    assert report.ok and any("precision record re-derived" in x for x in report.lines)
    rewrite_metadata(path, _set("frontier", value={"float64": 5000, "float32": 110}))
    report = verify_regular(load(path), max_length=8, samples=5, budget_s=0)
    assert not report.ok and any("is not the derived" in x for x in report.lines)
    edited = CompiledModel(
        mod3.network,
        {**mod3.extra, "report": {**mod3.extra["report"], "score_rounding_ulps": 1.0}},
    )
    report = verify_regular(edited, max_length=8, samples=5, budget_s=0)
    assert not report.ok and any("worst-case score rounding" in x for x in report.lines)
