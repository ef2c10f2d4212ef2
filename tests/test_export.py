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
import subprocess
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
RESIDUAL_CHECKS = 4  # inputs per model whose whole final residual is compared (the reference is slow)


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


def cases(case: str) -> list[list[str]]:
    model, automaton = model_of(case)
    if automaton is None:
        return graph_inputs(INPUTS)
    return word_inputs(automaton, INPUTS, 24 if case == "a5" else 40)


def run_onnx(case: str, tokens: list[str], n_max: int | None = None) -> dict[str, np.ndarray]:
    model, _ = model_of(case)
    vocab = {t: k for k, t in enumerate(model.config.vocab)}
    sess = session(case, n_max)
    ids = np.array([vocab[t] for t in tokens], dtype=np.int64)
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, {"tokens": ids}), strict=True))


@pytest.mark.parametrize("case", ["parity", "a5", "abb", "connectivity"])
def test_onnx_answers_and_residuals_match_the_forward_pass(case):
    model, automaton = model_of(case)
    seqs = cases(case)
    assert len(seqs) == INPUTS
    want = model.run_tokens(seqs)
    positive = "connected" if automaton is None else "accept"
    assert want.count(positive) == INPUTS // 2  # accepted (connected) inputs are half of them
    ref = reference.Reference(model)
    for k, tokens in enumerate(seqs):
        out = run_onnx(case, tokens)
        assert model.config.outputs[int(out["answer"])] == want[k], tokens
        n = model.input_size(tokens)
        assert int(out["n"]) == n and int(out["depth"]) == model.config.depth_rule.depth(n)
        if k % (INPUTS // RESIDUAL_CHECKS) == 0:
            full = ref.forward(tokens, int(out["depth"]))
            last = full.residuals[-1]
            allowed = reference.tolerance(last.error, ref.u_model)
            assert np.all(np.abs(out["residual"] - last.value) <= allowed), tokens
            logits = reference.tolerance(full.logits.error, ref.u_model)
            assert np.all(np.abs(out["logits"] - full.logits.value[0]) <= logits)


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
    for tokens in word_inputs(automaton, 20, 100, seed=3):
        out = run_onnx("parity", tokens, n_max=100)
        assert model.config.outputs[int(out["answer"])] == model.run_tokens([tokens])[0]
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
    seqs = word_inputs(automaton, 20, 12)
    want = model.run_tokens(seqs)
    for tokens, answer in zip(seqs, want, strict=True):
        depth = config.depth_rule.depth(config.depth_rule.size_of(tokens))
        assert ref.answer(ref.forward(tokens, depth).logits) == answer


def test_cli_export_writes_both_formats_and_refuses_bad_options(tmp_path):
    weights = tmp_path / "p.safetensors"
    model_of("parity")[0].save(weights)
    cli = [sys.executable, "-m", "logdepth", "export", str(weights)]
    done = subprocess.run([*cli, "--format", "onnx", "-o", str(tmp_path / "p.onnx")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "p.onnx").stat().st_size > 0
    done = subprocess.run([*cli, "--format", "npz", "--n", "8", "-o", str(tmp_path / "p.npz")],
                          capture_output=True, text=True)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "npz has no graph" in done.stderr and not (tmp_path / "p.npz").exists()


def test_missing_onnx_extra_is_a_clear_error(tmp_path):
    """With onnx not importable, export names the extra to install and exits 1, no traceback."""
    weights = tmp_path / "p.safetensors"
    model_of("parity")[0].save(weights)
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "onnx.py").write_text("raise ImportError('blocked for the test')\n")
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); from logdepth.cli import main; "
        "sys.exit(main(sys.argv[2:]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(blocker), "export", str(weights), "--format", "onnx",
         "-o", str(tmp_path / "p.onnx")],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert done.returncode == 1, done.stderr
    assert "pip install 'logdepth[export]'" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "p.onnx").exists()
