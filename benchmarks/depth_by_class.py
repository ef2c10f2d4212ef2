"""The depth each language class needs: for the bundled examples and a few star-free regexes,
every construction that applies (`logdepth compare`: auto's pick marked), its layers at n = 64,
4,096 and 10^6, width, parameters and stored frontiers, and from which n a constant-depth
construction has fewer layers than the wide Theorem 1. Prints the markdown section of
docs/results.md ("Depth by language class") and draws docs/results/depth_by_class.png (layers
against n, one line per class representative); benchmarks/results.py includes both when it
rewrites the page. `--update` also replaces the section in docs/results.md.

    python benchmarks/depth_by_class.py [--update]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import logdepth  # noqa: E402
from logdepth import catalog  # noqa: E402
from logdepth.compare import Row, compare  # noqa: E402

SIZES = (64, 4096, 1_000_000)
HEADING = "## Depth by language class"
PLOT = ROOT / "docs" / "results" / "depth_by_class.png"
PLOT_MAX_LOG2 = 20  # the plot's n runs over 2^0 .. 2^20 (logdepth.plot.DEPTH_MAX_N's range)
# (file, name in the file, name in the table)
LANGUAGES = (
    ("basics", "parity", "parity"),
    ("basics", "mod3", "mod 3"),
    ("solvable", "div5", "div5"),
    ("solvable", "div7", "div7"),
    ("solvable", "d4", "D4"),
    ("solvable", "q8", "Q8"),
    ("solvable", "a4", "A4"),
    ("solvable", "s4", "S4"),
    ("basics", "rot", "rot"),
    ("solvable", "tomita3", "Tomita 3"),
    ("basics", "ends_ab", "ends_ab"),
    ("basics", "no_aa", "no_aa"),
    ("starfree", "abb", "(a\\|b)*abb"),  # escaped: a markdown table cell
    ("starfree", "no000", "no 000"),
    ("starfree", "abba", "contains abba"),
    ("starfree", "flipflop", "flip-flop"),
    ("starfree", "counter", "saturating counter 0..6, reset"),
    ("basics", "a5", "A5"),
)
ZOOM = 32  # the right panel's top: above S4's 25 and wide's 28 at n = 2^20
# One line per class representative: (table name, construction, legend)
PLOTTED = (
    ("(a\\|b)*abb", "starfree", "(a|b)*abb, star-free: starfree"),
    ("parity", "counting", "parity, cyclic group: counting"),
    ("S4", "solvable", "S4, solvable group: solvable"),
    ("Tomita 3", "solvable", "Tomita 3, solvable monoid: solvable"),
    ("A5", "wide", "A5, non-solvable: wide Theorem 1"),
    ("A5", "uniform", "A5, non-solvable: uniform Theorem 1"),
)


def languages() -> list[tuple[str, object]]:
    files = {f: logdepth.parse_file(ROOT / "examples" / f"{f}.ld") for f in
             ("basics", "solvable", "starfree")}
    return [(shown, files[f][name]) for f, name, shown in LANGUAGES]


def _fmt(n: int) -> str:
    return f"{n:,}"


def constant(row: Row) -> bool:
    return catalog.get(row.construction).slope == 0


def shallower_from(automaton: object, construction: str) -> str:
    """The least n from which `construction` (constant depth) has fewer layers than the wide
    Theorem 1, from both builds' num_layers: "always" when from n = 1, "never" when not even at
    the largest n wide's position code holds. Wide's count never falls as n grows, so the n
    where it first exceeds the constant is found by bisection."""
    const = logdepth.compile(automaton, construction=construction).num_layers(1)
    wide = logdepth.compile(automaton, construction="wide")
    top = catalog.get("wide").capacity
    if wide.num_layers(1) > const:
        return "always"
    if wide.num_layers(top) <= const:
        return "never"
    lo, hi = 1, top  # wide(lo) <= const < wide(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if wide.num_layers(mid) <= const else (lo, mid)
    return _fmt(hi)


def frontier(row: Row, dtype: str) -> str:
    return _fmt(row.frontier[dtype]) if dtype in row.frontier else "none"


def depth_lines() -> list[str]:
    lines = [
        "",
        HEADING,
        "",
        "`construction=\"auto\"` classifies the syntactic monoid (`logdepth classify`) and picks "
        "starfree for an aperiodic one, counting for a cyclic group, the solvable cascade for "
        "any other solvable one (docs/solvable.md), the wide Theorem 1 otherwise "
        "(docs/starfree.md). Every construction that applies to each language (`logdepth "
        "compare`; auto's pick in bold): layers at n = 64 / 4,096 / 10^6, width, parameters "
        "and the stored frontiers (symbols). The last column is the least n from which the "
        "constant-depth construction has fewer layers than the wide Theorem 1 (from both "
        "builds' `num_layers`; \"never\" for a language with no constant-depth construction). "
        "Regenerate: `python benchmarks/depth_by_class.py --update`.",
        "",
        "| language | class | construction | layers | d_model | parameters | float32 | "
        "float64 | constant depth shallower than wide from n = |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, automaton in languages():
        model = logdepth.compile(automaton, construction="auto")
        cls = model.extra["report"]["chosen"]["class"]
        rows = [r for r in compare(automaton, SIZES) if r.refused is None]
        has_constant = any(constant(r) for r in rows)
        for k, row in enumerate(rows):
            cons = f"**{row.construction}**" if row.chosen_by_auto else row.construction
            if constant(row):
                since = shallower_from(automaton, row.construction)
            elif row.chosen_by_auto and not has_constant:
                since = "never"
            else:
                since = ""
            layers = " / ".join(str(row.layers[n]) for n in SIZES)
            lines.append(
                f"| {name if k == 0 else ''} | {cls if k == 0 else ''} | {cons} | {layers} | "
                f"{row.d_model} | {_fmt(row.parameters)} | {frontier(row, 'float32')} | "
                f"{frontier(row, 'float64')} | {since} |"
            )
    lines += [
        "",
        "A star-free language needs 2 layers per cascade level whatever n is; with two or more "
        "levels its frontier is Theorem 1's (its previous-position read is the same equality "
        "lookup), with one level the rightmost-match read's. A solvable monoid that is not a "
        "cyclic group (S3, div5's and div7's, D4, Q8, A4, S4, Tomita 3's with its dead state) "
        "is a constant set by its holonomy decomposition: Lemma 1's 7-layer table, then 4 or 5 "
        "layers per Z_p counter, 2 per reset level, 1 more when the last level is a counter "
        "(docs/solvable.md); the non-solvable A5 "
        "keeps the wide Theorem 1's ceil(log2 n) + 8, so a constant of c layers is the "
        "shallower one from n = 2^(c - 8) + 1 on (always when c < 8). The layer counts are "
        "the built models' at each n; answers are promised up to the frontier columns only "
        "(past 19,483 symbols a cascade of two or more levels, like Theorem 1, runs nowhere; "
        "\"none\": float32 is promised no length at all).",
        "",
        "Plot: `results/depth_by_class.png`, layers against n, one line per class (the right "
        f"panel up to {ZOOM} layers, where the constant depths cross the wide Theorem 1):",
        "",
        "![layers against n by language class](results/depth_by_class.png)",
        "",
    ]
    return lines


def plot(path: Path = PLOT) -> None:
    """Layers against n = 2^0 .. 2^20 for each class representative (PLOTTED)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    automata = dict(languages())
    sizes = [2**k for k in range(PLOT_MAX_LOG2 + 1)]
    # Two panels: every line, and the same lines up to ZOOM layers where the constant-depth
    # ones cross the wide Theorem 1 (the uniform one's 8 ceil(log2 n) + 9 hides them otherwise).
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, construction, legend in PLOTTED:
        model = logdepth.compile(automata[name], construction=construction)
        layers = [model.num_layers(n) for n in sizes]
        for ax in axes:  # "pre": every n in (2^(k-1), 2^k] has 2^k's count (ceil(log2 n))
            ax.step(sizes, layers, where="pre", label=legend)
    for ax, title in zip(axes, ("all", f"up to {ZOOM} layers"), strict=True):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("n (symbols)")
        ax.set_ylabel("layers")
        ax.set_title(title, fontsize=9)
    axes[0].set_ylim(bottom=0)
    axes[1].set_ylim(0, ZOOM)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def update(path: Path, section: list[str]) -> None:
    """Replace the section (its heading up to the next `## ` heading or the end) in `path`."""
    text = path.read_text().split("\n")
    start = next(k for k, line in enumerate(text) if line == HEADING) - 1  # its blank line
    end = next((k for k in range(start + 2, len(text)) if text[k].startswith("## ")), len(text))
    path.write_text("\n".join(text[:start] + section + text[end:]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="rewrite docs/results.md's section")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    section = depth_lines()
    print("\n".join(section))
    plot()
    if args.update:
        update(ROOT / "docs" / "results.md", section)
    print(f"({time.perf_counter() - start:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
