"""Benchmark the cost estimates of logdepth/limits.py against what the commands really take
(not a timed test).

1. compile: `logdepth compile` of groups on their generators, as child processes: the peak RSS
   over the interpreter's own (`os.wait4`'s rusage of that child) against the estimate
   (`monoid_codes.table_cost`), and the seconds symmetric 6 takes to be refused.
2. Theorem 2 queries: the seconds of a forward pass over directed paths of n = 8, 12, 16
   vertices against the time estimate a query is checked with (`CompiledModel.run_cost`: the
   compact plan's scored query-key pairs at `limits.pair_seconds` each), on the plain run
   (the compact plan with the fused kernel where it is built) and on the full pass (every
   stored score at `limits.SCORE_SECONDS`), median of --repeats runs; a loaded machine is
   slower, which is why the estimate is a floor: every ratio printed must be at least 1.

    .venv/bin/python benchmarks/cost.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import logdepth  # noqa: E402
from logdepth.constructions import regular  # noqa: E402
from logdepth.kit import monoid_codes  # noqa: E402
from logdepth.model import fused, inputs  # noqa: E402

GROUPS = ("alternating 4", "symmetric 4", "alternating 5", "symmetric 5", "symmetric 6")


def child(argv: list[str]) -> tuple[int, float, int, str]:
    """(peak RSS bytes, seconds, exit status, stderr) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    assert proc.stderr is not None
    err = proc.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss * 1024, time.perf_counter() - start, proc.returncode, err


def compile_figures(tmp: Path) -> None:
    base, _, _, _ = child([sys.executable, "-c", "import logdepth.cli, torch"])
    print(f"compile (interpreter + torch alone: {base / 1e6:.0f} MB)")
    for group in GROUPS:
        source = f"group g {{\n    {group}\n    alphabet: generators\n}}\n"
        spec = tmp / "g.ld"
        spec.write_text(source)
        automaton = logdepth.parse(source)["g"]
        enc = monoid_codes.choose_encoding(automaton)
        shape = regular.program_shape(enc.kind, tuple(automaton.alphabet), False, None)
        estimate = monoid_codes.table_cost(enc, shape, group).bytes
        peak, seconds, code, err = child(
            [sys.executable, "-m", "logdepth", "compile", str(spec), "-o", str(tmp / "g.st")]
        )
        verdict = "compiled" if code == 0 else "refused" if "LOGDEPTH_MAX_MEMORY" in err else err
        print(
            f"  {group:<14} |M| {enc.dim:>4}: estimated {estimate / 1e6:10.1f} MB, peak "
            f"{(peak - base) / 1e6:8.1f} MB over the interpreter, {seconds:5.1f} s, {verdict}"
        )


def score_figures(repeats: int) -> None:
    model = logdepth.compile(construction="connectivity")
    print(f"Theorem 2 queries ({fused.status()}; took / estimated floor, at least 1)")
    for n in (8, 12, 16):
        adjacency = np.zeros((n, n), dtype=bool)
        adjacency[np.arange(n - 1), np.arange(1, n)] = True
        tokens = inputs.encode_graph(adjacency, 0, n - 1)
        depth = model.config.depth_rule.depth(n)
        figures = []
        for compact in (True, False):
            model.network.compact = compact
            estimate = model.run_cost(len(tokens), depth)
            runs = []
            for _ in range(repeats):
                start = time.perf_counter()
                model.run_tokens([tokens])
                runs.append(time.perf_counter() - start)
            took = statistics.median(runs)
            name = "plain run" if compact else "full pass"
            figures.append(
                f"{name} {took:6.2f} s (at least {estimate.seconds:7.3f} s: "
                f"{took / estimate.seconds:5.1f}x)"  # type: ignore[operator]
            )
        model.network.compact = True
        print(f"  n = {n:>2}: {len(tokens):>6,} tokens: " + "; ".join(figures))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        compile_figures(Path(tmp))
    score_figures(args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
