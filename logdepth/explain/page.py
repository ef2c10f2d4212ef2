"""The HTML page of `logdepth explain`: one file, CSS and JS inlined, no network.

The paper's objects (the tree of block products, or the matrices B_l) and the list of layers are
written as static HTML; what is heavy (attention maps, per-token cell values) travels as JSON in
the page and is drawn by `page.js` only when a layer's <details> is opened, so a run at
n = 256 opens as fast as one at n = 8.
"""

from __future__ import annotations

import json
from html import escape
from importlib import resources
from typing import Any


def _asset(name: str) -> str:
    return resources.files("logdepth.explain").joinpath(name).read_text(encoding="utf-8")


def _attr(text: Any) -> str:
    return escape(str(text), quote=True)


# ---- words ------------------------------------------------------------------------------------
def _element_title(el: dict[str, Any]) -> str:
    parts = [el["full"]]
    if el["word"] is not None:
        parts.append(f"shortest word: {el['word']}")
    parts.append("accepting" if el["accepting"] else "not accepting")
    return "\n".join(parts)


def _node(el: dict[str, Any], column: int, span: int, cls: str) -> str:
    accepting = " accepting" if el["accepting"] else ""
    return (
        f'<div class="node {cls}{accepting}" style="grid-column: {column} / span {span}" '
        f'title="{_attr(_element_title(el))}"><span>{escape(el["short"])}</span></div>'
    )


def _tree(data: dict[str, Any]) -> str:
    n, elements = data["n"], data["elements"]
    layer_of = _first_layers(data)
    rows = []
    for lv in reversed(data["levels"]):
        cells = []
        for block in lv["blocks"]:
            el = elements[block["el"]]
            start = max(block["from"], 1)
            cells.append(_node(el, start + 1, block["t"] - start + 1, "block"))
        acc = lv["acc"]
        if acc["to"] >= acc["from"]:
            cells.append(
                f'<div class="acc-span" style="grid-column: {acc["from"] + 1} / span '
                f'{acc["to"] - acc["from"] + 1}"></div>'
            )
        cells.append(_node(elements[acc["el"]], n + 2, 1, "acc"))
        status = (
            '<span class="ok" title="active tokens, block products and accumulator match the '
            'products computed from the word">&#10003;</span>'
            if not lv["errors"]
            else f'<span class="bad" title="{_attr("; ".join(lv["errors"]))}">&#10007;</span>'
        )
        first, last = layer_of.get(f"level {lv['level']}", (None, None))
        link = (
            f' <a href="#layer-{first}">layers {first}&ndash;{last}</a>'
            if first is not None
            else ""
        )
        rows.append(
            f'<section class="level" id="level-{lv["level"]}" data-level="{lv["level"]}">'
            f'<div class="label"><b>level {lv["level"]}</b> {status}<br>'
            f"<small>blocks of {lv['size']}{link}</small></div>{''.join(cells)}</section>"
        )
    leaves = [
        _node(elements[el], t + 2, 1, "leaf").replace(
            f"<span>{escape(elements[el]['short'])}</span>",
            f"<span>{escape(data['tokens'][t + 1])}</span>",
        )
        for t, el in enumerate(data["leaves"])
    ]
    leaves.append(f'<div class="node leaf end" style="grid-column: {n + 2} / span 1">$</div>')
    rows.append(
        f'<div class="level leaves"><div class="label"><b>input</b><br><small>{n} symbols'
        f"</small></div>{''.join(leaves)}</div>"
    )
    col = 12 if n <= 64 else 6 if n <= 160 else 4
    style = f"--n: {n}; --col: {col}px"
    return (
        '<section id="paper"><h2>The binary tree of block products (Theorem 1)</h2>'
        f'<p class="legend">{escape(data["legend"])} After level l the active tokens t '
        "(2<sup>l+1</sup> divides t) hold the product of their block w<sub>t-2^(l+1)+1</sub> "
        "&hellip; w<sub>t</sub> (blue); <code>$</code> holds the accumulator, the product of "
        "the last n mod 2<sup>l+1</sup> symbols (orange). Green-edged elements are accepting. "
        "Hover for the whole element and a shortest word.</p>"
        f'<div class="scroll"><div class="tree" style="{style}">{"".join(rows)}</div></div>'
        "</section>"
    )


# ---- graphs -----------------------------------------------------------------------------------
def _matrix(m: list[list[int]], data: dict[str, Any], cls: str, previous=None, wrong=()) -> str:
    nodes = data["nodes"]
    s, t = data["source"], data["target"]
    bad = {tuple(x) for x in wrong}
    head = "".join(f"<th>{escape(v)}</th>" for v in nodes)
    rows = []
    for i, row in enumerate(m):
        cells = []
        for j, value in enumerate(row):
            classes = ["on" if value else "off"]
            if previous is not None and value and not previous[i][j]:
                classes.append("new")
            if (i, j) == (s, t):
                classes.append("query")
            if (i, j) in bad:
                classes.append("wrong")
            title = f"{cls}({nodes[i]}, {nodes[j]}) = {value}"
            cells.append(f'<td class="{" ".join(classes)}" title="{_attr(title)}">{value}</td>')
        rows.append(f"<tr><th>{escape(nodes[i])}</th>{''.join(cells)}</tr>")
    return f'<table class="matrix"><tr><th></th>{head}</tr>{"".join(rows)}</table>'


