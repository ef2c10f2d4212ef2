"""The precision model's shared numerics: mantissa bits per dtype, unit roundoff, the exact
(sympy) forms of the score gaps the constructions declare, and the fit p = c log2 n + b.

Precision is counted as p, the stored mantissa bits of the arithmetic (the paper's Definition 4
rounds every operation's result to p bits): float64 has p = 52, float32 p = 23, and the model
can emulate any p <= 51 (`UniversalTransformer.precision_bits`). The unit roundoff is 2^-(p+1).

Gaps. Every decision a construction's attention makes is a comparison of two scores whose exact
difference (the gap) is a closed form in the compared integers and the hash scale lambda. The
numpy functions in `logdepth.kit.hashing` evaluate these forms without cancellation;
the sympy expressions here are the definitions they are tested against (tests/test_precision.py
evaluates both at 50 digits).

- cos_gap(x, y) = 1 - phi(x).phi(y), phi(z) = <z, 1, -z, -1>/sqrt(2 z^2 + 2): what a key
  hashing y loses against the exact match x (equality retrieval, Lemma 8 by attention; the
  floor retrieval compares two of them);
- tiebreak(v) = [phi(lambda (v + 1))]_0 - [phi(lambda v)]_0: neighbouring keys of the
  nearest-previous retrieval (Lemma 10).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache

import numpy as np
import sympy

DTYPE_BITS = {"float64": 52, "float32": 23}
# The emulator rounds float64 results, so it can model at most 51 stored bits.
MAX_EMULATED_BITS = 51
MIN_EMULATED_BITS = 4


def unit_roundoff(bits: int) -> float:
    """u = 2^-(p+1): the largest relative error of one rounding to p stored mantissa bits."""
    return 2.0 ** -(bits + 1)


def tolerance_at(stored: float, bits: int) -> float:
    """The tie tolerance the model applies at p bits: a file's stored (float64) tolerance times
    2^(52 - p), as `UniversalTransformer.tie_tolerance` does (the tolerance is a multiple of
    the score rounding, so it scales with the unit roundoff)."""
    return stored * 2.0 ** (52 - bits)


def bits_of(dtype: str) -> int:
    """Stored mantissa bits of a dtype name ("float64" -> 52, "float32" -> 23)."""
    try:
        return DTYPE_BITS[dtype]
    except KeyError:
        raise ValueError(f"unknown dtype {dtype!r} (float64 or float32)") from None


# ---------------------------------------------------------------------------------------------
# Exact gap forms
# ---------------------------------------------------------------------------------------------

X, Y, V, LAM = sympy.symbols("x y v lambda", real=True)


def phi_symbolic(z: sympy.Expr) -> sympy.Matrix:
    """phi(z) = <z, 1, -z, -1> / sqrt(2 z^2 + 2): the layer-norm hash (the paper's Section
    2.1)."""
    return sympy.Matrix([z, 1, -z, -1]) / sympy.sqrt(2 * z**2 + 2)


@cache
def cos_gap_form() -> sympy.Expr:
    """1 - phi(x).phi(y), simplified: 1 - (x y + 1) / sqrt((x^2 + 1)(y^2 + 1))."""
    dot = (phi_symbolic(X).T * phi_symbolic(Y))[0, 0]
    return sympy.simplify(1 - dot)


@cache
def tiebreak_form() -> sympy.Expr:
    """[phi(lambda (v + 1))]_0 - [phi(lambda v)]_0, the nearest-previous tie-breaker's step."""
    return phi_symbolic(LAM * (V + 1))[0] - phi_symbolic(LAM * V)[0]


def exact(form: sympy.Expr, digits: int = 50, **values: float) -> float:
    """A gap form evaluated at `digits` significant digits (the reference for the float code)."""
    subs = {sympy.Symbol(k, real=True): sympy.Rational(v) for k, v in values.items()}
    return float(form.subs(subs).evalf(digits))


# ---------------------------------------------------------------------------------------------
# The measured bits: p = c log2 n + b
# ---------------------------------------------------------------------------------------------


