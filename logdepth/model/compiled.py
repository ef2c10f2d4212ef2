"""The user-facing compiled model: run words through the transformer, trace it, save it.

Every answer comes from the forward pass of the assembled weights (never a simulator).

Readable labels come from the stored config: each cell has a kind and one label per dimension
(compile time names the values of code cells after the spec: `delta=(odd even)`, a monoid
element; `delta:even->odd`, one entry of a state map). `residual_labels` turns them into one
label per residual dimension, `TraceResult.decode` names the value a code cell holds, and
`heads()` says what every head reads and writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from logdepth.errors import InputError, NonFiniteError
from logdepth.limits import FLOAT64_BYTES, SCORE_SECONDS, Estimate, pair_seconds
from logdepth.model import inputs, weights
from logdepth.model.config import CellInfo, ModelConfig
from logdepth.model.token_ids import TokenIds
from logdepth.model.transformer import (
    SCORE_BLOCK_ELEMENTS,
    AttentionSink,
    Trace,
    UniversalTransformer,
)

DTYPE_NAMES = {"float64": torch.float64, "float32": torch.float32}


def residual_labels(config: ModelConfig) -> list[str]:
    """One readable label per residual dimension, from the cells' kinds and stored labels.

    `one`; booleans `bos` / `not bos`; hashes `phi(count):z`, `phi(count):1`, ...; unnormalized
    hashes `psi(count.psi):a`, ...; scalars by name; code and one-hot cells by their stored labels
    (the values the spec names). A dimension no cell covers is `[k]`.
    """
    labels = [f"[{k}]" for k in range(config.d_model)]
    for cell in config.cells:
        for k, label in enumerate(cell.labels):
            labels[cell.offset + k] = _dimension_label(cell, k, label)
    return labels


def _dimension_label(cell: CellInfo, k: int, label: str) -> str:
    suffix = label[len(cell.name) + 1 :] if label.startswith(cell.name + ":") else None
    if cell.kind == "const":
        return cell.name
    if cell.kind == "bool" and cell.size == 2:
        return cell.name if k == 0 else f"not {cell.name}"
    if cell.kind in ("phi", "psi") and suffix is not None:
        return f"{cell.kind}({cell.name}):{suffix}"
    return label


def cells_at(cells: Sequence[CellInfo], dims: torch.Tensor | Sequence[int]) -> tuple[str, ...]:
    """Names of the cells that own any of the residual dimensions `dims`, in residual order."""
    hit = {int(d) for d in dims}
    return tuple(c.name for c in cells if any(d in hit for d in range(c.offset, c.stop)))


def _nonzero(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Indices along the last (dim=-1: columns) or first (dim=0: rows) axis that are not all
    zero in x."""
    other = tuple(d for d in range(x.dim()) if d != (dim % x.dim()))
    return torch.nonzero(x.abs().sum(dim=other) if other else x.abs(), as_tuple=True)[0]


def decode_cell(info: CellInfo, block: np.ndarray) -> np.ndarray:
    """Decode a cell's raw block [positions, size] into one value per position.

    phi/psi -> a/b (the hashed scalar), bool -> the first coordinate b, const/scalar -> the
    number, code/onehot -> index of the largest coordinate (-1 where the block is all zero).
    """
    if info.kind in ("phi", "psi"):
        a = (block[:, 0] - block[:, 2]) / 2
        b = (block[:, 1] - block[:, 3]) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(b != 0, a / np.where(b != 0, b, 1), np.nan)
    if info.kind in ("bool", "const", "scalar"):
        return block[:, 0].copy()
    empty = np.abs(block).max(axis=1) == 0
    return np.where(empty, -1, block.argmax(axis=1))


