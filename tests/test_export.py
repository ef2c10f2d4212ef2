"""`logdepth export`: the ONNX graph in onnxruntime against logdepth's forward pass, and the npz
through the independent numpy reference (tests/model/reference.py).

Answers must be equal. Residuals are compared with the reference's derived rounding bound
(`reference.tolerance`: both computations of a value differ from the exact one by at most
u E, u the unit roundoff of each, E the first-order bound the reference carries), not with a
fixed epsilon: onnxruntime's summation order is its own.
"""

from __future__ import annotations

import json
import random
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest

import logdepth
from logdepth.automata.sample import WordCounter
from logdepth.model import inputs
from logdepth.model.config import ModelConfig
from logdepth.verify.connectivity import reachability
from tests.model import reference

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from logdepth.export import NPZ_METADATA, export, onnx_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BASICS = ROOT / "examples" / "basics.ld"
STARFREE = ROOT / "examples" / "starfree.ld"
INPUTS = 100  # per model, half of them accepted (connected)
RESIDUAL_CHECKS = 10  # of them, inputs whose final residual is compared (the reference is slow)
QUICK_INPUTS = 4  # per model in the default run (A5 and connectivity cost 0.1 s an input)
CASES = ["parity", "a5", "abb", "connectivity"]


@cache
def model_of(case: str):
    """The compiled model of a case and its automaton (None for connectivity)."""
    if case == "connectivity":
        return logdepth.compile_connectivity(), None
    if case == "abb":
        automaton = logdepth.parse_file(STARFREE)["abb"]
        return logdepth.compile(automaton, construction="starfree"), automaton
    automaton = logdepth.parse_file(BASICS)[case]
    return logdepth.compile(automaton), automaton


@cache
def session(case: str, n_max: int | None = None):
    model, _ = model_of(case)
    proto = onnx_model(model, n_max)
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def word_inputs(automaton, count: int, longest: int, seed: int = 0) -> list[list[str]]:
    """count token sequences: words drawn uniformly among the accepted (then the rejected)
    words of lengths 0..longest, half accepted where the language has them."""
    rng = random.Random(seed)
    counter = WordCounter(automaton)
    words: list[tuple[str, ...]] = []
    for accepted in (True, False):
        lengths = [n for n in range(longest + 1) if counter.has_words(n, accepted)]
        for k in range(count // 2):
            words += counter.sample(lengths[k % len(lengths)], 1, rng, accepted)
    return [inputs.encode_word(w) for w in words]


def graph_inputs(count: int, seed: int = 0) -> list[list[str]]:
    """count Theorem 2 queries on random digraphs of 1..5 vertices, half connected."""
    rng = random.Random(seed)
    want = {True: count // 2, False: count - count // 2}
    out: list[list[str]] = []
    while any(want.values()):
        n = rng.randint(1, 5)
        adjacency = np.array([[rng.random() < 1.2 / n for _ in range(n)] for _ in range(n)])
        s, t = rng.randrange(n), rng.randrange(n)
        label = bool(reachability(adjacency)[s, t])
        if want[label]:
            want[label] -= 1
            out.append(inputs.encode_graph(adjacency, s, t))
    return out


def cases(case: str, count: int) -> list[list[str]]:
    model, automaton = model_of(case)
    if automaton is None:
        return graph_inputs(count)
    return word_inputs(automaton, count, 24 if case == "a5" else 40)


def run_onnx(case: str, tokens: list[str], n_max: int | None = None) -> dict[str, np.ndarray]:
    model, _ = model_of(case)
    vocab = {t: k for k, t in enumerate(model.config.vocab)}
    sess = session(case, n_max)
    ids = np.array([vocab[t] for t in tokens], dtype=np.int64)
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, {"tokens": ids}), strict=True))


