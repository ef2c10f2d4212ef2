"""PNG plots (the optional extra `logdepth[plot]`, matplotlib): a residual stream, one layer's
attention heads, and layer count against input size for every construction.

The core install does not need matplotlib: `pyplot()` imports it on first use and raises
`MissingExtraError` naming the extra when it is missing. Figures have a fixed size in pixels
(`SIZE`), so a plot's dimensions do not depend on its labels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from logdepth import catalog
from logdepth.errors import InputError, MissingExtraError
from logdepth.explain.layers import executed_layers
from logdepth.model.compiled import TraceResult
from logdepth.model.config import DepthRule

DPI = 100
SIZE = (1200, 700)  # every PNG this module writes is this many pixels (width, height)
MAX_TICKS = 48  # token labels drawn per axis at most
# The largest n of the depth plot: its series hold one point per n (and Corollary 1.1 compiles
# one model per power of two), so their cost grows with n, while on the 1200-pixel log2 axis 20
# doublings still give each step of the layer count 60 pixels: more adds cost, not detail.
DEPTH_MAX_N = 2**20


def pyplot() -> Any:
    """matplotlib.pyplot on the file-only Agg backend, or a clear error naming the extra."""
    try:
        import matplotlib
    except ImportError:
        raise MissingExtraError(
            "plotting needs matplotlib, which the core install leaves out: "
            "pip install 'logdepth[plot]'"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _figure(plt: Any, rows: int = 1, cols: int = 1) -> tuple[Any, Any]:
    fig, axes = plt.subplots(
        rows, cols, figsize=(SIZE[0] / DPI, SIZE[1] / DPI), dpi=DPI, squeeze=False
    )
    return fig, axes


def _save(plt: Any, fig: Any, path: str | Path) -> None:
    """Render to memory, then write atomically (fileio.atomic_write: a failed write keeps
    whatever `path` held, links are written through, modes kept)."""
    import io

    from logdepth.fileio import atomic_write

    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=DPI, format="png")  # no bbox_inches: the size stays SIZE
    plt.close(fig)
    atomic_write(path, buffer.getvalue())


def _token_ticks(ax: Any, tokens: Sequence[str], axis: str, most: int = MAX_TICKS) -> None:
    stride = max(1, math.ceil(len(tokens) / max(most, 1)))
    ticks = list(range(0, len(tokens), stride))
    labels = [tokens[k] for k in ticks]
    if axis == "x":
        ax.set_xticks(ticks)
        ax.set_xticklabels(labels, rotation=90, fontsize=6)
    else:
        ax.set_yticks(ticks)
        ax.set_yticklabels(labels, fontsize=6)


def _layer_index(trace: TraceResult, layer: int | None) -> int:
    count = len(executed_layers(trace))
    if layer is None:
        return count - 1
    if not 0 <= layer < count:
        raise InputError(f"layer {layer} is not among the {count} layers run (0..{count - 1})")
    return layer


def plot_residual(trace: TraceResult, path: str | Path, layer: int | None = None) -> None:
    """The residual stream [tokens, d_model] after `layer` (default: the last), cells marked."""
    plt = pyplot()
    layers = executed_layers(trace)
    index = _layer_index(trace, layer)
    prefix, steps = layers[index]
    h = trace.residuals[steps[-1]]
    fig, axes = _figure(plt)
    ax = axes[0][0]
    bound = float(np.abs(h).max()) or 1.0
    image = ax.imshow(
        h, aspect="auto", cmap="RdBu_r", vmin=-bound, vmax=bound, interpolation="nearest"
    )
    cells = trace.config.cells
    for c in cells[1:]:
        ax.axvline(c.offset - 0.5, color="#888888", linewidth=0.4)
    ax.set_xticks([c.offset + (c.size - 1) / 2 for c in cells])
    ax.set_xticklabels([c.name for c in cells], rotation=90, fontsize=6)
    _token_ticks(ax, trace.tokens, "y")
    ax.set_title(f"residual stream after layer {index} ({prefix}), by cell", fontsize=10)
    ax.set_ylabel("token")
    fig.colorbar(image, ax=ax, fraction=0.03)
    fig.subplots_adjust(left=0.08, right=0.95, top=0.94, bottom=0.2)
    _save(plt, fig, path)


def plot_attention(trace: TraceResult, path: str | Path, layer: int | None = None) -> None:
    """One map per head of `layer` (default: the first layer run that has heads)."""
    plt = pyplot()
    with_heads = [
        (k, step)
        for k, (_, steps) in enumerate(executed_layers(trace))
        for step in steps
        if trace.sublayers[step].endswith(".attn")
    ]
    if not with_heads:
        raise InputError("no layer of this run has attention heads")
    if layer is None:
        layer = with_heads[0][0]
    found = [step for k, step in with_heads if k == layer]
    if not found:
        have = ", ".join(str(k) for k, _ in with_heads)
        raise InputError(f"layer {layer} has no attention heads (layers with heads: {have})")
    weights = trace.attention_of(found[0])
    if weights is None:
        raise InputError("the trace recorded no attention")
    heads = len(weights)
    fig, axes = _figure(plt, 1, heads)
    for h in range(heads):
        ax = axes[0][h]
        ax.imshow(weights[h], cmap="Blues", vmin=0, interpolation="nearest")
        ax.set_title(f"head {h}", fontsize=9)
        _token_ticks(ax, trace.tokens, "x", MAX_TICKS // heads)
        _token_ticks(ax, trace.tokens, "y", MAX_TICKS // heads)
        ax.set_xlabel("key")
    axes[0][0].set_ylabel("query")
    prefix = executed_layers(trace)[layer][0]
    fig.suptitle(f"attention of layer {layer} ({prefix})", fontsize=10)
    fig.subplots_adjust(left=0.08, right=0.98, top=0.9, bottom=0.18, wspace=0.3)
    _save(plt, fig, path)


def depth_series(max_n: int = 1024) -> dict[str, dict[str, list[int]]]:
    """Layer counts from compiled models next to the paper's formulas: Theorem 1 (uniform),
    Corollary 1.1 (one model per N, at N) and Theorem 2. Each series has the formula at every
    n = 1 .. max_n ("n", "formula": a ceil(log2) formula steps just past each power of two, so
    it is drawn from every n, not from the powers) and the compiled models' layer counts at the
    sizes compiled ("compiled_n", "compiled": every n, but Corollary 1.1 at the powers of two)."""
    import logdepth
    from logdepth.dsl import parse

    parity = parse(
        "dfa parity { alphabet: 0, 1\n start: e\n accept: e\n e 0 -> e\n e 1 -> o\n"
        " o 0 -> o\n o 1 -> e }"
    )["parity"]
    ns = list(range(1, max_n + 1))
    theorem1, corollary, theorem2 = map(catalog.get, ("uniform", "nonuniform", "connectivity"))
    uniform = logdepth.compile(parity, construction=theorem1.name)
    graphs = logdepth.compile(construction=theorem2.name)
    powers = [2**k for k in range(0, max(1, DepthRule.ceil_log2(max_n)) + 1) if 2**k <= max_n]
    nonuniform = [
        logdepth.compile(parity, construction=corollary.name, max_length=big).num_layers(big)
        for big in powers
    ]
    return {
        "Theorem 1 (uniform)": {
            "n": ns,
            "compiled_n": ns,
            "compiled": [uniform.num_layers(n) for n in ns],
            "formula": [theorem1.layers(n) for n in ns],
            "label": theorem1.formula,
        },
        "Corollary 1.1 (non-uniform, N = n)": {
            "n": ns,
            "compiled_n": powers,
            "compiled": nonuniform,
            "formula": [corollary.layers(n, n) for n in ns],
            "label": corollary.formula,
        },
        "Theorem 2 (connectivity)": {
            "n": ns,
            "compiled_n": ns,
            "compiled": [graphs.num_layers(n) for n in ns],
            "formula": [theorem2.layers(n) for n in ns],
            "label": theorem2.formula,
        },
    }


def plot_depth(path: str | Path, max_n: int = 1024) -> None:
    """Layer count against n (1 <= max_n <= DEPTH_MAX_N), compiled models as markers over the
    paper's formulas."""
    if isinstance(max_n, bool) or not isinstance(max_n, int) or not 1 <= max_n <= DEPTH_MAX_N:
        raise InputError(
            f"the depth plot's largest n (--max-n) is between 1 and {DEPTH_MAX_N:,}, not {max_n}"
        )
    plt = pyplot()
    fig, axes = _figure(plt)
    ax = axes[0][0]
    colors = ["#08306b", "#c8621c", "#1b7f3b"]
    for (name, s), color in zip(depth_series(max_n).items(), colors, strict=True):
        ax.step(
            s["n"],
            s["formula"],
            where="post",
            color=color,
            linewidth=1.5,
            label=f"{name}: {s['label']}",
        )
        at = s["compiled_n"]
        marks = [k for k, n in enumerate(at) if n & (n - 1) == 0 or n == at[-1]]
        ax.plot(
            [at[k] for k in marks],
            [s["compiled"][k] for k in marks],
            "o",
            color=color,
            markersize=5,
            markerfacecolor="white",
            label=f"{name}: compiled num_layers",
        )
    ax.set_xscale("log", base=2)
    ax.set_xlabel("input size n (word length, or vertices)")
    ax.set_ylabel("layers")
    ax.set_title("Depth grows as log n (Merrill & Sabharwal 2025)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.subplots_adjust(left=0.07, right=0.98, top=0.93, bottom=0.09)
    _save(plt, fig, path)
