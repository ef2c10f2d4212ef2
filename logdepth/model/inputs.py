"""Turning user inputs into token sequences for the compiled transformers.

Kept inside `model` (no imports from `dsl` or `constructions`) so that a weight file can be run
with `model` alone.

- "word" format (Theorem 1): BoS w_1 ... w_n END; the answer is read at END.
- "graph" format (Theorem 2): BoS, the n x n adjacency matrix row-major as n^2 tokens "0"/"1",
  n^3 padding tokens, then source s and target t in unary (a^s b^t, vertices numbered 1..n).
"""

from __future__ import annotations

from collections.abc import Sequence

from logdepth.errors import InputError
from logdepth.model.config import BOS

END = "<$>"  # the paper's `$`, spelt so that no alphabet symbol can collide with it
PAD = "<pad>"
SOURCE, TARGET = "a", "b"
GRAPH_VOCAB = (BOS, "0", "1", PAD, SOURCE, TARGET)
SPECIAL_TOKENS = (BOS, END)


def word_symbols(vocab: Sequence[str]) -> list[str]:
    """The alphabet: every vocabulary token but the special ones."""
    return [t for t in vocab if t not in SPECIAL_TOKENS]


def split_word(word: str | Sequence[str], alphabet: Sequence[str]) -> tuple[str, ...]:
    """A word as symbols. A string is split into characters when every symbol is one character,
    otherwise at spaces (the DSL's word rule); a sequence is taken as symbols already."""
    if isinstance(word, str):
        if all(len(a) == 1 for a in alphabet):
            symbols = tuple(word)
        else:
            symbols = tuple(word.split())
    else:
        symbols = tuple(word)
    known = set(alphabet)
    for position, symbol in enumerate(symbols, start=1):
        if symbol not in known:
            raise InputError(
                f"symbol {symbol!r} at position {position} is not in the alphabet "
                f"{{{', '.join(alphabet)}}}"
            )
    return symbols


def encode_word(symbols: Sequence[str]) -> list[str]:
    """BoS w END (Theorem 1's input w$)."""
    return [BOS, *symbols, END]


def encode_graph(adjacency: Sequence[Sequence[bool]], source: int, target: int) -> list[str]:
    """BoS A_{1,1} ... A_{n,n} pad^(n^3) a^s b^t, with 0-based vertex indices source, target
    written as s = source + 1 and t = target + 1 (paper Theorem 2's input)."""
    n = len(adjacency)
    if n == 0:
        raise InputError("the graph has no vertices")
    for v in (source, target):
        if not 0 <= v < n:
            raise InputError(f"vertex index {v} is outside 0..{n - 1}")
    cells = ["1" if adjacency[i][j] else "0" for i in range(n) for j in range(n)]
    return [BOS, *cells, *([PAD] * n**3), *([SOURCE] * (source + 1)), *([TARGET] * (target + 1))]