def check_against_forward_pass(case: str, count: int, residuals: int) -> None:
    """count inputs (half accepted or connected) through onnxruntime: the answer, n and d(n)
    equal logdepth's; on `residuals` of them the final residual and the logits lie within the
    derived rounding bound of the numpy reference's."""
    model, automaton = model_of(case)
    seqs = cases(case, count)
    assert len(seqs) == count
    want = model.run_tokens(seqs)
    positive = "connected" if automaton is None else "accept"
    assert want.count(positive) == count // 2
    ref = reference.Reference(model)
    for k, tokens in enumerate(seqs):
        out = run_onnx(case, tokens)
        assert model.config.outputs[int(out["answer"])] == want[k], tokens
        n = model.input_size(tokens)
        assert int(out["n"]) == n and int(out["depth"]) == model.config.depth_rule.depth(n)
        if k % max(1, count // residuals) == 0:
            full = ref.forward(tokens, int(out["depth"]))
            last = full.residuals[-1]
            allowed = reference.tolerance(last.error, ref.u_model)
            assert np.all(np.abs(out["residual"] - last.value) <= allowed), tokens
            logits = reference.tolerance(full.logits.error, ref.u_model)
            assert np.all(np.abs(out["logits"] - full.logits.value[0]) <= logits)


@pytest.mark.parametrize("case", CASES)
def test_onnx_matches_the_forward_pass(case):
    check_against_forward_pass(case, QUICK_INPUTS, 2)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_onnx_matches_the_forward_pass_on_100_inputs(case):
    check_against_forward_pass(case, INPUTS, RESIDUAL_CHECKS)


def _other(case: str):
    """A model of every other construction and dtype, and inputs for it."""
    from logdepth.verify.precision import graph_cases

    basics = logdepth.parse_file(BASICS)
    graphs = [c.tokens for n in (2, 3, 4) for c in graph_cases(n, 2, 0)]
    if case == "connectivity-wide":
        return logdepth.compile_connectivity("wide"), graphs
    if case == "connectivity-wide-float32":
        return logdepth.compile_connectivity("wide").to("float32"), graphs
    if case == "parity-float32":
        model = logdepth.compile(basics["parity"]).to("float32")
        return model, word_inputs(basics["parity"], 10, 100)
    automaton = basics["rot" if case == "solvable" else "ends_ab" if case == "nfa" else "mod3"]
    options = {"max_length": 30} if case == "nonuniform" else {}
    construction = "uniform" if case == "nfa" else case
    model = logdepth.compile(automaton, construction=construction, **options)
    return model, word_inputs(automaton, 10, 30)


@pytest.mark.slow
@pytest.mark.parametrize(
    "case",
    ["nonuniform", "wide", "counting", "solvable", "nfa", "parity-float32", "connectivity-wide",
     "connectivity-wide-float32"],
)
def test_onnx_of_every_construction_and_dtype_answers_as_the_forward_pass(case):
    model, seqs = _other(case)
    sess = ort.InferenceSession(onnx_model(model).SerializeToString(),
                                providers=["CPUExecutionProvider"])
    vocab = {t: k for k, t in enumerate(model.config.vocab)}
    want = model.run_tokens(seqs)
    assert 0 < want.count(model.config.outputs[1]) < len(seqs)
    for tokens, answer in zip(seqs, want, strict=True):
        ids = np.array([vocab[t] for t in tokens], dtype=np.int64)
        got = sess.run(["answer"], {"tokens": ids})[0]
        assert model.config.outputs[int(got)] == answer, tokens


def test_onnx_metadata_states_the_limits():
    model, _ = model_of("parity")
    proto = onnx_model(model, n_max=100)
    meta = json.loads({p.key: p.value for p in proto.metadata_props}["logdepth"])
    assert meta["depth"] == {"mode": "unrolled", "n_max": 100, "copies": 7}
    assert meta["largest_n"] == 100
    assert meta["tie_tolerance"] == model.config.tie_tolerance
    assert meta["vocab"] == list(model.config.vocab)
    assert ModelConfig.from_json(meta["config"]) == model.config


def test_unrolled_graph_answers_shorter_inputs_and_refuses_longer_ones():
    model, automaton = model_of("parity")
    # n = 100 unrolls ceil(log2 100) = 7 copies; shorter words use fewer, gated by d(n).
    seqs = word_inputs(automaton, 6, 100, seed=3)
    for tokens, want in zip(seqs, model.run_tokens(seqs), strict=True):
        out = run_onnx("parity", tokens, n_max=100)
        assert model.config.outputs[int(out["answer"])] == want
    past = inputs.encode_word(("1",) * 101)
    out = run_onnx("parity", past, n_max=100)
    assert int(out["answer"]) == -1 and np.all(np.isnan(out["logits"]))


def test_npz_runs_in_the_numpy_reference(tmp_path):
    model, automaton = model_of("parity")
    path = tmp_path / "parity.npz"
    export(model, path, "npz")
    with np.load(path) as data:  # numpy only, no pickle
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays.pop(NPZ_METADATA)))
    config = ModelConfig.from_json(meta["config"])
    assert meta["residual_labels"] == model.residual_labels
    assert set(arrays) == set(model.network.tensors)

    class FromArrays(reference.Reference):
        def __init__(self) -> None:  # the reference's state, from the file alone
            self.config = config
            self.w = {k: v.astype(np.float64) for k, v in arrays.items()}
            self.u_model = 2.0 ** -(meta["mantissa_bits"] + 1)
            self.tie = meta["tie_tolerance"]
            self.vocab = {t: k for k, t in enumerate(config.vocab)}

    ref = FromArrays()
    seqs = word_inputs(automaton, 6, 12)
    want = model.run_tokens(seqs)
    for tokens, answer in zip(seqs, want, strict=True):
        depth = config.depth_rule.depth(config.depth_rule.size_of(tokens))
        assert ref.answer(ref.forward(tokens, depth).logits) == answer


def test_cli_export_writes_both_formats_and_refuses_bad_options(tmp_path, capsys):
    from logdepth.cli import main

    weights = tmp_path / "p.safetensors"
    model_of("parity")[0].save(weights)
    assert main(["export", str(weights), "--format", "onnx", "-o", str(tmp_path / "p.onnx")]) == 0
    assert "wrote" in capsys.readouterr().out and (tmp_path / "p.onnx").stat().st_size > 0
    npz = ["--format", "npz", "--n", "8", "-o", str(tmp_path / "p.npz")]
    assert main(["export", str(weights), *npz]) == 1
    assert "npz has no graph" in capsys.readouterr().err and not (tmp_path / "p.npz").exists()


def test_missing_onnx_extra_is_a_clear_error(tmp_path, capsys, monkeypatch):
    """With onnx not importable, export names the extra to install and exits 1; the file the
    user had is kept."""
    from logdepth.cli import main

    weights = tmp_path / "p.safetensors"
    model_of("parity")[0].save(weights)
    target = tmp_path / "p.onnx"
    target.write_text("kept")
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` raises ImportError
    assert main(["export", str(weights), "--format", "onnx", "-o", str(target)]) == 1
    err = capsys.readouterr().err
    assert "pip install 'logdepth[export]'" in err and "Traceback" not in err
    assert target.read_text() == "kept"
