"""Export a compiled model for other tools: ONNX (a runnable graph) or .npz (plain arrays).

docs/export.md says what each format keeps and loses. The ONNX graph is built here from the
weights and the documented semantics (docs/architecture.md, "The model"), node by node with
`onnx.helper`; it does not trace logdepth's torch module, so it restates the forward pass:

- h0 = E[tokens]; every sublayer reads z = norm(m * h) over the columns its 0/1 mask keeps,
  norm(0) = 0, and adds its output to the residual;
- averaging-hard attention: per head, the keys scoring at least (row maximum - tie tolerance)
  are averaged, causal heads seeing keys j <= i; the stored float64 tolerance is scaled to the
  exported dtype's mantissa bits p by 2^(52 - p), as the module does;
- feed-forward U relu(W z), no biases;
- s initial layers, the r repeated layers d(n) times, t final layers; logits U h at the last
  token. d(n) is computed in the graph from the tokens by the file's depth rule (the count of
  `count_tokens`, its integer root, then ceil(log2 n) as the number of k with 2^k < n), and the
  repeated block runs as an ONNX Loop, or, with `n_max`, unrolled d(n_max) times, each copy
  applied only while its index is below d(n).

An input past what the graph promises (the model's derived frontier in the exported dtype, or
n_max when unrolled) gets NaN logits and answer -1: never a silent wrong answer.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from logdepth.errors import InputError, LogdepthError
from logdepth.fileio import atomic_write
from logdepth.model.compiled import CompiledModel, residual_labels
from logdepth.precision import bits_of, tolerance_at

FORMATS = ("onnx", "npz")
EXPORT_VERSION = 1
# Opset 17: ReduceMax and ReduceSumSquare take their axes as an attribute, ReduceSum as an
# input; onnxruntime runs every op used here in float64 and float32 at this opset.
OPSET = 17
INSTALL_HINT = "pip install 'logdepth[export]'"
NPZ_METADATA = "logdepth.json"
# ceil(log2 n) for n < 2^63 is the number of k in 0..62 with 2^k < n (n >= 2), and 0 for n <= 1.
POWERS_OF_TWO = np.array([1 << k for k in range(63)], dtype=np.int64)


# How the tokens of each input format are laid out (logdepth/model/inputs.py), for the metadata.
ENCODINGS = {
    "word": "<bos> w_1 ... w_n <$>",
    "graph": "<bos>, the n x n adjacency row-major as '0'/'1', n^3 <pad>, a^s b^t (vertices 1..n)",
}


class ExportError(LogdepthError):
    """An export that cannot be done: a missing extra, an unusable option."""


# ---- what both formats record -------------------------------------------------------------------
def metadata(model: CompiledModel, n_max: int | None = None) -> dict[str, Any]:
    """The JSON both formats carry: the config, the residual labels, the dtype, the tie
    tolerance as applied in that dtype, the frontier, the depth (loop or unrolled) and the
    input encoding."""
    config = model.config
    dtype = model.dtype_name
    p = bits_of(dtype)
    rule = config.depth_rule
    if rule.fixed is not None:
        depth: dict[str, Any] = {"mode": "fixed", "copies": rule.fixed}
    elif n_max is None:
        depth = {"mode": "loop"}
    else:
        depth = {"mode": "unrolled", "n_max": n_max, "copies": rule.depth(n_max)}
    limit = model.frontier
    if n_max is not None and limit is not None:
        limit = min(limit, n_max)
    return {
        "format": "logdepth-export",
        "version": EXPORT_VERSION,
        "dtype": dtype,
        "mantissa_bits": p,
        "tie_tolerance": tolerance_at(config.tie_tolerance, p),
        "frontier": model.frontier,
        "largest_n": limit,
        "depth": depth,
        "input_format": config.input_format,
        "vocab": list(config.vocab),
        "outputs": list(config.outputs),
        "residual_labels": residual_labels(config),
        "config": config.to_json(),
        "encoding": ENCODINGS.get(config.input_format, "") + " (token ids index `vocab`)",
    }


# ---- npz ----------------------------------------------------------------------------------------
def npz_bytes(model: CompiledModel) -> bytes:
    """Every weight by its weight-file name, plus `logdepth.json` (a 0-d unicode array, so that
    `np.load(path)` reads it without pickle): `metadata(model)` as JSON, less `depth`."""
    arrays = {name: t.detach().cpu().numpy() for name, t in model.network.tensors.items()}
    meta = metadata(model)
    del meta["depth"]  # no graph: the config's depth rule says how often the repeated layers run
    arrays[NPZ_METADATA] = np.array(json.dumps(meta, sort_keys=True))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


# ---- onnx ---------------------------------------------------------------------------------------
def _onnx() -> tuple[Any, Any, Any]:
    try:
        import onnx
        from onnx import TensorProto, helper
    except ImportError:
        raise ExportError(
            f"--format onnx needs the onnx package, which is not installed: {INSTALL_HINT}"
        ) from None
    return onnx, TensorProto, helper


class _Graph:
    """Nodes and initializers under construction, with unique value names."""

    def __init__(self, helper: Any, tensor_type: int, np_dtype: np.dtype) -> None:
        self.helper = helper
        self.tensor_type = tensor_type
        self.np_dtype = np_dtype
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, hint: str, value: np.ndarray) -> str:
        """An initializer (a weight or a constant); returns its name."""
        from onnx import numpy_helper

        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def real(self, hint: str, value: Any) -> str:
        return self.const(hint, np.asarray(value, dtype=self.np_dtype))

    def op(self, kind: str, inputs: list[str], hint: str | None = None, **attrs: Any) -> str:
        out = self.name(hint or kind.lower())
        self.nodes.append(self.helper.make_node(kind, inputs, [out], name=out, **attrs))
        return out


def _prenorm(g: _Graph, h: str, mask: np.ndarray, prefix: str) -> tuple[str, np.ndarray]:
    """z = norm(m * h) over the columns the mask keeps (the others are zero in m * h and change
    neither the norm nor a product); returns z's name and the kept columns."""
    cols = np.nonzero(mask)[0].astype(np.int64)
    x = g.op("Gather", [h, g.const(prefix + ".cols", cols)], axis=1)
    x = g.op("Mul", [x, g.real(prefix + ".mask", mask[cols])])
    norm = g.op("Sqrt", [g.op("ReduceSumSquare", [x], axes=[-1], keepdims=1)])
    zero = g.real("zero", 0.0)
    positive = g.op("Greater", [norm, zero])
    safe = g.op("Where", [positive, norm, g.real("one", 1.0)])
    z = g.op("Where", [positive, g.op("Div", [x, safe]), zero], hint=prefix + ".z")
    return z, cols


