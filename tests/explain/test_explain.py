"""`logdepth explain`: the decoded levels, layers and heads, and the page's HTML (no browser)."""

from __future__ import annotations

import json
import re
import zlib

import numpy as np
import pytest

from logdepth.cli import main
from logdepth.errors import InputError
from logdepth.explain import explain_graph, explain_word, render_html
from logdepth.explain.png import encode_png, intensities
from logdepth.model.config import DepthRule
from tests.explain.models import SIX, SIX_SPEC, model


def _levels(html: str) -> int:
    return len(re.findall(r'<section class="level" id="level-\d+"', html))


@pytest.mark.parametrize(
    "name, word",
    [("parity", "0110100"), ("a5", "12345 23145 31245 24315 13425"), ("ends_ab", "abab")],
)
def test_word_levels_hold_and_every_layer_is_listed(name, word):
    m = model(name)
    data = explain_word(m, word)
    n = data["n"]
    assert len(data["levels"]) == DepthRule.ceil_log2(n) + 1
    assert all(not level["errors"] for level in data["levels"])
    assert data["answer"] == data["expected"] == ("accept" if m.accepts(word) else "reject")
    assert len(data["layers"]) == m.num_layers(n) == data["formula"]["value"]
    for layer in data["layers"]:
        shape = getattr(m.config, layer["name"].split(".")[0])[int(layer["name"].split(".")[1])]
        assert len(layer["heads"]) == shape.n_heads
        assert layer["text"] == shape.text
    html = render_html(data)
    assert _levels(html) == len(data["levels"])
    assert html.count('<details class="layer"') == len(data["layers"])


def test_a5_blocks_are_named_as_group_elements():
    data = explain_word(model("a5"), "12345 23145 31245 24315")
    names = [e["short"] for e in data["elements"]]
    level0 = [names[b["el"]] for b in data["levels"][0]["blocks"]]
    # 12345 is the identity, so the first block's product is 23145 itself.
    assert level0[0] == "23145"
    assert "one-line notation" in data["legend"]
    top = data["levels"][-1]
    assert top["blocks"] == [] and top["acc"]["from"] == 1 and top["acc"]["to"] == 4


def test_nfa_elements_are_relations_and_maps_name_states():
    data = explain_word(model("ends_ab"), "ab")
    assert "relations" in data["legend"]
    assert any("{" in e["short"] for e in data["elements"])
    data = explain_word(model("mod3"), "aab")
    assert "state maps" in data["legend"]
    assert {e["short"] for e in data["elements"]} >= {"e", "(r1 r2 r0)"}


def test_layers_name_the_cells_they_read_and_write():
    data = explain_word(model("parity"), "011")
    last = data["layers"][-1]  # the answer layer reads the accumulator's code
    assert "delta" in last["mlp"]["reads"] and last["mlp"]["writes"] == ["answer"]
    assert set(last["values"]) == {"answer"}
    merge = next(layer for layer in data["layers"] if "delta := x . delta" in layer["text"])
    assert "delta" in merge["mlp"]["writes"]
    # delta is a code cell: decoded to element names at every token.
    assert len(merge["values"]["delta"]) == len(data["tokens"])


def test_every_run_of_a_repeated_layer_has_its_own_attention():
    data = explain_word(model("parity"), "0110100")  # d = 3: the block runs 3 times
    # repeated.7 looks up the previous active token, which moves from level to level.
    runs = [layer for layer in data["layers"] if layer["name"] == "repeated.7"]
    assert [layer["run"] for layer in runs] == [0, 1, 2]
    assert len({layer["heads"][0]["png"] for layer in runs}) > 1


