"""Benchmark Theorem 1's compiled transformers (not a timed test).

Prints, for parity, A5, S5 and a random 10-state DFA: compile time, parameter count, model width,
feed-forward widths and the encoding; forward time (median of several runs) for a batch of 16
words at n = 64, 256, 1024; and the float64/float32 frontiers.

    .venv/bin/python benchmarks/regular.py [--repeats 3] [--lengths 64 256 1024] [--only A5]

Targets (issue 4): compile A5 <= 2 s, S5 <= 10 s; A5 batch 16 at n = 1024 <= 60 s on 2 cores;
float64 frontier >= 1024.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from logdepth.automata.dfa import DFA, random_dfa  # noqa: E402
from logdepth.automata.groups import group_dfa  # noqa: E402
from logdepth.constructions.regular import compile_regular
from logdepth.dsl import parse_file  # noqa: E402
from logdepth.gaps.regular import frontier  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "basics.ld"
BATCH = 16


def automata() -> dict[str, DFA]:
    spec = parse_file(EXAMPLES)
    return {
        "parity": spec["parity"],
        "A5": spec["a5"],
        "S5": group_dfa("s5", kind="symmetric", degree=5),
        "random10": random_dfa(10, 2, seed=10),
    }


def parameters(model) -> int:
    return sum(int(t.numel()) for t in model.network.tensors.values())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--lengths", type=int, nargs="+", default=[64, 256, 1024])
    p.add_argument("--only", nargs="*", default=None)
    args = p.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float64")
    print(f"frontier: float64 n <= {frontier('float64')}, float32 n <= {frontier('float32')}")
    for name, automaton in automata().items():
        if args.only and name not in args.only:
            continue
        start = time.perf_counter()
        model = compile_regular(automaton)
        compile_s = time.perf_counter() - start
        report = model.extra["report"]
        ff = [s.d_ff for s in model.config.repeated] + [model.config.final[-1].d_ff]
        monoid = report["monoid"]["size"] if report["monoid"] else "(not enumerated)"
        print(
            f"\n{name}: |Q| = {report['states_minimized']}, |M| = {monoid}, "
            f"encoding {report['encoding']} via {report['via']} "
            f"({report['table_units']} table units)"
        )
        print(
            f"  compile {compile_s:.2f} s, {parameters(model):,} parameters, "
            f"d_model {model.config.d_model}, feed-forward widths {ff}"
        )
        rng = random.Random(0)
        for n in args.lengths:
            words = [[rng.choice(automaton.alphabet) for _ in range(n)] for _ in range(BATCH)]
            times = []
            for _ in range(args.repeats):
                t = time.perf_counter()
                got = model.accepts_batch(words)
                times.append(time.perf_counter() - t)
            wrong = sum(g != automaton.accepts(w) for g, w in zip(got, words, strict=True))
            print(
                f"  n = {n:5d}: {model.num_layers(n)} layers, batch {BATCH}: median "
                f"{statistics.median(times):.2f} s over {args.repeats} (wrong answers: {wrong})"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
