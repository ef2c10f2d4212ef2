"""How close the forward pass runs to its FLOP floor, for every built-in word construction.

For each word construction of the catalog (parity; star-free needs an aperiodic language, so
`ends_ab`) at n = 256 and 1,024 it prints the layers run, the median per-word forward time of the
compact plan (logdepth/model/compact.py) with one word per forward pass and with a batch of
`--batch` words of length n per pass (per word = pass time / batch), the full pass's
(`network.compact = False`, one word per pass), and two floors per word computed from the
weights' own shapes at the float64 matmul rate measured next to them (before and after each
row's times):
- dense floor: 2 T x every entry of every matrix a layer run holds (W_Q, W_K, W_V, W_O, W_in,
  W_out), plus every attention score: 2 T^2 (d_head + d_value) per stored head, T the tokens;
- nonzero floor: the same with only the matrices' nonzero entries (attention counted the same).
Ratios are time / floor, for one word per pass and for the batch. Then the wide Theorem 1 in
float32 answers one word at its frontier (30,838 symbols for parity) by the full pass, by the
compact plan's torch path and by the compact plan with the fused attention kernel, in the same
run, on one thread and on torch's default thread count (`--frontier-threads`).

Single thread (torch.set_num_threads(1)); on a shared machine timings are noisy, so every table
figure is a median and the comparisons are ratios taken in one run. The frontier comparison is
one run each way (the full pass takes minutes).

    python benchmarks/floor.py [--repeats 5] [--sizes 256 1024] [--batch 16] [--only NAME ...]
                               [--frontier/--no-frontier] [--frontier-threads 1 2]
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import time

import torch

import logdepth
from logdepth import catalog as table
from logdepth.model import fused, inputs

SPEC = "examples/basics.ld"
LANGUAGE = {"starfree": "ends_ab"}  # star-free needs an aperiodic language; parity elsewhere
MATRICES = ("attn.W_Q", "attn.W_K", "attn.W_V", "attn.W_O", "mlp.W_in", "mlp.W_out")
MATMUL_SIDE = 1024  # the rate probe: [1024 x 1024] @ [1024 x 1024] in float64


def matmul_rate(repeats: int) -> float:
    """FLOP/s of a plain float64 matmul on this thread, median of `repeats` runs."""
    a = torch.randn(MATMUL_SIDE, MATMUL_SIDE, dtype=torch.float64)
    b = torch.randn(MATMUL_SIDE, MATMUL_SIDE, dtype=torch.float64)
    a @ b
    return 2 * MATMUL_SIDE**3 / median(lambda: a @ b, repeats)


def median(run, repeats: int) -> float:
    """Median seconds of `repeats` calls of run (after one warm-up call)."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def floors(model, sequence: list[str]) -> tuple[float, float]:
    """(dense, nonzero) FLOPs of one forward pass over `sequence` (module docstring)."""
    net = model.network
    tokens = len(sequence)
    depth = model.config.depth_rule.depth(model.input_size(sequence))
    dense = nonzero = 0.0
    for prefix in net.schedule(depth):
        layer = net.layer(prefix)
        shape = layer.shape
        attention = 2.0 * tokens**2 * shape.n_heads * (shape.d_head + shape.d_value)
        entries = [net.tensors[f"{prefix}.{m}"] for m in MATRICES]
        dense += 2.0 * tokens * sum(t.numel() for t in entries) + attention
        nonzero += 2.0 * tokens * sum(int(t.count_nonzero()) for t in entries) + attention
    unembed = net.tensors["unembed"]
    return dense + 2.0 * unembed.numel(), nonzero + 2.0 * int(unembed.count_nonzero())


def word_tokens(model, n: int, seed: int = 0) -> list[str]:
    """BoS, a random word of n symbols, the end token."""
    rng = random.Random(seed)
    symbols = model.alphabet
    return inputs.encode_word([rng.choice(symbols) for _ in range(n)])


def build(name: str, n: int):
    entry = table.get(name)
    spec = logdepth.parse_file(SPEC)
    options = {"max_length": n} if entry.needs_max_length else {}
    return logdepth.compile(spec[LANGUAGE.get(name, "parity")], construction=name, **options)


def per_word(model, batch: list[list[str]], repeats: int, compact: bool) -> float:
    """Median seconds per word of `run_tokens(batch)` with the compact plan on or off."""
    model.network.compact = compact
    try:
        return median(lambda: model.run_tokens(batch), repeats) / len(batch)
    finally:
        model.network.compact = True