def test_graph_levels_are_the_reachability_matrices():
    m = model("connectivity")
    data = explain_graph(m, SIX, "a", "e")
    assert [level["level"] for level in data["levels"]] == [0, 1, 2, 3]
    assert all(not level["wrong"] for level in data["levels"])
    b1 = np.array(data["levels"][1]["B"])
    assert b1[0, 2] == 1 and b1[0, 3] == 0  # a reaches c in 2 steps, d only in 3
    assert data["answer"] == data["expected"] == "connected"
    assert len(data["layers"]) == 2 * 3 + 18
    assert explain_graph(m, SIX, "b", "a")["answer"] == "disconnected"
    assert data["tokens"][1] == "A(a,a)" and data["tokens"][37] == "pad(a,a,a)"
    html = render_html(data)
    assert _levels(html) == 4


def test_unknown_vertex_is_an_input_error():
    with pytest.raises(InputError, match="'z' is not a node"):
        explain_graph(model("connectivity"), SIX, "a", "z")


def test_the_page_is_self_contained():
    html = render_html(explain_word(model("parity"), "0110"))
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html and "@import" not in html
    payload = re.search(r'<script id="run-data" type="application/json">(.*?)</script>', html, re.S)
    run = json.loads(payload.group(1))
    assert len(run["tokens"]) == 6 and run["layers"]


def test_attention_pngs_are_valid_and_row_normalized():
    weights = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]])
    pixels, step = intensities(weights)
    assert step == 1 and (pixels[np.tril_indices(3)] == 255).all() and pixels[0, 1] == 0
    png = encode_png(pixels)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = np.frombuffer(png[16:24], dtype=">u4")
    assert (width, height) == (3, 3)
    start = png.index(b"IDAT") + 4
    length = int.from_bytes(png[start - 8 : start - 4], "big")
    raw = zlib.decompress(png[start : start + length])
    assert raw == b"".join(b"\x00" + bytes(row) for row in pixels)
    pooled, step = intensities(np.eye(1030), max_side=512)
    # 1030 tokens in 344 pixels of 3: a pixel is lit iff its 3 x 3 block holds a diagonal entry.
    assert step == 3 and (pooled == 255 * np.eye(344, dtype=np.uint8)).all()
    # Rows are scaled by their own peak: 0.2 of a row whose peak is 0.8 is 64 of 255.
    assert intensities(np.array([[1.0, 0.0], [0.2, 0.8]]))[0].tolist() == [[255, 0], [64, 255]]


def test_cli_explain_words_and_graphs(tmp_path, capsys):
    weights = tmp_path / "parity.safetensors"
    model("parity").save(weights)
    out = tmp_path / "run.html"
    assert main(["explain", str(weights), "0110", "-o", str(out)]) == 0
    assert "3 levels, 25 layers" in capsys.readouterr().out
    assert out.read_text().startswith("<!doctype html>")
    conn = tmp_path / "conn.safetensors"
    model("connectivity").save(conn)
    spec = tmp_path / "six.ld"
    spec.write_text(SIX_SPEC)
    graph = f"{spec}:six"
    args = ["explain", str(conn), "--graph", graph, "--source", "a", "--target", "f"]
    assert main([*args, "-o", str(out)]) == 0
    assert "answer disconnected" in capsys.readouterr().out
    assert main(["explain", str(conn), "-o", str(out)]) == 1
    assert "give --graph, --source, --target" in capsys.readouterr().err
    assert main(["explain", str(weights), "-o", str(out)]) == 1
    assert "give the word" in capsys.readouterr().err


def test_explain_reads_models_only_through_model_and_verify():
    """One-way data flow: explain imports model, verify, the automata (the element names) and
    itself (types aside), never dsl, constructions or compiler."""
    import ast

    from tests.explain.models import ROOT

    allowed = (
        "logdepth.model",
        "logdepth.verify",
        "logdepth.explain",
        "logdepth.errors",
        "logdepth.automata",
    )
    for path in (ROOT / "logdepth" / "explain").glob("*.py"):
        tree = ast.parse(path.read_text())
        checking = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING"
        ]
        typed = {id(n) for block in checking for n in ast.walk(block)}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and id(node) not in typed:
                module = node.module or ""
                if module.startswith("logdepth"):
                    assert module.startswith(allowed), f"{path.name} imports {module}"
