"""The fused kernels of the compact plan: fused.c, compiled on first use and called through
ctypes. Hard attention (`hard_attention`, or `attend` on inputs `attention_inputs` laid out),
sparse feed-forwards (`sparse_feed_forward`), small dense ones (`dense_feed_forward`), and the
residual stream's gather and adds (`gather_norm`, `scatter_add`, `project_add`).

The compact plan's torch path (compact.py) computes a layer's attention as four passes over a
[queries, keys] score block; with 1-5 query and value dimensions those passes, not the
arithmetic, set the time. The kernel runs the same four steps per query over a scratch row that
stays in cache (the C file's header says what it computes and why the result is the same up to
summation order).

It is an accelerator, never a requirement: without a C compiler (`$CC`, else `cc`) or with
`LOGDEPTH_FUSED=0`, `library()` is None; on a device other than the CPU or for a dtype other
than float64 and float32, `applies()` is False; either way the torch path runs, with the same
answers. `status()` says whether the library is built, and why not.

The library is built once per source, compiler flags and CPU, with `-march=native` (the widest
vectors and FMA the CPU has: lanes do not mix, so the vector width changes no result; FMA
rounds a dot product as BLAS does where the CPU has it), into
`$XDG_CACHE_HOME/logdepth` (default ~/.cache/logdepth), written to a temporary name and renamed
so that processes building it at once do not see half a file; where that directory cannot be
written, into a fresh temporary directory of this process.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import hashlib
import os
import platform
import shlex
import shutil
import subprocess
import tempfile
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

SOURCE = Path(__file__).with_name("fused.c")
FLAGS = ("-O3", "-march=native", "-ffp-contract=fast", "-fno-math-errno", "-shared", "-fPIC")
SWITCH = "LOGDEPTH_FUSED"  # "0": never use the kernel
# fused.c's functions are `{kernel}_{f64|f32}{part}` (hard_attention_f64,
# hard_attention_f64_block, residual_f32_gather_norm, ...); REALS gives each dtype's C type.
SUFFIXES = {torch.float64: "f64", torch.float32: "f32"}
REALS = {torch.float64: ctypes.c_double, torch.float32: ctypes.c_float}
I64, POINTER = ctypes.c_int64, ctypes.c_void_p


def _signatures(real: type) -> dict[tuple[str, str], tuple[list[type], type | None]]:
    """Argument and result types of fused.c's functions, by (kernel, part), for one C type."""
    attention = [I64] * 5 + [POINTER] * 5 + [real] + [POINTER] * 3 + [I64] * 5 + [POINTER]
    feed_forward = [I64, POINTER, I64] + [POINTER] * 3 + [I64] + [POINTER] * 5 + [I64] * 2
    return {
        ("hard_attention", ""): (attention, None),
        ("hard_attention", "_block"): ([], I64),
        ("hard_attention", "_scratch"): ([I64] * 3, I64),
        ("attention_inputs", ""): (
            [I64, I64, POINTER, I64, POINTER, POINTER] + [I64] * 3 + [POINTER] * 3
            + [I64, POINTER] + [POINTER] * 3 + [I64] * 3 + [POINTER],
            I64,
        ),
        ("attention_inputs", "_scratch"): ([I64], I64),
        ("sparse_feed_forward", ""): (feed_forward + [POINTER], None),
        ("sparse_feed_forward", "_scratch"): ([I64], I64),
        ("round_block", ""): ([POINTER, I64, POINTER], None),
        ("round_row", ""): ([POINTER, I64, real], None),
        ("round_one", ""): ([real, real], real),
        ("residual", "_gather_norm"): (
            [I64, POINTER, I64] + [POINTER] * 3 + [I64] * 4 + [POINTER],
            None,
        ),
        ("residual", "_gather_scratch"): ([I64], I64),
        ("dense_feed_forward", ""): (
            [I64, POINTER, I64, POINTER, POINTER, I64, POINTER, I64] + [POINTER] * 5
            + [I64, POINTER] + [POINTER] * 3 + [I64] * 2 + [POINTER],
            None,
        ),
        ("dense_feed_forward", "_scratch"): ([I64] * 3, I64),
        ("residual", "_project_add"): (
            [I64, POINTER, I64, POINTER, I64, POINTER, POINTER, I64, I64, POINTER],
            None,
        ),
        ("residual", "_uniform_add"): (
            [I64, I64, POINTER, I64, I64, POINTER, I64] + [POINTER] * 2
            + [I64] + [POINTER] * 2 + [I64] * 2 + [POINTER],
            None,
        ),
        ("residual", "_uniform_scratch"): ([I64], I64),
        ("residual", "_scatter_add"): (
            [I64, POINTER, I64] + [POINTER] * 2 + [I64] * 4 + [POINTER],
            None,
        ),
    }


