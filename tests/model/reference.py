"""An independent reference forward pass for the regression test (tests/model/test_modules.py).

The network's forward pass (logdepth/model/transformer.py) is chunked, column-sliced and cached;
this file restates the documented semantics (docs/architecture.md, "The model") in plain numpy,
sharing nothing with it but the weights (read by weight-file name), the config's shapes and the
input encoding:

- h0_i = E[w_i]; s initial layers, r repeated layers unrolled d times, t final layers.
- Each sublayer reads z = norm(m * h) over the FULL residual, norm(x) = x / ||x||_2, norm(0) = 0.
- Attention: full T x T scores q_i . k_j per head, causal heads seeing keys j <= i; averaging-hard
  attention averages v_j over the keys scoring within the tie tolerance of the row maximum (the
  stored float64 tolerance scaled by 2^(52 - p) for p mantissa bits); output W_O (heads concat).
- Feed-forward U relu(W z), no biases; each sublayer's output is added to the residual.
- Logits U h at the last position.

Float results depend on summation order (BLAS kernels, threads, CPU), so runs are compared up to
rounding, in the same process: next to every value the reference carries a first-order bound on
its rounding error, in units of the unit roundoff u (see `Bound`). The p-bit emulated case rounds
every operation, so its bytes are the same on every machine: `python -m tests.model.reference`
records SHA-256 digests for those cases only (tests/model/data/reference_runs.json).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import logdepth
from logdepth.model import inputs

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
# The reference computes in float64 whatever the model's dtype: its own unit roundoff.
U_REFERENCE = 2.0**-53


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def build(name: str, how: str):
    """The compiled model of one case (and the graph, for the connectivity case)."""
    spec = logdepth.parse_file(BASICS)
    if how == "connectivity":
        return logdepth.compile_connectivity(), spec[name]
    if how == "nonuniform":
        return logdepth.compile(spec[name], construction="nonuniform", max_length=8), None
    return logdepth.compile(spec[name]), None


def prepare(model, dtype: str, bits: int | None):
    """The model converted to `dtype`, emulating `bits` mantissa bits when given."""
    model = model.to(dtype)
    model.network.precision_bits = bits
    return model


def tokens_of(model, graph, word) -> list[str]:
    """The input tokens of a case: BoS w $ for a word, Theorem 2's encoding for a graph."""
    if graph is not None:
        nodes = list(graph.nodes)
        return inputs.encode_graph(graph.adjacency(), nodes.index(word[0]), nodes.index(word[1]))
    return inputs.encode_word(inputs.split_word(word, model.alphabet))


def key(case: tuple) -> str:
    name, how, dtype, bits, _ = case
    return f"{name}/{how}/{dtype}/{bits}"


# ---- rounding-error bounds ----------------------------------------------------------------------
#
# Standard forward error analysis (Higham, Accuracy and Stability, ch. 3): a k-term dot product
# computed in any summation order (blocked, pairwise, threaded, with or without FMA) satisfies
# |fl(a . b) - a . b| <= gamma_k |a| . |b|, gamma_k = k u / (1 - k u) ~ k u. A bound is kept as
# E, the error in units of u (to first order every term is linear in u), so one E serves the
# module (u of its dtype or its emulated p bits) and this float64 reference (U_REFERENCE); two
# computations of the same value then differ by at most (u_module + u_reference) E, and
# `tolerance` doubles that to cover the neglected O(k^2 u^2) terms and the use of computed
# rather than exact magnitudes in E (both relative O(k u) corrections; `first_order_holds`
# checks k u stays far below 1).
#
# Per operation, with E_x the bound carried by an input x:
#   masked pre-norm over c read columns: ||x||^2 is a c-term sum of squares (gamma_c), the square
#     root halves it and adds one rounding, the division one more: (c + 3)|z|; an input error
#     moves z by at most (E_x + |z| ||E_x||_2) / ||x|| (the derivative of x / ||x||).
#   y = W z over k terms: k |W| |z| + |W| E_z.
#   averaging-hard attention over the set S: (|S| + 1) mean_S |v| + mean_S E_v (|S| - 1 additions
#     and one division; the weights are exactly 1 and the counts exact).
#   relu: E passes through (1-Lipschitz).    residual addition: E_h + E_delta + |h + delta|.
# The attended key sets get no rounding margin: the constructions keep every score bitwise tied
# with the row maximum or more than twice the score noise below it, with the tie tolerance at the
# noise (docs/precision.md), so both computations must pick the same keys, and the test says so.


