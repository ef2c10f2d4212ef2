"""The depth each language class needs: `auto`'s pick (by logdepth.classify) for the bundled
examples and a few star-free regexes, its layers at n = 64, 4,096 and 10^6 next to Theorem 1's,
its width and stored frontiers. Prints the markdown section of docs/results.md
("Depth by language class"); benchmarks/results.py includes it when it rewrites the page.

    python benchmarks/depth_by_class.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import logdepth  # noqa: E402

SIZES = (64, 4096, 1_000_000)
SHOWN = {
    "abb": "(a\\|b)*abb",  # escaped: a markdown table cell
    "no000": "no 000",
    "abba": "contains abba",
    "flipflop": "flip-flop",
    "counter": "saturating counter 0..6, reset",
}


def languages() -> list[tuple[str, object]]:
    basics = logdepth.parse_file(ROOT / "examples" / "basics.ld")
    extra = logdepth.parse_file(ROOT / "examples" / "starfree.ld")
    groups = logdepth.parse_file(ROOT / "examples" / "solvable.ld")
    out = [(n, basics[n]) for n in ("parity", "mod3", "ends_ab", "no_aa", "a5", "rot")]
    out += [(n, groups[n]) for n in ("div5", "d4", "s4")]
    return out + [(SHOWN[n], extra[n]) for n in SHOWN]


def _fmt(n: int) -> str:
    return f"{n:,}"


def depth_lines() -> list[str]:
    lines = [
        "",
        "## Depth by language class",
        "",
        "`construction=\"auto\"` classifies the syntactic monoid (`logdepth classify`) and picks "
        "starfree for an aperiodic one, counting for a cyclic group, the solvable cascade for "
        "any other solvable one (docs/solvable.md), the wide Theorem 1 otherwise "
        "(docs/starfree.md). Layers of its pick at n = 64 / 4,096 / 10^6, next to "
        "Theorem 1 (uniform) at the same n; frontiers are the stored ones (symbols). "
        "Regenerate: `python benchmarks/depth_by_class.py`.",
        "",
        "| language | class | auto picks | levels | layers | Theorem 1 layers | d_model | "
        "float32 | float64 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, automaton in languages():
        model = logdepth.compile(automaton, construction="auto")
        report = model.extra["report"]
        chosen = report["chosen"]
        layers = " / ".join(str(model.num_layers(n)) for n in SIZES)
        uniform = logdepth.compile(automaton)
        t1 = " / ".join(str(uniform.num_layers(n)) for n in SIZES)
        frontier = model.config.frontier
        levels = report.get("levels", "")
        lines.append(
            f"| {name} | {chosen['class']} | {chosen['construction']} | {levels} | {layers} | "
            f"{t1} | {model.config.d_model} | {_fmt(frontier.get('float32', 0))} | "
            f"{_fmt(frontier['float64'])} |"
        )
    lines += [
        "",
        "A star-free language needs 2 layers per cascade level whatever n is; with two or more "
        "levels its frontier is Theorem 1's (its previous-position read is the same equality "
        "lookup), with one level the rightmost-match read's. A solvable group that is not "
        "cyclic (S3, div5's, D4, S4) is a constant set by its composition series: Lemma 1's "
        "7-layer table, then 4 or 5 layers per Z_p counter (docs/solvable.md); the "
        "non-solvable A5 keeps the wide Theorem 1's ceil(log2 n) + 8. The layer counts are the "
        "built models' at each n; answers are promised up to the frontier columns only (past "
        "19,483 symbols a cascade of two or more levels, like Theorem 1, runs nowhere).",
        "",
    ]
    return lines


def main() -> int:
    start = time.perf_counter()
    print("\n".join(depth_lines()))
    print(f"({time.perf_counter() - start:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
