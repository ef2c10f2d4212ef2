"""`logdepth compare`: every construction that applies to one language, side by side.

For each registered word construction (not the non-uniform ones, which are built per longest
word, and not `auto`, which picks one of the others: its pick is marked), one build: its layers
at each requested n, d_model, parameters, the float32 and float64 frontiers it stores, and how
long it took to compile; or why it refused the language (a star-free construction refuses a
group, counting anything but a cyclic group).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from logdepth import catalog
from logdepth.build import build
from logdepth.errors import CompileError

DEFAULT_SIZES = (64, 4096, 1_000_000)


@dataclass
class Row:
    """One construction's build for the language (or why it refused)."""

    construction: str
    reference: str
    layers: dict[int, int] = field(default_factory=dict)
    d_model: int | None = None
    parameters: int | None = None
    frontier: dict[str, int] = field(default_factory=dict)
    compile_s: float | None = None
    refused: str | None = None
    chosen_by_auto: bool = False
    capacity: int | None = None


def compare(automaton: Any, sizes: Sequence[int] = DEFAULT_SIZES) -> list[Row]:
    """Build the language with every applicable construction (module docstring)."""
    rows: list[Row] = []
    chosen = None
    for entry in catalog.entries():
        if entry.accepts != "automaton" or entry.needs_max_length:
            continue
        if entry.chooser:
            chosen = build(entry, automaton).extra["report"]["chosen"]["construction"]
            continue
        row = Row(entry.name, entry.reference, capacity=entry.capacity)
        start = time.perf_counter()
        try:
            model = build(entry, automaton)
        except CompileError as err:
            row.refused = str(err).splitlines()[0].rstrip(":")
            rows.append(row)
            continue
        row.compile_s = time.perf_counter() - start
        row.layers = {n: model.num_layers(n) for n in sizes}
        row.d_model = model.config.d_model
        row.parameters = sum(t.numel() for t in model.network.tensors.values())
        row.frontier = dict(model.config.frontier)
        rows.append(row)
    for row in rows:
        row.chosen_by_auto = row.construction == chosen
    return rows


def lines(rows: Sequence[Row], sizes: Sequence[int]) -> list[str]:
    """The text table `logdepth compare` prints."""
    head = ["construction", *(f"layers n={n:,}" for n in sizes), "d_model", "params",
            "float32", "float64", "compile s"]
    table = [head]
    notes = []
    for r in rows:
        name = r.construction + (" (auto)" if r.chosen_by_auto else "")
        if r.refused is not None:
            notes.append(f"{r.construction}: refused: {r.refused}")
            continue

        def layers(n: int, r: Row = r) -> str:
            if r.capacity is not None and n > r.capacity:
                return f"{r.layers[n]} (n > {r.capacity:,})"
            return str(r.layers[n])

        table.append(
            [
                name,
                *(layers(n) for n in sizes),
                str(r.d_model),
                f"{r.parameters:,}",
                f"{r.frontier.get('float32', 'none'):,}" if "float32" in r.frontier else "none",
                f"{r.frontier.get('float64', 'none'):,}" if "float64" in r.frontier else "none",
                f"{r.compile_s:.2f}",
            ]
        )
    widths = [max(len(row[k]) for row in table) for k in range(len(head))]
    out = ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
           for row in table]
    return out + notes
