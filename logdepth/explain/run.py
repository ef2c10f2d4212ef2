"""What one forward pass computed, decoded into the paper's objects, as JSON-able data.

Words (Theorem 1 / Corollary 1.1, Section 3): after level l the active tokens are the t with
2^(l+1) | t, each holding the product of its block w_{t-2^(l+1)+1} ... w_t, and `$` holds the
product of the last n mod 2^(l+1) symbols (the accumulator); `verify.regular.decode_levels`
reads them from the residual stream. Graphs (Theorem 2, Section 4): B_l(i, j) = [j reachable
from i in at most 2^l steps], read by `verify.connectivity.decode_levels`.

Every executed layer is listed with its text (the paper step), the cells it reads and writes,
the written cells decoded at every token right after it, and one attention map per head.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from logdepth.automata.elements import ElementNamer
from logdepth.errors import InputError
from logdepth.explain.layers import executed_layers, layer_shape, sublayer_cells
from logdepth.explain.png import PooledMaps, pixels_png
from logdepth.model import inputs
from logdepth.model.compiled import CompiledModel, TraceResult, decode_cell, decode_names
from logdepth.model.config import BOS
from logdepth.verify import connectivity as graph_verify
from logdepth.verify import regular as word_verify

if TYPE_CHECKING:
    from logdepth.catalog import Construction

Decoder = Callable[[str, np.ndarray], list[Any]]


def _number(x: float) -> float | None:
    return None if not math.isfinite(x) else float(f"{x:.4g}")


def _answer(trace: TraceResult, model: CompiledModel) -> str:
    """The output token read at the last position: U h, as the forward pass does."""
    logits = model.network.tensors["unembed"].numpy() @ trace.residuals[-1][-1]
    return model.config.outputs[int(np.argmax(logits))]


def _layers(
    model: CompiledModel,
    trace: TraceResult,
    groups: Sequence[tuple[int, str]],
    decode: Decoder,
    maps: PooledMaps,
) -> list[dict[str, Any]]:
    """One entry per executed layer. `groups` is [(last residual step, group name)] in order:
    a layer belongs to the first group whose step is at or after its end. `maps` holds the
    trace's attention runs as pixels, in the order they ran."""
    layers: list[dict[str, Any]] = []
    runs: dict[str, int] = {}
    attention_runs = iter(maps.runs)
    for prefix, steps in executed_layers(trace):
        runs[prefix] = runs.get(prefix, -1) + 1
        shape = layer_shape(model, prefix)
        layer: dict[str, Any] = {
            "index": len(layers),
            "name": prefix,
            "run": runs[prefix],
            "text": shape.text,
            "heads": [],
            "end": steps[-1],
        }
        for step in steps:
            kind = trace.sublayers[step].rsplit(".", 1)[1]
            cells = sublayer_cells(model, prefix, kind)
            layer[kind] = {"reads": list(cells.reads), "writes": list(cells.writes)}
            if kind != "attn":
                continue
            pixels, per_pixel = next(attention_runs)
            for head in range(len(pixels[0])):
                layer["heads"].append(
                    {
                        "causal": shape.causal[head],
                        "png": pixels_png(pixels[0, head]),
                        "tokens_per_pixel": per_pixel,
                    }
                )
        layers.append(layer)
    for layer in layers:
        written = []
        for kind in ("attn", "mlp"):
            for cell in layer.get(kind, {}).get("writes", []):
                if cell not in written:
                    written.append(cell)
        layer["values"] = {cell: decode(cell, trace.cell(cell, layer["end"])) for cell in written}
        layer["group"] = next((g for s, g in groups if layer["end"] <= s), "answer")
    return layers


def _cell_decoder(model: CompiledModel, special: dict[str, Decoder] | None = None) -> Decoder:
    def decode(name: str, block: np.ndarray) -> list[Any]:
        if special and name in special:
            return special[name](name, block)
        values = decode_cell(model.config.cell(name), block)
        return [_number(float(v)) for v in values]

    return decode


