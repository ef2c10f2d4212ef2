"""The monoid codebook a Theorem 1 weight file carries: how to read its element codes.

Theorem 1 (Section 3) writes transition-monoid elements into the `delta` and `left` cells,
either one-hot over the monoid M or as the |Q| x |Q| matrix of a state map. To decode a cell, to
multiply decoded elements and to name them, verify needs the element table the weights were
built with. The compiler stores it in the report (`monoid_codes.Encoding.codebook`), so that
`logdepth.verify` decodes a file without the compiler. The compiler's Encoding reads its own
codes through this class too, so there is one implementation of decode, multiply and accept.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from logdepth.errors import InputError

Element = int | tuple[int, ...]


class Codebook:
    """The element codes of one weight file (the same reading interface as the compiler's
    Encoding: decode, multiply, product, accepts, labels)."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        try:
            self.kind: str = str(data["kind"])
            self.via: str = str(data["via"])
            self.states: int = int(data["states"])
            if self.kind == "onehot":
                self.table = np.asarray(data["table"], dtype=np.int64)
                self.elements = [tuple(int(x) for x in e) for e in data["elements"]]
                self.letters: dict[str, Element] = {a: int(k) for a, k in data["letters"].items()}
                self.identity: Element = int(data["identity"])
                self.accepting: Any = np.asarray(data["accepting"], dtype=bool)
                size = len(self.table)
                ok = self.table.shape == (size, size) and len(self.accepting) == size
            elif self.kind == "maps":
                self.letters = {a: tuple(int(x) for x in v) for a, v in data["letters"].items()}
                self.identity = tuple(int(x) for x in data["identity"])
                start, acc = data["accepting"]
                self.accepting = (int(start), np.asarray(acc, dtype=bool))
                ok = len(self.identity) == self.states == len(self.accepting[1])
            else:
                ok = False
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(
                f"the file's monoid codebook is malformed ({err}): recompile it"
            ) from None
        if not ok:
            raise InputError("the file's monoid codebook is inconsistent: recompile it")

    @classmethod
    def of(cls, report: Mapping[str, Any]) -> Codebook:
        data = report.get("codebook")
        if not isinstance(data, Mapping):
            raise InputError(
                "this weight file carries no monoid codebook (compiled before it was stored), so "
                "its element codes cannot be decoded: recompile it with `logdepth compile`"
            )
        return cls(data)

    # -- sizes and labels ----------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return len(self.table) if self.kind == "onehot" else self.states * self.states

    def labels(self, name: str) -> list[str]:
        if self.kind == "onehot":
            return [f"{name}[{a}]" for a in range(self.dim)]
        q = self.states
        return [f"{name}[{s}->{t}]" for s in range(q) for t in range(q)]

    # -- values --------------------------------------------------------------------------------
    def code(self, element: Element) -> np.ndarray:
        v = np.zeros(self.dim)
        if self.kind == "onehot":
            v[int(element)] = 1.0  # type: ignore[arg-type]
            return v
        q = self.states
        for s, t in enumerate(element):  # type: ignore[arg-type]
            v[s * q + t] = 1.0 / math.sqrt(q)
        return v

    def decode(self, block: np.ndarray) -> list[Element]:
        """Element of each row of a [positions, dim] block (argmax; rows of maps)."""
        if self.kind == "onehot":
            return [int(k) for k in np.argmax(block, axis=1)]
        q = self.states
        rows = block.reshape(len(block), q, q)
        return [tuple(int(t) for t in r) for r in np.argmax(rows, axis=2)]

    def multiply(self, a: Element, b: Element) -> Element:
        """a then b."""
        if self.kind == "onehot":
            return int(self.table[int(a), int(b)])  # type: ignore[arg-type]
        return tuple(b[s] for s in a)  # type: ignore[index]

    def product(self, word: Sequence[str]) -> Element:
        e = self.identity
        for sym in word:
            e = self.multiply(e, self.letters[sym])
        return e

    def accepts(self, element: Element) -> bool:
        if self.kind == "onehot":
            return bool(self.accepting[int(element)])  # type: ignore[arg-type]
        start, acc = self.accepting
        return bool(acc[element[start]])  # type: ignore[index]

    def mapping(self, element: Element) -> tuple[int, ...]:
        """The state map (or relation index tuple) an element stands for."""
        if self.kind == "onehot":
            return self.elements[int(element)]  # type: ignore[arg-type]
        return tuple(element)  # type: ignore[arg-type]