@dataclass
class Bound:
    """A value and its first-order rounding-error bound E in units of u (same shape)."""

    value: np.ndarray
    error: np.ndarray


def tolerance(error: np.ndarray, u_model: float) -> np.ndarray:
    """Largest difference allowed between the module and the reference (see the comment above)."""
    return 2.0 * (u_model + U_REFERENCE) * error


def _matmul(w: np.ndarray, x: Bound, terms: int) -> Bound:
    """W x for x [..., k] and W [out, k]."""
    value = x.value @ w.T
    error = terms * (np.abs(x.value) @ np.abs(w).T) + x.error @ np.abs(w).T
    return Bound(value, error)


def masked_prenorm(h: Bound, mask: np.ndarray) -> tuple[Bound, int]:
    """norm(m * h) over the full residual, norm(0) = 0; also the number c of read columns."""
    c = int(np.count_nonzero(mask))
    x = h.value * mask
    ex = h.error * (mask != 0)
    norm = np.sqrt(np.sum(x * x, axis=-1, keepdims=True))
    safe = np.where(norm > 0, norm, 1.0)
    z = np.where(norm > 0, x / safe, 0.0)
    moved = np.sqrt(np.sum(ex * ex, axis=-1, keepdims=True))
    error = (c + 3) * np.abs(z) + (ex + np.abs(z) * moved) / safe
    # A zero read with a nonzero error bound: norm(0) = 0 is discontinuous there.
    error = np.where((norm == 0) & (moved > 0), np.inf, error)
    return Bound(z, error), c


@dataclass
class Run:
    """A reference run: the residual after every sublayer with its bound, the attention weights
    of every attention run, and the logits at the last position."""

    sublayers: list[str] = field(default_factory=list)
    residuals: list[Bound] = field(default_factory=list)
    attention_runs: list[np.ndarray] = field(default_factory=list)
    logits: Bound | None = None


class Reference:
    """The documented forward pass over a compiled model's weights and config."""

    def __init__(self, model) -> None:
        net = model.network
        self.config = model.config
        # The weights by weight-file name, as float64 (exact for float32 weights too).
        self.w = {name: t.detach().cpu().double().numpy() for name, t in net.tensors.items()}
        self.u_model = 2.0 ** -(net.mantissa_bits + 1)
        p = net.mantissa_bits
        # The stored tolerance is float64's (p = 52) and scales with the unit roundoff.
        self.tie = self.config.tie_tolerance * 2.0 ** (52 - p)
        self.vocab = {t: k for k, t in enumerate(self.config.vocab)}

    def schedule(self, depth: int) -> list[tuple[str, int]]:
        """(part, index) of every layer run: s initial, r * depth repeated, t final."""
        s, r, t = self.config.s_r_t
        return (
            [("initial", k) for k in range(s)]
            + [("repeated", k) for _ in range(depth) for k in range(r)]
            + [("final", k) for k in range(t)]
        )

    def shape(self, part: str, k: int):
        return getattr(self.config, part)[k]

    def embed(self, tokens: list[str]) -> Bound:
        """h0 = E[w_i]: a row copy (one rounding when emulating fewer bits)."""
        h = self.w["embed"][[self.vocab[t] for t in tokens]]
        return Bound(h, np.abs(h))

    def attention(self, name: str, causal, h: Bound, run: Run | None) -> Bound:
        """One attention sublayer's output W_O concat_heads(avg-hard(q, k, v))."""
        w = self.w
        z, c = masked_prenorm(h, w[name + ".mask"])
        n = h.value.shape[0]
        heads = []
        pattern = np.zeros((len(causal), n, n))
        for head, is_causal in enumerate(causal):
            q = _matmul(w[name + ".W_Q"][head], z, c)
            k = _matmul(w[name + ".W_K"][head], z, c)
            v = _matmul(w[name + ".W_V"][head], z, c)
            scores = q.value @ k.value.T
            visible = np.tril(np.ones((n, n), dtype=bool)) if is_causal else np.ones((n, n), bool)
            best = np.where(visible, scores, -np.inf).max(axis=1, keepdims=True)
            cut = best - self.tie
            chosen = visible & (scores >= cut)
            count = chosen.sum(axis=1, keepdims=True)
            weights = chosen / count
            value = weights @ v.value
            error = (count + 1) * (weights @ np.abs(v.value)) + weights @ v.error
            pattern[head] = weights
            heads.append(Bound(value, error))
        concat = Bound(
            np.concatenate([b.value for b in heads], axis=-1),
            np.concatenate([b.error for b in heads], axis=-1),
        )
        if run is not None:
            run.attention_runs.append(pattern)
        return _matmul(w[name + ".W_O"], concat, concat.value.shape[-1])

    def feed_forward(self, name: str, h: Bound) -> Bound:
        """U relu(W z)."""
        z, c = masked_prenorm(h, self.w[name + ".mask"])
        pre = _matmul(self.w[name + ".W_in"], z, c)
        hidden = Bound(np.maximum(pre.value, 0.0), pre.error)
        return _matmul(self.w[name + ".W_out"], hidden, hidden.value.shape[-1])

    def sublayer(self, name: str, h: Bound, run: Run | None = None) -> Bound:
        """The residual after sublayer `name` ("repeated.3.attn", "final.0.mlp") reads h."""
        prefix, kind = name.rsplit(".", 1)
        part, k = prefix.split(".")
        delta = (
            self.attention(prefix + ".attn", self.shape(part, int(k)).causal, h, run)
            if kind == "attn"
            else self.feed_forward(prefix + ".mlp", h)
        )
        out = h.value + delta.value
        return Bound(out, h.error + delta.error + np.abs(out))

    def logits(self, h: Bound) -> Bound:
        """U h at the last position."""
        last = Bound(h.value[-1:], h.error[-1:])
        return _matmul(self.w["unembed"], last, last.value.shape[-1])

    def forward(self, tokens: list[str], depth: int) -> Run:
        """The whole run, every sublayer reading the reference's own previous residual."""
        run = Run()
        h = self.embed(tokens)
        run.sublayers.append("embed")
        run.residuals.append(h)
        for part, k in self.schedule(depth):
            shape = self.shape(part, k)
            for kind, present in (("attn", shape.n_heads), ("mlp", shape.d_ff)):
                if present:
                    name = f"{part}.{k}.{kind}"
                    h = self.sublayer(name, h, run)
                    run.sublayers.append(name)
                    run.residuals.append(h)
        run.logits = self.logits(h)
        return run

    def answer(self, logits: Bound) -> str:
        return self.config.outputs[int(np.argmax(logits.value[0]))]


