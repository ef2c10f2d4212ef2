"""Where independent cases run: in this process (the default), or on Dask workers.

A sweep (verify's word batches, precision's sizes) hands its cases to a `Backend`:
`backend.map(fn, items)` yields `(item, fn(model, item), seconds)` for every item, in the items'
order, whatever order they finish in. `fn` must be a module-level function (it is sent to the
workers by reference) and gets the model as its first argument.

- `InProcess` (no flag): each item runs when the caller asks for it, one after another, on the
  model object in hand: exactly what the sweeps did before there was a backend.
- `Dask` (`--workers N`: a `LocalCluster` of N worker processes; `--scheduler ADDRESS`: a
  running cluster): consecutive items are grouped into tasks of about `group_cost` (the
  caller's cost unit) so that scheduling is amortised. A map that a budget can cut short
  (verify's `admit`) keeps at most `TASKS_PER_WORKER` tasks per worker in flight ahead of the
  one the caller waits for; one that nothing cuts (precision's sweep) submits every task at
  once, the costliest first. The weight file's bytes go to
  every worker once (as the result of a task, which the cluster can rerun); each worker (each
  of its threads, if it runs several) loads them once and keeps the `CompiledModel` keyed by
  the bytes' SHA-256, the dtype and the device. No model is ever pickled. A worker that dies loses
  nothing: the scheduler reruns its tasks on another worker, and each task's result is
  collected once, from its future. `cluster` opens one cluster for several models
  (`Cluster.backend` per model); `backend` is one model's shortcut.

Results are identical to the in-process run because every item is the same call on the same
weights: the backends only change where it runs. The caller decides what an item is (a batch
of words keeps its serial composition, so each forward pass is the serial one).

`dask[distributed]` is the optional extra `logdepth[distributed]`; without it asking for
workers is a `MissingExtraError` naming it.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import hashlib
import itertools
import os
import signal
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from logdepth.errors import InputError, LogdepthError, MissingExtraError
from logdepth.model.compiled import CompiledModel

T = TypeVar("T")
R = TypeVar("R")

INSTALL_HINT = "pip install 'logdepth[distributed]'"
# Tasks queued per worker beyond the one it runs: enough that a worker never waits for the
# driver's next submission, few enough that little is computed past a budget's cut.
TASKS_PER_WORKER = 2


@dataclass(frozen=True)
class ModelSource:
    """What a worker needs to load the model: the weight file's bytes (their SHA-256 names
    them) and the dtype and device the run uses (None: as stored, on the CPU)."""

    data: bytes
    dtype: str | None = None
    device: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @classmethod
    def of_file(cls, path: str, dtype: str | None = None, device: str | None = None):
        with open(path, "rb") as f:
            return cls(f.read(), dtype, device)

    @classmethod
    def of_model(cls, model: CompiledModel) -> ModelSource:
        """A model built in this process (benchmarks compile theirs): saved to bytes, in the
        dtype it runs in."""
        dtype = None if model.dtype_name == "float64" else model.dtype_name
        stored = model if dtype is None else model.to("float64")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.safetensors")
            stored.save(path)
            with open(path, "rb") as f:
                data = f.read()
        return cls(data, dtype)


class WorkerError(LogdepthError):
    """A task that could not be run: every worker that took it died."""


class InProcess:
    """Every item in this process, when the caller asks for it (the default backend)."""

    workers = 1
    used = False

    def __init__(self, model: CompiledModel) -> None:
        self.model = model

    @property
    def where(self) -> str:
        return "in this process"

    def map(
        self,
        fn: Callable[[CompiledModel, T], R],
        items: Iterable[T],
        cost: Callable[[T], float] | None = None,
        group_cost: float | None = None,
        admit: Callable[[T], bool] | None = None,
        finished: Callable[[T], None] | None = None,
    ) -> Iterator[tuple[T, R, float]]:
        """(item, fn(model, item), seconds) per item, lazily: an item is taken from `items` only
        after the previous result was consumed, and runs only if `admit(item)` (asked then)
        says so; the first refusal ends the map. `finished(item)` is called as each item's
        result arrives (here: just before it is handed out)."""
        self.used = True
        for item in items:
            if admit is not None and not admit(item):
                return
            began = time.perf_counter()
            result = fn(self.model, item)
            seconds = time.perf_counter() - began
            if finished is not None:
                finished(item)
            yield item, result, seconds

    def close(self) -> None:
        pass


# ---- the worker side ----------------------------------------------------------------------------
# One loaded model per (sha256, dtype, device, thread) in each worker process: a model is not
# shared between a worker's threads, since a run sets state on its network (p-bit emulation
# sets `precision_bits`). With one thread per worker (as `--workers` starts them) that is one
# load per worker.
_MODELS: dict[tuple[str, str | None, str | None, int], CompiledModel] = {}

# glibc's own ceiling for its dynamic mmap threshold (DEFAULT_MMAP_THRESHOLD_MAX = 4 MiB *
# sizeof(long): 32 MiB on a 64-bit machine), and the trim threshold glibc pairs with it (twice
# the mmap threshold, as its dynamic adjustment sets them).
GLIBC_MMAP_THRESHOLD_MAX = 4 * 1024 * 1024 * ctypes.sizeof(ctypes.c_long)
GLIBC_TRIM_THRESHOLD = 2 * GLIBC_MMAP_THRESHOLD_MAX
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)
_MALLOC_RESTORED: list[bool] = []


def _restore_malloc_thresholds() -> None:
    """Undo what Dask's nanny does to a worker's allocator, once per process.

    The nanny starts every worker with MALLOC_TRIM_THRESHOLD_=65536 (its
    `distributed.nanny.pre-spawn-environ`, to hand memory back to the system). Setting any
    threshold turns off glibc's dynamic mmap threshold, so it stays at 128 KiB: every tensor
    above that is a fresh mmap, zeroed page by page on first touch and unmapped on free. The
    emulated forward makes two temporaries per rounding, so a precision sweep's unit ran 2.2x
    slower in a worker than in a process without the variable (parity, uniform, n = 128, one
    thread: 2.2 s against 1.0 s; with these mallopt calls, 1.0 s). The fix is the thresholds
    glibc's dynamic rule would reach; on a C library other than glibc, or without the
    variable, nothing is changed."""
    if _MALLOC_RESTORED or "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return
    _MALLOC_RESTORED.append(True)
    name = ctypes.util.find_library("c")
    if name is None:
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(name)
        libc.mallopt(_M_MMAP_THRESHOLD, GLIBC_MMAP_THRESHOLD_MAX)
        libc.mallopt(_M_TRIM_THRESHOLD, GLIBC_TRIM_THRESHOLD)


def _worker_model(sha: str, data: bytes, dtype: str | None, device: str | None) -> CompiledModel:
    """This worker thread's model for these bytes, loaded (and checked by `load`) on first
    use."""
    key = (sha, dtype, device, threading.get_ident())
    model = _MODELS.get(key)
    if model is None:
        _restore_malloc_thresholds()
        from logdepth.model.compiled import load

        if hashlib.sha256(data).hexdigest() != sha:
            raise InputError("the weight file's bytes arrived damaged on a worker")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, f"{sha}.safetensors")
            with open(path, "wb") as f:
                f.write(data)
            model = load(path)
        if dtype is not None or device is not None:
            model = model.to(device=device, dtype=dtype)
        _MODELS[key] = model
    return model


def _weights(data: bytes) -> bytes:
    """The weight file's bytes, as a task's result (`Dask.__init__`)."""
    return data


def _run_group(
    fn: Callable[[CompiledModel, Any], Any],
    sha: str,
    data: bytes,
    dtype: str | None,
    device: str | None,
    items: list[Any],
) -> list[tuple[Any, float]]:
    """One task on a worker: fn on every item of the group, each timed alone."""
    model = _worker_model(sha, data, dtype, device)
    out = []
    for item in items:
        began = time.perf_counter()
        result = fn(model, item)
        out.append((result, time.perf_counter() - began))
    return out


# ---- the driver side ----------------------------------------------------------------------------
def _distributed() -> Any:
    """The `distributed` module, or a clear error naming the extra."""
    try:
        import distributed
    except ImportError:
        raise MissingExtraError(
            "--workers and --scheduler run on Dask, which the core install leaves out: "
            f"{INSTALL_HINT}"
        ) from None
    return distributed


class Dask:
    """Items grouped into tasks on a Dask cluster (module docstring)."""

    def __init__(self, client: Any, source: ModelSource, where: str) -> None:
        self.client = client
        self.source = source
        self.sha = source.sha256
        # The bytes as the result of a task rather than scattered data: a task can be rerun, so
        # losing every worker that held them loses nothing; the workers fetch them from a peer
        # once each.
        self.data = client.submit(
            _weights, source.data, key=f"logdepth-weights-{self.sha[:16]}-{uuid.uuid4().hex}"
        )
        self._where = where
        self.used = False  # whether any sweep handed it cases

    @property
    def workers(self) -> int:
        return max(1, len(self.client.scheduler_info(n_workers=-1).get("workers", {})))

    @property
    def where(self) -> str:
        return self._where

    def map(
        self,
        fn: Callable[[CompiledModel, T], R],
        items: Iterable[T],
        cost: Callable[[T], float] | None = None,
        group_cost: float | None = None,
        admit: Callable[[T], bool] | None = None,
        finished: Callable[[T], None] | None = None,
    ) -> Iterator[tuple[T, R, float]]:
        """(item, fn(model, item), seconds on the worker) per item, in the items' order. Items are
        grouped while their summed `cost` stays under `group_cost` (one item per task without
        them). `admit(item)` is asked, as in `InProcess.map`, once every earlier result has
        been consumed (here: just before the item's own result is handed out, so it sees the
        state a serial run would); its first refusal ends the map, that item's result and
        everything after it are dropped, and pending tasks are cancelled. `finished(item)` is
        called in this thread as each item's result arrives, in the order they arrive."""
        self.used = True
        if admit is None:
            yield from self._map_all(fn, items, cost, group_cost, finished)
            return
        groups = _grouped(items, cost, group_cost)
        pending: deque[tuple[list[T], Any]] = deque()  # (items, future) of each task
        window = TASKS_PER_WORKER * self.workers
        try:
            for group in itertools.islice(groups, window):
                pending.append((group, self._submit(fn, group)))
            while pending:
                group, future = pending.popleft()
                results = _collect(future)
                for more in itertools.islice(groups, 1):  # keep the workers busy
                    pending.append((more, self._submit(fn, more)))
                for item, result in zip(group, results, strict=True):
                    if not admit(item):
                        return
                    if finished is not None:
                        finished(item)
                    yield (item, *result)
        finally:
            for _, future in pending:
                future.cancel()

    def _submit(self, fn: Callable[[CompiledModel, Any], Any], group: list[Any], **kw: Any) -> Any:
        """One task: `fn` on every item of `group`, on a worker (`_run_group`)."""
        return self.client.submit(
            _run_group, fn, self.sha, self.data, self.source.dtype, self.source.device, group,
            pure=False, **kw,
        )

    def _map_all(
        self,
        fn: Callable[[CompiledModel, T], R],
        items: Iterable[T],
        cost: Callable[[T], float] | None,
        group_cost: float | None,
        finished: Callable[[T], None] | None,
    ) -> Iterator[tuple[T, R, float]]:
        """`map` when nothing can end it early (no `admit`: a precision sweep): every task is
        submitted at once, the costliest first (Dask's `priority`), and the results handed out
        in the items' order (`finished` hears of each item as its task comes back, so a
        progress bar moves while the small first items wait their turn). Largest first is the
        classic schedule for independent tasks on several workers: a large task left for last
        runs alone while the other workers idle (in submission order, the last group of
        n = 256 of a 2..256 parity sweep did)."""
        groups = list(_grouped(items, cost, group_cost))
        work = [sum(cost(item) for item in group) if cost else 0.0 for group in groups]
        rank = sorted(range(len(groups)), key=lambda g: -work[g])  # stable: ties keep order
        priority = {g: len(groups) - r for r, g in enumerate(rank)}
        futures = [self._submit(fn, group, priority=priority[g]) for g, group in enumerate(groups)]
        index = {id(future): g for g, future in enumerate(futures)}
        arrived: dict[int, list[tuple[Any, float]]] = {}
        handed = 0
        try:
            for future in _arrivals(futures):
                g = index[id(future)]
                arrived[g] = _collect(future)
                if finished is not None:
                    for item in groups[g]:
                        finished(item)
                while handed in arrived:
                    for item, result in zip(groups[handed], arrived.pop(handed), strict=True):
                        yield (item, *result)
                    handed += 1
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        """Release the weight file's bytes on the cluster (the client is the `Cluster`'s)."""
        with contextlib.suppress(Exception):
            self.client.cancel([self.data])


