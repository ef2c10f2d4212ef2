"""Reference runs for the forward-pass regression test (tests/model/test_modules.py).

`python -m tests.model.reference` recomputes tests/model/data/reference_runs.json. It was first
written with the forward pass as it stood before the weights became a torch module tree (issue
11); the test checks that every residual, attention matrix and logit is still bit-identical.
Each run is stored as SHA-256 digests of the raw bytes, so the file stays small.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

import logdepth

DATA = Path(__file__).parent / "data" / "reference_runs.json"
BASICS = Path(__file__).resolve().parents[2] / "examples" / "basics.ld"

# (name, how to build, dtype, precision bits, input)
CASES = [
    ("parity", "uniform", "float64", None, "0110100"),
    ("parity", "uniform", "float32", None, "0110100"),
    ("parity", "uniform", "float64", 30, "01101"),
    ("mod3", "nonuniform", "float64", None, "abbaab"),
    ("ends_ab", "uniform", "float64", None, "abab"),
    ("a5", "uniform", "float64", None, ["12345", "23145", "31245"]),
    ("rot", "uniform", "float64", None, ["231", "213", "213"]),
    ("diamond", "connectivity", "float64", None, ("a", "d")),
]


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def build(name: str, how: str):
    """The compiled model of one case."""
    spec = logdepth.parse_file(BASICS)
    if how == "connectivity":
        return logdepth.compile_connectivity(), spec[name]
    if how == "nonuniform":
        return logdepth.compile(spec[name], construction="nonuniform", max_length=8), None
    return logdepth.compile(spec[name]), None


def run_case(model, graph, dtype: str, bits: int | None, word) -> dict:
    """Digests of one traced run: every residual, every attention run, and the answer."""
    from logdepth.model import inputs

    model = model.to(dtype)
    model.network.precision_bits = bits
    if graph is not None:
        nodes = list(graph.nodes)
        tokens = inputs.encode_graph(graph.adjacency(), nodes.index(word[0]), nodes.index(word[1]))
    else:
        tokens = inputs.encode_word(inputs.split_word(word, model.alphabet))
    trace = model.trace_tokens(tokens)
    return {
        "sublayers": trace.sublayers,
        "residuals": [_digest(r) for r in trace.residuals],
        "attention_runs": [_digest(a) for a in trace.attention_runs],
        "answer": model.run_tokens([tokens])[0],
    }


def key(case: tuple) -> str:
    name, how, dtype, bits, _ = case
    return f"{name}/{how}/{dtype}/{bits}"


def compute() -> dict:
    """Every case's digests."""
    out = {}
    built: dict = {}
    for case in CASES:
        name, how, dtype, bits, word = case
        if (name, how) not in built:
            built[(name, how)] = build(name, how)
        model, graph = built[(name, how)]
        out[key(case)] = run_case(model, graph, dtype, bits, word)
    return out


if __name__ == "__main__":
    DATA.write_text(json.dumps(compute(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {DATA}")