def run_digests(model, tokens: list[str]) -> dict:
    """Digests of one traced run: every residual, every attention run, and the answer."""
    trace = model.trace_tokens(tokens)
    return {
        "sublayers": trace.sublayers,
        "residuals": [_digest(r) for r in trace.residuals],
        "attention_runs": [_digest(a) for a in trace.attention_runs],
        "answer": model.run_tokens([tokens])[0],
    }


def compute() -> dict:
    """The digests of every case whose bytes are machine-independent (p-bit emulation)."""
    out = {}
    built: dict = {}
    for case in CASES:
        name, how, dtype, bits, word = case
        if bits is None:
            continue
        if (name, how) not in built:
            built[(name, how)] = build(name, how)
        model, graph = built[(name, how)]
        model = prepare(model, dtype, bits)
        out[key(case)] = run_digests(model, tokens_of(model, graph, word))
    return out


if __name__ == "__main__":
    DATA.write_text(json.dumps(compute(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {DATA}")


# ---- decoded cells ------------------------------------------------------------------------------
def decided_decodes(info, block: np.ndarray, tol: np.ndarray):
    """Where rounding cannot change a cell's decoding (`TraceResult.decode`), and the largest
    change of a numeric decoding there: a (positions mask, tolerance) pair.

    A code or one-hot cell decodes to the argmax of its block, or None when the block is exactly
    zero: decided where the top coordinate leads the runner-up by more than both tolerances
    (the module may leave a rounding residue in a cleared cell, so a block within its tolerance
    of zero is not decided). phi/psi decode to a / b with a = (x0 - x2) / 2, b = (x1 - x3) / 2:
    decided where |b| exceeds its tolerance t_b, and then a / b moves by at most
    (t_a + |a / b| t_b) / (|b| - t_b). bool, const and scalar decode to x0 itself.
    """
    if info.kind in ("code", "onehot"):
        if info.size < 1:
            return np.zeros(len(block), bool), None
        order = np.sort(block, axis=1)
        top = order[:, -1]
        second = order[:, -2] if info.size > 1 else np.zeros(len(block))
        worst = tol.max(axis=1)
        return (top - second > 2 * worst) & (top > worst), None
    if info.kind in ("phi", "psi"):
        a = (block[:, 0] - block[:, 2]) / 2
        b = (block[:, 1] - block[:, 3]) / 2
        ta = (tol[:, 0] + tol[:, 2]) / 2
        tb = (tol[:, 1] + tol[:, 3]) / 2
        decided = np.abs(b) > 2 * tb
        safe = np.where(decided, np.abs(b) - tb, 1.0)
        return decided, (ta + np.abs(a / np.where(b != 0, b, 1.0)) * tb) / safe
    return np.ones(len(block), bool), tol[:, 0]


# ---- the comparison -----------------------------------------------------------------------------
def _beyond(module: np.ndarray, ref: Bound, u_model: float) -> int:
    """How many entries of a module result lie outside the reference's tolerance."""
    return int(np.sum(np.abs(module - ref.value) > tolerance(ref.error, u_model)))


def _same_pattern(module: np.ndarray, ref: np.ndarray, u_model: float) -> bool:
    """Same attended keys, and weights 1/|S| equal up to one rounding each side."""
    if not np.array_equal(module > 0, ref > 0):
        return False
    return bool(np.all(np.abs(module - ref) <= (u_model + U_REFERENCE) * 2 * ref))


def problems(model, tokens: list[str], ref: Reference | None = None) -> list[str]:
    """Every way the module's traced run differs from the documented forward pass (empty: none).

    Step by step, each sublayer of the reference reads the module's previous residual, so each
    residual is checked against one sublayer's rounding; then the reference runs on its own,
    and its residuals (with the bounds carried through the whole run), attended key sets,
    decoded cells and answer must agree with the module's."""
    ref = ref or Reference(model)
    u = ref.u_model
    trace = model.trace_tokens(tokens)
    answer = model.run_tokens([tokens])[0]
    out: list[str] = []
    if _beyond(trace.residuals[0], ref.embed(tokens), u):
        out.append("embedding")
    runs = iter(trace.attention_runs)
    for k in range(1, len(trace.residuals)):
        name = trace.sublayers[k]
        run = Run()
        before = trace.residuals[k - 1].astype(np.float64)
        after = ref.sublayer(name, Bound(before, np.zeros_like(before)), run)
        if bad := _beyond(trace.residuals[k], after, u):
            out.append(f"step {k} ({name}): {bad} entries beyond the tolerance")
        if name.endswith(".attn") and not _same_pattern(next(runs), run.attention_runs[0], u):
            out.append(f"step {k} ({name}): attention pattern")
    last = trace.residuals[-1].astype(np.float64)
    if ref.answer(ref.logits(Bound(last, np.zeros_like(last)))) != answer:
        out.append("answer read from the last residual")

    full = ref.forward(tokens, trace.depth)
    if full.sublayers != trace.sublayers:
        return [*out, f"sublayers: {full.sublayers} != {trace.sublayers}"]
    for k, (mine, theirs) in enumerate(zip(trace.residuals, full.residuals, strict=True)):
        if bad := _beyond(mine, theirs, u):
            out.append(f"whole run, residual {k}: {bad} entries beyond the tolerance")
    for k, (mine, theirs) in enumerate(zip(trace.attention_runs, full.attention_runs, strict=True)):
        if not _same_pattern(mine, theirs, u):
            out.append(f"whole run, attention run {k}: pattern")
    out += _decode_problems(trace, full, u)
    if ref.answer(full.logits) != answer:
        out.append(f"answer: module {answer}, reference {ref.answer(full.logits)}")
    return out


def _decode_problems(trace, full: Run, u_model: float) -> list[str]:
    """Decoded cells (`TraceResult.decode`) of the module's and the reference's runs agree
    wherever rounding cannot change the decoding (`decided_decodes`)."""
    from logdepth.model.compiled import TraceResult

    mine = TraceResult(
        trace.tokens, trace.config, trace.depth, full.sublayers, [b.value for b in full.residuals]
    )
    out, compared = [], 0
    for step, res in enumerate(full.residuals):
        tol = tolerance(res.error, u_model)
        for cell in trace.config.cells:
            cols = slice(cell.offset, cell.stop)
            decided, moved = decided_decodes(cell, res.value[:, cols], tol[:, cols])
            a, b = mine.decode(cell.name, step)[decided], trace.decode(cell.name, step)[decided]
            compared += int(decided.sum())
            if moved is None:
                wrong = a != b
            else:
                wrong = np.abs(a.astype(float) - b.astype(float)) > moved[decided]
            if np.any(wrong):
                out.append(f"decoded {cell.name} after step {step}")
    if not compared:
        out.append("no decoded cell was compared")
    return out