def _header(
    model: CompiledModel, trace: TraceResult, title: str, entry: Construction
) -> dict[str, Any]:
    """The page's header facts. The construction and the (s, r, t) it is universal for are its
    catalog entry's (its contract; a fixed-depth or cascade build states none: its config's
    numbers are one build's)."""
    srt = entry.contract.s_r_t
    return {
        "title": title,
        "construction": f"{entry.name} ({entry.reference})",
        "srt": list(srt) if srt is not None else None,
        "d_model": model.config.d_model,
        "depth": trace.depth,
        "layers_run": len(trace.layer_ends()),
        "dtype": model.dtype_name,
    }


# ---- words ------------------------------------------------------------------------------------
def _word_formula(model: CompiledModel, n: int) -> dict[str, Any]:
    """The layer formula of the file's construction (catalog), evaluated at n or its N."""
    entry = word_verify.construction_of(model)
    size = n
    if entry.needs_max_length:
        big_n = (model.extra.get("report") or {}).get("max_length")
        size = big_n if isinstance(big_n, int) else None
    var = "N" if entry.needs_max_length else "n"
    return {
        "paper": f"{entry.reference}: {entry.formula} layers"
        + (f", {var} the longest word built for" if entry.needs_max_length else ""),
        "text": entry.formula_at(size) if size is not None else entry.formula,
        "value": word_verify.expected_layers(model, n) if size is not None else None,
    }


def _tree_levels(
    model: CompiledModel,
    trace: TraceResult,
    encoding: Any,
    namer: ElementNamer,
    symbols: list[str],
    element_id: Any,
) -> list[dict[str, Any]]:
    """Theorem 1's invariant at every level, decoded from the trace: the active tokens (the
    multiples of 2^(l+1)), each one's block product and the accumulator at $, each checked
    against the products of the word itself (`errors`)."""
    n = len(symbols)
    states = word_verify.decode_levels(model, trace, encoding)
    steps = word_verify.level_steps(model, trace)
    levels = []
    for state, step in zip(states, steps, strict=True):
        size = 2 ** (state.level + 1)
        suffix = n % size
        errors = []
        want_active = [t for t in range(1, n + 1) if t % size == 0]
        if state.active != want_active:
            errors.append(f"active tokens {state.active}, expected {want_active}")
        blocks = []
        for t in state.active:
            want = encoding.product(symbols[max(t - size, 0) : t])
            if state.blocks[t] != want:
                errors.append(f"token {t} holds {namer.name(state.blocks[t]).short}")
            blocks.append({"t": t, "from": t - size + 1, "el": element_id(state.blocks[t])})
        if state.accumulator != encoding.product(symbols[n - suffix :]):
            errors.append(f"the accumulator is {namer.name(state.accumulator).short}")
        levels.append(
            {
                "level": state.level,
                "size": size,
                "blocks": blocks,
                "acc": {"from": n - suffix + 1, "to": n, "el": element_id(state.accumulator)},
                "errors": errors,
                "step": step,
            }
        )
    return levels


