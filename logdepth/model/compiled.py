"""The user-facing compiled model: run words through the transformer, trace it, save it.

Every answer comes from the forward pass of the assembled weights (never a simulator).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from logdepth.errors import InputError
from logdepth.model import inputs, weights
from logdepth.model.config import CellInfo, ModelConfig
from logdepth.model.transformer import Trace, UniversalTransformer

DTYPE_NAMES = {"float64": torch.float64, "float32": torch.float32}


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

    def step(self, sublayer: str) -> int:
        """Index into `residuals` of the stream right after the named sublayer (last match)."""
        hits = [k for k, name in enumerate(self.sublayers) if name == sublayer]
        if not hits:
            raise KeyError(sublayer)
        return hits[-1]

    def cell(self, name: str, step: int = -1) -> np.ndarray:
        info = self.config.cell(name)
        return self.residuals[step][:, info.offset : info.stop]

    def decode(self, name: str, step: int = -1) -> np.ndarray:
        return decode_cell(self.config.cell(name), self.cell(name, step))

    def attention_of(self, step: int) -> np.ndarray | None:
        """[heads, n, n] of the attention sublayer whose output is residual `step` (None when
        that step is not an attention sublayer or attention was not recorded)."""
        if not self.sublayers[step].endswith(".attn") or not self.attention_runs:
            return None
        run = sum(1 for name in self.sublayers[:step] if name.endswith(".attn"))
        return self.attention_runs[run]

    def layer_ends(self) -> list[int]:
        """Residual index after each whole layer, in execution order."""
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
    """A compiled transformer plus what it was compiled from (source, spec, report)."""

    def __init__(self, network: UniversalTransformer, extra: dict[str, Any] | None = None) -> None:
        self.network = network
        self.extra = dict(extra or {})

    # ---- properties ---------------------------------------------------------------------
    @property
    def config(self) -> ModelConfig:
        return self.network.config

    @property
    def dtype_name(self) -> str:
        return weights.DTYPES[self.network.dtype]

    def to(self, dtype: str) -> CompiledModel:
        """The same weights in another dtype ("float64" or "float32")."""
        if dtype not in DTYPE_NAMES:
            raise InputError(f"dtype {dtype!r} is not supported: use float64 or float32")
        return CompiledModel(self.network.to_dtype(DTYPE_NAMES[dtype]), self.extra)

    @property
    def frontier(self) -> int | None:
        """Largest input size n these weights promise in the current dtype (derived by the precision
        model, docs/precision.md)."""
        return self.config.frontier.get(self.dtype_name)

    def num_layers(self, n: int) -> int:
        """Layers unrolled for input size n: s + r * d(n) + t."""
        return self.config.num_layers(self.config.depth_rule.depth(n))

    # ---- running --------------------------------------------------------------------------
    def input_size(self, tokens: Sequence[str]) -> int:
        return self.config.depth_rule.size_of(tokens)

    def _check_frontier(self, n: int) -> None:
        limit = self.frontier
        if limit is None:
            raise InputError(
                f"these weights carry no frontier for {self.dtype_name}; "
                "they promise no input in this dtype"
            )
        if n > limit and self.config.depth_rule.fixed is not None:
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
        """Forward pass on token sequences; returns the argmax output token of each."""
        if not sequences:
            return []
        vocab = {t: k for k, t in enumerate(self.config.vocab)}
        # One forward per depth: the unrolling differs with the input size.
        by_depth: dict[int, list[int]] = {}
        for k, seq in enumerate(sequences):
            n = self.input_size(seq)
            if check:
                self._check_frontier(n)
            d = self.config.depth_rule.depth(n) if depth is None else depth
            by_depth.setdefault(d, []).append(k)
        answers: list[str] = [""] * len(sequences)
        for d, members in by_depth.items():
            batch = [sequences[k] for k in members]
            width = max(len(s) for s in batch)
            ids = torch.zeros(len(batch), width, dtype=torch.long)
            for row, seq in enumerate(batch):
                for col, token in enumerate(seq):
                    if token not in vocab:
                        raise InputError(f"token {token!r} is not in the model's vocabulary")
                    ids[row, col] = vocab[token]
            lengths = torch.tensor([len(s) for s in batch])
            device = self.network.tensors["embed"].device
            with torch.no_grad():
                logits = self.network(ids.to(device), lengths.to(device), d)
            for row, k in enumerate(members):
                answers[k] = self.config.outputs[int(logits[row].argmax())]
        return answers

    def trace_tokens(
        self, tokens: Sequence[str], depth: int | None = None, attention: bool = True
    ) -> TraceResult:
        """Run one sequence, recording the residual after every sublayer and (if `attention`)
        every head's weights; `attention=False` keeps long inputs within memory."""
        vocab = {t: k for k, t in enumerate(self.config.vocab)}
        n = self.input_size(tokens)
        self._check_frontier(n)
        d = self.config.depth_rule.depth(n) if depth is None else depth
        ids = torch.tensor([[vocab[t] for t in tokens]])
        record = Trace(record_attention=attention)
        with torch.no_grad():
            self.network(ids, torch.tensor([len(tokens)]), d, trace=record)
        return TraceResult(
            tokens=list(tokens),
            config=self.config,
            depth=d,
            sublayers=record.sublayers,
            residuals=[r[0].numpy() for r in record.residuals],
            attention={k: v[0].numpy() for k, v in record.attention.items()},
            attention_runs=[v[0].numpy() for v in record.attention_runs],
        )

    # ---- words (Theorem 1) ------------------------------------------------------------------
    @property
    def alphabet(self) -> list[str]:
        return inputs.word_symbols(self.config.vocab)

    def _word_tokens(self, word: str | Sequence[str]) -> list[str]:
        if self.config.input_format != "word":
            raise InputError("this model takes graphs, not words (use connected)")
        if not isinstance(word, str) and not (
            isinstance(word, Sequence) and all(isinstance(a, str) for a in word)
        ):
            raise InputError(f"a word is a str or a sequence of symbols, not {word!r}")
        return inputs.encode_word(inputs.split_word(word, self.alphabet))

    def accepts(self, word: str | Sequence[str]) -> bool:
        """Run the transformer on BoS w $ and read accept/reject at $."""
        return self.accepts_batch([word])[0]

    def accepts_batch(self, words: Sequence[str | Sequence[str]]) -> list[bool]:
        if isinstance(words, str) or not isinstance(words, Sequence):
            raise InputError(f"accepts_batch takes a list of words, not {type(words).__name__}")
        out = self.run_tokens([self._word_tokens(w) for w in words])
        return [o == "accept" for o in out]

    def trace(
        self, word: str | Sequence[str], depth: int | None = None, attention: bool = True
    ) -> TraceResult:
        return self.trace_tokens(self._word_tokens(word), depth, attention)

    # ---- graphs (Theorem 2) -----------------------------------------------------------------
    def connected(self, graph: Any, source: str, target: str) -> bool:
        """Run the transformer on the encoded graph: is there a path from source to target?

        `graph` is anything with `nodes` (names in order) and `adjacency()` (an n x n boolean
        matrix), such as `logdepth.graphs.Graph`.
        """
        return self.connected_batch([(graph, source, target)])[0]

    def connected_batch(self, queries: Sequence[tuple[Any, str, str]]) -> list[bool]:
        if self.config.input_format != "graph":
            raise InputError("this model takes words, not graphs (use accepts)")
        sequences = []
        for graph, source, target in queries:
            nodes = list(getattr(graph, "nodes", None) or [])
            if not hasattr(graph, "adjacency"):
                raise InputError(f"connected takes a graph, not {type(graph).__name__}")
            # Before any token is built: the input has n^2 + n^3 of them.
            self._check_frontier(len(nodes))
            for v in (source, target):
                if v not in nodes:
                    raise InputError(f"vertex {v!r} is not a node of the graph")
            adjacency = np.asarray(graph.adjacency(), dtype=bool)
            sequences.append(
                inputs.encode_graph(adjacency, nodes.index(source), nodes.index(target))
            )
        return [o == "connected" for o in self.run_tokens(sequences)]

    # ---- files ------------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        return weights.to_bytes(self.network, self.extra)

    def save(self, path: str | Path) -> None:
        weights.save(self.network, path, self.extra)


def load(path: str | Path) -> CompiledModel:
    """Load and validate a weight file (WeightFileError with the reason on any problem)."""
    network, extra = weights.load(path)
    return CompiledModel(network, extra)
