"""The program IR: layers written over named cells.

A construction builds a `Program`: an embedding (what each token writes), s initial, r repeated
and t final `Layer`s, and a readout. Each layer is an attention sublayer (a list of `Head`s) then
an optional `FeedForward`. All matrices are given per cell, in terms of the *read value* of the
cell: the stored value for fixed-norm cells, phi(a/b) or sgn(z) for a psi or scalar cell read
alone. Assembly folds the masked pre-norm scale in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from logdepth.compiler.cells import Cell, Layout
from logdepth.model.config import DepthRule

CellMap = dict[Cell, np.ndarray]


@dataclass
class Head:
    """One attention head.

    query/key: cell -> [d_head, cell.size]; value: cell -> [d_value, cell.size];
    out: cell -> [cell.size, d_value], the head's output added into those cells.
    Causal heads see keys j <= i (self included); unmasked heads see every key.
    """

    query: CellMap
    key: CellMap
    value: CellMap
    out: CellMap
    causal: bool = True
    note: str = ""

    def reads(self) -> list[Cell]:
        return _cells_of(self.query, self.key, self.value)

    def writes(self) -> list[Cell]:
        return list(self.out)


@dataclass
class FeedForward:
    """delta = U relu(W z): w_in cell -> [units, cell.size], w_out cell -> [cell.size, units]."""

    w_in: CellMap
    w_out: CellMap
    note: str = ""

    @property
    def units(self) -> int:
        return (
            np.atleast_2d(np.asarray(next(iter(self.w_in.values())))).shape[0] if self.w_in else 0
        )

    def reads(self) -> list[Cell]:
        return _cells_of(self.w_in)

    def writes(self) -> list[Cell]:
        return list(self.w_out)


@dataclass
class Layer:
    """One transformer layer with the text of what it computes and which lemma it is.

    `clears`: cells this layer returns to zero (its write is minus their content).
    `updates`: live cells this layer changes by a delta (add new - old).
    Any other write must go to a cell that is not live (it initializes it).
    """

    text: str
    heads: list[Head] = field(default_factory=list)
    ff: FeedForward | None = None
    clears: tuple[Cell, ...] = ()
    updates: tuple[Cell, ...] = ()

    def attention_reads(self) -> list[Cell]:
        return unique_cells([c for h in self.heads for c in h.reads()])

    def feed_forward_reads(self) -> list[Cell]:
        return self.ff.reads() if self.ff is not None else []

    def attention_writes(self) -> list[Cell]:
        return unique_cells([c for h in self.heads for c in h.writes()])

    def feed_forward_writes(self) -> list[Cell]:
        return self.ff.writes() if self.ff is not None else []


@dataclass
class Program:
    """A whole construction over one layout, before assembly into tensors.

    `facts`: what the builder learned while building it that its report states (the encoding
    chosen, the minimised automaton, a cascade's plan, ...); assembly never reads them, the
    entry's `report` does (`logdepth.build`).
    """

    layout: Layout
    vocab: list[str]
    embedding: dict[str, CellMap]
    initial: list[Layer]
    repeated: list[Layer]
    final: list[Layer]
    outputs: list[str]
    readout: dict[str, CellMap]
    depth_rule: DepthRule
    tie_tolerance: float
    input_format: str = "word"
    construction: str = ""
    frontier: dict[str, int] = field(default_factory=dict)  # dtype name -> largest input size
    facts: dict[str, Any] = field(default_factory=dict)


def unique_cells(cells: list[Cell]) -> list[Cell]:
    """The cells in order of first appearance, each once (cells compare by identity)."""
    seen: list[Cell] = []
    for c in cells:
        if not any(c is s for s in seen):
            seen.append(c)
    return seen


def _cells_of(*maps: CellMap) -> list[Cell]:
    return unique_cells([c for m in maps for c in m])
