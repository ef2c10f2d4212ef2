"""Words per second through `logdepth run` (issue 11): the batched pipeline against a loop of
single `accepts` calls, measured in the same run.

Compiles parity (Theorem 1, (0, 8, 9)-universal; d = 6 at length 64, so 57 layers), draws
--words random words of length --length (seeded), and prints:

- batched: `CompiledModel.accepts_each` in batches of `cli.RUN_BATCH` words, as `run` does
  (median of --repeats runs);
- per-call: `accepts(word)` one word at a time on the first --loop words (the baseline; median
  of --repeats runs), and the ratio of the two;
- cli: one `logdepth run MODEL --json < words.txt` process, start-up and loading included.

    python benchmarks/throughput.py [--words 10000] [--length 64] [--repeats 3] [--loop 300]
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _median_rate(fn, count: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return count / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=10_000)
    parser.add_argument("--length", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--loop", type=int, default=300, help="words of the per-call baseline")
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    args = parser.parse_args()

    import torch

    import logdepth
    from logdepth.cli import RUN_BATCH

    model = logdepth.compile(logdepth.parse_file(ROOT / "examples" / "basics.ld")["parity"])
    model = model.to(args.dtype)
    rng = random.Random(0)
    words = ["".join(rng.choice("01") for _ in range(args.length)) for _ in range(args.words)]

    def batched() -> None:
        for start in range(0, len(words), RUN_BATCH):
            model.accepts_each(words[start : start + RUN_BATCH])

    def per_call() -> None:
        for word in words[: args.loop]:
            model.accepts(word)

    want = [w.count("1") % 2 == 0 for w in words]
    assert model.accepts_each(words) == want, "wrong answers"
    fast = _median_rate(batched, len(words), args.repeats)
    slow = _median_rate(per_call, min(args.loop, len(words)), args.repeats)
    print(
        f"parity, {args.words:,} words of length {args.length}, {args.dtype}, torch "
        f"{torch.__version__}, {torch.get_num_threads()} thread(s)"
    )
    print(
        f"  batched (run's path, {RUN_BATCH} per pass): {fast:10,.0f} words/s (median of "
        f"{args.repeats})"
    )
    print(
        f"  per-call accepts loop (baseline):    {slow:10,.0f} words/s (median of "
        f"{args.repeats}, {min(args.loop, len(words))} words)"
    )
    print(f"  ratio batched / per-call: {fast / slow:.1f}x")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "parity.safetensors"
        model.save(path)
        text = "".join(w + "\n" for w in words)
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "logdepth", "run", str(path), "--json"],
            input=text,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        wall = time.perf_counter() - start
    lines = done.stdout.count("\n")
    print(
        f"  cli: logdepth run --json < words.txt: {lines:,} lines in {wall:.1f} s "
        f"({lines / wall:,.0f} words/s, start-up and loading included)"
    )


if __name__ == "__main__":
    main()
