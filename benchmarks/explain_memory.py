"""Benchmark `logdepth explain`'s memory (not a timed test): the peak resident set of the whole
command, run as a child process, for parity (Theorem 1, uniform) on random words of n = 1,000,
2,000 and 4,000 symbols, next to what `CompiledModel.trace_cost` estimates before running.

The figure is the child's own peak RSS (`os.wait4`'s rusage of that child, so earlier children
do not count), interpreter and torch included; the target is under 2 GB at n = 4,000. Median
of --repeats runs (the peak hardly varies; the seconds do, with the machine's load).

    .venv/bin/python benchmarks/explain_memory.py [--lengths 1000 2000 4000] [--repeats 1]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import logdepth  # noqa: E402
from logdepth.explain.png import PooledMaps  # noqa: E402

TARGET_BYTES, TARGET_N = 2e9, 4000


def child_peak(argv: list[str]) -> tuple[int, float, int, str]:
    """(peak RSS in bytes, seconds, exit status, stderr) of one child command."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    assert proc.stderr is not None
    err = proc.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss * 1024, time.perf_counter() - start, proc.returncode, err  # KiB


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lengths", type=int, nargs="+", default=[1000, 2000, TARGET_N])
    p.add_argument("--repeats", type=int, default=1)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "parity.safetensors"
        model = logdepth.compile(logdepth.parse_file(ROOT / "examples" / "basics.ld")["parity"])
        model.save(weights)
        baseline, _, _, _ = child_peak([sys.executable, "-c", "import logdepth.cli, torch"])
        print(f"interpreter + torch + logdepth alone: {baseline / 1e6:7.1f} MB")
        rng = random.Random(0)
        for n in args.lengths:
            word = "".join(rng.choice("01") for _ in range(n))
            depth = model.config.depth_rule.depth(n)
            estimate = model.trace_cost(n + 2, depth, attention=False, sink=PooledMaps()).bytes
            full = model.trace_cost(n + 2, depth, attention=True).bytes
            page = Path(tmp) / f"run{n}.html"
            command = [sys.executable, "-m", "logdepth", "explain", str(weights), word]
            peaks, seconds = [], []
            for _ in range(args.repeats):
                peak, took, code, err = child_peak([*command, "-o", str(page)])
                if code != 0:
                    print(f"n = {n:>5}: explain failed ({code}): {err.strip()[-300:]}")
                    break
                peaks.append(peak)
                seconds.append(took)
            if not peaks:
                continue
            peak = statistics.median(peaks)
            line = (
                f"n = {n:>5}: peak RSS {peak / 1e6:7.1f} MB  ({statistics.median(seconds):6.1f} s, "
                f"page {page.stat().st_size / 1e6:5.1f} MB; estimated before running "
                f"{estimate / 1e6:6.1f} MB over the interpreter; every map kept would be "
                f"{full / 1e9:5.1f} GB)"
            )
            if n == TARGET_N:
                line += "  target met" if peak < TARGET_BYTES else "  TARGET MISSED"
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
