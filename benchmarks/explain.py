"""Benchmark `logdepth explain` (not a timed test): HTML size and load time in headless chromium.

For A5 at n = 64 (the issue's target: under 5 MB, opens in under 2 s) and at n = 256, and for
Theorem 2 on a 6-vertex graph: time to trace and render, the file size, the browser's own load
time (performance.now() at the load event, read back from the DOM) and the wall-clock time of the
whole headless chromium run (start-up included, an upper bound), median of --repeats runs.

    .venv/bin/python benchmarks/explain.py [--repeats 3] [--lengths 64 256]

Needs chromium (tests/browser/ensure_chromium.sh installs Debian's package).
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import logdepth  # noqa: E402
from logdepth.explain import explain_graph, explain_word, render_html  # noqa: E402
from logdepth.graphs import Graph  # noqa: E402
from tests.browser.chromium import find_chromium, run_chromium  # noqa: E402

SIZE_LIMIT_MB, LOAD_LIMIT_S = 5.0, 2.0


def measure(
    browser: str | None, name: str, html: str, build_s: float, repeats: int, target: bool = False
) -> None:
    """Print one line; `target`: also say whether the issue's limits are met."""
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "run.html"
        page.write_text(html, encoding="utf-8")
        size = page.stat().st_size / 1e6
        line = f"{name:<22} build {build_s:5.2f} s  size {size:6.3f} MB"
        if browser is not None:
            loads, walls = [], []
            for _ in range(repeats):
                result = run_chromium(browser, page.as_uri(), budget_ms=None)
                found = re.search(r'data-load-ms="(\d+)"', result.dom) or re.search(
                    r'data-ready-ms="(\d+)"', result.dom
                )
                if found:
                    loads.append(int(found.group(1)) / 1000)
                walls.append(result.seconds)
                if result.console:
                    print(f"  console: {result.console[:3]}")
            load = statistics.median(loads) if loads else float("nan")
            wall = statistics.median(walls)
            line += f"  load {load:5.2f} s  chromium run {wall:5.2f} s"
            if target:
                ok = size < SIZE_LIMIT_MB and load < LOAD_LIMIT_S and wall < LOAD_LIMIT_S
                line += "  (target met)" if ok else "  (TARGET MISSED)"
        print(line)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--lengths", type=int, nargs="+", default=[64, 256])
    args = p.parse_args(argv)
    browser, why = find_chromium(install=False)
    if browser is None:
        print(f"{why}: sizes only (tests/browser/ensure_chromium.sh installs it)")
    spec = logdepth.parse_file(ROOT / "examples" / "basics.ld")
    a5 = logdepth.compile(spec["a5"])
    rng = random.Random(0)
    for n in args.lengths:
        word = [rng.choice(a5.alphabet) for _ in range(n)]
        start = time.perf_counter()
        html = render_html(explain_word(a5, word))
        seconds = time.perf_counter() - start
        measure(browser, f"A5, n = {n}", html, seconds, args.repeats, target=n == 64)
    conn = logdepth.compile_connectivity()
    nodes = tuple("abcdef")
    graph = Graph("six", nodes, True, tuple(zip(nodes, nodes[1:], strict=False)))
    start = time.perf_counter()
    html = render_html(explain_graph(conn, graph, "a", "f"))
    measure(browser, "graph, 6 vertices", html, time.perf_counter() - start, args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