def decode_names(info: CellInfo, block: np.ndarray) -> list[str | None]:
    """A code or one-hot cell's value at each position, named by its labels (None where the
    block is all zero).

    Labels `name=VALUE` (one dimension per value) give VALUE at the largest coordinate. Labels
    `name:S->T` over q^2 dimensions (a state map f stored as q one-hot rows, f(S) = T) give
    "(f(S_1) ... f(S_q))", or "e" for the identity map. Other labels (files compiled before
    values were named) give the label of the largest coordinate.
    """
    empty = np.abs(block).max(axis=1) == 0 if block.size else np.ones(len(block), dtype=bool)
    prefix = info.name + "="
    if info.labels and all(label.startswith(prefix) for label in info.labels):
        values = [label[len(prefix) :] for label in info.labels]
        picked: list[str | None] = [values[k] for k in block.argmax(axis=1)] if info.size else []
    elif (maps := _state_maps(info)) is not None:
        states, targets = maps
        q = len(states)
        rows = block.reshape(len(block), q, q).argmax(axis=2)
        picked = []
        for row in rows:
            images = [targets[t] for t in row]
            picked.append("e" if images == states else "(" + " ".join(images) + ")")
    else:
        picked = [info.labels[k] for k in block.argmax(axis=1)] if info.size else []
    return [None if e else v for v, e in zip(picked or [None] * len(block), empty, strict=True)]


def _state_maps(info: CellInfo) -> tuple[list[str], list[str]] | None:
    """(states, targets) when the labels are `name:S->T` for S, T over q states, row-major."""
    q = round(info.size**0.5)
    prefix = info.name + ":"
    if q * q != info.size or q == 0 or not all(x.startswith(prefix) for x in info.labels):
        return None
    pairs = [x[len(prefix) :].split("->") for x in info.labels]
    if not all(len(p) == 2 for p in pairs):
        return None
    states = [pairs[s * q][0] for s in range(q)]
    targets = [pairs[t][1] for t in range(q)]
    if pairs != [[states[s], targets[t]] for s in range(q) for t in range(q)]:
        return None
    return states, targets


@dataclass(frozen=True)
class HeadInfo:
    """What one attention head reads and writes, from its weights (`CompiledModel.heads()`).

    `query`, `key`, `value`: the cells with a nonzero column in W_Q, W_K, W_V of this head;
    `writes`: the cells with a nonzero row in its block of W_O; `note`: what the construction
    said the head does (empty for files written before notes were kept).
    """

    layer: str  # "initial.0", "repeated.3", ...
    head: int
    causal: bool
    query: tuple[str, ...]
    key: tuple[str, ...]
    value: tuple[str, ...]
    writes: tuple[str, ...]
    note: str
    layer_text: str


@dataclass
class TraceResult:
    """Residual stream after every sublayer, attention weights, and named-cell decoding."""

    tokens: list[str]
    config: ModelConfig
    depth: int
    sublayers: list[str]
    residuals: list[np.ndarray]  # each [positions, d_model]
    attention: dict[str, np.ndarray] = field(default_factory=dict)  # name -> [heads, n, n]
    # One [heads, n, n] per attention sublayer run, in `sublayers` order (repeats included).
    attention_runs: list[np.ndarray] = field(default_factory=list)

    def cell(self, name: str, step: int = -1) -> np.ndarray:
        """The raw block [positions, cell size] of a cell in residual `step` (default: last)."""
        info = self.config.cell(name)
        return self.residuals[step][:, info.offset : info.stop]

    def decode(self, name: str, step: int = -1) -> np.ndarray:
        """The cell's value at every position of residual `step` (default: the last).

        Code and one-hot cells give names (`decode_names`: the monoid element, state map or
        token; None where the cell is empty), as an object array; the other kinds give numbers
        (`decode_cell`: phi/psi the hashed scalar, bool 0/1, scalar the number).
        """
        info = self.config.cell(name)
        if info.kind in ("code", "onehot"):
            return np.array(decode_names(info, self.cell(name, step)), dtype=object)
        return decode_cell(info, self.cell(name, step))

    def table(
        self, position: int = -1, cells: Sequence[str] | None = None, layers: bool = True
    ) -> str:
        """A text table of decoded cells at one position (default: the last, where the answer
        is read): a first line naming that token, then one row per executed layer
        (`layers=False`: per sublayer), one column per cell (default: every cell but the
        constant)."""
        names = [c.name for c in self.config.cells if c.kind != "const"] if cells is None else cells
        steps = [0, *self.layer_ends()] if layers else list(range(len(self.residuals)))
        count = len(self.tokens)
        if not -count <= position < count:
            raise IndexError(f"position {position} is outside the {count} tokens (0..{count - 1})")
        at = position % count
        where = ", where the answer is read" if at == count - 1 else ""
        head = f"cells at token {at} of 0..{count - 1} ({self.tokens[at]!r}{where})"
        rows = [["step", "after", *names]]
        for step in steps:
            after = self.sublayers[step]
            if layers and step:
                after = after.rsplit(".", 1)[0]
            values = [_shown(self.decode(name, step)[position]) for name in names]
            rows.append([str(step), after, *values])
        widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
        return "\n".join(
            [head]
            + [
                "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
                for row in rows
            ]
        )

    def attention_of(self, step: int) -> np.ndarray | None:
        """[heads, n, n] of the attention sublayer whose output is residual `step` (None when
        that step is not an attention sublayer or attention was not recorded)."""
        if not self.sublayers[step].endswith(".attn") or not self.attention_runs:
            return None
        run = sum(1 for name in self.sublayers[:step] if name.endswith(".attn"))
        return self.attention_runs[run]

    def layer_ends(self) -> list[int]:
        """Residual index after each whole layer, in execution order (a run of a repeated
        layer is its own layer)."""
        ends: list[int] = []
        seen: tuple[str, int, str] | None = None
        for k, name in enumerate(self.sublayers[1:], start=1):
            prefix, kind = name.rsplit(".", 1)
            # A layer is its attention then its feed-forward: a new prefix, an attention
            # sublayer, or a second feed-forward starts the next one (a 1-layer repeated block
            # runs the same prefix back to back).
            if seen is not None and (prefix != seen[0] or kind == "attn" or seen[2] == kind):
                ends.append(seen[1])
            seen = (prefix, k, kind)
        if seen is not None:
            ends.append(seen[1])
        return ends


