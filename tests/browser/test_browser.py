"""The explain page in a real browser: headless chromium (Debian's package, installed by
ensure_chromium.sh where missing) opens run.html for parity, A5, an NFA and a 6-vertex graph.

Checks: nothing on the console and no script error recorded by the page, one section per level,
one drawn attention map per head of the opened layer. Screenshots are saved under
$LOGDEPTH_ARTIFACTS (default: artifacts/ in the repository), and the directory is printed.

Skips only when chromium is missing and cannot be installed; with LOGDEPTH_REQUIRE_BROWSER=1
(set by .ci/run) that is a failure instead.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from logdepth.explain import explain_graph, explain_word, render_html
from tests.browser.chromium import find_chromium, run_chromium
from tests.explain.models import ROOT, SIX, model

ARTIFACTS = Path(os.environ.get("LOGDEPTH_ARTIFACTS", ROOT / "artifacts")) / "browser"


@pytest.fixture(scope="module")
def browser() -> str:
    path, why = find_chromium(install=True)
    if path is None:
        if os.environ.get("LOGDEPTH_REQUIRE_BROWSER") == "1":
            pytest.fail(f"LOGDEPTH_REQUIRE_BROWSER=1 but {why}")
        pytest.skip(why)
    return path


def _heads_drawn(dom: str, layer: int) -> int:
    section = re.search(rf'<details class="layer" id="layer-{layer}".*?</details>', dom, re.S)
    assert section, f"layer {layer} is not on the page"
    return len(re.findall(r'<canvas class="attn"[^>]*data-drawn="1"', section.group(0)))


CASES = {
    "parity": lambda: explain_word(model("parity"), "0110100"),
    "a5": lambda: explain_word(model("a5"), "12345 23145 31245 24315 13425 21354"),
    "nfa": lambda: explain_word(model("ends_ab"), "abbab"),
    "graph": lambda: explain_graph(model("connectivity"), SIX, "a", "e"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_explain_page_in_chromium(browser, case, tmp_path, capsys):
    data = CASES[case]()
    page = tmp_path / f"{case}.html"
    page.write_text(render_html(data), encoding="utf-8")
    # The layer to open: the one with the most heads.
    layer = max(data["layers"], key=lambda item: len(item["heads"]))
    url = f"{page.as_uri()}?layer={layer['index']}"

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"{case}.png"
    result = run_chromium(browser, url, screenshot=shot, window=(1280, 1600))
    assert result.console == [], "the page wrote to the console"
    errors = re.search(r'<pre id="js-errors" data-count="(\d+)"[^>]*>(.*?)</pre>', result.dom, re.S)
    assert errors and errors.group(1) == "0", errors.group(2) if errors else "no error box"
    assert 'data-ready="1"' in result.dom
    levels = re.findall(r'<section class="level" id="level-(\d+)"', result.dom)
    assert sorted(int(x) for x in levels) == list(range(len(data["levels"])))
    assert _heads_drawn(result.dom, layer["index"]) == len(layer["heads"]) > 0
    assert _heads_drawn(result.dom, (layer["index"] + 1) % len(data["layers"])) == 0  # lazy

    assert shot.stat().st_size > 10_000
    with capsys.disabled():
        print(f"\nscreenshot: {shot}")