def _attention(g: _Graph, h: str, w: dict, prefix: str, shape: Any, tie: float, future: str) -> str:
    """One attention sublayer's output W_O concat_heads(averaging-hard attention)."""
    z, cols = _prenorm(g, h, w[prefix + ".mask"], prefix)
    z3 = g.op("Unsqueeze", [z, g.const("axis0", np.array([0], np.int64))])  # [1, T, c]

    def project(matrix: str) -> str:  # [heads, d, d_model] -> [heads, T, d]
        weight = np.transpose(w[f"{prefix}.{matrix}"][:, :, cols], (0, 2, 1))
        return g.op("MatMul", [z3, g.const(f"{prefix}.{matrix}", weight)])

    q, k, v = project("W_Q"), project("W_K"), project("W_V")
    scores = g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 2, 1])])  # [heads, T, T]
    causal = np.array(shape.causal, dtype=bool)
    if causal.any():
        hidden = future
        if not causal.all():
            flags = g.const(prefix + ".causal", causal.reshape(-1, 1, 1))
            hidden = g.op("And", [future, flags])
        scores = g.op("Where", [hidden, g.real("minus_inf", -np.inf), scores])
    best = g.op("ReduceMax", [scores], axes=[-1], keepdims=1)
    floor = g.op("Sub", [best, g.real(prefix + ".tie", tie)])
    chosen = g.op("Cast", [g.op("GreaterOrEqual", [scores, floor])], to=g.tensor_type)
    totals = g.op("ReduceSum", [chosen, g.const("last_axis", np.array([-1], np.int64))])
    heads = g.op("Div", [g.op("MatMul", [chosen, v]), totals])  # [heads, T, d_value]
    concat = g.op(
        "Reshape",
        [
            g.op("Transpose", [heads], perm=[1, 0, 2]),
            g.const("concat_shape", np.array([0, -1], np.int64)),
        ],
    )
    return g.op("MatMul", [concat, g.const(prefix + ".W_O^T", w[prefix + ".W_O"].T)])


def _feed_forward(g: _Graph, h: str, w: dict, prefix: str) -> str:
    """U relu(W z)."""
    z, cols = _prenorm(g, h, w[prefix + ".mask"], prefix)
    pre = g.op("MatMul", [z, g.const(prefix + ".W_in^T", w[prefix + ".W_in"][:, cols].T)])
    hidden = g.op("Relu", [pre])
    return g.op("MatMul", [hidden, g.const(prefix + ".W_out^T", w[prefix + ".W_out"].T)])


def _layer(g: _Graph, h: str, w: dict, prefix: str, shape: Any, tie: float, future: str) -> str:
    """The residual after one stored layer: attention, then feed-forward, each added. A sublayer
    that reads no column adds exactly zero (uniform scores over zero values; relu(0) = 0), so
    it is left out, as one with no heads or no hidden units."""
    if shape.n_heads and np.any(w[prefix + ".attn.mask"]):
        h = g.op("Add", [h, _attention(g, h, w, prefix + ".attn", shape, tie, future)])
    if shape.d_ff and np.any(w[prefix + ".mlp.mask"]):
        h = g.op("Add", [h, _feed_forward(g, h, w, prefix + ".mlp")])
    return h