def _grouped(
    items: Iterable[T], cost: Callable[[T], float] | None, group_cost: float | None
) -> Iterator[list[T]]:
    """Consecutive items, lazily, in groups whose summed `cost` first reaches `group_cost`
    (single items without a cost or a group cost)."""
    group: list[T] = []
    total = 0.0
    for item in items:
        group.append(item)
        total += cost(item) if cost is not None else 0.0
        if cost is None or group_cost is None or total >= group_cost:
            yield group
            group, total = [], 0.0
    if group:
        yield group


def _arrivals(futures: list[Any]) -> Iterator[Any]:
    """The futures, each as it finishes (Dask's `as_completed`)."""
    return iter(_distributed().as_completed(futures))


def _collect(future: Any) -> list[tuple[Any, float]]:
    """A task's results, or `WorkerError` when Dask gave the task up (its workers kept
    dying)."""
    try:
        return future.result()
    except Exception as err:
        if type(err).__name__ != "KilledWorker":
            raise
        raise WorkerError(
            f"the workers running a task died again and again, so Dask gave it up ({err}); the "
            "cases done so far are lost with this run"
        ) from None


Backend = InProcess | Dask


def check_options(workers: int | None, scheduler: str | None) -> None:
    """Refuse --workers with --scheduler, a worker count below 1, and either without the extra,
    before any work."""
    if workers is not None and scheduler is not None:
        raise InputError("--workers starts a local cluster, --scheduler uses a running one: "
                         "give one of them")
    if workers is not None and workers < 1:
        raise InputError(f"--workers must be 1 or more, not {workers}")
    if workers is not None or scheduler is not None:
        _distributed()


