"""Parse time of a generated 5,000-line spec: a 1,000-state DFA over {0, 1, 2, 3, 4}.

    python benchmarks/parse.py [--states N] [--runs K]

Prints the line count and the median (and min/max) wall time of parse() over K runs, parse
meaning text -> AST -> lowered DFA (the target in issue 3 is under one second).
"""

from __future__ import annotations

import argparse
import statistics
import time

from logdepth.dsl import parse


def generate(states: int, alphabet: tuple[str, ...] = ("0", "1", "2", "3", "4")) -> str:
    lines = [
        "dfa big {",
        f"    alphabet: {', '.join(alphabet)}",
        "    start: q0",
        "    accept: " + ", ".join(f"q{i}" for i in range(0, states, 7)),
    ]
    for i in range(states):
        for k, a in enumerate(alphabet):
            lines.append(f"    q{i} {a} -> q{(i * 3 + k + 1) % states}")
    lines.append("}")
    lines.append('check big accepts "", "0123"')
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--states", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    text = generate(args.states)
    parse(text)  # warm-up: builds the LALR tables once per process
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        spec = parse(text)
        times.append(time.perf_counter() - t0)
    assert len(spec["big"].states) == args.states
    n_lines = text.count("\n")
    print(f"lines: {n_lines}  states: {args.states}  runs: {args.runs}")
    print(
        f"parse median: {statistics.median(times):.3f} s  "
        f"(min {min(times):.3f} s, max {max(times):.3f} s)"
    )


if __name__ == "__main__":
    main()
