"""Which named cells each layer reads and writes, decoded from its weights.

A sublayer reads the cells its 0/1 mask keeps (Definitions 2 and 3: z = norm(m * h)) and writes
the cells whose rows of its output matrix (W_O for attention, W_out for the feed-forward) are
not all zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from logdepth.model.compiled import CompiledModel, TraceResult
from logdepth.model.config import CellInfo, LayerShape


@dataclass(frozen=True)
class LayerCells:
    """The cells one sublayer reads and writes, by name, in residual order."""

    reads: tuple[str, ...]
    writes: tuple[str, ...]


def _cells_at(cells: tuple[CellInfo, ...], dims: torch.Tensor) -> tuple[str, ...]:
    hit = set(int(d) for d in dims)
    return tuple(c.name for c in cells if any(d in hit for d in range(c.offset, c.stop)))


def sublayer_cells(model: CompiledModel, prefix: str, kind: str) -> LayerCells:
    """`prefix` is "repeated.3"; `kind` is "attn" or "mlp"."""
    tensors = model.network.tensors
    cells = model.config.cells
    mask = tensors[f"{prefix}.{kind}.mask"]
    out = tensors[f"{prefix}.{kind}.{'W_O' if kind == 'attn' else 'W_out'}"]
    written = torch.nonzero(out.abs().sum(dim=1), as_tuple=True)[0]
    return LayerCells(
        _cells_at(cells, torch.nonzero(mask, as_tuple=True)[0]), _cells_at(cells, written)
    )


def layer_shape(model: CompiledModel, prefix: str) -> LayerShape:
    part, k = prefix.split(".")
    return getattr(model.config, part)[int(k)]


def executed_layers(trace: TraceResult) -> list[tuple[str, list[int]]]:
    """Layers in the order they ran: (prefix, residual steps of its sublayers). A new layer
    starts at a new prefix, at every attention sublayer, and at a second feed-forward (so a
    repeated block of one layer still splits into its unrolled copies)."""
    layers: list[tuple[str, list[int]]] = []
    last_kind = ""
    for step, name in enumerate(trace.sublayers[1:], start=1):
        prefix, kind = name.rsplit(".", 1)
        if not layers or layers[-1][0] != prefix or kind == "attn" or kind == last_kind:
            layers.append((prefix, []))
        layers[-1][1].append(step)
        last_kind = kind
    return layers