def onnx_model(model: CompiledModel, n_max: int | None = None) -> Any:
    """The ONNX ModelProto of `model` (module docstring): input `tokens` (int64 [T], one
    sequence of token ids), outputs `logits` [outputs], `answer` (int64: the index into
    `outputs`, -1 past the promised size), `residual` [T, d_model] (the final residual stream),
    `n` and `depth` (int64: the input size and the repeated block's unrolling)."""
    onnx, TensorProto, helper = _onnx()
    config = model.config
    dtype = model.dtype_name
    meta = metadata(model, n_max)
    tensor_type = {"float64": TensorProto.DOUBLE, "float32": TensorProto.FLOAT}[dtype]
    g = _Graph(helper, tensor_type, np.dtype(dtype))
    w = {name: t.detach().cpu().numpy() for name, t in model.network.tensors.items()}
    tie = meta["tie_tolerance"]

    n, depth = _size_and_depth(g, config)
    length, future = _future_mask(g)

    h = g.op("Gather", [g.const("embed", w["embed"]), "tokens"], axis=0, hint="h0")
    for k, shape in enumerate(config.initial):
        h = _layer(g, h, w, f"initial.{k}", shape, tie, future)
    if config.repeated:
        h = _repeated(g, h, w, config, tie, future, depth, meta["depth"])
    for k, shape in enumerate(config.final):
        h = _layer(g, h, w, f"final.{k}", shape, tie, future)

    outputs = _readout(g, h, w["unembed"], length, n, depth, meta["largest_n"])
    for name, value in outputs.items():
        g.nodes.append(helper.make_node("Identity", [value], [name]))
    d_model = config.d_model
    graph = helper.make_graph(
        g.nodes,
        "logdepth",
        [helper.make_tensor_value_info("tokens", TensorProto.INT64, ["T"])],
        [
            helper.make_tensor_value_info("logits", tensor_type, [len(config.outputs)]),
            helper.make_tensor_value_info("answer", TensorProto.INT64, []),
            helper.make_tensor_value_info("residual", tensor_type, ["T", d_model]),
            helper.make_tensor_value_info("n", TensorProto.INT64, []),
            helper.make_tensor_value_info("depth", TensorProto.INT64, []),
        ],
        g.initializers,
    )
    proto = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="logdepth",
        doc_string="A logdepth model (docs/export.md); metadata key 'logdepth' holds its config.",
    )
    proto.ir_version = 8  # what onnxruntime releases since 1.12 read
    helper.set_model_props(proto, {"logdepth": json.dumps(meta, sort_keys=True)})
    onnx.checker.check_model(proto)
    return proto


def _size_and_depth(g: _Graph, config: Any) -> tuple[str, str]:
    """The input size n and the unrolling d(n), computed from the tokens by the file's depth
    rule (Definition 6's count tokens; Theorem 2's n is the square root of its count)."""
    TensorProto = _onnx()[1]
    rule = config.depth_rule
    ids = [config.vocab.index(t) for t in rule.count_tokens if t in config.vocab]
    hits = g.op(
        "Equal",
        [
            g.op("Unsqueeze", ["tokens", g.const("axis1", np.array([1], np.int64))]),
            g.const("count_ids", np.array(ids, np.int64)),
        ],
    )
    count = g.op("ReduceSum", [g.op("Cast", [hits], to=TensorProto.INT64)], keepdims=0)
    if rule.root == 1:
        n = count
    else:  # root 2 (the only other one a valid file has): floor(sqrt), exact below 2^52
        real = g.op("Cast", [count], to=TensorProto.DOUBLE)
        n = g.op("Cast", [g.op("Floor", [g.op("Sqrt", [real])])], to=TensorProto.INT64)
    if rule.fixed is not None:
        depth = g.const("fixed_depth", np.array(rule.fixed, np.int64))
    else:
        below = g.op("Less", [g.const("powers_of_two", POWERS_OF_TWO), n])
        depth = g.op("ReduceSum", [g.op("Cast", [below], to=TensorProto.INT64)], keepdims=0)
    return n, depth


def _future_mask(g: _Graph) -> tuple[str, str]:
    """The sequence length T and future[i, j] = j > i: the keys a causal head may not see."""
    length = g.op("Gather", [g.op("Shape", ["tokens"]), g.const("index0", np.array(0, np.int64))])
    positions = g.op("Range", [g.const("start", np.array(0, np.int64)), length,
                               g.const("step", np.array(1, np.int64))])
    future = g.op(
        "Greater",
        [
            g.op("Unsqueeze", [positions, g.const("axis0_", np.array([0], np.int64))]),
            g.op("Unsqueeze", [positions, g.const("axis1_", np.array([1], np.int64))]),
        ],
        hint="future",
    )
    return length, future


