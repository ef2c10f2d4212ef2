"""Assembly: a `Program` over named cells becomes dense per-layer tensors and a config.

One pass per layer, tracr style. Masks select the cells a sublayer reads; the masked pre-norm
scale sqrt(k) (k unit-norm cells read together, Lemma 3) is folded into the reading matrices, so
a construction writes its weights against the stored cell values. Each layer keeps its own
feed-forward width (no padding to the widest); heads of one layer share the widest head size.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from logdepth.compiler.cells import Cell, Layout
from logdepth.compiler.hygiene import check_hygiene
from logdepth.compiler.program import CellMap, Layer, Program
from logdepth.errors import CompileError
from logdepth.model.config import BOS, CellInfo, LayerShape, ModelConfig
from logdepth.model.transformer import UniversalTransformer


def read_scale(cells: list[Cell], where: str) -> float:
    """The factor masked pre-norm divides by when a sublayer reads `cells` (folded back in).

    k fixed-norm (unit) cells read together have norm sqrt(k) (Lemma 3). A variable-norm cell
    (psi, scalar) must be read alone; its weights are then written against phi(a/b) or sgn(z),
    so the factor is 1.
    """
    variable = [c for c in cells if c.norm is None]
    if variable and len(cells) > 1:
        raise CompileError(
            f"{where}: cell {variable[0].name!r} ({variable[0].kind}) has no fixed norm and must "
            f"be read alone, but the sublayer also reads "
            + ", ".join(repr(c.name) for c in cells if c is not variable[0])
        )
    if variable:
        return 1.0
    return math.sqrt(sum(c.norm**2 for c in cells))  # type: ignore[operator]


def _place_rows(layout: Layout, maps: CellMap, rows: int, where: str) -> np.ndarray:
    """Scatter per-cell [rows, cell.size] blocks into one [rows, d_model] matrix."""
    out = np.zeros((rows, layout.d_model))
    for cell, block in maps.items():
        block = np.asarray(block, dtype=np.float64)
        if block.ndim == 1:
            block = block[None, :]
        if block.shape != (rows, cell.size):
            raise CompileError(
                f"{where}: block for cell {cell.name!r} has shape {block.shape}, "
                f"expected {(rows, cell.size)}"
            )
        out[:, layout.slice(cell)] += block
    return out


def _place_cols(layout: Layout, maps: CellMap, cols: int, where: str) -> np.ndarray:
    """Scatter per-cell [cell.size, cols] blocks into one [d_model, cols] matrix."""
    out = np.zeros((layout.d_model, cols))
    for cell, block in maps.items():
        block = np.asarray(block, dtype=np.float64)
        if block.ndim == 1:
            block = block[:, None]
        if block.shape != (cell.size, cols):
            raise CompileError(
                f"{where}: output block for cell {cell.name!r} has shape {block.shape}, "
                f"expected {(cell.size, cols)}"
            )
        out[layout.slice(cell), :] += block
    return out


def _rows(maps: CellMap) -> int:
    sizes = {np.atleast_2d(np.asarray(b)).shape[0] for b in maps.values()}
    if len(sizes) > 1:
        raise CompileError(f"blocks of one map disagree on their row count: {sorted(sizes)}")
    return sizes.pop() if sizes else 0


def _mask(layout: Layout, cells: list[Cell]) -> np.ndarray:
    mask = np.zeros(layout.d_model)
    for c in cells:
        mask[layout.slice(c)] = 1.0
    return mask


def assemble_layer(
    layout: Layout, layer: Layer, where: str
) -> tuple[LayerShape, dict[str, np.ndarray]]:
    """One layer's tensors (names as in model.transformer.layer_tensor_shapes)."""
    m = layout.d_model
    heads = layer.heads
    attn_reads = layer.attention_reads()
    attn_scale = read_scale(attn_reads, f"{where} attention") if heads else 1.0
    d_head = max([_rows(h.query) for h in heads] + [_rows(h.key) for h in heads] + [0])
    d_value = max([_rows(h.value) for h in heads] + [0])
    W_Q = np.zeros((len(heads), d_head, m))
    W_K = np.zeros((len(heads), d_head, m))
    W_V = np.zeros((len(heads), d_value, m))
    W_O = np.zeros((m, len(heads) * d_value))
    for k, head in enumerate(heads):
        hw = f"{where} head {k}"
        dq, dk, dv = _rows(head.query), _rows(head.key), _rows(head.value)
        if dq != dk:
            raise CompileError(f"{hw}: query has {dq} rows but key has {dk}")
        W_Q[k, :dq] = attn_scale * _place_rows(layout, head.query, dq, hw + " query")
        W_K[k, :dk] = attn_scale * _place_rows(layout, head.key, dk, hw + " key")
        W_V[k, :dv] = attn_scale * _place_rows(layout, head.value, dv, hw + " value")
        W_O[:, k * d_value : k * d_value + dv] = _place_cols(layout, head.out, dv, hw + " out")
    ff = layer.ff
    units = ff.units if ff is not None else 0
    if ff is not None and units:
        ff_reads = layer.feed_forward_reads()
        ff_scale = read_scale(ff_reads, f"{where} feed-forward")
        W_in = ff_scale * _place_rows(layout, ff.w_in, units, f"{where} feed-forward in")
        W_out = _place_cols(layout, ff.w_out, units, f"{where} feed-forward out")
        ff_mask = _mask(layout, ff_reads)
    else:
        W_in, W_out, ff_mask = np.zeros((0, m)), np.zeros((m, 0)), np.zeros(m)
    shape = LayerShape(
        n_heads=len(heads),
        d_head=d_head,
        d_value=d_value,
        d_ff=units,
        causal=tuple(h.causal for h in heads),
        text=layer.text,
        # Kept so that `CompiledModel.heads()` and `inspect` can say what each head does.
        head_notes=tuple(h.note for h in heads),
        ff_note=ff.note if ff is not None and units else "",
    )
    tensors = {
        "attn.mask": _mask(layout, attn_reads),
        "attn.W_Q": W_Q,
        "attn.W_K": W_K,
        "attn.W_V": W_V,
        "attn.W_O": W_O,
        "mlp.mask": ff_mask,
        "mlp.W_in": W_in,
        "mlp.W_out": W_out,
    }
    return shape, tensors


