"""Benchmark batched p-bit emulation against per-word emulation on a 64-word sweep (not a
timed test).

    .venv/bin/python benchmarks/emulation.py [--words 64] [--repeats 3]

For each model and word length n: 64 words (half accepting, half random, as the precision
sweep draws them), and the least p at which all of them run right under p-bit emulation.

- per word: the one-p-at-a-time search (gallop up from MIN_EMULATED_BITS, bisect), each probed
  p running the words one forward each, stopping at the first wrong word;
- batched: `verify.precision.least_bits`, every (word, p) pair a row of batched forwards, each
  row at its own p (`UniversalTransformer.precision_bits` as a per-row tensor);
- one row a forward: the same `least_bits` with every forward holding one (word, p) row
  (`rows_per_forward` pinned to 1), so that batched / this is batching alone;
- batched, as a sweep runs it: `least_bits` started from the size's guess
  (`verify.precision.size_search`: the least p the file's precision model promises reaches n),
  stepping one bit at a time from it: what `logdepth precision` runs for each size;
- batched on the torch path: the same `least_bits` with the fused kernels off (what emulation
  ran before they had emulating variants), so that batched / it is what the kernels buy.

All must find the same p (checked). Prints the median seconds of each over the repeats and
the ratios, per case and over the whole sweep, measured in one run. Target: batched at least 5x
faster than per word over the sweep. The one-row-a-forward column runs the same search as
batched, so batched / it is batching alone.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import logdepth  # noqa: E402
from logdepth.automata.stored import automaton_of  # noqa: E402
from logdepth.model import fused  # noqa: E402
from logdepth.precision import MAX_EMULATED_BITS, MIN_EMULATED_BITS  # noqa: E402
from logdepth.verify import precision as vprecision  # noqa: E402
from logdepth.verify.precision import (  # noqa: E402
    Case,
    all_right,
    least_bits,
    size_search,
    word_cases,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "basics.ld"
TARGET = 5.0

# (construction, language, n): the sweep's cases.
SWEEP = [
    ("uniform", "parity", 8),
    ("uniform", "parity", 32),
    ("wide", "parity", 16),
    ("wide", "parity", 64),
]


def per_word_right(model, cases: list[Case], bits: int) -> bool:
    """Every case right at p = bits, one forward per word (stops at the first wrong one)."""
    return all(all_right(model, [case], bits) for case in cases)


def per_word_least_bits(model, cases: list[Case]) -> int | None:
    """The sequential search (gallop from the floor, then bisect), per-word forwards."""
    lo, hi = MIN_EMULATED_BITS, MAX_EMULATED_BITS
    step, probe = 1, lo
    while probe < hi and not per_word_right(model, cases, probe):
        lo, probe, step = probe + 1, min(hi, probe + step), 2 * step
    if probe >= hi and not per_word_right(model, cases, hi):
        return None
    hi = probe
    while hi > lo:
        mid = (lo + hi) // 2
        if per_word_right(model, cases, mid):
            hi = mid
        else:
            lo = mid + 1
    return hi


@contextlib.contextmanager
def one_row_a_forward():
    """`least_bits` with every batched forward holding a single row."""
    saved = vprecision.rows_per_forward
    vprecision.rows_per_forward = lambda model, tokens: 1
    try:
        yield
    finally:
        vprecision.rows_per_forward = saved


def torch_path_rows(model, cases: list[Case]) -> int | None:
    """Batched `least_bits` with the fused kernels off (`fused.torch_path`)."""
    with fused.torch_path():
        return least_bits(model, cases)


def single_rows(model, cases: list[Case]) -> int | None:
    with one_row_a_forward():
        return least_bits(model, cases)


def words(model, n: int, count: int) -> list[Case]:
    """`count` words of length n: count / 2 accepting and count / 2 random (word_cases)."""
    cases = word_cases(model, automaton_of(model), n, count // 2, seed=0)
    return cases[:count]


def timed(fn, repeats: int) -> tuple[float, object]:
    """Median seconds of `repeats` calls, and the (last) result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    spec = logdepth.parse_file(EXAMPLES)
    print(f"{args.words} words per case, median of {args.repeats} runs")
    print(
        f"{'construction':>12} {'language':>8} {'n':>5} {'p':>3} {'guess':>5} "
        f"{'per word s':>11} {'1 row s':>8} {'batched s':>10} {'ratio':>6} {'batching':>8} "
        f"{'as swept s':>11} {'ratio':>6} {'torch path s':>12}"
    )
    total_word = total_single = total_batch = total_swept = total_torch = 0.0
    for construction, language, n in SWEEP:
        model = logdepth.compile(spec[language], construction=construction).to("float64")
        cases = words(model, n, args.words)
        hint = size_search(model, n)
        slow, p_word = timed(lambda: per_word_least_bits(model, cases), args.repeats)  # noqa: B023
        single, p_single = timed(lambda: single_rows(model, cases), args.repeats)  # noqa: B023
        fast, p_batch = timed(lambda: least_bits(model, cases), args.repeats)  # noqa: B023
        swept, p_swept = timed(lambda: least_bits(model, cases, **hint), args.repeats)  # noqa: B023
        torch_s, p_torch = timed(lambda: torch_path_rows(model, cases), args.repeats)  # noqa: B023
        if not p_word == p_single == p_batch == p_swept == p_torch:
            where = f"{construction} {language} n={n}"
            raise SystemExit(f"{where}: per word p {p_word}, batched p {p_batch}, as swept "
                             f"{p_swept}, torch path {p_torch}")
        total_word += slow
        total_single += single
        total_batch += fast
        total_swept += swept
        total_torch += torch_s
        print(
            f"{construction:>12} {language:>8} {n:>5} {p_batch!s:>3} "
            f"{hint.get('guess', '-')!s:>5} {slow:>11.2f} {single:>8.2f} {fast:>10.2f} "
            f"{slow / fast:>5.1f}x {single / fast:>7.1f}x {swept:>11.2f} {slow / swept:>5.1f}x "
            f"{torch_s:>12.2f}",
            flush=True,
        )
    print(f"batching alone (one row a forward / batched): {total_single / total_batch:.1f}x")
    print(f"the kernels (batched on the torch path / batched): {total_torch / total_batch:.1f}x")
    for label, total in (("batched", total_batch), ("batched as swept", total_swept)):
        ratio = total_word / total
        print(
            f"sweep: per word {total_word:.1f} s, {label} {total:.1f} s: {ratio:.1f}x "
            f"(target at least {TARGET:.0f}x: {'met' if ratio >= TARGET else 'NOT met'})"
        )


if __name__ == "__main__":
    main()