def _reachability(data: dict[str, Any]) -> str:
    nodes, s, t = data["nodes"], data["source"], data["target"]
    layer_of = _first_layers(data)
    parts = [
        '<section class="level adjacency"><h3>A (the input)</h3>'
        f"{_matrix(data['adjacency'], data, 'A')}</section>"
    ]
    previous = None
    for lv in data["levels"]:
        first, last = layer_of.get(f"B_{lv['level']}", (None, None))
        link = (
            f'<a href="#layer-{first}">layers {first}&ndash;{last}</a>' if first is not None else ""
        )
        mark = "&#10003;" if not lv["wrong"] else "&#10007;"
        value = lv["B"][s][t]
        parts.append(
            f'<section class="level" id="level-{lv["level"]}" data-level="{lv["level"]}">'
            f'<h3>B<sub>{lv["level"]}</sub> <span class="{"ok" if not lv["wrong"] else "bad"}">'
            f"{mark}</span></h3>{_matrix(lv['B'], data, 'B', previous, lv['wrong'])}"
            f"<p>paths of &le; {lv['steps']} steps; B({escape(nodes[s])}, {escape(nodes[t])}) = "
            f"<b>{value}</b><br><small>{link}</small></p></section>"
        )
        previous = lv["B"]
    return (
        '<section id="paper"><h2>Reachability by repeated squaring (Theorem 2)</h2>'
        '<p class="legend">B<sub>0</sub> = A or I; B<sub>l</sub>(i, j) = OR<sub>k</sub> '
        "B<sub>l-1</sub>(i, k) AND B<sub>l-1</sub>(k, j), so B<sub>l</sub>(i, j) = 1 iff j is "
        "reachable from i in at most 2<sup>l</sup> steps. Rows are sources, columns targets; "
        "entries new at a level are darker; the query entry "
        f"({escape(nodes[s])}, {escape(nodes[t])}) is outlined.</p>"
        f'<div class="matrices">{"".join(parts)}</div></section>'
    )


# ---- star-free cascades -----------------------------------------------------------------------
def _cascade(data: dict[str, Any]) -> str:
    """One row per cascade level, one column per token: the level's value (its tile's states
    on hover), resets marked where the value changes; wrong values (against the stored
    cascade) outlined."""
    tokens = data["tokens"]
    layer_of = _first_layers(data)
    head = "".join(f"<th>{escape(t)}</th>" for t in tokens)
    rows = []
    for lv in data["levels"]:
        first, last = layer_of.get(f"level {lv['level']}", (None, None))
        link = ""
        if first is not None:
            link = f' <a href="#layer-{first}">layers {first}&ndash;{last}</a>'

        cells = []
        previous = None
        for t, value in enumerate(lv["values"]):
            classes = ["on" if value["label"] != previous else "off"]
            if t in lv["wrong"]:
                classes.append("wrong")
            title = f"level {lv['level']} after token {t}: {value['tile']}"
            cells.append(
                f'<td class="{" ".join(classes)}" title="{_attr(title)}">'
                f"{escape(value['label'])}</td>"
            )
            previous = value["label"]
        rows.append(
            f"<tr><th>level {lv['level']} (height {lv['height']}){link}</th>{''.join(cells)}</tr>"
        )
    states = "".join(f"<td>{escape(q)}</td>" for q in data["states"])
    rows.append(f"<tr><th>DFA state</th>{states}</tr>")
    return (
        '<section id="paper"><h2>The holonomy cascade, level by level</h2>'
        '<p class="legend">Each level holds the value written by the last token at or before '
        "it that resets the level (BoS resets all to the start; darker cells: a new value). "
        "Hover for the tile (a set of the minimal DFA's states); the last row is the state "
        "the levels name.</p>"
        f'<table class="matrix"><tr><th></th>{head}</tr>{"".join(rows)}</table></section>'
    )


# ---- layers -----------------------------------------------------------------------------------
def _first_layers(data: dict[str, Any]) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for layer in data["layers"]:
        first, _ = out.get(layer["group"], (layer["index"], layer["index"]))
        out[layer["group"]] = (first, layer["index"])
    return out


def _cells(names: list[str]) -> str:
    return " ".join(f"<code>{escape(c)}</code>" for c in names) or "&mdash;"


