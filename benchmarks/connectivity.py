"""Speed and memory of Theorem 2's connectivity transformer (issue 5's benchmark).

For each n (default 4, 8, 16, 32) a random directed graph (edge probability 1.5/n, source 1,
target n) runs through the compiled weights, batch 1, N = 1 + n^2 + n^3 + s + t tokens and
2 ceil(log2 n) + 18 layers, in a fresh subprocess so that its peak resident memory (ru_maxrss)
is its own. Prints the median forward time over the repeats, the peak memory, and whether the
answer agrees with BFS. Targets: n = 16 in at most 30 s; n = 32 within 8 GiB.

    python benchmarks/connectivity.py [--sizes 4 8 16 32] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time


def one_size(n: int, repeats: int) -> dict[str, object]:
    import numpy as np

    from logdepth.constructions.connectivity import compile_connectivity
    from logdepth.model import inputs
    from logdepth.verify.connectivity import reachability

    model = compile_connectivity()
    rng = np.random.default_rng(n)
    adj = rng.random((n, n)) < 1.5 / n
    tokens = inputs.encode_graph(adj, 0, n - 1)
    times, answer = [], ""
    for _ in range(repeats):
        start = time.perf_counter()
        answer = model.run_tokens([tokens])[0]
        times.append(time.perf_counter() - start)
    return {
        "n": n,
        "tokens": len(tokens),
        "layers": model.num_layers(n),
        "median_s": statistics.median(times),
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "answer": answer,
        "bfs_agrees": (answer == "connected") == bool(reachability(adj)[0, n - 1]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 8, 16, 32])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child process
    args = parser.parse_args(argv)
    if args.one is not None:
        print(json.dumps(one_size(args.one, args.repeats)))
        return 0
    print(f"{'n':>4} {'tokens':>7} {'layers':>6} {'median s':>9} {'peak MiB':>9}  answer")
    for n in args.sizes:
        repeats = args.repeats if n < 32 else 1
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(n), "--repeats", str(repeats)],
            check=True,
            capture_output=True,
            text=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        ok = "agrees with BFS" if r["bfs_agrees"] else "DISAGREES with BFS"
        print(
            f"{r['n']:>4} {r['tokens']:>7} {r['layers']:>6} {r['median_s']:>9.2f} "
            f"{r['peak_mib']:>9.0f}  {r['answer']} ({ok})",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
