"""The configuration of a compiled (s, r, t)-universal transformer (paper Definition 1).

Everything here is plain data that round-trips through JSON, so a weight file's metadata can
carry it and `model` can run a file without knowing which construction wrote it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from logdepth.errors import UnknownNameError

FORMAT_VERSION = 1
BOS = "<bos>"


@dataclass(frozen=True)
class LayerShape:
    """Shape of one transformer layer: attention heads, then a ReLU feed-forward.

    `causal[k]` says whether head k sees keys j <= i (self included) or every key. `text` says
    what the layer computes (the paper step); `head_notes[k]` and `ff_note` are the notes the
    construction gave each head and the feed-forward (empty in files written before they were
    kept: `head_notes` is then `()`).
    """

    n_heads: int
    d_head: int
    d_value: int
    d_ff: int
    causal: tuple[bool, ...]
    text: str = ""
    head_notes: tuple[str, ...] = ()
    ff_note: str = ""

    def __post_init__(self) -> None:
        if len(self.causal) != self.n_heads:
            raise ValueError(f"layer has {self.n_heads} heads but {len(self.causal)} causal flags")
        if self.head_notes and len(self.head_notes) != self.n_heads:
            raise ValueError(f"layer has {self.n_heads} heads but {len(self.head_notes)} notes")

    def head_note(self, k: int) -> str:
        """Head k's note, or "" when the file kept none."""
        return self.head_notes[k] if self.head_notes else ""


@dataclass(frozen=True)
class CellInfo:
    """A named block of residual dimensions: `offset`, one label per dimension, and a kind.

    Kinds: "const" (a constant 1), "bool" (one-hot pair <b, 1-b>), "phi" (layer-norm hash
    phi(z) = <z, 1, -z, -1>/sqrt(2z^2+2)), "psi" (unnormalized <a, b, -a, -b>, read as
    phi(a/b)), "scalar" (raw number, read alone as its sign), "code" (a unit vector naming
    one of finitely many values, e.g. a monoid element), "onehot".
    """

    name: str
    kind: str
    offset: int
    labels: tuple[str, ...]

    @property
    def size(self) -> int:
        """Dimensions the cell takes."""
        return len(self.labels)

    @property
    def stop(self) -> int:
        """One past the cell's last dimension."""
        return self.offset + len(self.labels)


@dataclass(frozen=True)
class DepthRule:
    """How many times the repeated block is unrolled for an input.

    n = the integer `root`-th root of the number of input tokens whose string is in
    `count_tokens`; d(n) = ceil(log2 n) for n >= 2 and 0 otherwise (paper Section 2:
    d(n) = ceil(log n)). Theorem 1 counts the word's symbols (root 1); Theorem 2 counts the
    n^2 adjacency tokens (root 2). `fixed` overrides the rule (a non-uniform model).
    """

    count_tokens: tuple[str, ...] = ()
    root: int = 1
    fixed: int | None = None

    def size_of(self, tokens: list[str] | tuple[str, ...]) -> int:
        """The input size n of a token sequence."""
        return self.size_from_count(sum(map(frozenset(self.count_tokens).__contains__, tokens)))

    def size_from_count(self, count: int) -> int:
        """The input size n of a sequence holding `count` of the `count_tokens`."""
        return math.isqrt(count) if self.root == 2 else round(count ** (1 / self.root))

    @staticmethod
    def ceil_log2(n: int) -> int:
        """ceil(log2 n), and 0 for n <= 1."""
        return 0 if n <= 1 else (n - 1).bit_length()

    def depth(self, n: int) -> int:
        """d(n): how many times the repeated block is unrolled for input size n."""
        if self.fixed is not None:
            return self.fixed
        return self.ceil_log2(n)


@dataclass(frozen=True)
class ModelConfig:
    """Everything but the tensors: shapes, vocabulary, depth rule, tolerance, cell layout."""

    d_model: int
    vocab: tuple[str, ...]
    outputs: tuple[str, ...]
    initial: tuple[LayerShape, ...]
    repeated: tuple[LayerShape, ...]
    final: tuple[LayerShape, ...]
    depth_rule: DepthRule
    tie_tolerance: float
    cells: tuple[CellInfo, ...] = ()
    input_format: str = "word"
    frontier: dict[str, int] = field(default_factory=dict)
    construction: str = ""

    @property
    def s_r_t(self) -> tuple[int, int, int]:
        """(s, r, t): initial, repeated and final layer counts."""
        return len(self.initial), len(self.repeated), len(self.final)

    def num_layers(self, depth: int) -> int:
        """Layers run at unrolling `depth`: s + r * depth + t."""
        s, r, t = self.s_r_t
        return s + r * depth + t

    def cell(self, name: str) -> CellInfo:
        """The cell named `name` (an `UnknownNameError`, also a KeyError, listing the cells if
        there is none)."""
        for c in self.cells:
            if c.name == name:
                return c
        raise UnknownNameError(
            f"no cell named {name!r}; the cells are {', '.join(c.name for c in self.cells)}"
        )

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data (the weight file's `config`)."""
        d = asdict(self)
        return d

    @staticmethod
    def from_json(d: dict[str, Any]) -> ModelConfig:
        """The config of `to_json`'s data; fields added later take their defaults."""

        def shapes(items: list[dict[str, Any]]) -> tuple[LayerShape, ...]:
            return tuple(
                LayerShape(
                    n_heads=int(x["n_heads"]),
                    d_head=int(x["d_head"]),
                    d_value=int(x["d_value"]),
                    d_ff=int(x["d_ff"]),
                    causal=tuple(bool(c) for c in x["causal"]),
                    text=str(x.get("text", "")),
                    head_notes=tuple(str(n) for n in x.get("head_notes", ())),
                    ff_note=str(x.get("ff_note", "")),
                )
                for x in items
            )

        rule = d["depth_rule"]
        return ModelConfig(
            d_model=int(d["d_model"]),
            vocab=tuple(str(v) for v in d["vocab"]),
            outputs=tuple(str(v) for v in d["outputs"]),
            initial=shapes(d["initial"]),
            repeated=shapes(d["repeated"]),
            final=shapes(d["final"]),
            depth_rule=DepthRule(
                count_tokens=tuple(rule["count_tokens"]),
                root=int(rule["root"]),
                fixed=None if rule["fixed"] is None else int(rule["fixed"]),
            ),
            tie_tolerance=float(d["tie_tolerance"]),
            cells=tuple(
                CellInfo(c["name"], c["kind"], int(c["offset"]), tuple(c["labels"]))
                for c in d.get("cells", [])
            ),
            input_format=str(d.get("input_format", "word")),
            frontier={str(k): int(v) for k, v in d.get("frontier", {}).items()},
            construction=str(d.get("construction", "")),
        )
