"""The softmax temperature a compiled model needs (issue 13, item 3).

The weights are set for averaging-hard attention (the paper's model). Softmax attention with
inverse temperature beta weights key j by exp(beta (s_j - max s)); it approaches hard attention
as beta grows. `least_beta` finds, for one input set, the least beta (to a factor 2^(1/8)) at
which softmax reproduces every hard-attention answer. A head whose runner-up sits a gap G below
the best key among N keys leaks about N exp(-beta G) of the wrong values, so beta must grow like
ln(N) / G: the faithful construction's gaps fall like n^-4 and the wide one's stay 1/(K + 1),
which is what the measured beta shows.

Uniform heads (every score exactly 0) and sign reads (ties at exactly 1) average the same keys
under softmax as under hard attention, at any beta.
"""

from __future__ import annotations

from collections.abc import Sequence

from logdepth.model.compiled import CompiledModel
from logdepth.verify.precision import Case

# log2 beta is searched in [0, MAX_LOG2_BETA]; float64 softmax resolves exp(-beta G) only while
# beta G stays below ~745 (exp underflows to 0, which is then exact hard attention).
MAX_LOG2_BETA = 80.0
RESOLUTION = 1.0 / 8.0  # in log2 beta


def softmax_answers(model: CompiledModel, cases: Sequence[Case], beta: float | None) -> list[str]:
    """The answers with softmax attention at `beta` (None: hard attention)."""
    network = model.network
    saved = network.attention_mode, network.beta
    network.attention_mode, network.beta = ("hard", 1.0) if beta is None else ("softmax", beta)
    try:
        return model.run_tokens([c.tokens for c in cases], check=False)
    finally:
        network.attention_mode, network.beta = saved


def least_beta(model: CompiledModel, cases: Sequence[Case]) -> float | None:
    """The least beta = 2^x (x to RESOLUTION) at which softmax gives every hard answer; None if
    even 2^MAX_LOG2_BETA does not. Assumes a larger beta never hurts (binary search)."""
    hard = softmax_answers(model, cases, None)

    def same(x: float) -> bool:
        return softmax_answers(model, cases, 2.0**x) == hard

    lo, hi = 0.0, MAX_LOG2_BETA
    if not same(hi):
        return None
    if same(lo):
        return 1.0
    while hi - lo > RESOLUTION:
        mid = (lo + hi) / 2
        if same(mid):
            hi = mid
        else:
            lo = mid
    return 2.0**hi


def fit_log_beta(sizes: Sequence[int], betas: Sequence[float]) -> tuple[float, float]:
    """Least squares log2 beta = a log2 n + b (a power law beta ~ n^a)."""
    import numpy as np

    x = np.log2(np.asarray(sizes, dtype=float))
    y = np.log2(np.asarray(betas, dtype=float))
    a, b = np.polyfit(x, y, 1)
    return float(a), float(b)


def fit_linear_beta(sizes: Sequence[int], betas: Sequence[float]) -> tuple[float, float]:
    """Least squares beta = a log2 n + b (the ln N / G law with a constant gap G)."""
    import numpy as np

    a, b = np.polyfit(np.log2(np.asarray(sizes, dtype=float)), np.asarray(betas), 1)
    return float(a), float(b)


__all__ = ["fit_linear_beta", "fit_log_beta", "least_beta", "softmax_answers"]