def explain_word(model: CompiledModel, word: str | Sequence[str]) -> dict[str, Any]:
    """Trace `word` and decode the binary tree of block products level by level."""
    entry = word_verify.construction_of(model)
    if entry.unexplained:
        raise InputError(entry.unexplained)
    if "cascade" in (model.extra.get("report") or {}):
        return explain_cascade(model, word)
    if not entry.monoid_codes:
        raise InputError(
            f"explain draws Theorem 1's binary tree of monoid products; a {entry.name} model "
            f"({entry.reference}) multiplies none (`logdepth inspect` shows its layers)"
        )
    automaton = word_verify.automaton_of(model)
    encoding = word_verify.encoding_of(model, automaton)
    namer = ElementNamer(automaton, encoding)
    symbols = list(inputs.split_word(word, model.alphabet))
    # The page shows each attention run as a pooled map: keep only that (PooledMaps), not
    # [heads, n, n] per run, which at n = 4,000 would be gigabytes.
    maps = PooledMaps()
    trace = model.trace(symbols, attention=False, attention_sink=maps)
    n = len(symbols)

    elements: list[dict[str, Any]] = []
    ids: dict[Any, int] = {}

    def element_id(e: Any) -> int:
        if e not in ids:
            name = namer.name(e)
            ids[e] = len(elements)
            elements.append(
                {
                    "short": name.short,
                    "full": name.full,
                    "word": name.word,
                    "accepting": name.accepting,
                }
            )
        return ids[e]

    levels = _tree_levels(model, trace, encoding, namer, symbols, element_id)
    leaves = [element_id(encoding.letters[a]) for a in symbols]
    code_cells = {c.name for c in model.config.cells if c.kind == "code" and c.size == encoding.dim}

    def decode_elements(name: str, block: np.ndarray) -> list[Any]:
        return [elements[element_id(e)]["short"] for e in encoding.decode(block)]

    decode = _cell_decoder(model, {c: decode_elements for c in code_cells})
    groups = [(lv["step"], f"level {lv['level']}") for lv in levels]
    shown = namer.separator.join(symbols) or "(empty word)"
    data = _header(model, trace, f"{automaton.name} on a word of length {n}", entry)
    data["subtitle"] = shown if len(shown) <= 160 else shown[:157] + "..."
    answer = _answer(trace, model)
    data.update(
        {
            "kind": "word",
            "n": n,
            "tokens": ["BoS", *symbols, "$"],
            "leaves": leaves,
            "levels": levels,
            "elements": elements,
            "legend": namer.legend(),
            "answer": answer,
            "expected": "accept" if automaton.accepts(symbols) else "reject",
            "formula": _word_formula(model, n),
            "layers": _layers(model, trace, groups, decode, maps),
            "spec": {"name": automaton.name, "kind": type(automaton).__name__},
        }
    )
    return data


def explain_cascade(model: CompiledModel, word: str | Sequence[str]) -> dict[str, Any]:
    """A star-free cascade model (its report's "cascade", docs/starfree.md): each level's value
    at every token, decoded from the residual stream after the last layer, with the tile (the
    set of states) it names, checked against the stored cascade run in plain Python."""
    from logdepth.verify.starfree import read_claim

    entry = word_verify.construction_of(model)
    automaton = word_verify.automaton_of(model)
    report = model.extra.get("report") or {}
    claim = read_claim(model)
    symbols = list(inputs.split_word(word, model.alphabet))
    # As explain_word: the page keeps each attention run as a pooled map only.
    maps = PooledMaps()
    trace = model.trace(symbols, attention=False, attention_sink=maps)
    n = len(symbols)
    run = claim.run(symbols)
    ends = trace.layer_ends()
    levels = []
    for i, stored in enumerate(report["cascade"]["levels"]):
        tiles = {
            v: "{" + ", ".join(t) + "}" if t else "-"
            for v, t in zip(stored["values"], stored["tiles"], strict=True)
        }
        got = list(trace.decode(f"level.{i}"))
        want = [claim.labels[i][enc[i]] for enc in run]
        levels.append(
            {
                "level": i,
                "height": stored["height"],
                "values": [{"label": g, "tile": tiles.get(g, "?")} for g in got],
                "wrong": [t for t, (g, w) in enumerate(zip(got, want, strict=True)) if g != w],
                "step": ends[2 * i + 1],
            }
        )
    code_cells = {c.name for c in model.config.cells if c.kind == "code"}

    def decode_codes(name: str, block: np.ndarray) -> list[Any]:
        return decode_names(model.config.cell(name), block)

    decode = _cell_decoder(model, {c: decode_codes for c in code_cells})
    groups = [(lv["step"], f"level {lv['level']}") for lv in levels]
    shown = " ".join(symbols) or "(empty word)"
    data = _header(model, trace, f"{automaton.name} on a word of length {n}", entry)
    data["subtitle"] = shown if len(shown) <= 160 else shown[:157] + "..."
    layer_count = entry.layers(n, report=report)
    data.update(
        {
            "kind": "cascade",
            "n": n,
            "tokens": ["BoS", *symbols, "$"],
            "levels": levels,
            "states": [claim.decode[enc] for enc in run],
            "answer": _answer(trace, model),
            "expected": "accept" if automaton.accepts(symbols) else "reject",
            "formula": {
                "paper": f"{entry.reference}: {entry.formula} layers",
                "text": f"2 L = 2 * {claim.levels}" if claim.levels else "1 (no levels)",
                "value": layer_count,
            },
            "layers": _layers(model, trace, groups, decode, maps),
            "spec": {"name": automaton.name, "kind": type(automaton).__name__},
        }
    )
    return data