def fit_bits(sizes: Sequence[int], bits: Sequence[int]) -> tuple[float, float, float]:
    """Least-squares p = c log2(n) + b over the measured (n, least p) pairs; returns (c, b, r^2).
    r^2 is 1 - SS_res / SS_tot (1.0 when every p is equal, where the fit is exact)."""
    if len(sizes) < 2:
        raise ValueError("fitting p = c log2 n + b needs at least two sizes")
    x = np.log2(np.asarray(sizes, dtype=float))
    y = np.asarray(bits, dtype=float)
    c, b = np.polyfit(x, y, 1)
    residual = float(np.sum((y - (c * x + b)) ** 2))
    total = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - residual / total if total > 0 else 1.0
    return float(c), float(b), r2


def log2_sizes(largest: int, smallest: int = 2) -> list[int]:
    """n = 2^k from `smallest` up to `largest` (both rounded to powers of two)."""
    lo = max(1, math.ceil(math.log2(max(smallest, 1))))
    hi = int(math.floor(math.log2(max(largest, 1))))
    return [2**k for k in range(lo, hi + 1)]


# ---------------------------------------------------------------------------------------------
# Score rounding from the assembled weights
# ---------------------------------------------------------------------------------------------


def _cell_columns(config) -> list[tuple[int, int]]:
    return [(c.offset, c.stop) for c in config.cells]


def score_rounding_ulps(network) -> float:
    """Worst-case rounding error of one attention score, in units of 2^-p (ulps of 1), read
    off the assembled weights: the largest over every head of

        (1/2) sum_r A_r B_r (2 (e_norm + e_in + e_proj) + d_head)          [in units of u]

    where, for the m residual dimensions the sublayer reads (K unit cells, folded scale
    sqrt(K)):
    - A_r = sum over read cells c of |W_Q[r, c]|_2 / sqrt(K) bounds |q_r| (each cell is a unit
      vector, so z_c = cell / sqrt(K)); B_r likewise for W_K;
    - e_norm = m/2 + 2: the masked pre-norm's relative error per entry (a sum of m squares,
      a square root, a division);
    - e_in = 3 m_max / 2 + 3: the error a stored cell carries in, one sublayer's rounding at the
      widest read m_max of the model (every value that persists across levels passes a
      saturating step, which stops errors from adding up: docs/precision.md);
    - e_proj = m: the dot product forming q_r or k_r; d_head: the score's own sum.
    Heads whose query or key is zero (uniform averages: every score exactly 0) contribute 0.
    This is a first-order bound (terms in u^2 dropped); `model` data only (config and tensors).
    """
    config = network.config
    cells = _cell_columns(config)
    prefixes = []
    for part in ("initial", "repeated", "final"):
        prefixes += [f"{part}.{k}" for k in range(len(getattr(config, part)))]
    tensors = network.tensors

    def read_dims(prefix: str) -> int:
        return int((tensors[prefix] != 0).sum())

    m_max = max(read_dims(f"{p}.{sub}.mask") for p in prefixes for sub in ("attn", "mlp"))
    worst = 0.0
    for prefix in prefixes:
        mask = tensors[prefix + ".attn.mask"]
        m = read_dims(prefix + ".attn.mask")
        if m == 0:
            continue
        read = [(a, b) for a, b in cells if bool((mask[a:b] != 0).any())]
        scale = math.sqrt(len(read))
        wq, wk = tensors[prefix + ".attn.W_Q"], tensors[prefix + ".attn.W_K"]
        factor = 2 * ((m / 2 + 2) + (1.5 * m_max + 3) + m)
        for head in range(wq.shape[0]):
            a = sum(wq[head][:, lo:hi].norm(dim=1) for lo, hi in read) / scale
            b = sum(wk[head][:, lo:hi].norm(dim=1) for lo, hi in read) / scale
            rows = int(((a > 0) & (b > 0)).sum())
            if rows == 0:
                continue
            bound_u = float((a * b).sum()) * (factor + rows)
            worst = max(worst, bound_u / 2)
    return worst


def largest_clearing(gap_at, need: float, limit: int) -> int:
    """Largest n in 0..limit with gap_at(n) > need, for a gap that shrinks as n grows (binary
    search); -1 if even n = 0 does not clear. Every construction's frontier n(p) is this with
    its own smallest gap and its own need at p bits."""
    if gap_at(0) <= need:
        return -1
    lo, hi = 0, limit
    if gap_at(hi) > need:
        return hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if gap_at(mid) > need:
            lo = mid
        else:
            hi = mid
    return lo
