"""The (s, r, t)-universal transformer the compiled weights run on (paper Section 2).

One readable file, nanoGPT style. Semantics (docs/architecture.md, "The model"):

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

The network is an ordinary torch module tree. The weights are registered buffers (hand-set, not
trained), named as in the weight file, so `state_dict()`, `load_state_dict`, `.to(device)` and
`.to(dtype)` behave as for any torch model:

    UniversalTransformer            embed, unembed; hook_embed
      initial / repeated / final    ModuleLists of `Layer`, one per stored layer
        Layer                       hook_resid_pre, hook_attn_out, hook_resid_mid,
                                    hook_mlp_out, hook_resid_post
          attn: Attention           mask, W_Q, W_K, W_V, W_O; hook_pattern, hook_z
          mlp: FeedForward          mask, W_in, W_out; hook_pre, hook_post

The `hook_*` children are identity `HookPoint`s named after TransformerLens's hook points; a
`register_forward_hook` on one sees the activation, and a hook that returns a tensor replaces it
(activation patching), except `hook_pattern`, which is read-only (the output is computed from
the pattern's chunks before the whole pattern exists). A repeated layer runs d times per forward
pass, so hooks under `repeated.k` fire d times, in order; while a forward pass runs,
`UniversalTransformer.iteration` is the unrolled copy being run (0..d-1; None in the initial and
final layers).
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import torch
from torch import nn

from logdepth.model import fused
from logdepth.model.config import LayerShape, ModelConfig

# Score-chunk budget: elements of one [batch, heads, chunk, n] score block. 2^25 float64 values is
# 256 MiB; the boolean masks and weights built from it roughly triple that at the peak.
SCORE_BLOCK_ELEMENTS = 1 << 25

# float64's stored mantissa bits (52): p-bit emulation rounds float64 results, so p < 52 (the
# split constant 2^(52 - p) + 1 needs 52 - p >= 1).
FLOAT64_BITS = -round(math.log2(torch.finfo(torch.float64).eps))

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
    """z = norm(m * h) with norm(x) = x / ||x||_2 and norm(0) = 0 (no epsilon, so that a zero
    cell reads as zero, as the paper's norm does)."""
    x = h * mask
    n = torch.linalg.vector_norm(x, dim=-1, keepdim=True)
    return torch.where(n > 0, x / torch.where(n > 0, n, torch.ones_like(n)), torch.zeros_like(x))


def round_to_bits(x: torch.Tensor, bits: int | torch.Tensor) -> torch.Tensor:
    """x rounded to `bits` stored mantissa bits (bits + 1 significant bits), for float64 x and
    1 <= bits <= 51: the p-precise rounding [x]_{D_p} of the paper's Definition 4.

    `bits` is one int for the whole tensor, or a 1-d integer tensor with one p per row of x's
    first (batch) dimension, so that one forward pass evaluates many (input, p) pairs; each
    row is rounded exactly as it would be alone at its own p (`split_constants`).

    Veltkamp's split: c = (2^s + 1) x, hi = c - (c - x) is x rounded to nearest with 53 - s
    significant bits (ties as float64 arithmetic breaks them, to even; the paper breaks them
    upward, a difference of one tie in 2^s that no bound here depends on). No overflow for the
    magnitudes a compiled model produces (|x| < 2^900).
    """
    if isinstance(bits, torch.Tensor):
        return veltkamp(x, split_constants(bits, x.device))
    c = x * float(2 ** (52 - bits) + 1)
    return c - (c - x)


def veltkamp(x: torch.Tensor, split: torch.Tensor) -> torch.Tensor:
    """`round_to_bits` with one split constant per row of x's first dimension (`split`:
    [batch] float64): the same multiply and subtractions as the scalar path, broadcast over a
    [batch, 1, ..., 1] view, so each row rounds bit for bit as it would alone."""
    if split.shape[0] != x.shape[0]:
        raise ValueError(f"per-row precision has {split.shape[0]} rows, the batch {x.shape[0]}")
    c = x * split.view(-1, *([1] * (x.dim() - 1)))
    return c - (c - x)


def split_constants(bits: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Veltkamp's split constant 2^(52 - p) + 1 per row as float64, computed in Python integer
    arithmetic (exact: 2^(52 - p) + 1 < 2^53 for p >= 1), as the scalar path computes it, so a
    row rounds bit for bit as it would alone; not torch.pow, whose float result need not be
    exact."""
    values = [float(2 ** (52 - int(p)) + 1) for p in bits.tolist()]
    return torch.tensor(values, dtype=torch.float64, device=device)


def check_bits(bits: int | torch.Tensor | None) -> None:
    """Refuse a p outside 1..51 (the split needs 52 - p >= 1 and 53 - p <= 52 bits) or a
    per-row tensor that is not 1-d integers: emulation would silently round wrong."""
    if bits is None:
        return
    if isinstance(bits, torch.Tensor):
        if bits.dim() != 1 or bits.dtype.is_floating_point or bits.dtype == torch.bool:
            raise ValueError("per-row precision_bits must be a 1-d integer tensor (one p a row)")
        values = bits.tolist()
    else:
        values = [bits]
    for p in values:
        if isinstance(p, bool) or not isinstance(p, numbers.Integral) or not 0 < p < FLOAT64_BITS:
            raise ValueError(
                f"precision_bits must be 1..{FLOAT64_BITS - 1} (float64 emulation), not {p!r}"
            )


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
    # Receives every attention run chunk by chunk instead (and then nothing of [batch, heads,
    # n, n] is kept): what a reader that reduces the maps needs, at O(chunk * n) memory.
    attention_sink: AttentionSink | None = None


class AttentionSink(Protocol):
    """A reader of attention weights as they are computed (`Trace.attention_sink`): per run of
    an attention sublayer, `begin`, then `chunk` for consecutive blocks of query rows, then
    `end`. A chunk holds rows start.. as `weights` [batch, heads, rows, keys] (keys <= n: the
    keys past them have weight 0) and their row sums `totals` [batch, heads, rows, 1]: the
    attention weights are weights / totals, left to the sink to divide (a slice at a time, if
    it likes). Both are the forward pass's own buffers: copy what is kept."""

    def begin(self, name: str, batch: int, heads: int, n: int) -> None: ...

    def chunk(self, start: int, weights: torch.Tensor, totals: torch.Tensor) -> None: ...

    def end(self) -> None: ...


class HookPoint(nn.Module):
    """An identity module: a named place to attach forward hooks (TransformerLens's HookPoint).

    `register_forward_hook(fn)` calls fn(module, (x,), x) each time the activation passes; a
    hook that returns a tensor replaces the activation.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return x unchanged (hooks see and may replace it)."""
        return x


class Attention(nn.Module):
    """One layer's attention sublayer (paper Definition 2): masked pre-norm, heads, W_O.

    Buffers: mask [d_model], W_Q and W_K [heads, d_head, d_model], W_V [heads, d_value,
    d_model], W_O [d_model, heads * d_value]. Its output is the delta added to the residual.
    """

    def __init__(self, owner: UniversalTransformer, name: str, shape: LayerShape, d_model: int):
        super().__init__()
        # The owning network holds the arithmetic settings (precision, attention mode); a plain
        # attribute, not a registered child, so the module tree has no cycle.
        object.__setattr__(self, "_owner", owner)
        self.name = name
        self.shape = shape
        for key, dims in layer_tensor_shapes(shape, d_model).items():
            if key.startswith("attn."):
                self.register_buffer(key[5:], torch.zeros(dims, dtype=torch.float64))
        self.hook_pattern = HookPoint()
        self.hook_z = HookPoint()
        self._cache: tuple | None = None

    def extra_repr(self) -> str:
        causal = "".join("c" if c else "u" for c in self.shape.causal)
        return f"heads={self.shape.n_heads} ({causal}), d_head={self.shape.d_head}"

    def forward(
        self, h: torch.Tensor, valid_keys: torch.Tensor, trace: Trace | None = None
    ) -> torch.Tensor:
        """Definition 2 with averaging-hard attention: the heads in chunks of queries
        (`_chunked`), or under p-bit emulation in the fused kernel (`_emulated`)."""
        net = self._owner
        z, (w_q, w_k, w_v) = _read(self, h, ("W_Q", "W_K", "W_V"))
        q = net.round(torch.einsum("bnm,hdm->bhnd", z, w_q))
        k = net.round(torch.einsum("bnm,hdm->bhnd", z, w_k))
        v = net.round(torch.einsum("bnm,hdm->bhnd", z, w_v))
        if self._fused_emulation(q, k, v, trace):
            out = self._emulated(q, k, v, valid_keys)
        else:
            out = self._chunked(q, k, v, valid_keys, trace)
        out = self.hook_z(out)
        batch, _, n, _ = q.shape
        heads_out = out.permute(0, 2, 1, 3).reshape(batch, n, -1)
        return net.round(heads_out @ self.W_O.T)

    def _chunked(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        valid_keys: torch.Tensor,
        trace: Trace | None,
    ) -> torch.Tensor:
        """The heads' outputs [batch, heads, n, d_value] from q, k, v, chunk by chunk of
        queries, recording the pattern where a hook or trace asks for it.

        Work is saved without changing the result: when every head is causal, a chunk of queries
        [start, stop) only scores keys < stop; the causal mask only touches the diagonal block
        of keys [start, stop) (earlier keys are visible to the whole chunk); the padding mask is
        applied only when some sequence of the batch is shorter than the keys scored.
        """
        net = self._owner
        shape = self.shape
        batch, heads, n, _ = q.shape
        causal_heads = [k_ for k_, c in enumerate(shape.causal) if c]
        all_causal = len(causal_heads) == heads
        shortest = int(valid_keys.sum(dim=1).min())
        out = torch.empty(batch, heads, n, v.shape[-1], dtype=q.dtype, device=q.device)
        # The whole [batch, heads, n, n] pattern only when someone looks at it; a sink takes
        # it chunk by chunk instead.
        sink = trace.attention_sink if trace is not None else None
        recording = (trace is not None and trace.record_attention and sink is None) or bool(
            self.hook_pattern._forward_hooks
        )
        if sink is not None:
            sink.begin(self.name, batch, heads, n)
        weights_all = (
            torch.zeros(batch, heads, n, n, dtype=q.dtype, device=q.device) if recording else None
        )
        chunk = max(1, SCORE_BLOCK_ELEMENTS // max(1, batch * heads * n))
        positions = torch.arange(n, device=q.device)
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            keys = stop if all_causal else n
            scores = net.round(q[:, :, start:stop] @ k[:, :, :keys].transpose(-1, -2))  # [b,h,c,k]
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
            out[:, :, start:stop] = net.round(net.round(weights @ v[:, :, :keys]) / totals)
            if weights_all is not None:
                weights_all[:, :, start:stop, :keys] = weights / totals
            if sink is not None:
                sink.chunk(start, weights, totals)
        if sink is not None:
            sink.end()
        if weights_all is not None:
            self.hook_pattern(weights_all)
            if trace is not None and trace.record_attention and sink is None:
                trace.attention[self.name] = weights_all
                trace.attention_runs.append(weights_all)
        return out

    def _fused_emulation(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, trace: Trace | None
    ) -> bool:
        """Whether p-bit emulation runs these heads in the fused kernel (fused.py): emulating
        hard attention, the kernel built, no pattern hook and no trace that records the
        pattern (it is never formed), q, k and v finite and no score able to overflow (the
        torch path defines how NaN and infinity spread)."""
        net = self._owner
        if net.precision_bits is None or net.attention_mode != "hard":
            return False
        if trace is not None and (trace.record_attention or trace.attention_sink is not None):
            return False
        if _watched(self.hook_pattern) or not fused.applies(q) or q.shape[-1] < 1:
            return False
        if q.numel() == 0 or not all(math.isfinite(float(t.sum())) for t in (q, k, v)):
            return False
        # |score| <= d_head max|q| max|k| and |attended sum| <= n max|v|; below finfo.max /
        # 2^53 Veltkamp's c = (2^(52 - p) + 1) x cannot overflow either (the torch path would
        # turn such a row into NaN).
        score = q.shape[-1] * float(q.abs().max()) * float(k.abs().max())
        total = q.shape[2] * float(v.abs().max()) if v.numel() else 0.0
        return max(score, total) < torch.finfo(q.dtype).max / 2.0**53

    def _emulated(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, valid_keys: torch.Tensor
    ) -> torch.Tensor:
        """`_chunked` under p-bit emulation in one sweep per query of the fused kernel: each
        score, the floor best - tol, the attended sum and its division rounded to the row's p
        as `_chunked` rounds them, so no [queries, keys] block reaches memory. The dot
        products and the sum of the attended values add the same terms as torch's products,
        in another order (float64 sums of d_head, or of the attended values, terms)."""
        net = self._owner
        batch, heads, n, d_value = v.shape
        tolerance = net.tie_tolerance
        if isinstance(tolerance, torch.Tensor):
            tolerance = tolerance.reshape(batch)
        else:
            tolerance = torch.full((batch,), tolerance, dtype=torch.float64)
        split = net.split_constants_per_row(batch, q.device)
        causal = torch.tensor(self.shape.causal, dtype=torch.bool)
        out = torch.empty(batch, n, heads, d_value, dtype=q.dtype, device=q.device)
        lengths = valid_keys.sum(dim=1)  # the valid keys are a prefix of each row
        fused.hard_attention(q, k, v, causal, lengths, 0.0, out, emulated=(split, tolerance))
        return out.permute(0, 2, 1, 3).contiguous()  # as `_chunked` lays it out, for hook_z

    def _weights(self, scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Unnormalized attention weights and their row sums, from scores masked with -inf.

        Hard mode: 1 on the keys within `tie_tolerance` of the row maximum, so the average is
        the paper's averaging-hard attention; every row sees at least one key (itself, or BoS).
        The weights overwrite the score buffer in place: on long inputs these n x chunk passes
        are memory-bound, and fresh buffers cost page faults.
        """
        net = self._owner
        best = scores.amax(dim=-1, keepdim=True)
        if net.attention_mode == "softmax":
            weights = net.round(scores.sub_(best).mul_(net.beta).exp_())
        else:
            # s >= best - tol  <=>  s - (best - tol) >= 0; heaviside(0) = 1, heaviside(-inf) = 0.
            floor = net.round(best - net.tie_tolerance)
            weights = scores.sub_(floor).heaviside_(_one(scores))
        return weights, weights.sum(dim=-1, keepdim=True)


def _dot_once(a: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """a @ w with each dot product rounded once to a's dtype: float32 products are summed in
    float64, as Definition 4 (and p-bit emulation) rounds each operation's result once. A
    float32 sum of k terms rounds k - 1 times, by up to u times each partial sum: the wide
    code's threshold layers sum ~480 cancelling steps of size ~4 n per cell, and in float32 at
    its frontier (30,838 symbols) those partial sums reached 2^20, whose spacing 1/16 put the
    cells 0.06 to 0.34 off depending on BLAS's order, past the step margin 1/4 with 2 threads
    (docs/precision.md). Summed in float64 and rounded once, the same cells measured 1.2e-7
    off."""
    if a.dtype != torch.float32:
        return a @ w
    return (a.double() @ w.double()).float()


class FeedForward(nn.Module):
    """One layer's feed-forward sublayer (paper Definition 3): delta = U relu(W z), no biases.

    Buffers: mask [d_model], W_in [d_ff, d_model], W_out [d_model, d_ff].
    """

    def __init__(self, owner: UniversalTransformer, name: str, shape: LayerShape, d_model: int):
        super().__init__()
        object.__setattr__(self, "_owner", owner)  # see Attention.__init__
        self.name = name
        for key, dims in layer_tensor_shapes(shape, d_model).items():
            if key.startswith("mlp."):
                self.register_buffer(key[4:], torch.zeros(dims, dtype=torch.float64))
        self.hook_pre = HookPoint()
        self.hook_post = HookPoint()
        self._cache: tuple | None = None
        self._live_cache: tuple | None = None

    def extra_repr(self) -> str:
        return f"d_ff={self.W_in.shape[0]}"

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Definition 3: delta = U relu(W z), z the masked pre-norm."""
        net = self._owner
        z, (w_in,) = _read(self, h, ("W_in",))
        if self._fused_emulation(z):
            return self._emulated(z, h.shape[-1])
        hidden = torch.relu(self.hook_pre(net.round(_dot_once(z, w_in.T))))
        return net.round(_dot_once(self.hook_post(hidden), self.W_out.T))

    def _fused_emulation(self, z: torch.Tensor) -> bool:
        """Whether p-bit emulation runs this sublayer in the fused kernel (fused.py): emulating,
        the kernel built, no hook on the hidden units (they are never formed), and z finite
        (the torch path defines how NaN and infinity spread)."""
        if self._owner.precision_bits is None or not fused.applies(z):
            return False
        if _watched(self.hook_pre, self.hook_post) or not self._live_units()[3]:
            return False
        return math.isfinite(float(z.sum()))

    def _emulated(self, z: torch.Tensor, d_model: int) -> torch.Tensor:
        """Definition 3 under p-bit emulation in one pass of the fused sparse kernel: each
        unit's dot product and each output's, rounded once to the row's p as `round` rounds,
        with only the live units and the written cells (the others add exact zeros: a unit
        that reads nothing is relu(0) = 0, one that writes nothing adds 0 times a finite
        value), so the hidden layer ([tokens, d_ff], the wide code's largest tensor) and
        its rounding passes never reach memory. The sums add the same nonzero terms as the
        dense product, in another order: float64 sums of a few terms, rounded to p <= 51 bits."""
        net = self._owner
        w_in, w_out, write, _ = self._live_units()
        batch, n, c = z.shape
        split = net.split_constants_per_row(batch, z.device).repeat_interleave(n)
        out = fused.sparse_feed_forward(z.reshape(batch * n, c), w_in, w_out, split)
        delta = torch.zeros(batch, n, d_model, dtype=z.dtype, device=z.device)
        delta[..., write] = out.reshape(batch, n, -1)
        return delta

    def _live_units(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, bool]:
        """W_in over the read columns and W_out over the written cells, both restricted to
        the live units, as CSR, the written cells' indices, and whether every weight is finite
        (else a dropped zero term could hide a NaN: 0 * inf; cached per sublayer, as `_read`
        caches)."""
        sources = (self.mask, self.W_in, self.W_out)
        cached = self._live_cache
        if cached is None or not _fresh(cached[0], sources):
            w_in = self.W_in[:, read_columns(self.mask)]
            live = torch.nonzero((w_in != 0).any(1) & (self.W_out != 0).any(0), as_tuple=True)[0]
            w_out = self.W_out[:, live]
            write = torch.nonzero((w_out != 0).any(1), as_tuple=True)[0]
            with warnings.catch_warnings():  # torch calls its CSR support beta
                warnings.simplefilter("ignore", UserWarning)
                pair = (w_in[live].to_sparse_csr(), w_out[write].to_sparse_csr())
            finite = all(bool(torch.isfinite(t).all()) for t in sources)
            cached = self._live_cache = (_stamp(sources), *pair, write, finite)
        return cached[1], cached[2], cached[3], cached[4]


def _stamp(sources: Sequence[torch.Tensor]) -> list[tuple[torch.Tensor, int]]:
    """The tensors themselves (not their ids, which a freed tensor's successor may reuse) and
    their in-place versions: what a cache derived from them was derived from."""
    return [(t, t._version) for t in sources]


def _fresh(stamp: list[tuple[torch.Tensor, int]] | None, sources: Sequence[torch.Tensor]) -> bool:
    """Whether `stamp` still describes `sources` (none replaced, none edited in place)."""
    return (
        stamp is not None
        and len(stamp) == len(sources)
        and all(a is t and v == t._version for (a, v), t in zip(stamp, sources, strict=True))
    )


def _all_modules(root: nn.Module) -> list[nn.Module]:
    """root and every module below it, each once, as `root.modules()` lists them but breadth
    first and without building each one's dotted name (2x faster: a forward pass walks them
    for its hook and weight checks)."""
    seen, out = {id(root)}, [root]
    for module in out:  # `out` grows while it is walked: each module's children in turn
        for child in module._modules.values():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                out.append(child)
    return out


def _watched(*points: nn.Module) -> bool:
    """Whether a forward hook or pre-hook, on one of these hook points or on every module,
    would see (or patch) their activation: the fused kernels never form it."""
    from torch.nn.modules import module as torch_module

    if torch_module._global_forward_hooks or torch_module._global_forward_pre_hooks:
        return True
    return any(p._forward_hooks or p._forward_pre_hooks for p in points)


def emulation_forms_hidden(device: torch.device) -> bool:
    """Whether p-bit emulation forms a feed-forward's hidden units ([tokens, d_ff]) in memory
    on `device`: the torch path does; the fused kernel (`FeedForward._emulated`) keeps a block
    of tokens' worth in cache instead (a hook on them brings the torch path back)."""
    return not fused.applies(torch.empty(0, dtype=torch.float64, device=device))


def _read(
    sublayer: Attention | FeedForward, h: torch.Tensor, matrices: tuple[str, ...]
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Masked pre-norm restricted to the columns the mask keeps, with the reading matrices
    restricted to the same columns (cached per sublayer).

    The masked-out entries of m * h are zero, so they change neither the norm nor any
    product with the reading matrices: this equals norm(m * h) @ W.T while touching only
    the cells the sublayer reads (a layer typically reads a few of hundreds of columns).
    """
    sources = [sublayer.mask] + [getattr(sublayer, m) for m in matrices]
    cached = sublayer._cache
    if cached is None or not _fresh(cached[0], sources):  # edited or moved weights
        cols = read_columns(sources[0])
        sliced = [t[..., cols] for t in sources[1:]]
        cached = (_stamp(sources), cols, sources[0][cols], sliced)
        sublayer._cache = cached
    _, cols, mask, sliced = cached
    return sublayer._owner.round(masked_prenorm(h[..., cols], mask)), sliced


def _one(like: torch.Tensor) -> torch.Tensor:
    return torch.ones((), dtype=like.dtype, device=like.device)


class Layer(nn.Module):
    """One stored layer: attention, then feed-forward, each added to the residual stream.

    A sublayer with no heads (or no hidden units) is skipped, and adds no trace step; the
    residual hooks fire either way.
    """

    def __init__(self, owner: UniversalTransformer, name: str, shape: LayerShape, d_model: int):
        super().__init__()
        object.__setattr__(self, "_owner", owner)  # see Attention.__init__
        self.name = name
        self.shape = shape
        self.hook_resid_pre = HookPoint()
        self.attn = Attention(owner, name + ".attn", shape, d_model)
        self.hook_attn_out = HookPoint()
        self.hook_resid_mid = HookPoint()
        self.mlp = FeedForward(owner, name + ".mlp", shape, d_model)
        self.hook_mlp_out = HookPoint()
        self.hook_resid_post = HookPoint()

    def extra_repr(self) -> str:
        return repr(self.shape.text) if self.shape.text else ""

    def forward(
        self, h: torch.Tensor, valid_keys: torch.Tensor, trace: Trace | None = None
    ) -> torch.Tensor:
        """The residual stream after this layer."""
        net = self._owner
        h = self.hook_resid_pre(h)
        if self.shape.n_heads:
            h = net.round(h + self.hook_attn_out(self.attn(h, valid_keys, trace)))
        h = self.hook_resid_mid(h)
        if trace is not None and self.shape.n_heads:
            trace.residuals.append(h.clone())
            trace.sublayers.append(self.attn.name)
        if self.shape.d_ff:
            h = net.round(h + self.hook_mlp_out(self.mlp(h)))
        h = self.hook_resid_post(h)
        if trace is not None and self.shape.d_ff:
            trace.residuals.append(h.clone())
            trace.sublayers.append(self.mlp.name)
        return h


class TensorView(MutableMapping[str, torch.Tensor]):
    """The network's weights by weight-file name ("embed", "initial.0.attn.W_Q", ...): a live
    view of the registered buffers, in `tensor_schema` order.

    Assigning replaces a buffer (same shape required); edits in place take effect at once.
    """

    def __init__(self, network: UniversalTransformer) -> None:
        self._network = network
        self._names = tuple(tensor_schema(network.config))

    def __getitem__(self, name: str) -> torch.Tensor:
        if name not in self._names:
            raise KeyError(name)
        return self._network.get_buffer(name)

    def __setitem__(self, name: str, value: torch.Tensor) -> None:
        old = self[name]
        if tuple(value.shape) != tuple(old.shape):
            raise ValueError(f"{name} has shape {tuple(old.shape)}, not {tuple(value.shape)}")
        module_name, _, attr = name.rpartition(".")
        module = self._network.get_submodule(module_name) if module_name else self._network
        setattr(module, attr, value)

    def __delitem__(self, name: str) -> None:
        raise TypeError("a network's weights cannot be removed")

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


class UniversalTransformer(nn.Module):
    """An (s, r, t)-universal transformer with hand-set weights (paper Definition 1).

    `UniversalTransformer(config, tensors)` takes the weights by weight-file name (every name of
    `tensor_schema(config)`); without `tensors` every weight is zero, ready for
    `load_state_dict`. See the module docstring for the module tree and its hook points.
    """

    def __init__(
        self, config: ModelConfig, tensors: Mapping[str, torch.Tensor] | None = None
    ) -> None:
        super().__init__()
        self.config = config
        self.attention_mode = "hard"
        self.beta = 1.0
        # p-precise emulation (Definition 4): every operation's result rounded to this many
        # mantissa bits (None: the dtype's own arithmetic; a 1-d tensor: one p per batch row).
        # See `round` and the `precision_bits` property.
        self.precision_bits = None
        # Run the compact plan (model/compact.py) where it computes the same thing: no trace,
        # no hook, no emulation, hard attention. False: always the full pass.
        self.compact = True
        self._compact: tuple | None = None  # (weights stamp, CompactForward)
        # The unrolled copy of the repeated block now running (None outside it); for hooks.
        self.iteration: int | None = None
        schema = tensor_schema(config)
        self.register_buffer("embed", torch.zeros(schema["embed"], dtype=torch.float64))
        self.register_buffer("unembed", torch.zeros(schema["unembed"], dtype=torch.float64))
        self.hook_embed = HookPoint()
        for part in PARTS:
            layers = [
                Layer(self, f"{part}.{k}", shape, config.d_model)
                for k, shape in enumerate(getattr(config, part))
            ]
            setattr(self, part, nn.ModuleList(layers))
        if tensors is not None:
            missing = sorted(set(schema) - set(tensors))
            unexpected = sorted(set(tensors) - set(schema))
            if missing or unexpected:
                raise ValueError(
                    f"tensors do not match the config: missing {missing[:5]}, "
                    f"unexpected {unexpected[:5]}"
                )
            view = self.tensors
            for name in schema:
                view[name] = tensors[name]

    @property
    def tensors(self) -> TensorView:
        """The weights by weight-file name: a live, assignable view of the buffers."""
        return TensorView(self)

    @property
    def precision_bits(self) -> int | torch.Tensor | None:
        """p for p-bit emulation: None (the dtype's own arithmetic), one int 1..51 for every
        row, or a 1-d integer tensor with one p per row of the batch (its length must be the
        batch size of the next forward pass): one pass then evaluates many (input, p) pairs,
        each row exactly as if it ran alone at its own p."""
        return self._precision_bits

    @precision_bits.setter
    def precision_bits(self, bits: int | torch.Tensor | None) -> None:
        check_bits(bits)
        if isinstance(bits, torch.Tensor):
            bits = bits.detach().to("cpu", torch.long).clone()
        self._precision_bits = bits
        self._row_constants: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}

    def _per_row(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """For per-row bits: the split constants [batch] and the tie tolerances [batch, 1, 1,
        1] on `device`, built once per setting and device (round runs many times a layer)."""
        cached = self._row_constants.get(device)
        if cached is None:
            bits = self._precision_bits
            tolerance = torch.tensor(
                [self.config.tie_tolerance * 2.0 ** (52 - p) for p in bits.tolist()],
                dtype=torch.float64,
                device=device,
            ).view(-1, 1, 1, 1)
            cached = self._row_constants[device] = (split_constants(bits, device), tolerance)
        return cached

    def round(self, x: torch.Tensor) -> torch.Tensor:
        """[x]_{D_p} when emulating p-bit precision, else x unchanged.

        Emulation runs in float64 and rounds the result of every operation of the forward pass:
        the embedding, the masked pre-norm (one operation R^m -> R^m, as Definition 4 views
        layer-norm), every matrix product (each output entry a dot product, rounded once: like
        the paper's n-ary attention sum, a correctly rounded sum), the scores, the attention
        sum and its division, each sublayer output and each residual addition. Float64's own
        53 bits make the unrounded intermediate exact to far below 2^-p for p <= 44.

        With per-row bits every rounded tensor has the batch first; row b is rounded with its
        own split constant (a [batch, 1, ..., 1] float64 tensor), the same multiply and
        subtractions as the scalar path, so bit for bit the same as running it alone.
        """
        bits = self._precision_bits
        if bits is None:
            return x
        if x.dtype != torch.float64:
            raise ValueError("p-bit emulation runs on float64 weights (model.to('float64'))")
        if isinstance(bits, torch.Tensor):
            return veltkamp(x, self._per_row(x.device)[0])
        return round_to_bits(x, bits)

    def split_constants_per_row(self, batch: int, device: torch.device) -> torch.Tensor:
        """The Veltkamp split constant of each of `batch` rows ([batch] float64), as `round`
        uses it: one per row for per-row bits, else the one p's repeated."""
        bits = self._precision_bits
        if isinstance(bits, torch.Tensor):
            if len(bits) != batch:
                raise ValueError(f"per-row precision has {len(bits)} rows, the batch {batch}")
            return self._per_row(device)[0]
        return split_constants(torch.full((batch,), bits), device)

    @property
    def mantissa_bits(self) -> int:
        """p: the stored mantissa bits of the arithmetic (52 float64, 23 float32, or emulated);
        per-row emulation has no single p (see `tie_tolerance`)."""
        bits = self._precision_bits
        if isinstance(bits, torch.Tensor):
            raise ValueError("per-row precision_bits: no single mantissa width")
        if bits is not None:
            return bits
        return -round(math.log2(torch.finfo(self.dtype).eps))  # eps = 2^-p

    @property
    def tie_tolerance(self) -> float | torch.Tensor:
        """The stored tolerance is float64's (p = 52); it is a multiple of the score rounding,
        which scales with the unit roundoff 2^-(p+1), so p bits use tol * 2^(52 - p). Per-row
        bits give one tolerance per row, [batch, 1, 1, 1] to broadcast over the scores."""
        if isinstance(self._precision_bits, torch.Tensor):
            return self._per_row(self.device)[1]
        return self.config.tie_tolerance * 2.0 ** (52 - self.mantissa_bits)

    @property
    def dtype(self) -> torch.dtype:
        """The weights' dtype (all weights share it)."""
        return self.embed.dtype

    @property
    def device(self) -> torch.device:
        """The device the weights are on."""
        return self.embed.device

    def to_dtype(self, dtype: torch.dtype) -> UniversalTransformer:
        """A new network with the weights converted (this one is unchanged; `.to` converts in
        place, as for any torch module)."""
        model = UniversalTransformer(self.config, {k: v.to(dtype) for k, v in self.tensors.items()})
        model.attention_mode, model.beta = self.attention_mode, self.beta
        model.precision_bits, model.compact = self.precision_bits, self.compact
        return model

    def schedule(self, depth: int) -> list[str]:
        """Layer prefixes in execution order: s initial, r*depth repeated, t final."""
        s, r, t = self.config.s_r_t
        names = [f"initial.{k}" for k in range(s)]
        names += [f"repeated.{k}" for _ in range(depth) for k in range(r)]
        names += [f"final.{k}" for k in range(t)]
        return names

    def layer(self, prefix: str) -> Layer:
        """The stored layer named "initial.0", "repeated.3", ..."""
        part, k = prefix.split(".")
        return getattr(self, part)[int(k)]

    def _shape(self, prefix: str) -> LayerShape:
        part, k = prefix.split(".")
        return getattr(self.config, part)[int(k)]

    def _compact_applies(self, modules: list[nn.Module] | None = None) -> bool:
        """Whether the compact plan computes what the full pass would: no p-bit emulation (it
        rounds every operation of the full pass), hard attention, and nobody watching or
        patching an activation (a hook sees the full pass's tensors). `modules`: this
        network's modules (`_all_modules`), when the caller has listed them already."""
        if not self.compact or self.precision_bits is not None or self.attention_mode != "hard":
            return False
        return not _watched(*(_all_modules(self) if modules is None else modules))

    def _compact_plan(self, modules: list[nn.Module] | None = None):
        """The compact plan of the current weights (rebuilt when a buffer is replaced, edited
        in place, converted or moved); None when a weight is not finite (NaN * 0 is NaN, so
        dropping a zero term would hide it: the full pass shows it)."""
        from logdepth.model.compact import CompactForward

        # Read off the module list (as `buffers()` does, without building every buffer's dotted
        # name on each forward pass).
        modules = _all_modules(self) if modules is None else modules
        buffers = [b for m in modules for b in m._buffers.values() if b is not None]
        cached = self._compact
        if cached is None or not _fresh(cached[0], buffers):
            finite = all(bool(torch.isfinite(t).all()) for t in buffers)
            plan = CompactForward(self) if finite else None
            cached = self._compact = (_stamp(buffers), plan)
        return cached[1]

    def forward(
        self,
        tokens: torch.Tensor,
        lengths: torch.Tensor,
        depth: int,
        trace: Trace | None = None,
    ) -> torch.Tensor:
        """Run the unrolled network; return logits [batch, outputs] read at each last position.

        tokens: [batch, n] token ids, position 0 = BoS, padded arbitrarily past `lengths`.

        Without a trace, hooks or emulation, in hard attention mode, it runs the compact plan
        (model/compact.py: only the weights' nonzero work, same answers up to summation order)
        unless `self.compact` is False.
        """
        plan = None
        if trace is None:
            modules = _all_modules(self)  # one walk for the hook check and the plan's check
            if self._compact_applies(modules):
                plan = self._compact_plan(modules)
        if plan is not None:
            return plan.run(self, tokens, lengths, depth)
        batch, n = tokens.shape
        h = self.hook_embed(self.round(self.embed[tokens]))
        positions = torch.arange(n, device=tokens.device)
        valid_keys = positions[None, :] < lengths[:, None]  # [batch, n]
        if trace is not None:
            trace.residuals.append(h.clone())
            trace.sublayers.append("embed")
        s, r, _ = self.config.s_r_t
        try:
            for step, prefix in enumerate(self.schedule(depth)):
                self.iteration = (step - s) // r if prefix.startswith("repeated.") else None
                h = self.layer(prefix)(h, valid_keys, trace)
        finally:
            self.iteration = None
        last = h[torch.arange(batch, device=tokens.device), lengths - 1]
        return self.round(last @ self.unembed.T)