def assemble(program: Program) -> UniversalTransformer:
    """Check hygiene, then build the dense model (float64) the program describes."""
    check_hygiene(program)
    layout = program.layout
    if not program.vocab or program.vocab[0] != BOS:
        raise CompileError(f"the vocabulary must start with the BoS token {BOS!r}")
    tensors: dict[str, np.ndarray] = {}
    embed = np.zeros((len(program.vocab), layout.d_model))
    for token, writes in program.embedding.items():
        if token not in program.vocab:
            raise CompileError(f"the embedding names token {token!r}, not in the vocabulary")
        embed[program.vocab.index(token)] = _place_rows(layout, writes, 1, f"embedding {token!r}")[
            0
        ]
    tensors["embed"] = embed
    unembed = np.zeros((len(program.outputs), layout.d_model))
    for k, name in enumerate(program.outputs):
        unembed[k] = _place_rows(layout, program.readout.get(name, {}), 1, f"readout {name!r}")[0]
    tensors["unembed"] = unembed
    shapes: dict[str, list[LayerShape]] = {}
    for part in ("initial", "repeated", "final"):
        shapes[part] = []
        for k, layer in enumerate(getattr(program, part)):
            shape, layer_tensors = assemble_layer(layout, layer, f"{part} layer {k}")
            shapes[part].append(shape)
            for name, value in layer_tensors.items():
                tensors[f"{part}.{k}.{name}"] = value
    cells = []
    for cell in layout.cells:
        cells.append(CellInfo(cell.name, cell.kind, layout.offset(cell), cell.labels))
    config = ModelConfig(
        d_model=layout.d_model,
        vocab=tuple(program.vocab),
        outputs=tuple(program.outputs),
        initial=tuple(shapes["initial"]),
        repeated=tuple(shapes["repeated"]),
        final=tuple(shapes["final"]),
        depth_rule=program.depth_rule,
        tie_tolerance=program.tie_tolerance,
        cells=tuple(cells),
        input_format=program.input_format,
        construction=program.construction,
        frontier=dict(program.frontier),
    )
    as_torch = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in tensors.items()}
    return UniversalTransformer(config, as_torch)