def _c(lib: ctypes.CDLL, kernel: str, dtype: torch.dtype, part: str = ""):
    """fused.c's function `{kernel}_{f64|f32}{part}` for `dtype` (looked up once per library:
    a forward pass asks for a dozen of them on every layer)."""
    key = (id(lib), kernel, dtype, part)
    function = _FUNCTIONS.get(key)
    if function is None:
        function = getattr(lib, f"{kernel}_{SUFFIXES[dtype]}{part}")
        _FUNCTIONS[key] = (lib, function)  # the library held: its id is not reused meanwhile
        return function
    return function[1]


_FUNCTIONS: dict[tuple, tuple] = {}


# Below this many query-key pairs a call is split across no threads (a thread hand-off costs
# tens of microseconds; a pair about a nanosecond).
THREAD_MIN_PAIRS = 1 << 20

_lock = threading.Lock()
_loaded: dict[str, object] = {}  # "library": the CDLL or None, "why": the reason it is None


def _cpu_flags() -> str:
    """The CPU's feature flags (Linux), so that a library built with -march=native on one
    machine is not loaded on another that shares the cache directory."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line
    except OSError:
        pass
    return platform.processor()


def _cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "logdepth"


def _build(compiler: list[str], target: Path) -> None:
    """Compile SOURCE into `target` atomically (a temporary name in the same directory, then a
    rename); raise OSError or CalledProcessError on failure."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(handle)
    try:
        subprocess.run(
            [*compiler, *FLAGS, "-o", partial, str(SOURCE), "-lm"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


# Values whose rounding to p stored bits an FMA-fused Veltkamp split gets wrong: exact
# midpoints between p-bit neighbours (a tie: 1 + 2^-(p+1), 3 + 2^-p, ...) and values with many
# bits (a fused split returns x unchanged).
ROUNDING_PROBES = (1 / 3, 2 / 3, 0.1, 1 + 2.0**-30, 1 + 3 * 2.0**-31, 3 + 2.0**-20, -7.000001)


def _veltkamp(x: float, p: int) -> float:
    """`transformer.round_to_bits` in Python's float arithmetic (IEEE doubles, never fused)."""
    c = x * float(2 ** (52 - p) + 1)
    return c - (c - x)


def _rounding_error(library: ctypes.CDLL) -> str:
    """'' if the library's three rounding functions round as Python does, at several p and
    on ties; else why the library is refused (its compiler fused the split into an FMA)."""
    for p in (1, 10, 19, 20, 29, 30, 51):
        want = [_veltkamp(x, p) for x in ROUNDING_PROBES]
        split = float(2 ** (52 - p) + 1)
        block = (ctypes.c_double * len(want))(*ROUNDING_PROBES)
        splits = (ctypes.c_double * len(want))(*[split] * len(want))
        row = (ctypes.c_double * len(want))(*ROUNDING_PROBES)
        library.round_block_f64(ctypes.addressof(block), len(want), ctypes.addressof(splits))
        library.round_row_f64(ctypes.addressof(row), len(want), split)
        one = [library.round_one_f64(x, split) for x in ROUNDING_PROBES]
        if list(block) != want or list(row) != want or one != want:
            return (
                "the compiled p-bit rounding differs from Python's (the compiler fused "
                "Veltkamp's split into an FMA despite fp-contract=off)"
            )
    return ""


def _load() -> tuple[ctypes.CDLL | None, str]:
    """The compiled library, or None with the reason."""
    if os.environ.get(SWITCH, "1") == "0":
        return None, f"{SWITCH}=0"
    compiler = shlex.split(os.environ.get("CC") or "cc")
    source = SOURCE.read_bytes()
    key = hashlib.sha256(
        b"\0".join(
            [
                source,
                " ".join(compiler + list(FLAGS)).encode(),
                _cpu_flags().encode(),
                platform.machine().encode(),
            ]
        )
    ).hexdigest()[:16]
    name = f"fused-{key}.so"
    errors = []
    for directory in (_cache_dir(), None):
        scratch = directory is None  # this process's own: removed once loaded (or failed)
        target = (Path(tempfile.mkdtemp(prefix="logdepth-")) if scratch else directory) / name
        try:
            if not target.exists():
                _build(compiler, target)
            library = ctypes.CDLL(str(target))
            for dtype, real in REALS.items():
                for (kernel, part), (args, result) in _signatures(real).items():
                    function = _c(library, kernel, dtype, part)
                    function.argtypes, function.restype = args, result
            wrong = _rounding_error(library)
            if wrong:
                return None, wrong
            return library, ""
        except (OSError, AttributeError, subprocess.SubprocessError) as err:
            detail = getattr(err, "stderr", b"") or b""
            text = detail.decode(errors="replace").strip().splitlines()
            errors.append(f"{target.parent}: {text[0] if text else err}")
        finally:
            if scratch:  # a loaded library stays mapped after its file is gone
                shutil.rmtree(target.parent, ignore_errors=True)
    return None, "could not build the kernel (" + "; ".join(errors) + ")"


def library() -> ctypes.CDLL | None:
    """The compiled kernel library (built on the first call of a process), or None."""
    with _lock:
        if "library" not in _loaded:
            _loaded["library"], _loaded["why"] = _load()
    return _loaded["library"]  # type: ignore[return-value]


def status() -> str:
    """Whether the fused kernel runs here, and if not, why."""
    return "fused kernel in use" if library() is not None else f"torch path: {_loaded['why']}"


_held_off = [0]  # open `torch_path()` blocks


def applies(tensor: torch.Tensor) -> bool:
    """Whether the kernels can run on tensors like `tensor` (CPU, float64 or float32)."""
    if _held_off[0]:
        return False
    return tensor.device.type == "cpu" and tensor.dtype in SUFFIXES and library() is not None


@contextlib.contextmanager
def torch_path():
    """Within it `applies` is False, so every caller takes its torch path (benchmarks that
    time both paths in one process)."""
    _held_off[0] += 1
    try:
        yield
    finally:
        _held_off[0] -= 1


_pool: tuple[int, ThreadPoolExecutor] | None = None  # (the process that made it, the pool)


def _threads(workers: int) -> ThreadPoolExecutor:
    """One pool for the process, rebuilt when torch's thread count changes or in a forked
    child (whose copy of the pool has no threads). ctypes releases the GIL during a call, so
    the threads run the kernel in parallel."""
    global _pool
    with _lock:
        if _pool is None or _pool[0] != os.getpid() or _pool[1]._max_workers != workers:
            # The old pool is left to finish what it holds (another thread may be waiting
            # on it); its idle threads end with the process.
            _pool = (os.getpid(), ThreadPoolExecutor(workers, thread_name_prefix="logdepth-fused"))
        return _pool[1]


def _after_fork_in_child() -> None:
    """A forked child gets a fresh lock (the parent's may have been held by another thread,
    for a compile of up to two minutes) and no pool (its threads did not survive the fork)."""
    global _lock, _pool
    _lock = threading.Lock()
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _keys_last(x: torch.Tensor, stride: int) -> torch.Tensor:
    """[B, H, T, d] as a contiguous [B, H, d, stride], zero past T (the kernel reads whole
    vectors of keys)."""
    batch, heads, tokens, dims = x.shape
    out = torch.empty(batch, heads, dims, stride, dtype=x.dtype, device=x.device)
    out[..., tokens:] = 0
    out[..., :tokens] = x.transpose(-1, -2)
    return out


def _subnormal(x: torch.Tensor) -> bool:
    """Whether x holds a nonzero value below its dtype's smallest normal number."""
    small = x.abs() < torch.finfo(x.dtype).tiny
    return bool((small & (x != 0)).any())


def _flush_is_negligible(q: torch.Tensor, k: torch.Tensor, tol: float) -> bool:
    """Whether setting q's and k's subnormal entries to 0 moves no score by more than u tol.

    A flushed entry |q_r| < tiny changes its term q_r k_r by less than tiny max|k| (a flushed
    k_r likewise), so each score moves by at most E = d_key tiny max(max|q|, max|k|),
    absolute. The tie test compares score >= best - tol, whose float32 rounding already moves
    by a unit roundoff u = 2^-24 relative; E <= u tol keeps the flush below that, a 2^-24
    share of the tolerance (the precision model's noise budget, SCORE_NOISE_ULPS ulps of 1).
    The wide code at its float32 frontier: E = 41 x 2^-126 x 1.01 ~ 2^-120.6 against
    u tol ~ 2^-42. Where the tolerance is itself tiny (scores at subnormal scale), E exceeds
    it and the call runs in float64 instead."""
    tiny = torch.finfo(q.dtype).tiny
    unit_roundoff = torch.finfo(q.dtype).eps / 2
    largest = max(float(q.abs().max()), float(k.abs().max()))
    return q.shape[-1] * tiny * largest <= unit_roundoff * tol


def _flushed(x: torch.Tensor) -> torch.Tensor:
    """x with its subnormal entries set to +0."""
    return x.masked_fill(x.abs() < torch.finfo(x.dtype).tiny, 0.0)


def hard_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    causal: torch.Tensor,
    lengths: torch.Tensor,
    tol: float,
    out: torch.Tensor,
    emulated: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> None:
    """Averaging-hard attention (fused.c) into `out` [B, T, H, dv], whose last
    dimension is contiguous: query i of row b, head h, sees the keys j < lengths[b], and j <= i
    too where causal[h].

    q, k [B, H, T, dk] and v [B, H, T, dv], finite, any strides; causal [H] bool; lengths [B].
    Rows are split across torch's intra-op threads when the call is large enough.

    `emulated`: p-bit emulation's (split constants, tie tolerances), [B] float64 each, one per
    row: each score, the floor best - tol, the attended sum and its division are then rounded
    to the row's p bits as `transformer.Attention` rounds them (`tol` is not used).
    """
    lib = library()
    assert lib is not None
    tokens = q.shape[2]
    _check_shapes(q, v.shape[-1], out, emulated)
    if q.dtype == torch.float32 and (_subnormal(q) or _subnormal(k)):
        # A subnormal operand or product costs the CPU a microcode assist per operation (the
        # wide code's float32 queries and keys underflow at its later levels: 2-3x slower
        # calls at the frontier).
        if _flush_is_negligible(q, k, tol):
            q, k = _flushed(q), _flushed(k)
        else:
            # In float64 they are normal numbers: each product of two float32 values is exact
            # there and each sum more accurate than in float32, within the same bounds; the
            # tie test then compares float64 scores (with the float32 tolerance, which covers
            # float32's larger rounding), and the output is rounded to float32 once.
            wide = torch.empty(out.shape, dtype=torch.float64)  # (emulation is float64 only)
            hard_attention(q.double(), k.double(), v.double(), causal, lengths, tol, wide)
            out.copy_(wide)
            return
    stride = block_stride(tokens, q.dtype)
    k_t, v_t = _keys_last(k, stride), _keys_last(v, stride)
    attend(q.contiguous(), k_t, v_t, causal, lengths, tol, out, emulated)


def block_stride(tokens: int, dtype: torch.dtype) -> int:
    """The row length of the kernel's keys and values for `tokens` tokens: the kernel reads
    whole blocks of keys (fused.c's hard_attention `_block`)."""
    lib = library()
    assert lib is not None
    held = _BLOCKS.get((id(lib), dtype))
    if held is None:  # (the library held with it: its id is not reused meanwhile)
        held = _BLOCKS[(id(lib), dtype)] = (lib, int(_c(lib, "hard_attention", dtype, "_block")()))
    width = held[1]
    return -(-tokens // width) * width


_BLOCKS: dict[tuple, tuple] = {}  # the block width by library and dtype (a constant of each)


def attend(
    q: torch.Tensor,
    k_t: torch.Tensor,
    v_t: torch.Tensor,
    causal: torch.Tensor,
    lengths: torch.Tensor,
    tol: float,
    out: torch.Tensor,
    emulated: tuple[torch.Tensor, torch.Tensor] | None = None,
    length_range: tuple[int, int] | None = None,
) -> None:
    """`hard_attention` on inputs laid out as the kernel reads them: q [B, H, T, dk], and the
    keys and values with tokens along the rows, k_t [B, H, dk, S] and v_t [B, H, dv, S], S =
    `block_stride(T)`, all contiguous and finite (what `attention_inputs` writes).
    `length_range`: (min, max) of `lengths` where the caller has them (one pass's layers share
    them), so that they are not read off the tensor again."""
    lib = library()
    assert lib is not None
    batch, heads, tokens, d_key = q.shape
    d_val, stride = v_t.shape[2], k_t.shape[-1]
    _check_shapes(q, d_val, out, emulated)
    if (
        k_t.shape != (batch, heads, d_key, stride)
        or v_t.shape != (batch, heads, d_val, stride)
        or stride != block_stride(tokens, q.dtype)
        or not (q.is_contiguous() and k_t.is_contiguous() and v_t.is_contiguous())
    ):
        raise ValueError("attend: q, k_t and v_t must be contiguous, laid out as documented")
    low, high = length_range or (int(lengths.min()), int(lengths.max()))
    if lengths.shape != (batch,) or low < 1 or high > tokens:
        # The kernel reads and writes by these lengths: one past T would run off the buffers.
        raise ValueError(f"hard_attention: lengths must be {batch} values in 1..{tokens}")
    flags = causal if causal.dtype == torch.uint8 else causal.to(torch.uint8)
    lengths = lengths if lengths.dtype == torch.int64 else lengths.to(torch.int64)
    flags, lengths = flags.contiguous(), lengths.contiguous()
    if emulated is not None:
        emulated = tuple(t.to(q.dtype).contiguous() for t in emulated)
        if any(t.shape != (batch,) for t in emulated):
            raise ValueError(f"hard_attention: emulation needs {batch} splits and tolerances")
    function, real = _c(lib, "hard_attention", q.dtype), REALS[q.dtype]
    rows = batch * heads * tokens
    common = (
        heads,
        tokens,
        stride,
        d_key,
        d_val,
        q.data_ptr(),
        k_t.data_ptr(),
        v_t.data_ptr(),
        flags.data_ptr(),
        lengths.data_ptr(),
        real(tol),
        *((t.data_ptr() for t in emulated) if emulated is not None else (None, None)),
        out.data_ptr(),
        out.stride(0),
        out.stride(1),
        out.stride(2),
    )
    size = int(_c(lib, "hard_attention", q.dtype, "_scratch")(stride, d_key, d_val))
    _run_rows(function, common, rows, rows * tokens, q.dtype, size)


def attention_inputs(
    h: torch.Tensor,
    cols: torch.Tensor,
    mask: torch.Tensor | None,
    projection: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    heads: int,
    d_key: int,
    d_val: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """(q, k_t, v_t) as `attend` reads them, from a contiguous residual stream h [B, T, d]:
    the masked pre-norm of the columns `cols` (as `gather_norm`) projected by `projection`,
    the CSC form (column starts, rows, values, the rows that hold a nonzero: compact._csc) of
    the [len(cols), F] matrix whose F = 2 H dk + H dv columns are every head's query, then
    key, then value dimensions (the C file's attention_inputs). None where one of them is not
    all finite, the caller's torch path then defining how that spreads: a cell that is not
    finite makes every feature of its token NaN, as the dense product's exact zero terms would.
    Rows of the batch are split across torch's intra-op threads when the call is large
    enough."""
    lib = library()
    assert lib is not None and h.is_contiguous()
    assert mask is None or (mask.dtype == h.dtype and mask.is_contiguous())
    starts, rows, values, used = projection
    # (sizes read off .shape: len() of a tensor costs several times more, on every layer)
    assert starts.shape[0] == 2 * heads * d_key + heads * d_val + 1 and values.dtype == h.dtype
    batch, tokens, d = h.shape
    stride = block_stride(tokens, h.dtype)
    q = torch.empty(batch, heads, tokens, d_key, dtype=h.dtype)
    k_t = torch.empty(batch, heads, d_key, stride, dtype=h.dtype)
    v_t = torch.empty(batch, heads, d_val, stride, dtype=h.dtype)
    reads, cols = cols.shape[0], cols.contiguous()  # (read as a flat array)
    common = (
        tokens,
        d,
        h.data_ptr(),
        reads,
        cols.data_ptr(),
        mask.data_ptr() if mask is not None else None,
        heads,
        d_key,
        d_val,
        starts.data_ptr(),
        rows.data_ptr(),
        values.data_ptr(),
        used.shape[0],
        used.data_ptr(),
        q.data_ptr(),
        k_t.data_ptr(),
        v_t.data_ptr(),
        stride,
    )
    size = int(_c(lib, "attention_inputs", h.dtype, "_scratch")(reads))
    work = batch * tokens * (reads + values.shape[0])
    function = _c(lib, "attention_inputs", h.dtype)
    # The kernel says whether a value it wrote is not finite (the keys' and values' padding is
    # 0): then None, and the caller's torch path.
    not_finite = _run_rows(function, common, batch, work, h.dtype, size)
    return None if not_finite else (q, k_t, v_t)


def _check_shapes(q: torch.Tensor, d_val: int, out: torch.Tensor, emulated) -> None:
    """`hard_attention`'s arguments the kernel relies on (it divides by d_key, writes `out`
    by its strides, and rounds float64 only)."""
    batch, heads, tokens, d_key = q.shape
    if out.shape != (batch, tokens, heads, d_val) or out.stride(-1) != 1:
        raise ValueError(
            f"hard_attention: out must be [B, T, H, dv] = "
            f"{(batch, tokens, heads, d_val)} with dv contiguous"
        )
    if d_key < 1:
        raise ValueError("hard_attention: queries and keys need at least one dimension")
    if emulated is not None and q.dtype != torch.float64:
        raise ValueError("hard_attention: p-bit emulation rounds float64 results only")


def _run_rows(
    function, common: tuple, rows: int, pairs: int, dtype: torch.dtype, size: int
) -> int:
    """function(*common, row0, row1, scratch) over rows [0, rows): in one call, or split over
    torch's intra-op threads when the call has at least THREAD_MIN_PAIRS query-key pairs,
    each thread with its own scratch of `size` values of `dtype`. Returns the calls' results
    or'ed (0 for a function that returns nothing)."""
    workers = torch.get_num_threads()
    if workers <= 1 or pairs < THREAD_MIN_PAIRS:
        return function(*common, 0, rows, _own_scratch(size, dtype).data_ptr()) or 0
    # More pieces than threads, so a causal head's long rows do not all land on one thread.
    pieces = 4 * workers
    bounds = [rows * k // pieces for k in range(pieces + 1)]
    scratches = [torch.empty(size, dtype=dtype) for _ in range(workers)]
    free = list(range(workers))
    taken = threading.Lock()

    def run(span: tuple[int, int]) -> int:
        with taken:
            slot = free.pop()
        try:
            return function(*common, span[0], span[1], scratches[slot].data_ptr()) or 0
        finally:
            with taken:
                free.append(slot)

    pool = _threads(workers)
    futures = [pool.submit(run, span) for span in zip(bounds[:-1], bounds[1:], strict=True)]
    result = 0
    try:
        for future in futures:
            result |= future.result()
    finally:
        # The C calls write into the caller's tensors: none may still run when this frame
        # unwinds (Ctrl-C, an error in one piece), or they would write into freed memory.
        for future in futures:
            future.cancel()
        _wait_all(futures)
    return result


_held = threading.local()  # this thread's scratch per dtype, for the calls it runs itself


def _own_scratch(size: int, dtype: torch.dtype) -> torch.Tensor:
    """At least `size` values of `dtype` for a kernel call in this thread, reused across calls
    (a pass makes 15 or more calls: an allocation each cost more than some small kernels'
    Python side). Only the call that asked uses it until it returns: C calls do not re-enter.
    The largest buffer asked stays held: an attention call's 32 score rows of its keys, 8 MB
    in float64 at 32,768 tokens."""
    buffers = getattr(_held, "buffers", None)
    if buffers is None:
        buffers = _held.buffers = {}
    scratch = buffers.get(dtype)
    if scratch is None or scratch.numel() < size:
        scratch = buffers[dtype] = torch.empty(max(size, 1), dtype=dtype)
    return scratch


def _wait_all(futures: list) -> None:
    """Wait until every future has finished or been cancelled, through Ctrl-C."""
    while True:
        try:
            concurrent.futures.wait(futures)
            return
        except KeyboardInterrupt:
            continue


# The kernel's forms of recently used CSR pairs (the conversion costs 0.15 ms for the wide
# code's 418-unit layers, 1.6 ms for a 4,104-unit one: a share of each call), by the pair's ids and
# versions (an edit in place, as a test's fault injection, bumps the version); each entry
# holds the pair itself, so an id cannot be reused by another tensor while its entry lives.
_PARTS: dict[tuple, tuple] = {}
_PARTS_KEPT = 64


def _sparse_parts(w_in: torch.Tensor, w_out: torch.Tensor, dtype: torch.dtype) -> tuple:
    """(row starts, columns, values) of w_in's CSR, then w_out unit by unit (its CSC: per
    unit, the outputs it feeds, ascending, and their weights), as the kernel reads them."""
    key = (id(w_in), w_in._version, id(w_out), w_out._version, dtype)
    kept = _PARTS.get(key)
    if kept is not None and kept[0] is w_in and kept[1] is w_out:
        return kept[2]
    with warnings.catch_warnings():  # torch calls its sparse layouts beta
        warnings.simplefilter("ignore", UserWarning)
        by_unit = w_out.to_sparse_csc()
    parts = tuple(
        t.to(torch.int64 if i < 2 else dtype).contiguous()
        for layout in (
            (w_in.crow_indices(), w_in.col_indices(), w_in.values()),
            (by_unit.ccol_indices(), by_unit.row_indices(), by_unit.values()),
        )
        for i, t in enumerate(layout)
    )
    if len(_PARTS) >= _PARTS_KEPT:
        _PARTS.clear()
    _PARTS[key] = (w_in, w_out, parts)
    return parts


def sparse_feed_forward(
    z: torch.Tensor,
    w_in: torch.Tensor,
    w_out: torch.Tensor,
    split: torch.Tensor | None = None,
) -> torch.Tensor:
    """relu(z W_in^T) W_out^T for finite z [N, c] and CSR w_in [units, c], w_out [outs, units]
    (the compact plan's sparse layers), as [N, outs]: each sum adds its row's nonzero terms
    (the C file's sparse_feed_forward). The kernel runs tokens along the rows: z is read as a
    contiguous [c, N] (no copy where z is the transposed view of one, as `gather_norm`'s
    tokens_last gives), and the result is the transposed view of a contiguous [outs, N]
    (`scatter_add` reads it as it is). Tokens are split across torch's intra-op threads when
    the call is large enough.

    `split` ([N], z's dtype): p-bit emulation's Veltkamp constant per token
    (`transformer.split_constants`); each unit's sum and each output is then rounded to its
    token's p bits, as `transformer.round_to_bits` rounds."""
    lib = library()
    assert lib is not None
    tokens = z.shape[0]
    if split is not None:
        assert split.shape == (tokens,) and split.dtype == z.dtype and split.is_contiguous()
    z_t = z.T.contiguous()  # [c, N]: tokens along the vectors (a no-op for tokens_last)
    out = torch.empty(w_out.shape[0], tokens, dtype=z.dtype)
    parts = _sparse_parts(w_in, w_out, z.dtype)
    common = (
        tokens,
        z_t.data_ptr(),
        w_in.shape[0],
        *(t.data_ptr() for t in parts[:3]),
        w_out.shape[0],
        *(t.data_ptr() for t in parts[3:]),
        out.data_ptr(),
        split.data_ptr() if split is not None else None,
    )
    size = int(_c(lib, "sparse_feed_forward", z.dtype, "_scratch")(w_in.shape[0]))
    work = tokens * (w_in.values().numel() + w_out.values().numel())
    _run_rows(_c(lib, "sparse_feed_forward", z.dtype), common, tokens, work, z.dtype, size)
    return out.T


def gather_norm(
    h: torch.Tensor, cols: torch.Tensor, mask: torch.Tensor | None, tokens_last: bool = False
) -> torch.Tensor:
    """norm(m * h) over the columns `cols` of a contiguous h [..., d] (norm(0) = 0), as
    [..., len(cols)]: compact.py's masked pre-norm in one pass (the C file's gather_norm).
    `tokens_last`: the same values stored as a contiguous [len(cols), tokens] and returned as
    its transposed view, so that `sparse_feed_forward`, which reads tokens along the rows, needs
    no copy."""
    lib = library()
    assert lib is not None and h.is_contiguous()
    assert mask is None or (mask.dtype == h.dtype and mask.is_contiguous())
    d, c, cols = h.shape[-1], cols.shape[0], cols.contiguous()  # (read as a flat array)
    tokens = h.numel() // d
    if tokens_last:
        stored = torch.empty(c, tokens, dtype=h.dtype)
        z, strides = stored.T.view(*h.shape[:-1], c), (1, tokens)
    else:
        z = torch.empty(*h.shape[:-1], c, dtype=h.dtype)
        strides = (c, 1)
    common = (d, h.data_ptr(), c, cols.data_ptr(), mask.data_ptr() if mask is not None else None)
    function = _c(lib, "residual", h.dtype, "_gather_norm")
    size = int(_c(lib, "residual", h.dtype, "_gather_scratch")(c))
    _run_rows(function, (*common, z.data_ptr(), *strides), tokens, tokens * c, h.dtype, size)
    return z


def project_add(h: torch.Tensor, cols: torch.Tensor, x: torch.Tensor, m: torch.Tensor) -> None:
    """h[..., cols] += x @ m in place, for a contiguous h [..., d], x [..., k] and m [k, w]
    (compact.py's attention output projection and add in one pass: each sum in j order)."""
    lib = library()
    assert lib is not None and h.is_contiguous() and m.is_contiguous()
    d, (k, w) = h.shape[-1], m.shape
    tokens = h.numel() // d
    x, cols = x.reshape(tokens, k).contiguous(), cols.contiguous()
    assert cols.shape[0] == w and x.dtype == m.dtype == h.dtype
    common = (d, h.data_ptr(), w, cols.data_ptr(), k, x.data_ptr(), m.data_ptr())
    function = _c(lib, "residual", h.dtype, "_project_add")
    size = int(_c(lib, "residual", h.dtype, "_gather_scratch")(k))  # a vector of tokens' x
    _run_rows(function, common, tokens, tokens * k * w, h.dtype, size)


def uniform_add(
    h: torch.Tensor,
    v_t: torch.Tensor,
    causal: torch.Tensor,
    lengths: torch.Tensor,
    cols: torch.Tensor,
    m: torch.Tensor,
    length_range: tuple[int, int] | None = None,
) -> None:
    """h[..., cols] += means @ m in place, for a contiguous h [B, T, d]: a sublayer of heads
    whose scores are constant (each averages the values it sees: a causal head the prefix
    v_0..v_t, an unmasked one the row's v_j, j < length), from values laid out as
    `attention_inputs` writes them, v_t [B, H, dv, S] (the C file's uniform_add). `causal`:
    [H] uint8; `lengths`: [B] int64 in 1..T (`length_range`: their (min, max) where the
    caller has them); m [H dv, |cols|] contiguous."""
    lib = library()
    assert lib is not None and h.is_contiguous() and v_t.is_contiguous() and m.is_contiguous()
    batch, tokens, d = h.shape
    heads, d_val, stride = v_t.shape[1], v_t.shape[2], v_t.shape[3]
    w = cols.shape[0]
    assert v_t.shape[0] == batch and stride >= tokens and m.shape == (heads * d_val, w)
    assert v_t.dtype == m.dtype == h.dtype
    assert causal.dtype == torch.uint8 and causal.shape == (heads,)
    assert lengths.dtype == torch.int64 and lengths.shape == (batch,)
    # The kernel reads these as flat arrays: a strided view would be read past its values.
    causal, lengths, cols = causal.contiguous(), lengths.contiguous(), cols.contiguous()
    low, high = length_range or (int(lengths.min()), int(lengths.max()))
    if low < 1 or high > tokens:
        # The kernel reads each row's values up to its length and divides by it.
        raise ValueError(f"uniform_add: lengths must be {batch} values in 1..{tokens}")
    common = (
        tokens,
        d,
        h.data_ptr(),
        heads,
        d_val,
        v_t.data_ptr(),
        stride,
        causal.data_ptr(),
        lengths.data_ptr(),
        w,
        cols.data_ptr(),
        m.data_ptr(),
    )
    function = _c(lib, "residual", h.dtype, "_uniform_add")
    work = batch * tokens * heads * d_val * (w + 1)
    size = int(_c(lib, "residual", h.dtype, "_uniform_scratch")(heads * d_val))
    _run_rows(function, common, batch, work, h.dtype, size)


def scatter_add(h: torch.Tensor, cols: torch.Tensor, delta: torch.Tensor) -> None:
    """h[..., cols] += delta in place, for a contiguous h [..., d] (compact.py's _add). delta is
    read through its strides where its tokens flatten to one dimension without a copy (the
    sparse feed-forward's output has tokens along its rows: a transposed copy of it cost more
    than the add)."""
    lib = library()
    assert lib is not None and h.is_contiguous()
    d, w, cols = h.shape[-1], cols.shape[0], cols.contiguous()  # (read as a flat array)
    tokens = h.numel() // d
    delta = delta.reshape(tokens, w)  # a view where the strides allow, else a copy
    common = (d, h.data_ptr(), w, cols.data_ptr(), delta.data_ptr(), *delta.stride())
    function = _c(lib, "residual", h.dtype, "_scatter_add")
    _run_rows(function, common, tokens, tokens * w, h.dtype, 0)


def dense_feed_forward(
    h: torch.Tensor,
    read: torch.Tensor,
    mask: torch.Tensor | None,
    w_in: torch.Tensor,
    w_out: torch.Tensor,
    write: torch.Tensor,
    by_column: tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]] | None = None,
) -> None:
    """h[..., write] += relu(norm(mask * h[..., read]) w_in) w_out in place, for a contiguous
    h [..., d], int64 columns `read` [c] and `write` [w], and contiguous w_in [c, units], w_out
    [units, w] (compact.py's small dense feed-forwards): the pre-norm, both products and the
    add in one pass over the tokens (the C file's dense_feed_forward).

    `by_column`: w_in and w_out as CSC (column starts, rows, values, the rows holding a
    nonzero: compact._csc), where the products then add only the nonzero weights' terms, and
    only the read cells w_in uses are divided by the norm, for every vector of tokens whose
    cells (for the first product) and hidden units (for the second) are finite; the same
    sums, since the dropped terms are exact zeros there."""
    lib = library()
    assert lib is not None and h.is_contiguous() and w_in.is_contiguous()
    assert w_out.is_contiguous() and (mask is None or mask.is_contiguous())
    d, c, units, w = h.shape[-1], read.shape[0], w_in.shape[1], write.shape[0]
    read, write = read.contiguous(), write.contiguous()  # (read as flat arrays)
    assert w_in.shape[0] == c and w_out.shape == (units, w)
    if by_column is None:
        columns = [None, None, None, 0, None, None, None, None]
    else:
        (starts, rows, values, used), out_part = by_column
        assert starts.shape[0] == units + 1 and out_part[0].shape[0] == w + 1
        columns = [starts.data_ptr(), rows.data_ptr(), values.data_ptr(), used.shape[0]]
        columns += [used.data_ptr(), *(t.data_ptr() for t in out_part[:3])]
    tokens = h.numel() // d
    common = (
        d,
        h.data_ptr(),
        c,
        read.data_ptr(),
        mask.data_ptr() if mask is not None else None,
        units,
        w_in.data_ptr(),
        w,
        w_out.data_ptr(),
        write.data_ptr(),
        *columns,
    )
    size = int(_c(lib, "dense_feed_forward", h.dtype, "_scratch")(c, units, w))
    work = tokens * units * (c + w)
    _run_rows(_c(lib, "dense_feed_forward", h.dtype), common, tokens, work, h.dtype, size)