def _readout(
    g: _Graph, h: str, unembed: np.ndarray, length: str, n: str, depth: str, limit: int | None
) -> dict[str, str]:
    """The graph's outputs: the answer read at the last token (NaN logits and answer -1 past
    the largest promised n), the final residual stream, n and the unrolling depth."""
    residual = g.op("Identity", [h], hint="residual_out")
    last = g.op("Sub", [length, g.const("one_i", np.array(1, np.int64))])
    row = g.op("Gather", [h, last], axis=0)  # [d_model]: the residual at the last token
    logits = g.op("MatMul", [g.op("Unsqueeze", [row, g.const("axis0", np.array([0], np.int64))]),
                             g.const("unembed^T", unembed.T)])
    logits = g.op("Reshape", [logits, g.const("flat", np.array([-1], np.int64))])
    beyond = g.op("Greater", [n, g.const("largest_n", np.array(
        -1 if limit is None else limit, np.int64))])
    outputs = {
        "logits": g.op("Where", [beyond, g.real("nan", np.nan), logits]),
        "answer": g.op("Reshape", [
            g.op("Where", [beyond, g.const("minus_one", np.array(-1, np.int64)),
                           g.op("ArgMax", [logits], axis=0, keepdims=0)]),
            g.const("scalar", np.zeros(0, np.int64)),
        ]),
        "residual": residual,
        "n": n,
        "depth": g.op("Reshape", [depth, g.const("scalar", np.zeros(0, np.int64))]),
    }
    return outputs


def _repeated(
    g: _Graph, h: str, w: dict, config: Any, tie: float, future: str, depth: str, how: dict
) -> str:
    """The repeated block d(n) times: unrolled (a fixed depth, or n_max's copies each applied
    while its index is below d(n)) or as an ONNX Loop."""
    if how["mode"] in ("fixed", "unrolled"):
        for copy in range(how["copies"]):
            before = h
            for k, shape in enumerate(config.repeated):
                h = _layer(g, h, w, f"repeated.{k}", shape, tie, future)
            if how["mode"] == "unrolled":
                active = g.op("Less", [g.const(f"copy{copy}", np.array(copy, np.int64)), depth])
                h = g.op("Where", [active, h, before])
        return h
    helper = g.helper
    body = _Graph(helper, g.tensor_type, g.np_dtype)
    body._count = 1_000_000  # names distinct from the outer graph's (a body may not shadow)
    h_in = "loop_h_in"
    out = h_in
    for k, shape in enumerate(config.repeated):
        out = _layer(body, out, w, f"repeated.{k}", shape, tie, future)
    from onnx import TensorProto

    body.nodes.append(helper.make_node("Identity", ["loop_cond_in"], ["loop_cond_out"]))
    body.nodes.append(helper.make_node("Identity", [out], ["loop_h_out"]))
    graph = helper.make_graph(
        body.nodes,
        "repeated",
        [
            helper.make_tensor_value_info("loop_iter", TensorProto.INT64, []),
            helper.make_tensor_value_info("loop_cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info(h_in, g.tensor_type, ["T", config.d_model]),
        ],
        [
            helper.make_tensor_value_info("loop_cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("loop_h_out", g.tensor_type, ["T", config.d_model]),
        ],
        body.initializers,
    )
    result = g.name("repeated_out")
    g.nodes.append(helper.make_node("Loop", [depth, "", h], [result], body=graph))
    return result


# ---- writing ------------------------------------------------------------------------------------
def export(
    model: CompiledModel, path: str | Path, fmt: str, n_max: int | None = None
) -> dict[str, Any]:
    """Write `model` to `path` as `fmt` ("onnx" or "npz"); returns the metadata written."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}: use {' or '.join(FORMATS)}")
    if n_max is not None:
        if isinstance(n_max, bool) or not isinstance(n_max, int) or n_max < 1:
            raise InputError(f"--n must be a positive whole number, not {n_max!r}")
        if fmt != "onnx":
            raise ExportError("--n unrolls the ONNX graph; an npz has no graph to unroll")
        if model.config.depth_rule.fixed is not None:
            raise ExportError(
                "--n is for models whose depth grows with n; this one has a fixed depth "
                f"({model.config.depth_rule.fixed} repeated copies), exported unrolled as it is"
            )
    if fmt == "npz":
        data = npz_bytes(model)
    else:
        data = onnx_model(model, n_max).SerializeToString()
    atomic_write(path, data, error=ExportError)
    return metadata(model, n_max if fmt == "onnx" else None)