class CompiledModel:
    """A compiled transformer plus what it was compiled from (source, spec, report).

    `network` is the `UniversalTransformer` (a torch module: `network.state_dict()`, forward
    hooks on its sublayers); `extra` is what the weight file carries beside the config (spec,
    source text, report).
    """

    def __init__(self, network: UniversalTransformer, extra: dict[str, Any] | None = None) -> None:
        self.network = network
        self.extra = dict(extra or {})

    @property
    def config(self) -> ModelConfig:
        """Shapes, vocabulary, depth rule, tolerance and cell layout (model/config.py)."""
        return self.network.config

    @property
    def dtype_name(self) -> str:
        """ "float64" or "float32"."""
        return weights.DTYPES[self.network.dtype]

    @property
    def device(self) -> torch.device:
        """The device the weights are on."""
        return self.network.device

    def to(
        self,
        *args: str | torch.dtype | torch.device,
        device: str | torch.device | None = None,
        dtype: str | torch.dtype | None = None,
    ) -> CompiledModel:
        """The same weights on another device and/or in another dtype, as a new model (this one
        is unchanged). Like `torch.nn.Module.to`, a positional argument may be either:
        `m.to("float32")`, `m.to(torch.float32)`, `m.to("cuda")`, `m.to("cuda", "float32")`,
        `m.to(device="cuda", dtype=torch.float32)`.

        Only float64 and float32 are supported: frontiers are derived per dtype, and no other
        dtype has one.
        """
        for arg in args:
            if isinstance(arg, torch.dtype) or (isinstance(arg, str) and _is_dtype_name(arg)):
                if dtype is not None:
                    raise InputError("to() got two dtypes")
                dtype = arg
            else:
                if device is not None:
                    raise InputError("to() got two devices")
                device = arg
        new_dtype = self.network.dtype if dtype is None else _dtype(dtype)
        new_device = self.network.device if device is None else _device(device)
        try:
            tensors = {
                k: v.to(device=new_device, dtype=new_dtype) for k, v in self.network.tensors.items()
            }
        # e.g. CUDA asked for, not present; NotImplementedError: a backend without the ops;
        # ImportError: a backend whose torch module is absent (hpu)
        except (AssertionError, RuntimeError, NotImplementedError, ImportError) as err:
            # The first line: torch appends its whole dispatcher table to some of these.
            why = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise InputError(f"cannot move the weights to {new_device}: {why}") from None
        network = UniversalTransformer(self.config, tensors)
        network.attention_mode, network.beta = self.network.attention_mode, self.network.beta
        network.precision_bits = self.network.precision_bits
        return CompiledModel(network, self.extra)

    @property
    def residual_labels(self) -> list[str]:
        """One readable label per residual dimension (`residual_labels(config)`)."""
        return residual_labels(self.config)

    def heads(self) -> list[HeadInfo]:
        """Every attention head, layer by layer: the cells its query, key and value read, the
        cells its output writes, whether it is causal, and the construction's note."""
        cells = self.config.cells
        out: list[HeadInfo] = []
        for part in ("initial", "repeated", "final"):
            for k, shape in enumerate(getattr(self.config, part)):
                attn = self.network.layer(f"{part}.{k}").attn
                dv = shape.d_value
                for head in range(shape.n_heads):
                    w_o = attn.W_O[:, head * dv : (head + 1) * dv]
                    out.append(
                        HeadInfo(
                            layer=f"{part}.{k}",
                            head=head,
                            causal=shape.causal[head],
                            query=cells_at(cells, _nonzero(attn.W_Q[head], -1)),
                            key=cells_at(cells, _nonzero(attn.W_K[head], -1)),
                            value=cells_at(cells, _nonzero(attn.W_V[head], -1)),
                            writes=cells_at(cells, _nonzero(w_o, 0)),
                            note=shape.head_note(head),
                            layer_text=shape.text,
                        )
                    )
        return out

    @property
    def frontier(self) -> int | None:
        """Largest input size n these weights promise in the current dtype (derived by the precision
        model, docs/precision.md)."""
        return self.config.frontier.get(self.dtype_name)

    def num_layers(self, n: int) -> int:
        """Layers unrolled for input size n (a whole number, 0 or more): s + r * d(n) + t."""
        if isinstance(n, bool) or not isinstance(n, int | np.integer):
            raise InputError(f"an input size is a whole number, not {inputs.quoted(n)}")
        if n < 0:
            raise InputError(f"an input size is 0 or more, not {n}")
        return self.config.num_layers(self.config.depth_rule.depth(int(n)))

    # ---- running --------------------------------------------------------------------------
    def input_size(self, tokens: Sequence[str]) -> int:
        """The input size n of a token sequence (symbols of a word, vertices of a graph)."""
        return self.config.depth_rule.size_of(tokens)

    def _check_frontier(self, n: int) -> None:
        limit = self.frontier
        if limit is None:
            raise InputError(
                f"these weights carry no frontier for {self.dtype_name}; "
                "they promise no input in this dtype"
            )
        report = self.extra.get("report")
        built = report.get("max_length") if isinstance(report, dict) else None
        # A non-uniform build for N past the precision frontier is limited by precision, not N:
        # a larger --max-length would not help there.
        past_build = not isinstance(built, int) or isinstance(built, bool) or n > built
        if n > limit and self.config.depth_rule.fixed is not None and past_build:
            raise InputError(
                f"input size {n} is beyond what these non-uniform weights were built and "
                f"verified for ({limit}): their depth is fixed (Corollary 1.1); compile with a "
                "larger --max-length"
            )
        if n > limit:
            raise InputError(
                f"input size {n} is beyond the derived frontier of these weights in "
                f"{self.dtype_name} ({limit}): past it the smallest attention-score gap the "
                "construction needs is not resolvable at this precision"
            )

    def run_tokens(
        self, sequences: Sequence[Sequence[str]], depth: int | None = None, check: bool = True
    ) -> list[str]:
        """Forward pass on token sequences; returns the argmax output token of each.

        Logits holding NaN or infinity (a forward hook, an edited tensor, an overflow) have no
        argmax worth reading: a `NonFiniteError`, never an answer."""
        answers = self._run_rows(sequences, depth, check)
        for k, answer in enumerate(answers):
            if isinstance(answer, NonFiniteError):
                where = f"input {k + 1} of {len(answers)}: " if len(answers) > 1 else ""
                raise NonFiniteError(f"{where}{answer}")
        return [str(a) for a in answers]

    def _run_rows(
        self, sequences: Sequence[Sequence[str]], depth: int | None = None, check: bool = True
    ) -> list[str | NonFiniteError]:
        """`run_tokens` with a `NonFiniteError` in place of each answer whose logits are not
        all finite (the other answers of the batch stand: rows do not mix)."""
        if not sequences:
            return []
        for k, seq in enumerate(sequences):
            if not len(seq):
                raise InputError(
                    f"input {k + 1} of {len(sequences)} is an empty token sequence: every "
                    "input starts with its BoS token (inputs.encode_word, encode_graph)"
                )
        rule = self.config.depth_rule
        # Each row's ids and input size; a row with an unknown token is sized by its strings
        # and refused after every row's frontier check, as before the ids were read first.
        rows: list[np.ndarray | KeyError] = []
        by_depth: dict[int, list[int]] = {}  # one forward per depth: the unrolling differs
        checked: set[int] = set()
        found = self._token_ids().rows(sequences)
        for k, (seq, row) in enumerate(zip(sequences, found, strict=True)):
            if isinstance(row, KeyError):
                rows.append(row)
                n = self.input_size(seq)
            else:
                rows.append(row[0])
                n = rule.size_from_count(row[1])
            if check and n not in checked:
                self._check_frontier(n)
                checked.add(n)
            d = rule.depth(n) if depth is None else depth
            by_depth.setdefault(d, []).append(k)
        answers: list[str | NonFiniteError] = [""] * len(sequences)
        for d, members in by_depth.items():
            logits = self._forward_rows([rows[k] for k in members], d)
            # One check and one argmax for the whole batch: cheap next to the forward pass.
            finite = torch.isfinite(logits).all(dim=-1).tolist()
            best = logits.argmax(dim=-1).tolist()
            for row, k in enumerate(members):
                if finite[row]:
                    answers[k] = self.config.outputs[best[row]]
                else:
                    answers[k] = _non_finite(self.config.outputs, logits[row])
        return answers

    def _token_ids(self) -> TokenIds:
        """The vocabulary's token ids (model/token_ids.py), built once per config."""
        cached = getattr(self, "_ids_cache", None)
        if cached is None or cached[0] is not self.config:
            rule = self.config.depth_rule
            cached = self._ids_cache = (
                self.config,
                TokenIds(self.config.vocab, rule.count_tokens),
            )
        return cached[1]

    def _forward_rows(self, rows: list[np.ndarray | KeyError], depth: int) -> torch.Tensor:
        """Logits [rows, outputs] of one forward pass over rows of ids (padded with id 0 past
        each row's length), unrolled to `depth`; an InputError for a row with an unknown
        token."""
        for ids in rows:
            if isinstance(ids, KeyError):
                raise InputError(f"token {ids.args[0]!r} is not in the model's vocabulary")
        lengths = [len(ids) for ids in rows]
        padded = np.zeros((len(rows), max(lengths)), dtype=np.int64)
        for r, ids in enumerate(rows):
            padded[r, : len(ids)] = ids
        device = self.network.device
        with torch.no_grad():
            return self.network(
                torch.from_numpy(padded).to(device), torch.tensor(lengths).to(device), depth
            )

    def trace_cost(
        self, length: int, depth: int, attention: bool = True, sink: Any = None
    ) -> Estimate:
        """The bytes a trace of one `length`-token sequence at unrolling `depth` keeps, from the
        config's shapes (`trace_tokens` checks it before running):
        - residuals: one [length, d_model] copy after every sublayer that runs (the embedding,
          then each attention and feed-forward of the schedule), 8 bytes a value in float64
          (the dtype's size otherwise);
        - `attention`: one [heads, length, length] matrix per attention run;
        - `sink` (an `AttentionSink` that takes the maps instead, as explain's pooled maps
          do): what its `peak_bytes(length, head_runs, widest)` says it keeps, if it says;
        - the forward pass's own score chunk (`SCORE_BLOCK_ELEMENTS`, about three buffers of
          it at the peak: transformer.py) and the residual it carries (a few [length, d_model]);
        - seconds: those of the forward pass (`run_cost`).
        """
        size = torch.finfo(self.network.dtype).bits // 8
        shapes = [self.network._shape(prefix) for prefix in self.network.schedule(depth)]
        steps = 1 + sum(bool(s.n_heads) + bool(s.d_ff) for s in shapes)
        residuals = steps * length * self.config.d_model * size
        head_runs = sum(s.n_heads for s in shapes)
        maps = head_runs * length * length * size if attention else 0
        if hasattr(sink, "peak_bytes"):
            widest = max((s.n_heads for s in shapes), default=0)
            maps += int(sink.peak_bytes(length, head_runs, widest))
        forward = _forward_bytes(shapes, length, self.config.d_model, size)
        detail = f"{length:,} tokens, {steps:,} residual copies of width {self.config.d_model}"
        if attention:
            detail += f", {head_runs:,} attention maps of {length:,} x {length:,}"
        seconds = self._seconds(_scores(shapes, length))
        return Estimate(f"tracing {length:,} tokens", residuals + maps + forward, seconds, detail)

    def run_cost(self, length: int, depth: int) -> Estimate:
        """What one forward pass over a `length`-token sequence at unrolling `depth` costs, from
        the config's shapes (a Theorem 2 query checks it before its tokens are built):
        - bytes: the score chunk (three buffers of `SCORE_BLOCK_ELEMENTS`: transformer.py), the
          residual stream and the sublayer output, read columns and new residual that a layer
          holds beside it (4 [length, d_model]), and the token list (a pointer a token);
        - seconds (on a CPU): on the compact plan, which a plain run takes, the query-key
          pairs of the heads it scores, each at least `limits.pair_seconds` on one core, over
          torch's intra-op thread count (the fused kernel splits its rows over them); on the
          full pass (`network.compact = False`, emulation, softmax, a hook), every stored
          head's attention scores (`_scores`), each at least `limits.SCORE_SECONDS`.
        """
        size = torch.finfo(self.network.dtype).bits // 8
        shapes = [self.network._shape(prefix) for prefix in self.network.schedule(depth)]
        scores = _scores(shapes, length)
        memory = _forward_bytes(shapes, length, self.config.d_model, size)
        memory += 2 * FLOAT64_BYTES * length  # the token list (a pointer each) and the ids
        detail = f"{length:,} tokens, {scores:,} attention scores over {len(shapes)} layers"
        seconds = self._seconds(scores)
        plan = self.network._compact_plan() if self.network._compact_applies() else None
        if seconds is not None and plan is not None:
            seconds = 0.0
            for prefix in self.network.schedule(depth):
                attn = plan.layers[prefix][0]
                for causal in attn.causal_heads if attn is not None else ():
                    pairs = length * (length + 1) // 2 if causal else length * length
                    seconds += pairs * pair_seconds(attn.d_key, size)
            seconds /= max(1, torch.get_num_threads())
        return Estimate(f"a forward pass over {length:,} tokens", memory, seconds, detail)

    def _seconds(self, scores: int) -> float | None:
        """The time floor of `scores` attention scores; on a device other than the CPU, whose
        floor `limits.SCORE_SECONDS` is, the time is not estimated."""
        return scores * SCORE_SECONDS if self.network.device.type == "cpu" else None

    def trace_tokens(
        self,
        tokens: Sequence[str],
        depth: int | None = None,
        attention: bool = True,
        attention_sink: AttentionSink | None = None,
    ) -> TraceResult:
        """Run one sequence, recording the residual after every sublayer and (if `attention`)
        every head's weights; `attention=False` keeps long inputs within memory, and an
        `attention_sink` (explain's pooled maps) receives the weights chunk by chunk instead
        of the trace keeping them. Refuses (InputError) a trace whose `trace_cost` is over
        the memory limit (limits.py), before running it."""
        vocab = self._token_ids().index  # token -> id (model/token_ids.py)
        n = self.input_size(tokens)
        self._check_frontier(n)
        d = self.config.depth_rule.depth(n) if depth is None else depth
        for token in tokens:
            if token not in vocab:
                raise InputError(f"token {token!r} is not in the model's vocabulary")
        full = attention and attention_sink is None
        hint = (
            "without the attention maps it needs less: trace(..., attention=False), "
            "`logdepth plot --what residual`, or `logdepth explain` (pooled maps)"
            if full
            else ""
        )
        self.trace_cost(len(tokens), d, full, attention_sink).check(InputError, hint)
        device = self.network.device
        ids = torch.tensor([[vocab[t] for t in tokens]], device=device)
        record = Trace(record_attention=full, attention_sink=attention_sink)
        with torch.no_grad():
            self.network(ids, torch.tensor([len(tokens)], device=device), d, trace=record)
        return TraceResult(
            tokens=list(tokens),
            config=self.config,
            depth=d,
            sublayers=record.sublayers,
            residuals=[r[0].cpu().numpy() for r in record.residuals],
            attention={k: v[0].cpu().numpy() for k, v in record.attention.items()},
            attention_runs=[v[0].cpu().numpy() for v in record.attention_runs],
        )

    # ---- words (Theorem 1) ------------------------------------------------------------------
    @property
    def alphabet(self) -> list[str]:
        """The word symbols (the vocabulary without BoS and the end token)."""
        return inputs.word_symbols(self.config.vocab)

    def _word_tokens(self, word: str | Sequence[str]) -> list[str]:
        if self.config.input_format != "word":
            raise InputError("this model takes graphs, not words (use connected)")
        if not isinstance(word, str) and not (
            isinstance(word, Sequence) and all(isinstance(a, str) for a in word)
        ):
            raise InputError(
                f"a word is a str or a sequence of symbols, not {inputs.quoted(word)}"
            )
        return inputs.encode_word(inputs.split_word(word, self.alphabet))

    def accepts(self, word: str | Sequence[str]) -> bool:
        """Run the transformer on BoS w $ and read accept/reject at $."""
        return self.accepts_batch([word])[0]

    def accepts_batch(self, words: Sequence[str | Sequence[str]]) -> list[bool]:
        """`accepts` for many words in one forward pass per unrolling depth (much faster than
        a loop of `accepts`). An `InputError` for any word stops the whole batch."""
        if isinstance(words, str) or not isinstance(words, Sequence):
            raise InputError(f"accepts_batch takes a list of words, not {type(words).__name__}")
        out = self.run_tokens([self._word_tokens(w) for w in words])
        return [o == "accept" for o in out]

    def accepts_each(
        self, words: Sequence[str | Sequence[str]]
    ) -> list[bool | InputError | NonFiniteError]:
        """`accepts_batch` that answers every good word: a bad word (unknown symbol, past the
        frontier) gets its `InputError`, a forward pass with non-finite logits its
        `NonFiniteError`, in place of an answer."""
        answers: list[bool | InputError | NonFiniteError] = []
        good: list[int] = []
        sequences: list[list[str]] = []
        for word in words:
            try:
                tokens = self._word_tokens(word)
                self._check_frontier(self.input_size(tokens))
            except InputError as err:
                answers.append(err)
                continue
            good.append(len(answers))
            answers.append(False)
            sequences.append(tokens)
        for k, out in zip(good, self._run_rows(sequences, check=False), strict=True):
            answers[k] = out if isinstance(out, NonFiniteError) else out == "accept"
        return answers

    def trace(
        self,
        word: str | Sequence[str],
        depth: int | None = None,
        attention: bool = True,
        attention_sink: AttentionSink | None = None,
    ) -> TraceResult:
        """Run one word, recording the residual stream after every sublayer (and, unless
        `attention=False`, every head's weights): see `TraceResult` and `trace_tokens`."""
        return self.trace_tokens(self._word_tokens(word), depth, attention, attention_sink)

    # ---- graphs (Theorem 2) -----------------------------------------------------------------
    def connected(self, graph: Any, source: str, target: str) -> bool:
        """Run the transformer on the encoded graph: is there a path from source to target?

        `graph` is anything with `nodes` (names in order) and `adjacency()` (an n x n boolean
        matrix), such as `logdepth.graphs.Graph`.
        """
        return self.connected_batch([(graph, source, target)])[0]

    def connected_batch(self, queries: Sequence[tuple[Any, str, str]]) -> list[bool]:
        """`connected` for many (graph, source, target) queries, batched by unrolling depth."""
        sequences = [self._graph_tokens(*query) for query in queries]
        return [o == "connected" for o in self.run_tokens(sequences)]

    def connected_each(
        self, queries: Sequence[tuple[Any, str, str]]
    ) -> list[bool | InputError | NonFiniteError]:
        """`connected_batch` that answers every good query: a bad one (unknown vertex, graph
        past the frontier) gets its `InputError`, a forward pass with non-finite logits its
        `NonFiniteError`, in place of an answer."""
        answers: list[bool | InputError | NonFiniteError] = []
        good: list[int] = []
        sequences: list[list[str]] = []
        for query in queries:
            try:
                sequences.append(self._graph_tokens(*query))
            except InputError as err:
                answers.append(err)
                continue
            good.append(len(answers))
            answers.append(False)
        for k, out in zip(good, self._run_rows(sequences, check=False), strict=True):
            answers[k] = out if isinstance(out, NonFiniteError) else out == "connected"
        return answers

    def _graph_tokens(self, graph: Any, source: str, target: str) -> list[str]:
        """Theorem 2's input for one query, checked against the frontier first."""
        if self.config.input_format != "graph":
            raise InputError("this model takes words, not graphs (use accepts)")
        nodes = list(getattr(graph, "nodes", None) or [])
        if not hasattr(graph, "adjacency"):
            raise InputError(f"connected takes a graph, not {type(graph).__name__}")
        # Before any token is built: the input has n^2 + n^3 of them.
        self._check_frontier(len(nodes))
        for v in (source, target):
            if v not in nodes:
                raise InputError(f"vertex {v!r} is not a node of the graph")
        n = len(nodes)
        length = 1 + n * n + n**3 + nodes.index(source) + 1 + nodes.index(target) + 1
        self.run_cost(length, self.config.depth_rule.depth(n)).check(
            InputError, f"a graph of {n} vertices is n^3 + n^2 + s + t + 1 = {length:,} tokens"
        )
        adjacency = np.asarray(graph.adjacency(), dtype=bool)
        return inputs.encode_graph(adjacency, nodes.index(source), nodes.index(target))

    # ---- files ------------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """The weight file's bytes (deterministic)."""
        return weights.to_bytes(self.network, self.extra)

    def save(self, path: str | Path) -> None:
        """Write the weight file atomically."""
        weights.save(self.network, path, self.extra)


