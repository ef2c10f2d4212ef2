"""Modular counting in constant depth (constructions/counting.py) through the forward pass of
the compiled weights: every word up to length 8 and random words of length 4,096 against the
DFA, the same 8 layers for every n, the derived frontier under p-bit emulation, the cyclic
group recognized in any form and refused otherwise, and a model whose answer ignores the
residue caught by the same checks."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

import logdepth
from logdepth.automata.dfa import DFA
from logdepth.automata.groups import group_dfa
from logdepth.build import build
from logdepth.constructions import counting
from logdepth.constructions.counting import (
    compile_counting,
    cyclic_weights,
    frontier_for_bits,
    plan_counts,
)
from logdepth.constructions.regular import compile_regular
from logdepth.errors import CompileError, InputError
from logdepth.gaps.regular import tie_tolerance
from logdepth.model.compiled import CompiledModel
from logdepth.verify.counting import COUNTING_LAYERS, check_cells, verify_counting
from logdepth.verify.precision import all_right, cases_for, word_cases


def count_dfa(m: int, weights: dict[str, int], residues, name: str = "c") -> DFA:
    """{w : sum_a weights[a] #_a(w) mod m in residues}, states r0..r{m-1}."""
    states = [f"r{i}" for i in range(m)]
    delta = {(f"r{i}", a): f"r{(i + k) % m}" for i in range(m) for a, k in weights.items()}
    return DFA(name, states, list(weights), "r0", frozenset(f"r{r}" for r in residues), delta)


def _cases() -> dict[str, DFA]:
    rng = random.Random(2025)
    out = {}
    for m in range(2, 8):
        # The plain #_a(w) = r (mod m), and random weights and residue sets over three symbols.
        out[f"a-mod{m}"] = count_dfa(m, {"a": 1, "b": 0}, {rng.randrange(m)})
        while True:  # until the minimal DFA is Z_m itself (no smaller group, not trivial)
            weights = {a: rng.randrange(m) for a in "abc"}
            residues = {r for r in range(m) if rng.random() < 0.5}
            dfa = count_dfa(m, weights, residues)
            if cyclic_weights(dfa)[0] == m:
                break
        out[f"random-mod{m}"] = dfa
    out["three-counts"] = count_dfa(7, {"a": 1, "b": 2, "c": 4}, {0, 3})  # no 2-count basis
    return out


CASES = _cases()
_MODELS: dict[str, CompiledModel] = {}


def model_of(name: str) -> CompiledModel:
    if name not in _MODELS:
        _MODELS[name] = compile_counting(CASES[name])
    return _MODELS[name]


def words_up_to(alphabet, length: int) -> list[tuple[str, ...]]:
    return [w for k in range(length + 1) for w in itertools.product(alphabet, repeat=k)]


def wrong_answers(model: CompiledModel, automaton, words) -> list:
    """The words the forward pass answers unlike the automaton (in batches of 512)."""
    wrong = []
    for start in range(0, len(words), 512):
        chunk = [list(w) for w in words[start : start + 512]]
        for w, got in zip(chunk, model.accepts_batch(chunk), strict=True):
            if got != automaton.accepts(w):
                wrong.append(tuple(w))
    return wrong


# ---------------------------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_word_up_to_length_8(name):
    dfa, model = CASES[name], model_of(name)
    words = words_up_to(dfa.alphabet, 8)
    assert any(dfa.accepts(w) for w in words) and not all(dfa.accepts(w) for w in words)
    wrong = wrong_answers(model, dfa, words)
    assert not wrong, f"{len(wrong)} wrong, shortest {min(wrong, key=len)}"


# About 3 s each: the default run keeps moduli 2, 3, 5 and 7 (a power of two, primes, and the
# three counts); every other case, composite moduli 4 and 6 included, runs in the slow set (all
# of them run every word up to length 8 by default).
LONG_DEFAULT = {"a-mod3", "three-counts", "random-mod2", "random-mod5"}


@pytest.mark.parametrize(
    "name",
    [n if n in LONG_DEFAULT else pytest.param(n, marks=pytest.mark.slow) for n in sorted(CASES)],
)
def test_random_words_of_length_4096_in_float64(name):
    dfa, model = CASES[name], model_of(name)
    assert model.dtype_name == "float64" and model.frontier >= 4096
    cases = word_cases(model, dfa, 4096, 1, seed=7)  # accepted, random, rejected if need be
    assert any(c.want == "accept" for c in cases) and any(c.want == "reject" for c in cases)
    got = model.run_tokens([c.tokens for c in cases])
    assert got == [c.want for c in cases]


def test_float32_at_its_frontier():
    model = model_of("three-counts").to("float32")
    n = model.frontier
    assert n == frontier_for_bits(23, 7) > 0
    cases = word_cases(model, CASES["three-counts"], n, 3, seed=1)
    assert model.run_tokens([c.tokens for c in cases]) == [c.want for c in cases]


def test_per_token_counts_parts_and_residue_decode_from_the_stream():
    """count.b, part.b and residue by cell name at every token (verify.counting.check_cells)."""
    model = model_of("three-counts")
    claim = {
        "m": 7,
        "weights": {"a": 1, "b": 2, "c": 4},
        "residues": {0, 3},
        "counts": [(c["weight"], set(c["symbols"])) for c in model.extra["report"]["counts"]],
        "scale": model.extra["report"]["position_scale"],
    }
    assert len(claim["counts"]) == 3
    rng = random.Random(3)
    for n in (0, 1, 5, 40):
        word = [rng.choice("abc") for _ in range(n)]
        assert check_cells(model, claim, word) == []
    trace = model.trace("abcab")
    assert list(trace.decode("residue")) == ["0", "1", "3", "0", "1", "3", "3"]  # c_t mod 7


# ---------------------------------------------------------------------------------------------
# Constant depth
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a-mod2", "random-mod5", "three-counts"])
def test_the_layer_count_is_the_same_for_every_n(name):
    model = model_of(name)
    assert model.config.s_r_t == (7, 0, 1)
    counts = {n: model.num_layers(n) for n in (0, 1, 8, 4096, 10**6)}
    assert set(counts.values()) == {counting.layers()} == {COUNTING_LAYERS} == {8}
    assert len(model.trace("a" * 33).layer_ends()) == 8


def test_verify_restates_the_constructions_constants():
    assert COUNTING_LAYERS == counting.LAYERS
    from logdepth import catalog
    from logdepth.verify import counting as verify_counting_module

    assert catalog.get(verify_counting_module.ENTRY).config_name == counting.CONSTRUCTION


# ---------------------------------------------------------------------------------------------
# Recognizing the cyclic group
# ---------------------------------------------------------------------------------------------


def test_cyclic_weights_of_the_plain_count():
    assert cyclic_weights(count_dfa(3, {"a": 1, "b": 0}, {0})) == (3, {"a": 1, "b": 0}, {0})
    # A unit multiple of the weights names the same language: the smallest weights are chosen.
    assert cyclic_weights(count_dfa(5, {"a": 3, "b": 0}, {1})) == (5, {"a": 1, "b": 0}, {2})


def test_cyclic_weights_of_a_permuted_and_redundant_dfa():
    plain = count_dfa(5, {"a": 2, "b": 1}, {1, 3})
    rng = random.Random(5)
    names = [f"s{k}" for k in rng.sample(range(5), 5)]
    rename = dict(zip(plain.states, names, strict=True))
    permuted = DFA(
        "p",
        names[::-1],
        plain.alphabet,
        rename[plain.start],
        frozenset(rename[q] for q in plain.accept),
        {(rename[q], a): rename[r] for (q, a), r in plain.delta.items()},
    )
    assert cyclic_weights(permuted) == cyclic_weights(plain)
    # Z_6 whose accepting states depend only on the parity: the minimal DFA is Z_2.
    assert cyclic_weights(count_dfa(6, {"a": 1, "b": 0}, {0, 2, 4})) == (2, {"a": 1, "b": 0}, {0})


def test_a_cyclic_group_block_compiles():
    spec = logdepth.parse("group c {\n    cyclic 5\n}\n")
    m, weights, residues = cyclic_weights(spec["c"])
    assert m == 5 and residues == {0} and sorted(weights.values()) == [0, 1, 2, 3, 4]
    model = compile_counting(spec["c"])
    words = words_up_to(spec["c"].alphabet, 4)
    assert not wrong_answers(model, spec["c"], words)
    gens = group_dfa("g", kind="cyclic", degree=7, alphabet="generators")
    assert cyclic_weights(gens) == (7, {"2345671": 1}, {0})


def test_a_count_block_compiles_to_both_constructions():
    spec = logdepth.parse(
        "count m4 {\n    alphabet: x, y\n    weights: x = 1, y = 3\n    modulus: 4\n"
        "    accept: 1, 2\n}\n"
    )
    dfa = spec["m4"]
    words = words_up_to("xy", 7)
    assert not wrong_answers(compile_counting(dfa), dfa, words)
    assert not wrong_answers(compile_regular(dfa), dfa, words)


def test_an_nfa_is_determinized():
    nfa = logdepth.parse(
        "nfa odd {\n    alphabet: a, b\n    start: e\n    accept: o\n"
        "    e a -> o\n    o a -> e\n    e b -> e\n    o b -> o\n}\n"
    )["odd"]
    model = compile_counting(nfa)
    assert model.extra["spec_type"] == "nfa"
    assert not wrong_answers(model, nfa, words_up_to("ab", 6))


def test_the_trivial_language_is_z1():
    everything = count_dfa(4, {"a": 2, "b": 2}, {0, 2})  # only even residues are reachable
    assert cyclic_weights(everything) == (1, {"a": 0, "b": 0}, {0})
    model = compile_counting(everything)
    assert model.extra["report"]["counts"] == []
    assert all(model.accepts_batch(["", "a", "abba", "b" * 9]))
    nothing = count_dfa(3, {"a": 1}, set())
    assert not any(compile_counting(nothing).accepts_batch(["", "a", "aaa"]))


@pytest.mark.parametrize(
    "dfa, message",
    [
        (
            DFA(
                "reset",
                ["even", "odd"],
                ["a", "r"],
                "even",
                {"even"},
                {
                    ("even", "a"): "odd",
                    ("odd", "a"): "even",
                    ("even", "r"): "even",
                    ("odd", "r"): "even",
                },
            ),
            "is not a group: letter 'r' maps states 'even' and 'odd' of the minimal DFA both "
            "to 'even'",
        ),
        (
            group_dfa("s3", kind="symmetric", degree=3, alphabet="generators"),
            "is a non-abelian group: '213' then '231' differs",
        ),
        (
            DFA(
                "z2xz2",
                ["00", "01", "10", "11"],
                ["a", "b"],
                "00",
                {"00"},
                {
                    **{(q, "a"): str(1 - int(q[0])) + q[1] for q in ["00", "01", "10", "11"]},
                    **{(q, "b"): q[0] + str(1 - int(q[1])) for q in ["00", "01", "10", "11"]},
                },
            ),
            "is an abelian group of order 4 with no element of order 4: it is not cyclic",
        ),
    ],
    ids=["parity-with-reset", "S3", "Z2xZ2"],
)
def test_other_monoids_are_refused_with_the_reason(dfa, message):
    with pytest.raises(CompileError, match="transition monoid of") as info:
        cyclic_weights(dfa)
    assert message in str(info.value)
    with pytest.raises(CompileError):
        compile_counting(dfa)


def test_weights_needing_more_than_three_counts_and_large_moduli_are_refused():
    with pytest.raises(CompileError, match="needs more than 3 counts"):
        compile_counting(count_dfa(10, dict(zip("abcde", (1, 3, 5, 7, 9), strict=True)), {0}))
    with pytest.raises(CompileError, match="past Lemma 1's limit"):
        compile_counting(count_dfa(300, {"a": 1}, {0}))


def test_count_plans():
    assert plan_counts(9, {"a": 1, "b": 0}).counts == (counting.Count(1, ("a",)),)
    # Every weight set mod 8 has a basis of at most 3 (the binary digits at worst).
    eight = plan_counts(8, {str(k): k for k in range(8)})
    assert [c.weight for c in eight.counts] == [1, 2, 4]
    # Weights 1, 3, 7, 9 mod 10 are subset sums of 1, 2, 6.
    ten = plan_counts(10, {"a": 1, "b": 3, "c": 7, "d": 9})
    for a, k in {"a": 1, "b": 3, "c": 7, "d": 9}.items():
        assert sum(c.weight for c in ten.counts if a in c.symbols) % 10 == k
    assert len(ten.counts) == 3


# ---------------------------------------------------------------------------------------------
# Precision: the derived frontier, and emulation at n(p)
# ---------------------------------------------------------------------------------------------


def test_frontier_record():
    model = model_of("random-mod5")
    report = model.extra["report"]
    assert model.config.construction == counting.CONSTRUCTION == "counting-mod"
    assert model.config.tie_tolerance == tie_tolerance()
    assert model.config.frontier == {
        "float64": frontier_for_bits(52, 5),
        "float32": frontier_for_bits(23, 5),
    }
    assert report["frontier_basis"] == {"float64": "derived", "float32": "derived"}
    curve = [report["frontier_by_bits"][str(p)] for p in counting.CURVE_BITS]
    assert curve == sorted(curve) and curve[-1] == model.config.frontier["float64"]
    assert report["layers"].startswith("8 (constant")
    tolerance, n_of_bits = counting.precision_model(report)
    assert tolerance == model.config.tie_tolerance
    assert {"float64": n_of_bits(52), "float32": n_of_bits(23)} == model.config.frontier
    # The scale grows with m just enough to leave float32 a frontier (module docstring).
    assert counting.position_scale(2) == counting.POSITION_SCALE
    assert frontier_for_bits(23, 7, scale=counting.POSITION_SCALE) == -1
    assert frontier_for_bits(23, 7) > 0


@pytest.mark.parametrize(
    ("name", "bits"), [("a-mod2", 22), ("random-mod5", 22), ("three-counts", 24)]
)
def test_words_at_the_predicted_frontier_are_right_under_emulation(name, bits):
    model = model_of(name)
    n = model.extra["report"]["frontier_by_bits"][str(bits)]
    assert n == frontier_for_bits(bits, model.extra["report"]["modulus"]) > 0
    cases = cases_for(model, n, k=4, seed=bits)
    assert any(c.want == "accept" for c in cases)
    assert all_right(model, cases, bits)


def test_a_dtype_without_a_frontier_is_left_out(tmp_path):
    """m = 50: no hash scale clears Lemma 1's floor query in float32 (n(23) = -1), so the file
    promises nothing there; it still loads (a stored frontier is never negative)."""
    dfa = count_dfa(50, {"a": 1, "b": 0}, {0, 7})
    model = compile_counting(dfa)
    assert frontier_for_bits(23, 50) == -1 and model.config.frontier == {"float64": 19483}
    path = tmp_path / "mod50.safetensors"
    model.save(path)
    loaded = logdepth.load(path)
    assert loaded.accepts("a" * 57) and not loaded.accepts("a" * 56)
    with pytest.raises(InputError, match="carry no frontier for float32"):
        loaded.to("float32").accepts("a")
    assert not verify_counting(loaded.to("float32"), dfa, budget_s=0).ok


def test_weight_file_round_trip(tmp_path):
    model = model_of("three-counts")
    path = tmp_path / "count.safetensors"
    model.save(path)
    loaded = logdepth.load(path)
    assert loaded.config == model.config and loaded.extra["report"] == model.extra["report"]
    words = ["", "a", "abc", "cccc", "abcabcab"]
    assert loaded.accepts_batch(words) == model.accepts_batch(words)


# ---------------------------------------------------------------------------------------------
# verify.counting, and a model whose answer ignores the residue
# ---------------------------------------------------------------------------------------------


def _ignoring_the_residue(model: CompiledModel) -> CompiledModel:
    """The same weights, but layer 8 writes only the answer's constant [0 in R]: the steps on
    S' no longer reach the answer cell."""
    tensors = {k: v.clone() for k, v in model.network.tensors.items()}
    cell = model.config.cell("answer")
    tensors["final.0.mlp.W_out"][cell.offset : cell.stop, 1:] = 0.0
    network = type(model.network)(model.config, tensors)
    return CompiledModel(network, model.extra)


def test_a_model_ignoring_the_residue_fails_these_checks():
    dfa, model = CASES["random-mod5"], model_of("random-mod5")
    broken = _ignoring_the_residue(model)
    words = words_up_to(dfa.alphabet, 4)
    assert not wrong_answers(model, dfa, words)
    assert wrong_answers(broken, dfa, words)
    assert not verify_counting(broken, dfa, max_length=32, samples=20, budget_s=0).ok


def test_verify_counting_passes_and_catches_a_false_claim():
    dfa, model = CASES["random-mod6"], model_of("random-mod6")
    report = verify_counting(model, dfa, max_length=128, samples=40, seed=1, budget_s=0)
    assert report.ok, report.lines
    assert report.details["mismatches"] == 0 and report.details["layers"] == 8
    # The probe and the emulated check run within the budget: an unbounded one on the float32
    # copy reaches its frontier and emulates n(p) there, on any machine.
    report = verify_counting(
        model.to("float32"), dfa, max_length=16, samples=4, seed=1, budget_s=float("inf")
    )
    assert report.ok, report.lines
    frontier = model.to("float32").frontier
    assert report.details["largest_n_run"] == frontier
    curve = model.extra["report"]["frontier_by_bits"]
    bits = min(int(p) for p, n in curve.items() if n == frontier)  # the fewest that predict it
    assert report.details["emulated"] == {"bits": bits, "n": frontier}
    # A report whose residues are not the automaton's is refused before anything is decoded.
    extra = dict(model.extra)
    stored = extra["report"]
    others = [r for r in range(stored["modulus"]) if r not in stored["residues"]]
    extra["report"] = dict(stored, residues=others)
    forged = CompiledModel(model.network, extra)
    bad = verify_counting(forged, dfa, max_length=8, samples=4, budget_s=0)
    assert not bad.ok and "do not decide the automaton's language" in bad.lines[-1]


def test_the_registry_entry_drives_compile_precision_and_verify():
    """The registry's entry for this construction: compile, layer formula, precision model
    from the report, verifier."""
    from logdepth import catalog

    entry = catalog.get("counting")
    assert entry.config_name == counting.CONSTRUCTION and entry.offset == counting.LAYERS
    dfa = CASES["random-mod4"]
    model = build(entry, dfa, source="count ...")
    assert model.extra["source"] == "count ..." and entry.formula == "8 (every n)"
    assert {entry.layers(n) for n in (1, 4096, 10**6)} == {model.num_layers(4096)}
    tolerance, n_of_bits = entry.precision_model(model.extra["report"])
    assert tolerance == model.config.tie_tolerance
    assert {"float64": n_of_bits(52), "float32": n_of_bits(23)} == model.config.frontier
    report = entry.verify_function()(
        model, max_length=16, samples=None, exhaustive=4, seed=0, progress=None, budget_s=0
    )
    assert report.ok, report.lines
    with pytest.raises(CompileError, match="names its modulus"):
        entry.precision_model({})


def test_the_answer_at_every_token_is_its_prefix_residue():
    """Every token t holds [c_t mod m in R]; the readout takes $'s, the whole word's."""
    model = model_of("a-mod3")
    r = next(iter(cyclic_weights(CASES["a-mod3"])[2]))
    word = "a" * (3 + r)
    trace = model.trace(word)
    answer = trace.decode("answer")
    assert answer[-1] == pytest.approx(1.0, abs=1e-9) and model.accepts(word)
    want = [float(k % 3 == r) for k in range(1, len(word) + 1)]
    assert np.allclose(answer[1:-1], want, atol=1e-9)