def _layer(layer: dict[str, Any]) -> str:
    heads = "".join("c" if h["causal"] else "u" for h in layer["heads"]) or "none"
    rows = []
    for kind, label in (("attn", "attention"), ("mlp", "feed-forward")):
        if kind in layer:
            rows.append(
                f"<tr><th>{label}</th><td>reads {_cells(layer[kind]['reads'])}</td>"
                f"<td>writes {_cells(layer[kind]['writes'])}</td></tr>"
            )
    run = f" (unrolled copy {layer['run']})" if layer["name"].startswith("repeated") else ""
    return (
        f'<details class="layer" id="layer-{layer["index"]}" data-layer="{layer["index"]}">'
        f'<summary><span class="idx">{layer["index"]}</span> <code>{escape(layer["name"])}</code>'
        f'<span class="heads" title="heads: c causal, u unmasked">{heads}</span> '
        f'<span class="text">{escape(layer["text"])}</span></summary>'
        f'<div class="body"><p class="note">{escape(layer["text"])}<br><small>'
        f"{escape(layer['name'])}{run}</small></p>"
        f'<table class="rw">{"".join(rows)}</table>'
        f'<div class="heads-grid" data-heads="{len(layer["heads"])}"></div>'
        '<div class="values"></div></div></details>'
    )


def _layers(data: dict[str, Any]) -> str:
    groups: dict[str, list[str]] = {}
    for layer in data["layers"]:
        groups.setdefault(layer["group"], []).append(_layer(layer))
    parts = []
    spans = _first_layers(data)
    for name, items in groups.items():
        first, last = spans[name]
        heading = f"{escape(name)} <small>(layers {first}&ndash;{last})</small>"
        parts.append(f'<div class="group"><h3>{heading}</h3>{"".join(items)}</div>')
    return (
        '<section id="layers"><h2>Layers</h2><p class="legend">Every layer run, in order: its '
        "step of the paper, the cells each sublayer reads (its mask) and writes (nonzero rows "
        "of its output matrix). Open a layer to draw one attention map per head (rows: "
        "queries, columns: keys; each row scaled to its largest weight, so the keys a hard head "
        "averages over are all dark; hover for the weight) and the cells it wrote, decoded at "
        "every token.</p>"
        '<p><button id="expand-all" type="button">open all layers</button> '
        '<button id="collapse-all" type="button">close all</button></p>'
        f"{''.join(parts)}</section>"
    )


# ---- the page ---------------------------------------------------------------------------------
def _summary(data: dict[str, Any]) -> str:
    agree = data["answer"] == data["expected"]
    verdict = (
        f'<span class="answer {"yes" if agree else "no"}">{escape(data["answer"])}</span> '
        + ("(ground truth agrees)" if agree else f"(ground truth says {escape(data['expected'])})")
    )
    f = data["formula"]
    ran = data["layers_run"]
    match = "" if f["value"] == ran else f' <span class="bad">but {ran} ran</span>'
    srt = ""
    if data["srt"] is not None:  # the contract's (s, r, t), when the construction states one
        s, r, t = data["srt"]
        srt = f" &middot; ({s}, {r}, {t})-universal"
    return (
        f"<header><h1>{escape(data['title'])}</h1>"
        f'<p class="word"><code>{escape(data["subtitle"])}</code></p>'
        f'<p class="meta">{escape(data["construction"])}{srt} '
        f"&middot; d_model {data['d_model']} &middot; {escape(data['dtype'])} &middot; n = "
        f"{data['n']}, {len(data['tokens'])} tokens</p>"
        f'<div class="facts"><div><small>answer</small><br>{verdict}</div>'
        f"<div><small>layers</small><br><b>{escape(f['text'])} = {f['value']}</b>{match}"
        f"<br><small>{escape(f['paper'])}</small></div></div></header>"
    )


def render_html(data: dict[str, Any]) -> str:
    """The whole page for the output of `explain_word` or `explain_graph`."""
    paper = {"word": _tree, "graph": _reachability, "cascade": _cascade}[data["kind"]](data)
    payload = {
        "tokens": data["tokens"],
        "layers": [
            {"heads": layer["heads"], "values": layer["values"]} for layer in data["layers"]
        ],
    }
    blob = json.dumps(payload, separators=(",", ":")).replace("</", "<\\/")
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>logdepth explain: {escape(data['title'])}</title>"
        f"<script>{_asset('errors.js')}</script>"
        f"<style>{_asset('page.css')}</style></head><body>"
        '<pre id="js-errors" data-count="0" hidden></pre>'
        f"{_summary(data)}<main>{paper}{_layers(data)}</main>"
        "<footer>Made by <code>logdepth explain</code> after Merrill &amp; Sabharwal (2025), "
        "&ldquo;A Little Depth Goes a Long Way&rdquo;. One self-contained file.</footer>"
        f'<script id="run-data" type="application/json">{blob}</script>'
        f"<script>{_asset('page.js')}</script></body></html>\n"
    )