def load(path: str | Path) -> CompiledModel:
    """Load and validate a weight file (WeightFileError with the reason on any problem)."""
    network, extra = weights.load(path)
    return CompiledModel(network, extra)


def _scores(shapes: Sequence[Any], length: int) -> int:
    """Query-key pairs the heads of `shapes` score over `length` tokens: length^2 a head, or
    length (length + 1) / 2 for a causal head in a layer of causal heads only (its chunks
    score only the keys they see: transformer.py)."""
    total = 0
    for s in shapes:
        per_head = length * (length + 1) // 2 if all(s.causal) else length * length
        total += s.n_heads * per_head
    return total


def _forward_bytes(shapes: Sequence[Any], length: int, d_model: int, size: int) -> int:
    """A forward pass's own peak over one sequence: its score chunk, at most
    `SCORE_BLOCK_ELEMENTS` of [heads, rows, keys] and no more than [heads, length, length],
    about three buffers of it (scores, masks, weights: transformer.py), and the residual stream
    with the sublayer output, read columns and new residual a layer holds beside it (4 copies
    of [length, d_model]); `size` bytes a value."""
    heads = max((s.n_heads for s in shapes), default=0)
    chunk = min(SCORE_BLOCK_ELEMENTS, heads * length * length)
    return 3 * chunk * size + 4 * length * d_model * size