def table_rows(sizes: list[int], repeats: int, batch: int, only: list[str] | None) -> None:
    """One row per construction and n. The matmul rate is measured again for each row, next to
    the times it divides, so that a machine that speeds up or slows down during the run (a
    shared host: rates from 52 to 81 GFLOP/s were seen in one afternoon) moves both alike."""
    names = [c.name for c in table.CONSTRUCTIONS if c.input_format == "word" and not c.chooser]
    if only:
        unknown = sorted(set(only) - set(names))
        if unknown:
            raise SystemExit(f"--only: not a word construction: {', '.join(unknown)}")
        names = [name for name in names if name in only]
    print(
        f"| construction | n | layers | per word, 1 a pass | per word, {batch} a pass | "
        f"full pass, 1 a pass | speed-up (1 a pass) | matmul GFLOP/s | "
        f"dense floor (1; {batch}) | nonzero floor (1; {batch}) |\n|{'---|' * 10}"
    )
    for name in names:
        built = None
        for n in sizes:
            if built is None or table.get(name).needs_max_length:
                built = build(name, n)
            words = [word_tokens(built, n, seed) for seed in range(batch)]
            layers = len(built.network.schedule(built.config.depth_rule.depth(n)))
            rate = matmul_rate(repeats)
            new = per_word(built, words[:1], repeats, True)
            many = per_word(built, words, repeats, True)
            old = per_word(built, words[:1], repeats, False)
            rate = (rate + matmul_rate(repeats)) / 2  # before and after the row's times
            dense, nonzero = floors(built, words[0])
            fd, fn = dense / rate, nonzero / rate
            print(
                f"| {name} | {n:,} | {layers} | {ms(new)} | {ms(many)} | {ms(old)} | "
                f"{old / new:.1f}x | {rate / 1e9:.1f} | "
                f"{ms(fd)} ({new / fd:.1f}x; {many / fd:.1f}x) | "
                f"{ms(fn)} ({new / fn:.1f}x; {many / fn:.1f}x) |",
                flush=True,
            )


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


def frontier_run(threads: int) -> None:
    """The wide Theorem 1 in float32 on one word at its stored frontier: the full pass, the
    compact plan's torch path (LOGDEPTH_FUSED=0's attention) and the compact plan with the
    fused kernel (model/fused.py), one run each, in this process, on `threads` threads."""
    torch.set_num_threads(threads)
    spec = logdepth.parse_file(SPEC)
    model = logdepth.compile(spec["parity"], construction="wide").to("float32")
    n = model.frontier
    tokens = word_tokens(model, n)
    runs = {"full pass": (False, True), "compact, torch path": (True, False)}
    if fused.library() is not None:
        runs["compact, fused kernel"] = (True, True)
    times, answers = {}, set()
    for label, (compact, kernel) in runs.items():
        model.network.compact = compact
        with contextlib.nullcontext() if kernel else fused.torch_path():
            start = time.perf_counter()
            answers.add(model.run_tokens([tokens])[0])
            times[label] = time.perf_counter() - start
    model.network.compact = True
    full = times["full pass"]
    print(
        f"\nwide parity, float32, one word at its frontier n = {n:,}, {threads} thread(s) "
        f"(answers: {', '.join(sorted(answers))}; {fused.status()}):"
    )
    for label, seconds in times.items():
        print(f"  {label}: {ms(seconds)} ({full / seconds:.1f}x the full pass)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="*", default=[256, 1024], help="none: no table")
    parser.add_argument(
        "--batch", type=int, default=16, help="words per forward pass in the batched column"
    )
    parser.add_argument(
        "--only", nargs="*", metavar="NAME", help="these constructions only (default: every one)"
    )
    parser.add_argument("--frontier", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--frontier-threads",
        type=int,
        nargs="*",
        default=[1, torch.get_num_threads()],
        help="thread counts of the frontier comparison (default: 1 and torch's default)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(
        f"1 thread, per-word times with 1 and with {args.batch} words per forward pass, "
        f"median of {args.repeats}; the float64 matmul rate measured before and after each "
        f"row's times (their mean divides the floors)\n"
    )
    if args.sizes:
        table_rows(args.sizes, args.repeats, args.batch, args.only)
    if args.frontier:
        for threads in dict.fromkeys(args.frontier_threads):
            frontier_run(threads)


if __name__ == "__main__":
    main()