@dataclass
class Cluster:
    """A client of a Dask cluster, and the cluster itself when this process started it."""

    client: Any
    where: str
    local: Any = None

    def backend(self, model: CompiledModel, source: ModelSource | None = None) -> Dask:
        """A backend for one model on this cluster (`source`: what the workers load; default
        `model` saved to bytes)."""
        return Dask(self.client, source or ModelSource.of_model(model), self.where)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()
        if self.local is not None:
            with contextlib.suppress(Exception):
                self.local.close()


@contextlib.contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """SIGINT ignored while a local cluster starts its worker processes, which inherit that:
    Ctrl-C on a terminal reaches the whole process group, and this process (not each worker,
    each with a traceback) stops the cluster. Outside the main thread, signals are left
    alone."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def cluster(workers: int | None = None, scheduler: str | None = None) -> Iterator[Cluster | None]:
    """A `LocalCluster` of `workers` processes, or a client of the running `scheduler`, closed
    (and a cluster it started, stopped) on the way out, also on Ctrl-C; None without either."""
    check_options(workers, scheduler)
    if workers is None and scheduler is None:
        yield None
        return
    import logging

    distributed = _distributed()
    local = None
    try:
        if workers is not None:
            with _workers_ignore_ctrl_c():
                local = distributed.LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,  # one task per process; torch gets one thread each
                    processes=True,
                    dashboard_address=":0",  # any free port: never collide with another cluster
                    # A worker busy in a long task when Ctrl-C closes the scheduler logs a failed
                    # heartbeat, with a traceback, at ERROR: nothing a run needs (a task's own
                    # error comes back through its future), so only CRITICAL is shown.
                    silence_logs=logging.CRITICAL,
                    memory_limit=0,  # a sweep's memory is bounded by its batches, not by Dask
                )
            client = distributed.Client(local)
            where = f"on {workers} local worker process{'es' if workers != 1 else ''} (Dask)"
        else:
            try:
                client = distributed.Client(scheduler, timeout="30s")
            except OSError as err:
                raise InputError(
                    f"--scheduler {scheduler}: no Dask scheduler answers there ({err})"
                ) from None
            where = f"on the Dask cluster at {scheduler}"
    except BaseException:
        if local is not None:
            with contextlib.suppress(Exception):
                local.close()
        raise
    connected = Cluster(client, where, local)
    try:
        yield connected
    finally:
        connected.close()


@contextlib.contextmanager
def backend(
    model: CompiledModel,
    source: ModelSource | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
) -> Iterator[Backend]:
    """The backend the options ask for, for one model (`cluster`, then `Cluster.backend`);
    neither option: `InProcess(model)`."""
    with cluster(workers, scheduler) as connected:
        if connected is None:
            yield InProcess(model)
            return
        run = connected.backend(model, source)
        try:
            yield run
        finally:
            run.close()


def map_cases(
    run: Backend | None,
    model: CompiledModel,
    fn: Callable[[CompiledModel, T], R],
    items: Iterable[T],
    cost: Callable[[T], float] | None = None,
    group_cost: float | None = None,
    admit: Callable[[T], bool] | None = None,
    finished: Callable[[T], None] | None = None,
) -> Iterator[tuple[T, R, float]]:
    """`run.map(...)`, or in this process when no backend is given."""
    backend = run if run is not None else InProcess(model)
    return backend.map(fn, items, cost, group_cost, admit, finished)


# ---- the backend a verification runs on (set around a verifier, like the oracle) --------------
_CURRENT: list[Backend] = []


def current() -> Backend | None:
    """The backend set by `using`, or None (in this process)."""
    return _CURRENT[-1] if _CURRENT else None


@contextlib.contextmanager
def using(run: Backend | None) -> Iterator[None]:
    """Run the word batches of verifiers called inside on `run` (None: in this process)."""
    if run is None:
        yield
        return
    _CURRENT.append(run)
    try:
        yield
    finally:
        _CURRENT.pop()
