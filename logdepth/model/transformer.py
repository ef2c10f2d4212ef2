"""The (s, r, t)-universal transformer the compiled weights run on (paper Section 2).

One readable file, nanoGPT style. Semantics (DESIGN.md, "The model the weights run on"):

- h0_i = E[w_i]; no positional encoding; position 0 holds BoS.
- Each layer: an attention sublayer, then a feed-forward sublayer. Each reads its own masked
  pre-norm z_i = norm(m * h_i), norm(x) = x / ||x||_2 with norm(0) = 0, and adds its output to
  the residual stream (Definitions 2 and 3). No biases anywhere.
- Heads are causal (keys j <= i, i included) or unmasked. Averaging-hard attention spreads the
  weight evenly over the keys whose score is within `tie_tolerance` of the maximum; a softmax
  mode with inverse temperature beta exists for experiments.
- s initial layers, r repeated layers unrolled d times, t final layers; logits U h at the last
  position of each sequence.

Attention scores are computed in chunks of queries so that memory stays bounded
(O(chunk * n) per head rather than O(n^2)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from logdepth.model.config import LayerShape, ModelConfig

# Score-chunk budget: elements of one [batch, heads, chunk, n] score block. 2^25 float64 values is
# 256 MiB; the boolean masks and weights built from it roughly triple that at the peak.
SCORE_BLOCK_ELEMENTS = 1 << 25

PARTS = ("initial", "repeated", "final")


def layer_tensor_shapes(shape: LayerShape, d_model: int) -> dict[str, tuple[int, ...]]:
    """The tensors of one layer and their shapes (the weight file's per-layer schema)."""
    h, dk, dv, w = shape.n_heads, shape.d_head, shape.d_value, shape.d_ff
    return {
        "attn.mask": (d_model,),
        "attn.W_Q": (h, dk, d_model),
        "attn.W_K": (h, dk, d_model),
        "attn.W_V": (h, dv, d_model),
        "attn.W_O": (d_model, h * dv),
        "mlp.mask": (d_model,),
        "mlp.W_in": (w, d_model),
        "mlp.W_out": (d_model, w),
    }


def tensor_schema(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every tensor name of a model with its shape."""
    schema: dict[str, tuple[int, ...]] = {
        "embed": (len(config.vocab), config.d_model),
        "unembed": (len(config.outputs), config.d_model),
    }
    for part in PARTS:
        for k, shape in enumerate(getattr(config, part)):
            for name, dims in layer_tensor_shapes(shape, config.d_model).items():
                schema[f"{part}.{k}.{name}"] = dims
    return schema


def read_columns(mask: torch.Tensor) -> torch.Tensor:
    """Indices of the residual dimensions a sublayer's mask keeps (its nonzero entries)."""
    return torch.nonzero(mask, as_tuple=True)[0]


def masked_prenorm(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """z = norm(m * h) with norm(x) = x / ||x||_2 and norm(0) = 0 (no epsilon: digest 8.5)."""
    x = h * mask
    n = torch.linalg.vector_norm(x, dim=-1, keepdim=True)
    return torch.where(n > 0, x / torch.where(n > 0, n, torch.ones_like(n)), torch.zeros_like(x))


def round_to_bits(x: torch.Tensor, bits: int) -> torch.Tensor:
    """x rounded to `bits` stored mantissa bits (bits + 1 significant bits), for float64 x and
    1 <= bits <= 51: the p-precise rounding [x]_{D_p} of the paper's Definition 4.

    Veltkamp's split: c = (2^s + 1) x, hi = c - (c - x) is x rounded to nearest with 53 - s
    significant bits (ties as float64 arithmetic breaks them, to even; the paper breaks them
    upward, a difference of one tie in 2^s that no bound here depends on). No overflow for the
    magnitudes a compiled model produces (|x| < 2^900).
    """
    split = float(2 ** (52 - bits) + 1)
    c = x * split
    return c - (c - x)


@dataclass
class Trace:
    """What `UniversalTransformer.forward(trace=True)` records for one batch.

    residuals[k] is the stream after sublayer k (k = 0 is the embedding); `sublayers[k]` names it
    ("initial.0.attn", ...). attention[(name)] is [batch, heads, n, n] of the attention weights
    (the last run of that sublayer); attention_runs has one such tensor per attention sublayer
    run, in execution order, so every unrolled copy of a repeated layer keeps its own.
    """

    residuals: list[torch.Tensor] = field(default_factory=list)
    sublayers: list[str] = field(default_factory=list)
    attention: dict[str, torch.Tensor] = field(default_factory=dict)
    attention_runs: list[torch.Tensor] = field(default_factory=list)
    record_attention: bool = True  # False skips the [batch, heads, n, n] matrices (long inputs)


class UniversalTransformer(torch.nn.Module):
    """An (s, r, t)-universal transformer with hand-set weights (paper Definition 1)."""

    def __init__(self, config: ModelConfig, tensors: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.config = config
        self.tensors = tensors
        self.attention_mode = "hard"
        self.beta = 1.0
        # p-precise emulation (Definition 4): every operation's result rounded to this many
        # mantissa bits (None: the dtype's own arithmetic). See `round`.
        self.precision_bits: int | None = None
        self._reads: dict[str, tuple[tuple, torch.Tensor, torch.Tensor, list[torch.Tensor]]] = {}

    def _read(
        self, h: torch.Tensor, prefix: str, matrices: tuple[str, ...]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Masked pre-norm restricted to the columns the mask keeps, with the reading matrices
        restricted to the same columns (cached per sublayer).

        The masked-out entries of m * h are zero, so they change neither the norm nor any
        product with the reading matrices: this equals norm(m * h) @ W.T while touching only
        the cells the sublayer reads (a layer typically reads a few of hundreds of columns).
        """
        key = prefix + ".mask"
        sources = [self.tensors[key]] + [self.tensors[prefix + "." + m] for m in matrices]
        # Identity and in-place version of every source: edited weights invalidate the cache.
        stamp = tuple((id(t), t._version) for t in sources)
        cached = self._reads.get(key)
        if cached is None or cached[0] != stamp:
            cols = read_columns(sources[0])
            sliced = [t[..., cols] for t in sources[1:]]
            cached = (stamp, cols, sources[0][cols], sliced)
            self._reads[key] = cached
        _, cols, mask, sliced = cached
        return self.round(masked_prenorm(h[..., cols], mask)), sliced

    def round(self, x: torch.Tensor) -> torch.Tensor:
        """[x]_{D_p} when emulating p-bit precision, else x unchanged.

        Emulation runs in float64 and rounds the result of every operation of the forward pass:
        the embedding, the masked pre-norm (one operation R^m -> R^m, as Definition 4 views
        layer-norm), every matrix product (each output entry a dot product, rounded once: like
        the paper's n-ary attention sum, a correctly rounded sum), the scores, the attention
        sum and its division, each sublayer output and each residual addition. Float64's own
        53 bits make the unrounded intermediate exact to far below 2^-p for p <= 44.
        """
        if self.precision_bits is None:
            return x
        if x.dtype != torch.float64:
            raise ValueError("p-bit emulation runs on float64 weights (model.to('float64'))")
        return round_to_bits(x, self.precision_bits)

    @property
    def mantissa_bits(self) -> int:
        """p: the stored mantissa bits of the arithmetic (52 float64, 23 float32, or emulated)."""
        if self.precision_bits is not None:
            return self.precision_bits
        return -round(math.log2(torch.finfo(self.dtype).eps))  # eps = 2^-p

    @property
    def tie_tolerance(self) -> float:
        """The stored tolerance is float64's (p = 52); it is a multiple of the score rounding,
        which scales with the unit roundoff 2^-(p+1), so p bits use tol * 2^(52 - p)."""
        return self.config.tie_tolerance * 2.0 ** (52 - self.mantissa_bits)

    @property
    def dtype(self) -> torch.dtype:
        return self.tensors["embed"].dtype

    def to_dtype(self, dtype: torch.dtype) -> UniversalTransformer:
        model = UniversalTransformer(self.config, {k: v.to(dtype) for k, v in self.tensors.items()})
        model.attention_mode, model.beta = self.attention_mode, self.beta
        model.precision_bits = self.precision_bits
        return model

    def schedule(self, depth: int) -> list[str]:
        """Layer prefixes in execution order: s initial, r*depth repeated, t final."""
        s, r, t = self.config.s_r_t
        names = [f"initial.{k}" for k in range(s)]
        names += [f"repeated.{k}" for _ in range(depth) for k in range(r)]
        names += [f"final.{k}" for k in range(t)]
        return names

    def _shape(self, prefix: str) -> LayerShape:
        part, k = prefix.split(".")
        return getattr(self.config, part)[int(k)]

    def forward(
        self,
        tokens: torch.Tensor,
        lengths: torch.Tensor,
        depth: int,
        trace: Trace | None = None,
    ) -> torch.Tensor:
        """Run the unrolled network; return logits [batch, outputs] read at each last position.

        tokens: [batch, n] token ids, position 0 = BoS, padded arbitrarily past `lengths`.
        """
        batch, n = tokens.shape
        h = self.round(self.tensors["embed"][tokens])
        positions = torch.arange(n, device=tokens.device)
        valid_keys = positions[None, :] < lengths[:, None]  # [batch, n]
        if trace is not None:
            trace.residuals.append(h.clone())
            trace.sublayers.append("embed")
        for prefix in self.schedule(depth):
            shape = self._shape(prefix)
            if shape.n_heads:
                h = self.round(h + self._attention(h, prefix, shape, valid_keys, trace))
                if trace is not None:
                    trace.residuals.append(h.clone())
                    trace.sublayers.append(prefix + ".attn")
            if shape.d_ff:
                h = self.round(h + self._feed_forward(h, prefix))
                if trace is not None:
                    trace.residuals.append(h.clone())
                    trace.sublayers.append(prefix + ".mlp")
        last = h[torch.arange(batch, device=tokens.device), lengths - 1]
        return self.round(last @ self.tensors["unembed"].T)

    def _feed_forward(self, h: torch.Tensor, prefix: str) -> torch.Tensor:
        """Definition 3: delta = U relu(W z), z the masked pre-norm."""
        t = self.tensors
        z, (w_in,) = self._read(h, prefix + ".mlp", ("W_in",))
        hidden = torch.relu(self.round(z @ w_in.T))
        return self.round(hidden @ t[prefix + ".mlp.W_out"].T)

    def _attention(
        self,
        h: torch.Tensor,
        prefix: str,
        shape: LayerShape,
        valid_keys: torch.Tensor,
        trace: Trace | None,
    ) -> torch.Tensor:
        """Definition 2 with averaging-hard attention, computed in chunks of queries.

        Work is saved without changing the result: when every head is causal, a chunk of queries
        [start, stop) only scores keys < stop; the causal mask only touches the diagonal block
        of keys [start, stop) (earlier keys are visible to the whole chunk); the padding mask is
        applied only when some sequence of the batch is shorter than the keys scored.
        """
        t = self.tensors
        z, (w_q, w_k, w_v) = self._read(h, prefix + ".attn", ("W_Q", "W_K", "W_V"))
        q = self.round(torch.einsum("bnm,hdm->bhnd", z, w_q))
        k = self.round(torch.einsum("bnm,hdm->bhnd", z, w_k))
        v = self.round(torch.einsum("bnm,hdm->bhnd", z, w_v))
        batch, heads, n, _ = q.shape
        causal_heads = [k_ for k_, c in enumerate(shape.causal) if c]
        all_causal = len(causal_heads) == heads
        shortest = int(valid_keys.sum(dim=1).min())
        out = torch.empty(batch, heads, n, v.shape[-1], dtype=h.dtype, device=h.device)
        recording = trace is not None and trace.record_attention
        weights_all = torch.zeros(batch, heads, n, n, dtype=h.dtype) if recording else None
        chunk = max(1, SCORE_BLOCK_ELEMENTS // max(1, batch * heads * n))
        positions = torch.arange(n, device=h.device)
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            keys = stop if all_causal else n
            scores = self.round(q[:, :, start:stop] @ k[:, :, :keys].transpose(-1, -2))  # [b,h,c,k]
            future = positions[None, start:keys] > positions[start:stop, None]  # [c, keys-start]
            if all_causal:
                scores[..., start:keys].masked_fill_(future, float("-inf"))
            else:
                for head in causal_heads:
                    scores[:, head, :, start:keys].masked_fill_(future, float("-inf"))
            if shortest < keys:
                scores.masked_fill_(~valid_keys[:, None, None, :keys], float("-inf"))
            weights, totals = self._weights(scores)
            # Normalize after the value product: c*dv divisions instead of c*n.
            out[:, :, start:stop] = self.round(self.round(weights @ v[:, :, :keys]) / totals)
            if weights_all is not None:
                weights_all[:, :, start:stop, :keys] = weights / totals
        if trace is not None and weights_all is not None:
            trace.attention[prefix + ".attn"] = weights_all
            trace.attention_runs.append(weights_all)
        heads_out = out.permute(0, 2, 1, 3).reshape(batch, n, -1)
        return self.round(heads_out @ t[prefix + ".attn.W_O"].T)

    def _weights(self, scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Unnormalized attention weights and their row sums, from scores masked with -inf.

        Hard mode: 1 on the keys within `tie_tolerance` of the row maximum, so the average is
        the paper's averaging-hard attention; every row sees at least one key (itself, or BoS).
        The weights overwrite the score buffer in place: on long inputs these n x chunk passes
        are memory-bound, and fresh buffers cost page faults.
        """
        best = scores.amax(dim=-1, keepdim=True)
        if self.attention_mode == "softmax":
            weights = self.round(scores.sub_(best).mul_(self.beta).exp_())
        else:
            # s >= best - tol  <=>  s - (best - tol) >= 0; heaviside(0) = 1, heaviside(-inf) = 0.
            floor = self.round(best - self.tie_tolerance)
            weights = scores.sub_(floor).heaviside_(self._one(scores))
        return weights, weights.sum(dim=-1, keepdim=True)

    @staticmethod
    def _one(like: torch.Tensor) -> torch.Tensor:
        return torch.ones((), dtype=like.dtype, device=like.device)