# ---- graphs -----------------------------------------------------------------------------------
def graph_token_labels(nodes: Sequence[str], tokens: Sequence[str]) -> list[str]:
    """BoS, A(u,v) for matrix entries, pad(u,w,v) for the n^3 pads, then a.. and b.."""
    n = len(nodes)
    labels = ["BoS"]
    labels += [f"A({nodes[i]},{nodes[j]})" for i in range(n) for j in range(n)]
    labels += [
        f"pad({nodes[i]},{nodes[k]},{nodes[j]})"
        for i in range(n)
        for k in range(n)
        for j in range(n)
    ]
    labels += [t for t in tokens[len(labels) :]]
    return labels


def explain_graph(model: CompiledModel, graph: Any, source: str, target: str) -> dict[str, Any]:
    """Trace a connectivity query and decode B_l, the reachability matrices, level by level."""
    nodes = list(graph.nodes)
    for v in (source, target):
        if v not in nodes:
            raise InputError(f"vertex {v!r} is not a node of the graph")
    adjacency = np.asarray(graph.adjacency(), dtype=bool)
    s, t = nodes.index(source), nodes.index(target)
    tokens = inputs.encode_graph(adjacency, s, t)
    maps = PooledMaps()
    trace = model.trace_tokens(tokens, attention=False, attention_sink=maps)
    n = len(nodes)
    matrices = graph_verify.decode_levels(trace, n)
    ends = trace.layer_ends()
    s_layers, r_layers, _ = model.config.s_r_t
    steps = [ends[s_layers - 1]] + [
        ends[s_layers - 1 + r_layers * lv] for lv in range(1, len(matrices))
    ]
    levels = []
    for level, (b, step) in enumerate(zip(matrices, steps, strict=True)):
        want = graph_verify.bounded_reachability(adjacency, level)
        levels.append(
            {
                "level": level,
                "steps": 2**level,
                "B": b.astype(int).tolist(),
                "wrong": np.argwhere(b != want).tolist(),
                "step": step,
            }
        )
    groups = [(lv["step"], f"B_{lv['level']}") for lv in levels]
    answer = _answer(trace, model)
    reach = graph_verify.reachability(adjacency)
    construction = model.config.construction
    n_formula = graph_verify.expected_layers(n, construction)
    entry = graph_verify.construction_of(construction)
    data = _header(
        model,
        trace,
        f"{getattr(graph, 'name', 'graph')}: is {target} reachable from {source}?",
        entry,
    )
    edges = [f"{nodes[i]}->{nodes[j]}" for i, j in np.argwhere(adjacency)]
    data["subtitle"] = f"{n} vertices, edges {', '.join(edges) or 'none'}"
    data.update(
        {
            "kind": "graph",
            "n": n,
            "nodes": nodes,
            "directed": bool(getattr(graph, "directed", True)),
            "adjacency": adjacency.astype(int).tolist(),
            "source": s,
            "target": t,
            "tokens": graph_token_labels(nodes, [BOS, *tokens[1:]]),
            "levels": levels,
            "answer": answer,
            "expected": "connected" if reach[s, t] else "disconnected",
            "formula": {
                "paper": f"{entry.reference}: a {entry.contract.s_r_t}-universal transformer "
                f"runs {entry.formula} layers",
                "text": entry.formula_at(n),
                "value": n_formula,
            },
            "layers": _layers(model, trace, groups, _cell_decoder(model), maps),
        }
    )
    return data
