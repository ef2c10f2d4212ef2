"""Speed-up of a precision sweep on a local Dask cluster of N worker processes over the same
sweep in one process (`logdepth precision MODEL --workers N` against `logdepth precision MODEL`),
measured in one run: the median of --repeats runs of each, alternated so that a machine's
changing load hits both alike.

    python benchmarks/distributed_speedup.py [--construction uniform] [--max-n 256] [--inputs 4]
                                              [--workers 2] [--repeats 3]

Needs the extra: pip install 'logdepth[distributed]'. The cluster is started once, before the
timed runs (the CLI pays its start, a few seconds, on top: printed too). The sweep's units of
work are `verify.precision.sweep_cases`: a size above 1/k of the sweep's work runs as the fewest
groups of its input set that bring each under 1/k (attention is quadratic in n, so n = 2^j alone
is about 3/4 of a 2..2^j sweep), the others whole. The speed-up is bounded by the largest unit's
share; the script prints that bound, from the one-thread serial runs' seconds per unit, beside
the measured figure, and the bound one task per size would have. The reports are compared too:
a distributed sweep that differs is an error, not a speed-up. (Not named distributed.py: run as
a script, that would shadow Dask's `distributed`.)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import logdepth  # noqa: E402
from logdepth import distributed  # noqa: E402
from logdepth.precision import log2_sizes  # noqa: E402
from logdepth.verify.precision import SizeCase, size_bits, sweep, sweep_cases  # noqa: E402


class Timed(distributed.InProcess):
    """The in-process backend, keeping each unit's seconds."""

    def __init__(self, model: logdepth.CompiledModel) -> None:
        super().__init__(model)
        self.seconds: dict[SizeCase, float] = {}

    def map(self, fn, items, *args, **kwargs):  # type: ignore[override]
        for item, result, seconds in super().map(fn, items, *args, **kwargs):
            self.seconds[item] = seconds
            yield item, result, seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default=str(ROOT / "examples" / "basics.ld"))
    ap.add_argument("--name", default="parity")
    ap.add_argument("--construction", default="uniform", help="uniform, wide, ...")
    ap.add_argument("--max-n", type=int, default=256)
    ap.add_argument("--inputs", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    model = logdepth.compile(logdepth.parse_file(args.spec)[args.name], args.construction)
    sizes = log2_sizes(args.max_n)
    print(
        f"{args.name} ({args.construction}), precision sweep n = {sizes[0]}..{sizes[-1]}, "
        f"{args.inputs} + {args.inputs} inputs per n; this process: {torch.get_num_threads()} "
        f"torch threads; {args.workers} workers: 1 thread each"
    )

    began = time.perf_counter()
    with distributed.cluster(workers=args.workers) as connected:
        assert connected is not None
        start_s = time.perf_counter() - began
        serial_s: list[float] = []
        spread_s: list[float] = []
        units = sweep_cases(model, sizes, k=args.inputs)
        per_unit: dict[SizeCase, list[float]] = {u: [] for u in units}
        reference = None
        threads = torch.get_num_threads()
        single_s: list[float] = []
        whole_s: list[float] = []
        for _ in range(args.repeats):
            began = time.perf_counter()
            serial = sweep(model, sizes, k=args.inputs)
            serial_s.append(time.perf_counter() - began)
            # The sizes as one least_bits each (no groups), for the split's own cost.
            began = time.perf_counter()
            whole = [size_bits(model, SizeCase(n, args.inputs, 0)) for n in sizes]
            whole_s.append(time.perf_counter() - began)
            assert [p for p in whole if p is not None] == serial.bits
            torch.set_num_threads(1)  # the same sweep with one thread, as each worker has
            began = time.perf_counter()
            timed = Timed(model)
            single = sweep(model, sizes, k=args.inputs, backend=timed)
            single_s.append(time.perf_counter() - began)
            for unit, seconds in timed.seconds.items():
                per_unit[unit].append(seconds)
            torch.set_num_threads(threads)
            assert single.bits == serial.bits
            backend = connected.backend(model)
            began = time.perf_counter()
            spread = sweep(model, sizes, k=args.inputs, backend=backend)
            spread_s.append(time.perf_counter() - began)
            backend.close()
            if (spread.sizes, spread.bits) != (serial.sizes, serial.bits):
                print(f"error: the sweeps differ: {serial.bits} in one process, "
                      f"{spread.bits} on the workers", file=sys.stderr)
                return 1
            reference = serial
    assert reference is not None
    one, many = statistics.median(serial_s), statistics.median(spread_s)
    work = {u: statistics.median(s) for u, s in per_unit.items()}
    by_size: dict[int, float] = {}
    for unit, seconds in work.items():
        by_size[unit.n] = by_size.get(unit.n, 0.0) + seconds
    total, largest, whole = sum(work.values()), max(work.values()), max(by_size.values())
    bound = total / max(largest, total / args.workers)
    unsplit = total / max(whole, total / args.workers)
    split = sorted({(u.n, u.groups) for u in units if u.groups > 1})
    print(f"least p per n: {dict(zip(reference.sizes, reference.bits, strict=True))}")
    cut = ", ".join(f"n = {n} in {g} groups" for n, g in split) or "no size cut"
    print(f"  {len(units)} units: {cut}, the rest whole; largest size {whole / total:.0%} of "
          f"the serial work (1 "
          f"thread), largest unit {largest / total:.0%}")
    alone = statistics.median(single_s)
    print(f"one process:        median {one:7.2f} s  ({', '.join(f'{s:.2f}' for s in serial_s)})"
          f"  [{threads} torch threads, the CLI's default]")
    print(f"one process:        median {alone:7.2f} s  "
          f"({', '.join(f'{s:.2f}' for s in single_s)})  [1 torch thread]")
    print(f"one process, whole: median {statistics.median(whole_s):7.2f} s  "
          f"({', '.join(f'{s:.2f}' for s in whole_s)})  [{threads} threads, one least_bits per "
          "size: the sweep before the groups]")
    print(f"{args.workers} workers:          median {many:7.2f} s  "
          f"({', '.join(f'{s:.2f}' for s in spread_s)}); cluster start {start_s:.1f} s")
    print(f"speed-up: {one / many:.2f}x over the default ({one / (many + start_s):.2f}x with the "
          f"cluster's start), {alone / many:.2f}x over one thread, "
          f"{statistics.median(whole_s) / many:.2f}x over the sweep before the groups; "
          f"bound from the units on "
          f"{args.workers} workers: {bound:.2f}x (one task per size: {unsplit:.2f}x)")
    print("(a machine shared with other work inflates a multi-threaded process's time most: "
          "compare the two serial lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