def _non_finite(outputs: Sequence[str], logits: torch.Tensor) -> NonFiniteError:
    """The error for one row of logits that is not all finite, naming each output's logit."""
    values = ", ".join(f"{o} {float(x)}" for o, x in zip(outputs, logits.tolist(), strict=True))
    return NonFiniteError(
        f"the forward pass gave non-finite logits ({values}): NaN or infinity reached the "
        "answer position (a forward hook, an edited tensor, or an overflow), so there is no "
        "answer"
    )


def _shown(value: Any) -> str:
    """A decoded value as table text."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    x = float(value)
    return "nan" if x != x else f"{x:.4g}"


def _is_dtype_name(text: str) -> bool:
    return isinstance(getattr(torch, text, None), torch.dtype)


def _dtype(dtype: str | torch.dtype) -> torch.dtype:
    """A supported torch dtype from a name or a torch dtype; InputError for any other."""
    if isinstance(dtype, str) and dtype in DTYPE_NAMES:
        return DTYPE_NAMES[dtype]
    if isinstance(dtype, torch.dtype) and dtype in weights.DTYPES:
        return dtype
    raise InputError(
        f"dtype {dtype!r} is not supported: use float64 or float32 (frontiers are derived per "
        "dtype, and no other dtype has one)"
    )


def _device(device: str | torch.device) -> torch.device:
    try:
        found = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise InputError(f"{device!r} is not a device ({err})") from None
    if found.type == "meta":
        # Meta tensors have shapes but no values: a forward pass there has no answer to read.
        raise InputError("the meta device holds no values, so it cannot run a model (cpu, cuda)")
    return found
