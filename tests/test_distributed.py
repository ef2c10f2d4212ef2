"""The distributed backend (logdepth/distributed.py): the same reports on Dask workers as in
one process, a worker that dies mid-sweep, Ctrl-C, the missing extra.

The fast tests drive `Dask.map` with a stand-in client whose tasks run on threads of this
process and finish out of order (no cluster: the driver's ordering, grouping, budget cut and
the workers' model cache are what they test). The slow ones start real clusters."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import pytest

import logdepth
from logdepth import distributed
from logdepth.cli import main
from logdepth.verify.precision import sweep

ROOT = Path(__file__).resolve().parents[1]
BASICS = ROOT / "examples" / "basics.ld"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def parity_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist") / "parity.safetensors"
    assert main(["compile", str(BASICS), "--name", "parity", "-o", str(out)]) == 0
    return out


class _Future:
    def __init__(self, inner, delay: float) -> None:
        self.inner, self.delay, self.cancelled = inner, delay, False

    def result(self):
        return self.inner.result()

    def cancel(self) -> None:
        self.cancelled = True
        self.inner.cancel()


class ThreadClient:
    """A stand-in for `distributed.Client`: `submit` runs the task on a thread after a random
    delay, so that later tasks often finish first; a future passed to a task is resolved to its
    value, as Dask does."""

    def __init__(self, workers: int = 3, seed: int = 0) -> None:
        self.pool = ThreadPoolExecutor(workers)
        self.rng = random.Random(seed)
        self.n = workers
        self.submitted: list[_Future] = []
        self.priorities: list[int] = []

    def cancel(self, futures) -> None:
        for future in futures:
            if isinstance(future, _Future):
                future.cancel()

    def scheduler_info(self, n_workers=-1):
        return {"workers": {f"w{i}": {} for i in range(self.n)}}

    def submit(self, fn, *args, pure=True, key=None, priority=0):
        if key is not None:  # the weights: a finished future holding them
            return _Future(self.pool.submit(fn, *args), 0.0)
        delay = self.rng.random() * 0.02
        self.priorities.append(priority)

        def later():
            time.sleep(delay)
            return fn(*(a.result() if isinstance(a, _Future) else a for a in args))

        future = _Future(self.pool.submit(later), delay)
        self.submitted.append(future)
        return future

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)


@pytest.fixture(autouse=True)
def _thread_arrivals(monkeypatch):
    """`Dask.map`'s wait for the next finished task, for the stand-in client's futures (real
    Dask futures pass through to Dask's `as_completed`)."""
    real = distributed._arrivals

    def arrivals(futures):
        if not all(isinstance(f, _Future) for f in futures):
            return real(futures)
        outer = {id(f.inner): f for f in futures}
        return (outer[id(done)] for done in as_completed([f.inner for f in futures]))

    monkeypatch.setattr(distributed, "_arrivals", arrivals)


def _square(model, item: int) -> int:
    return item * item


def _dask(model, workers: int = 3) -> distributed.Dask:
    source = distributed.ModelSource.of_model(model)
    return distributed.Dask(ThreadClient(workers), source, "on threads")


def test_map_keeps_the_order_and_groups_items(parity_file):
    model = logdepth.load(parity_file)
    backend = _dask(model)
    items = list(range(40))
    got = list(backend.map(_square, items, cost=lambda i: 1.0, group_cost=3.0))
    assert [(i, r) for i, r, _ in got] == [(i, i * i) for i in items]
    # Three items a task: 14 tasks, each run once.
    assert len(backend.client.submitted) == 14
    backend.close()


def test_a_map_nothing_can_cut_runs_the_costliest_first(parity_file):
    """Without `admit` every item is submitted at once, the costliest at the highest Dask
    priority (largest first: no large unit left to run alone at the end); the results still
    come back in the items' order, and `finished` hears of every item once, as it arrives."""
    model = logdepth.load(parity_file)
    backend = _dask(model, workers=3)
    items = [5, 1, 9, 3, 7, 2]
    heard: list[int] = []
    got = list(backend.map(_square, items, cost=float, finished=heard.append))
    assert [(i, r) for i, r, _ in got] == [(i, i * i) for i in items]
    assert sorted(heard) == sorted(items)
    by_priority = [i for _, i in sorted(zip(backend.client.priorities, items, strict=True))]
    assert by_priority == sorted(items)  # the higher the cost, the higher the priority
    backend.close()


def test_a_refused_item_ends_the_map_and_cancels_the_rest(parity_file):
    model = logdepth.load(parity_file)
    backend = _dask(model, workers=2)
    asked: list[int] = []

    def admit(item: int) -> bool:
        asked.append(item)
        return item < 5

    got = [i for i, _, _ in backend.map(_square, range(100), admit=admit)]
    assert got == [0, 1, 2, 3, 4]
    assert asked == [0, 1, 2, 3, 4, 5]  # in order, and nothing past the refusal
    # At most the window past the refused item was submitted; what was pending is cancelled.
    assert len(backend.client.submitted) <= 6 + distributed.TASKS_PER_WORKER * 2
    assert all(f.cancelled for f in backend.client.submitted[6:])
    backend.close()


def test_workers_load_the_bytes_once_and_never_a_pickled_model(parity_file):
    model = logdepth.load(parity_file)
    source = distributed.ModelSource.of_file(str(parity_file))
    distributed._MODELS.clear()
    first = distributed._worker_model(source.sha256, source.data, None, None)
    again = distributed._worker_model(source.sha256, source.data, None, None)
    # Only this thread's entries: a thread of an earlier test's pool may still be finishing a
    # task (a running one cannot be cancelled) and load its own copy meanwhile.
    mine = [k for k in distributed._MODELS if k[-1] == threading.get_ident()]
    assert first is again and len(mine) == 1
    assert first.accepts("0110") == model.accepts("0110")
    with pytest.raises(logdepth.errors.InputError, match="damaged"):
        distributed._worker_model("0" * 64, source.data, None, None)


def test_precision_sweep_on_the_backend_is_the_serial_sweep(parity_file):
    model = logdepth.load(parity_file)
    sizes = [2, 4, 8]
    serial = sweep(model, sizes, k=2)
    backend = _dask(model)
    seen: list[int] = []
    spread = sweep(model, sizes, k=2, backend=backend, progress=lambda n, p: seen.append(n))
    backend.close()
    assert seen == sizes
    assert (spread.sizes, spread.bits) == (serial.sizes, serial.bits)
    assert all(p is not None and p >= 4 for p in serial.bits)


def test_verify_words_on_the_backend_give_the_serial_report(parity_file):
    model = logdepth.load(parity_file)
    options = {"max_length": 6, "samples": 4, "budget_s": 0.0}
    serial = logdepth.api.verify(model, **options)
    backend = _dask(model)
    spread = logdepth.api.verify(model, backend=backend, **options)
    backend.close()
    assert backend.used and serial.ok
    assert json.dumps(spread.to_json(), sort_keys=True) == json.dumps(
        serial.to_json(), sort_keys=True
    )
    assert spread.details["words"] == serial.details["words"] > 0


def test_missing_extra_is_a_clear_error(parity_file, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` fails
    for command in ("precision", "verify"):
        for option in (["--workers", "2"], ["--scheduler", "tcp://127.0.0.1:1"]):
            code, out, err = run(capsys, command, str(parity_file), *option)
            assert code == 1, (command, option)
            assert "pip install 'logdepth[distributed]'" in err and "Traceback" not in err
            assert out == ""  # refused before any work


def test_workers_and_scheduler_options_are_checked(parity_file, capsys):
    code, _, err = run(capsys, "precision", str(parity_file), "--workers", "0")
    assert code == 1 and "--workers must be 1 or more" in err
    with pytest.raises(SystemExit):  # argparse: one or the other
        main(["verify", str(parity_file), "--workers", "2", "--scheduler", "tcp://x:1"])


def test_progress_bar_and_plain_lines(monkeypatch):
    import io

    from logdepth import progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    bar = progress.Bar("sizes", screen)
    bar(1, 4, 0.25)
    bar.clear()
    bar(4, 4)
    text = screen.getvalue()
    assert "1/4 sizes, ETA" in text and "4/4 sizes in" in text and text.endswith("\n")
    log = io.StringIO()
    bar = progress.Bar("words", log)
    bar(1, 10)  # quick: nothing yet
    assert log.getvalue() == ""
    monkeypatch.setattr(progress, "PLAIN_EVERY_S", 0.0)
    bar(5, 10)
    bar(10, 10)
    assert log.getvalue().splitlines()[0].startswith("5/10 words, ETA")
    assert "\r" not in log.getvalue() and log.getvalue().splitlines()[-1].startswith("10/10")


# ---- real clusters (slow) ---------------------------------------------------------------------


def _cli(*argv: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "logdepth", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
        **kwargs,
    )


@pytest.mark.slow
def test_cli_local_cluster_reports_equal_the_serial_ones(parity_file):
    pytest.importorskip("distributed")
    verify = ["verify", str(parity_file), "--json", "--max-length", "20", "--budget", "0"]
    serial, spread = _cli(*verify), _cli(*verify, "--workers", "2")
    assert serial.returncode == spread.returncode == 0, spread.stderr
    assert json.loads(spread.stdout) == json.loads(serial.stdout)
    assert "2 local worker processes" in spread.stderr
    precision = ["precision", str(parity_file), "--max-n", "32", "--inputs", "2"]
    serial, spread = _cli(*precision), _cli(*precision, "--workers", "2")
    assert serial.returncode == spread.returncode and "Traceback" not in spread.stderr
    assert spread.stdout == serial.stdout and "     32 " in serial.stdout


def _start(*argv: str) -> subprocess.Popen:
    bin_dir = Path(sys.executable).parent
    return subprocess.Popen(
        [str(bin_dir / "dask"), *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


@pytest.mark.slow
def test_a_worker_killed_mid_sweep_loses_nothing(parity_file, tmp_path):
    """`dask scheduler` and two `dask worker`s as processes; one worker is killed when the
    first unit comes back (the others are queued or running: a sweep submits them all at
    once); the sweep still reports every size, as the serial one."""
    distributed_module = pytest.importorskip("distributed")
    model = logdepth.load(parity_file)
    sizes = [2, 4, 8, 16, 32]
    serial = sweep(model, sizes, k=2)
    address_file = tmp_path / "scheduler.json"
    processes = [_start("scheduler", "--port", "0", "--no-dashboard",
                        "--scheduler-file", str(address_file))]
    try:
        for _ in range(300):
            if address_file.exists() and address_file.stat().st_size:
                break
            time.sleep(0.1)
        address = json.loads(address_file.read_text())["address"]
        for _ in range(2):  # no nanny: killing the process kills the worker
            processes.append(_start("worker", address, "--nthreads", "1", "--no-nanny",
                                    "--no-dashboard"))
        with distributed_module.Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        seen: list[int] = []
        units_left: list[int] = []

        def kill_one(done: int, total: int, fraction: float) -> None:
            if done == 1:
                units_left.append(total - done)
                os.killpg(processes[1].pid, signal.SIGKILL)

        with distributed.backend(model, scheduler=address) as backend:
            assert backend.workers == 2
            spread = sweep(model, sizes, k=2, backend=backend,
                           progress=lambda n, p: seen.append(n), advance=kill_one)
        assert processes[1].wait(timeout=30) == -signal.SIGKILL
        assert units_left and units_left[0] > 0  # killed mid-sweep
        assert seen == sizes  # every size once, in order
        assert (spread.sizes, spread.bits) == (serial.sizes, serial.bits)
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


@pytest.mark.slow
def test_ctrl_c_stops_the_cluster_and_exits_130(parity_file):
    pytest.importorskip("distributed")
    psutil = pytest.importorskip("psutil")
    process = subprocess.Popen(
        [sys.executable, "-m", "logdepth", "precision", str(parity_file), "--max-n", "1024",
         "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        parent = psutil.Process(process.pid)
        for _ in range(600):  # until the cluster's workers are up
            if len(parent.children(recursive=True)) >= 2:
                break
            time.sleep(0.1)
        time.sleep(3)
        children = parent.children(recursive=True)
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends: the whole group
        _, err = process.communicate(timeout=120)
        assert process.returncode == 130, err
        assert "Traceback" not in err and "KeyboardInterrupt" not in err
        _, alive = psutil.wait_procs(children, timeout=30)
        assert not alive
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


def test_workers_get_glibcs_own_malloc_thresholds_back(monkeypatch):
    """Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_ set, which pins glibc's mmap
    threshold at 128 KiB (every large tensor a fresh, zeroed mapping: a sweep's unit ran 2.2x
    slower). On its first model, a worker sets the thresholds glibc's dynamic rule reaches:
    mmap 32 MiB, trim twice that; once per process, and only where the variable is set."""
    import ctypes
    import ctypes.util

    calls: list[tuple[int, int]] = []

    class FakeLibc:
        def mallopt(self, param: int, value: int) -> int:
            calls.append((param, value))
            return 1

    monkeypatch.setattr(ctypes, "CDLL", lambda name: FakeLibc())
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: "libc.so.6")
    monkeypatch.setattr(distributed, "_MALLOC_RESTORED", [])
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    distributed._restore_malloc_thresholds()
    assert calls == []  # no variable: glibc's dynamic thresholds are still on
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    distributed._restore_malloc_thresholds()
    distributed._restore_malloc_thresholds()
    mmap_max = 4 * 1024 * 1024 * ctypes.sizeof(ctypes.c_long)  # glibc: DEFAULT_MMAP_THRESHOLD_MAX
    assert calls == [(-3, mmap_max), (-1, 2 * mmap_max)]  # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD
