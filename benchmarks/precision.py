"""Benchmark the precision sweep (`logdepth precision`): least mantissa bits p per n = 2^k under
p-bit emulation, and the fit p = c log2 n + b (not a timed test).

    .venv/bin/python benchmarks/precision.py [--max-n 4096] [--inputs 2] [--name parity]

Prints each n with its least p and the seconds it took, the fit, the predicted frontier n(p)
of the precision model next to each measured p, and the total wall time. Target (issue 8): the
sweep for parity up to n = 2^12 finishes within 10 minutes on the 2-core development machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from logdepth.constructions.regular import compile_regular
from logdepth.dsl import parse_file  # noqa: E402
from logdepth.gaps.regular import frontier_for_bits  # noqa: E402
from logdepth.precision import fit_bits, log2_sizes  # noqa: E402
from logdepth.verify.precision import (  # noqa: E402
    cases_for,
    growth_region,
    least_bits,
    next_search,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "basics.ld"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-n", type=int, default=4096)
    parser.add_argument("--inputs", type=int, default=2, help="accepting + random words per n")
    parser.add_argument("--name", default="parity", help="automaton of examples/basics.ld")
    args = parser.parse_args()

    model = compile_regular(parse_file(EXAMPLES)[args.name])
    start = time.perf_counter()
    sizes, bits = [], []
    print(f"{args.name}: {args.inputs} accepting + {args.inputs} random words per n")
    print(f"{'n':>6} {'least p':>8} {'n(p) predicted':>15} {'seconds':>8}")
    for n in log2_sizes(args.max_n):
        t = time.perf_counter()
        p = least_bits(model, cases_for(model, n, args.inputs, seed=0), **next_search(bits))
        took = time.perf_counter() - t
        predicted = frontier_for_bits(p) if p is not None else None
        shown = p if p is not None else ">51"
        print(f"{n:>6} {shown:>8} {predicted!s:>15} {took:>8.1f}", flush=True)
        if p is not None:
            sizes.append(n)
            bits.append(p)
    first = growth_region(sizes, bits)
    c, b, r2 = fit_bits(sizes[first:], bits[first:])
    total = time.perf_counter() - start
    print(f"fit over n = {sizes[first]}..{sizes[-1]}: p = {c:.2f} log2(n) + {b:.2f} (r^2 {r2:.3f})")
    print(f"p = 52 (float64) extrapolates to n = {2 ** ((52 - b) / c):,.0f}")
    print(f"total {total:.0f} s (target: under 600 s for parity up to n = 4096)")


if __name__ == "__main__":
    main()
