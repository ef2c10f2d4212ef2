"""Forward-pass speed and memory of the universal transformer (issue 2's benchmark).

A synthetic model (width 512, 4 heads of size 128, feed-forward 2048, 30 layers, all causal,
random weights) runs at n in 256, 1024, 4096 with batch 8. For each size it prints the median
forward time, the achieved GFLOP/s (counted from the shapes), and the rate of a plain torch
matmul of similar size measured in the same run, and the ratio of the two. Each size runs in a
fresh subprocess so its peak resident memory (ru_maxrss) is its own. Finally a 40,000-token
sequence (batch 1) runs to show that chunked attention stays within 4 GiB.

    python benchmarks/forward.py [--dtype float64|float32] [--repeats 3] [--sizes 256 1024 4096]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import torch

WIDTH, HEADS, D_HEAD, D_FF, LAYERS, BATCH = 512, 4, 128, 2048, 30, 8
LONG_TOKENS = 40_000


def synthetic_model(dtype: torch.dtype):
    from logdepth.model.config import BOS, DepthRule, LayerShape, ModelConfig
    from logdepth.model.transformer import UniversalTransformer, tensor_schema

    layer = LayerShape(HEADS, D_HEAD, D_HEAD, D_FF, (True,) * HEADS, "synthetic")
    config = ModelConfig(
        d_model=WIDTH,
        vocab=(BOS, "x", "y"),
        outputs=("no", "yes"),
        initial=(layer,) * LAYERS,
        repeated=(),
        final=(),
        depth_rule=DepthRule(count_tokens=("x", "y")),
        tie_tolerance=1e-9,
    )
    gen = torch.Generator().manual_seed(0)
    tensors = {}
    for name, shape in tensor_schema(config).items():
        if name.endswith(".mask"):
            tensors[name] = torch.ones(shape, dtype=dtype)
        else:
            fan_in = shape[-1] if len(shape) > 1 else 1
            tensors[name] = torch.randn(shape, generator=gen, dtype=dtype) / fan_in**0.5
    return UniversalTransformer(config, tensors)


def forward_flops(n: int, batch: int) -> float:
    """Useful multiply-adds x 2 of one forward: projections, FF, and the score and value
    products over the keys each causal query sees ((n + 1) / 2 on average), not the full n."""
    per_token = 2 * WIDTH * HEADS * D_HEAD * 4 + 2 * WIDTH * D_FF * 2
    attention = 2 * HEADS * D_HEAD * (n + 1) / 2 * 2  # q.k and weights @ v over visible keys
    return LAYERS * batch * n * (per_token + attention)


def matmul_rate(dtype: torch.dtype, repeats: int) -> float:
    """GFLOP/s of a plain [8192 x 512] @ [512 x 2048] matmul (the FF's shape) in this run."""
    a = torch.randn(8192, WIDTH, dtype=dtype)
    b = torch.randn(WIDTH, D_FF, dtype=dtype)
    a @ b
    times = []
    for _ in range(max(repeats, 5)):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * 8192 * WIDTH * D_FF / statistics.median(times) / 1e9


def run_case(n: int, batch: int, dtype_name: str, repeats: int) -> dict:
    dtype = getattr(torch, dtype_name)
    model = synthetic_model(dtype)
    tokens = torch.randint(1, 3, (batch, n))
    tokens[:, 0] = 0
    lengths = torch.full((batch,), n)
    times = []
    with torch.no_grad():
        for _ in range(repeats):
            start = time.perf_counter()
            model(tokens, lengths, 0)
            times.append(time.perf_counter() - start)
    median = statistics.median(times)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "n": n,
        "batch": batch,
        "median_s": median,
        "gflops": forward_flops(n, batch) / median / 1e9,
        "matmul_gflops": matmul_rate(dtype, repeats),
        "peak_gib": peak_kib / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 1024, 4096])
    parser.add_argument("--long", type=int, default=LONG_TOKENS, help="0 skips the long run")
    parser.add_argument("--case", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        n, batch, repeats = map(int, args.case)
        print(json.dumps(run_case(n, batch, args.dtype, repeats)))
        return
    print(f"synthetic model: width {WIDTH}, {HEADS} heads x {D_HEAD}, FF {D_FF}, {LAYERS} layers, "
          f"{args.dtype}, {torch.get_num_threads()} threads")
    print(f"{'n':>6} {'batch':>5} {'median s':>9} {'GFLOP/s':>8} {'matmul GFLOP/s':>15} "
          f"{'ratio':>6} {'peak GiB':>9}")
    cases = [(n, BATCH, args.repeats) for n in args.sizes]
    if args.long:
        cases.append((args.long, 1, 1))
    for n, batch, repeats in cases:
        out = subprocess.run(
            [sys.executable, __file__, "--dtype", args.dtype, "--case", str(n), str(batch),
             str(repeats)],
            check=True, capture_output=True, text=True,
        ).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"{r['n']:>6} {r['batch']:>5} {r['median_s']:>9.2f} {r['gflops']:>8.1f} "
              f"{r['matmul_gflops']:>15.1f} {r['gflops'] / r['matmul_gflops']:>6.0%} "
              f"{r['peak_gib']:>9.2f}", flush=True)


if __name__ == "__main__":
    main()
