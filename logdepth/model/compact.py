"""The compact execution plan: the forward pass running only the work the weights hold.

A compiled layer is mostly zeros: heads padded to the widest head of their layer, feed-forward
rows that read a few of hundreds of residual cells, output matrices that write a few. The plan
is derived from the loaded weights (never stored; the weight file does not change) and drops
exactly what is zero, so every value it adds is one the full pass adds too:

- a feed-forward unit whose input row or output column is zero (relu(0) * u and w * 0 add 0);
- residual cells a sublayer neither reads nor writes: it gathers the columns its mask keeps,
  and scatters its output into the rows of W_O / W_out that are nonzero (the other rows of the
  full product are exact zeros, and h + 0 = h);
- a head whose output is zero (zero W_V, or zero W_O block), and in the heads that stay, query
  and key dimensions whose W_Q or W_K row is zero and value dimensions whose W_V row or W_O
  column is zero (each drops an exact 0 term from a dot product);
- a head whose scores are constant (zero W_Q or zero W_K: every score is exactly 0, so every
  visible key ties with the row maximum) averages its visible values: a prefix sum divided by
  the count for a causal head, the valid keys' sum divided by the length for an unmasked one.
  O(n) instead of O(n^2); the sum is a sum of the same attended values in another order (see
  below).

Per layer, one matmul projects the read columns onto every kept head's query, key and value;
the scored heads' attention runs in the fused kernel (fused.py: one sweep over each query's
keys) where it is built and every query, key and value is finite. In float64, a layer whose
kept heads are all scored runs in three kernel passes instead (`_Scratch._laid_out`): the
pre-norm and the projection (its nonzero weights) written as the attention kernel reads them,
the attention, and the output projection with the add; a layer whose kept heads all have
constant scores in two: their values written the same way, then their means with the output
projection and the add (fused.uniform_add). Otherwise, the torch path
runs it in chunks of queries sized to stay in cache, all heads at once, with the weights and
their row counts from one product against [v, 1] (0/1 weights times 1 sum exactly). When
every scored head is causal, a chunk scores only the keys up to its last query (smaller chunks
skip more of the hidden triangle), and future keys are hidden by adding a cached 0/-inf block
where no score can overflow (`_scores_finite`). A run of
columns at most twice as long as the columns a sublayer reads or writes is read or written
whole, as a slice (the columns between read 0 through the mask, or get + 0). A sparse enough
feed-forward (the wide models' threshold layers) runs as two CSR products, which add only
its nonzero terms: in the fused kernel where it is built and the input is finite, else by
torch (the kernel's rule, KERNEL_DENSITY, takes denser input matrices than torch's). A small
dense feed-forward (DENSE_KERNEL_WEIGHTS) runs as one pass of the fused kernel: pre-norm, both
products (every term in index order, or where at most SMALL_SPARSE_DENSITY of the weights are
nonzero, those terms only, in index order), relu and the add.

What changes is only the summation order of some dot products and of the attention sums, so
results agree with the full pass up to the rounding of a k-term sum, the first-order bound
gamma_k sum |terms| that holds for any order (tests/model/reference.py derives its bounds that
way, and the worst-case score rounding of the precision model, `precision.score_rounding_ulps`,
bounds every attention sum and product the same way): answers and decoded cells stay the same.
The p-bit emulation (`precision_bits`), traces, hooks and the softmax mode keep the full pass
(`UniversalTransformer.forward` picks), so trace and hook values do not change; emulation runs
its heads and feed-forwards in fused.c's emulating variants (`transformer.Attention._emulated`,
`FeedForward._emulated`), which round every operation as the full pass does.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass, field

import torch

from logdepth.model import fused

# Score block per chunk of queries: 2^19 values (4 MiB in float64, 2 MiB in float32) stays near
# the core while the passes over it run (product, row max, threshold, product with the values);
# of 2^15, 2^17, 2^19 and 2^21, 2^19 ran the wide model fastest at n = 4,096 and 8,192. The full
# pass's SCORE_BLOCK_ELEMENTS bounds memory; this bounds cache traffic.
CACHE_BLOCK_ELEMENTS = 1 << 19
# When every scored head is causal, a chunk of queries [i0, i1) scores keys [0, i1) only, so
# smaller chunks skip more of the hidden upper triangle: k chunks compute (k + 1) / 2k of the
# n^2 square instead of all of it. At least n / 8 rows (9/16 of the square) and 128 rows (a
# chunk's few operations cost more than the triangle they save below that): of splits 1, 2, 4,
# 8 and minimum rows 32, 64, 128, these ran the uniform, counting and wide models fastest at
# n = 256 and 1,024 (1 thread).
CAUSAL_SPLITS = 8
CAUSAL_MIN_ROWS = 128


@dataclass
class SublayerPlan:
    """Column gather/scatter of one sublayer: it reads `read` (with the mask's values there,
    None when all are 1) and adds its output into `write` (a slice when contiguous);
    `read_index` and `write_index` are the same columns as int64 tensors (the fused kernels
    take them either way)."""

    read: torch.Tensor | slice
    mask: torch.Tensor | None
    write: torch.Tensor | slice
    read_index: torch.Tensor = field(init=False)
    write_index: torch.Tensor = field(init=False)

    def __post_init__(self) -> None:
        device = self.mask.device if self.mask is not None else None
        self.read_index, self.write_index = (
            torch.arange(cols.start, cols.stop, device=device)
            if isinstance(cols, slice)
            else cols.to(torch.int64).contiguous()
            for cols in (self.read, self.write)
        )


@dataclass
class AttentionPlan(SublayerPlan):
    """The kept heads of one attention sublayer, projected by one matrix `qkv` [c, F]: the
    scored heads' queries and keys (`d_key` each), then every kept head's values (`d_val`
    each: scored heads first, then constant-score heads); `w_o` [heads * d_val, |write|]."""

    qkv: torch.Tensor
    scored_causal: torch.Tensor  # [scored heads] bool
    all_causal: bool  # every scored head causal: a chunk of queries scores the keys before it
    uniform_causal: tuple[bool, ...]
    d_key: int
    d_val: int
    w_o: torch.Tensor
    causal_heads: tuple[bool, ...]  # scored_causal as a tuple (a cache key, no tensor reads)
    causal_flags: torch.Tensor  # scored_causal as uint8, as the fused kernel reads it
    finite_scores: bool  # every score is finite, whatever the input: hide keys by adding -inf
    uniform_flags: torch.Tensor  # uniform_causal as uint8, as the fused kernel reads it
    # qkv as CSC (column starts, rows, values, used rows: _csc) where the kept heads are all
    # scored or all constant-score: the fused kernel then computes the pre-norm and
    # projection in one pass (fused.attention_inputs).
    projection: tuple[torch.Tensor, ...] | None = None


@dataclass
class FeedForwardPlan(SublayerPlan):
    """The live units of one feed-forward: w_in [c, units], w_out [units, |write|]; `csr`: the
    same two transposed as CSR matrices (W_in [units, c], W_out [|write|, units]) where the
    fused kernel runs the layer (`KERNEL_DENSITY`); `sparse`: the same pair where torch's CSR
    products run it when the kernel cannot (`SPARSE_DENSITY`)."""

    w_in: torch.Tensor
    w_out: torch.Tensor
    csr: tuple[torch.Tensor, torch.Tensor] | None = None
    sparse: tuple[torch.Tensor, torch.Tensor] | None = None
    small: bool = False  # at most DENSE_KERNEL_WEIGHTS: the whole sublayer in one pass (dense)
    # w_in and w_out as CSC where `small` and at most SMALL_SPARSE_DENSITY nonzero: that pass
    # then adds only their nonzero weights' terms (fused.dense_feed_forward's by_column).
    by_column: tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]] | None = None
    _float64: FeedForwardPlan | None = field(default=None, repr=False)

    def in_float64(self) -> FeedForwardPlan:
        """This plan with its matrices in float64 (built once): a float32 pass sums each dot
        product in float64 and rounds it once."""
        if self._float64 is None:
            def double(pair):
                return None if pair is None else tuple(w.double() for w in pair)

            self._float64 = FeedForwardPlan(
                read=self.read,
                mask=self.mask,
                write=self.write,
                w_in=self.w_in.double(),
                w_out=self.w_out.double(),
                csr=double(self.csr),
                sparse=double(self.sparse),
            )
        return self._float64


# A feed-forward runs as two sparse (CSR) products when both of its matrices are at most this
# dense and hold at least SPARSE_MIN_ENTRIES entries together: the wide models' threshold
# layers. One measurement of each wide layer at n = 256 and 1,024 (1 thread): at densities of
# 1-18 percent and 50K-75K entries the CSR pair ran 1.4-4.7x faster than the dense pair; at 64
# and 90 percent (the input matrices of the widest layers) 1.3-5.7x slower; under 5K entries
# it lost at n = 256. A CSR product adds only the nonzero terms of each dot product: the dense
# product's terms less exact zeros, in another order.
SPARSE_DENSITY = 0.25
SPARSE_MIN_ENTRIES = 1 << 14
# The fused kernel's sparse feed-forward costs about one vector operation per nonzero term and
# 8 tokens, so it pays from fewer entries and at a denser input matrix, measured over its two
# matrices together: of every feed-forward of at least 2^12 entries in the built-in models
# (1 thread, n = 256 and 1,024), those at most a quarter nonzero ran 1.0-12.8x faster as the
# kernel than as dense products (the wide models' widest threshold layers, 90 percent dense
# inputs and 22 percent together: 1.4-2.4x); one at 36 percent ran 0.9x at n = 256. The
# kernel sums each output unit by unit, which in float32 would put the widest layer's
# ~480-term cancelling sums past their step margin (docs/precision.md); it runs every layer
# in float64 (a float32 pass sums its feed-forwards in float64: _feed_forward_sublayer).
KERNEL_DENSITY = 0.25
KERNEL_MIN_ENTRIES = 1 << 12
# A dense feed-forward of at most this many weights runs as one pass of the fused kernel (its
# pre-norm, both products, relu and the add, a vector of tokens at a time in registers): every
# dense feed-forward of the built-in models with at most 992 weights ran 1.2-1.9x faster so at
# 4,128 tokens and 1.6-2.4x at 258 than as five operations (1 thread); random layers of 4,096
# weights ran 0.8-1.0x, of 32,768 0.7x (BLAS's blocked products win there). Float64 only: a
# float32 pass sums its feed-forwards in float64 (_feed_forward_sublayer).
DENSE_KERNEL_WEIGHTS = 1024
# A small layer at most this share nonzero adds only its nonzero weights' terms in that pass:
# star-free's and solvable's layers at 7 to 14 percent ran 1.06-1.25x faster so (one A/B run
# in one process, 4,128 tokens), those at 25 percent 0.90-0.93x (an index per term costs
# about what a zero term does there).
SMALL_SPARSE_DENSITY = 0.2


# A gather (index_select over the last dimension) or scatter (index_add_) of residual columns
# costs several times a pass over a contiguous run of them, so a sublayer reads or writes the
# whole run from its first to its last column when that run is at most this many times the
# columns it needs (the columns between read as 0 through the mask, or get + 0).
COVER_RATIO = 2


def _cover(index: torch.Tensor) -> torch.Tensor:
    """`index` (sorted), or every column from its first to its last where that run is at most
    COVER_RATIO times as long. A covered column the sublayer does not read has mask 0, so it
    enters as m * h = 0, as in the full pass (which reads every column through the mask); one
    it does not write gets the exact 0 of a zero row of W_O / W_out, as in the full pass."""
    if not len(index):
        return index
    lo, hi = int(index[0]), int(index[-1])
    if hi + 1 - lo <= COVER_RATIO * len(index):
        return torch.arange(lo, hi + 1, device=index.device)
    return index


def _cols(index: torch.Tensor) -> torch.Tensor | slice:
    """A slice when the columns are one contiguous run (a view, no gather), else the index."""
    if len(index) and int(index[-1] - index[0]) + 1 == len(index):
        return slice(int(index[0]), int(index[-1]) + 1)
    return index


def _mask(mask: torch.Tensor, read: torch.Tensor) -> torch.Tensor | None:
    values = mask[read]
    return None if bool((values == 1).all()) else values


def plan_attention(attn) -> AttentionPlan | None:
    """The compact plan of an `Attention` module (None: it adds exact zeros only)."""
    read = _cover(torch.nonzero(attn.mask, as_tuple=True)[0])
    if not len(read):
        return None
    w_q, w_k, w_v = (getattr(attn, m)[..., read] for m in ("W_Q", "W_K", "W_V"))
    heads, d_value = w_v.shape[0], w_v.shape[1]
    w_o = attn.W_O.reshape(attn.W_O.shape[0], heads, d_value)  # [d_model, heads, d_value]
    value_dims = [
        torch.nonzero((w_v[h] != 0).any(1) & (w_o[:, h] != 0).any(0), as_tuple=True)[0]
        for h in range(heads)
    ]
    key_dims = [
        torch.nonzero((w_q[h] != 0).any(1) & (w_k[h] != 0).any(1), as_tuple=True)[0]
        for h in range(heads)
    ]
    kept = [h for h in range(heads) if len(value_dims[h])]
    scored = [h for h in kept if len(key_dims[h])]
    uniform = [h for h in kept if not len(key_dims[h])]
    order = scored + uniform
    if not order:
        return None
    write = _cover(
        torch.nonzero(
            torch.stack([(w_o[:, h][:, value_dims[h]] != 0).any(1) for h in order]).any(0),
            as_tuple=True,
        )[0]
    )
    d_key = max((len(key_dims[h]) for h in scored), default=0)
    d_val = max(len(value_dims[h]) for h in order)
    c, dtype = len(read), w_v.dtype

    def padded(rows: torch.Tensor, dims: torch.Tensor, width: int) -> torch.Tensor:
        out = torch.zeros(width, c, dtype=dtype, device=rows.device)
        out[: len(dims)] = rows[dims]
        return out

    blocks = [padded(w_q[h], key_dims[h], d_key) for h in scored]
    blocks += [padded(w_k[h], key_dims[h], d_key) for h in scored]
    blocks += [padded(w_v[h], value_dims[h], d_val) for h in order]
    w_out = torch.zeros(len(order), d_val, len(write), dtype=dtype, device=w_v.device)
    for slot, h in enumerate(order):
        w_out[slot, : len(value_dims[h])] = w_o[write][:, h][:, value_dims[h]].T
    causal = attn.shape.causal
    qkv = torch.cat(blocks).T.contiguous()
    return AttentionPlan(
        read=_cols(read),
        mask=_mask(attn.mask, read),
        write=_cols(write),
        qkv=qkv,
        scored_causal=torch.tensor([causal[h] for h in scored], device=w_v.device),
        all_causal=all(causal[h] for h in scored),
        uniform_causal=tuple(causal[h] for h in uniform),
        d_key=d_key,
        d_val=d_val,
        w_o=w_out.reshape(len(order) * d_val, len(write)).contiguous(),
        causal_heads=tuple(causal[h] for h in scored),
        causal_flags=torch.tensor(
            [causal[h] for h in scored], dtype=torch.uint8, device=w_v.device
        ),
        finite_scores=_scores_finite(blocks[: len(scored)], blocks[len(scored) : 2 * len(scored)]),
        uniform_flags=torch.tensor(
            [causal[h] for h in uniform], dtype=torch.uint8, device=w_v.device
        ),
        projection=None if scored and uniform else _csc(qkv),
    )


def _csc(matrix: torch.Tensor):
    """(column starts, rows, values, used rows) of a dense [c, F] matrix: int64, int64, its
    dtype and int64 (the rows holding a nonzero, ascending); None where this device has no
    sparse conversion."""
    try:
        with warnings.catch_warnings():  # torch calls its CSR support beta
            warnings.simplefilter("ignore", UserWarning)
            by_column = matrix.T.contiguous().to_sparse_csr()  # CSR of the transpose
    except (RuntimeError, NotImplementedError):
        return None
    index = (by_column.crow_indices(), by_column.col_indices())
    starts, rows = (t.to(torch.int64).contiguous() for t in index)
    used = torch.nonzero((matrix != 0).any(1), as_tuple=True)[0].to(torch.int64).contiguous()
    return starts, rows, by_column.values().contiguous(), used


def _scores_finite(w_q: list[torch.Tensor], w_k: list[torch.Tensor]) -> bool:
    """Whether no score can overflow. The prenorm makes |z| <= 1 (up to a few ulps), so a
    query's dimension d is at most |W_Q row d| and a score at most sum_d |W_Q row d| |W_K row d|
    (Cauchy-Schwarz per dimension); half the dtype's largest value leaves room for the rounding
    of the norm and of the sums. Then a finite score + (-inf) = -inf and + 0 leaves it exact,
    so a bias add hides the future keys as masked_fill does, in one vectorized pass."""
    if not w_q:
        return True
    norm = torch.linalg.vector_norm
    bound = sum(
        float((norm(q.double(), dim=1) * norm(k.double(), dim=1)).sum())
        for q, k in zip(w_q, w_k, strict=True)
    )
    return bound < torch.finfo(w_q[0].dtype).max / 2


def plan_feed_forward(mlp) -> FeedForwardPlan | None:
    """The compact plan of a `FeedForward` module (None: it adds exact zeros only)."""
    read = _cover(torch.nonzero(mlp.mask, as_tuple=True)[0])
    w_in = mlp.W_in[:, read]
    live = torch.nonzero((w_in != 0).any(1) & (mlp.W_out != 0).any(0), as_tuple=True)[0]
    if not len(read) or not len(live):
        return None
    w_out = mlp.W_out[:, live]
    write = _cover(torch.nonzero((w_out != 0).any(1), as_tuple=True)[0])
    w_in, w_out = w_in[live], w_out[write]  # [units, c], [|write|, units]
    small = w_in.numel() + w_out.numel() <= DENSE_KERNEL_WEIGHTS
    return FeedForwardPlan(
        read=_cols(read),
        mask=_mask(mlp.mask, read),
        write=_cols(write),
        w_in=w_in.T.contiguous(),
        w_out=w_out.T.contiguous(),
        **_sparse_pairs(w_in, w_out),
        small=small,
        by_column=_by_column(w_in.T, w_out.T) if small else None,
    )


def _by_column(w_in: torch.Tensor, w_out: torch.Tensor):
    """The CSC forms of a small layer's w_in [c, units] and w_out [units, w], where at most
    SMALL_SPARSE_DENSITY of their weights are nonzero and this device converts them."""
    nonzero = int((w_in != 0).sum() + (w_out != 0).sum())
    if nonzero > SMALL_SPARSE_DENSITY * (w_in.numel() + w_out.numel()):
        return None
    pair = (_csc(w_in), _csc(w_out))
    return None if None in pair else pair


def _sparse_pairs(w_in: torch.Tensor, w_out: torch.Tensor) -> dict:
    """The plan's `csr` and `sparse` pairs of (w_in, w_out) (see FeedForwardPlan)."""
    entries = w_in.numel() + w_out.numel()
    nonzero = int((w_in != 0).sum() + (w_out != 0).sum())
    kernel = entries >= KERNEL_MIN_ENTRIES and nonzero <= KERNEL_DENSITY * entries
    density = max(float((w != 0).float().mean()) for w in (w_in, w_out))
    torch_too = entries >= SPARSE_MIN_ENTRIES and density <= SPARSE_DENSITY
    pair = _csr_pair(w_in, w_out) if kernel or torch_too else None
    return {"csr": pair if kernel else None, "sparse": pair if torch_too else None}


def _csr_pair(w_in: torch.Tensor, w_out: torch.Tensor):
    """(w_in, w_out) as CSR matrices, None where this device has no CSR product."""
    try:
        with warnings.catch_warnings():  # torch calls its CSR support beta
            warnings.simplefilter("ignore", UserWarning)
            pair = (w_in.contiguous().to_sparse_csr(), w_out.contiguous().to_sparse_csr())
            probe = torch.zeros(w_in.shape[1], 1, dtype=w_in.dtype, device=w_in.device)
            pair[1] @ (pair[0] @ probe)
    except (RuntimeError, NotImplementedError):
        return None
    return pair


def _prenorm(h: torch.Tensor, plan: SublayerPlan, tokens_last: bool = False) -> torch.Tensor:
    """norm(m * h) over the read columns (norm(0) = 0), as `transformer.masked_prenorm`: one
    pass of the fused kernel (fused.py) where it is built, else these torch operations.
    `tokens_last`: stored tokens along the rows where the kernel runs (fused.gather_norm)."""
    if fused.applies(h) and h.is_contiguous():
        return fused.gather_norm(h, plan.read_index, plan.mask, tokens_last)
    fresh = not isinstance(plan.read, slice)
    x = h.index_select(-1, plan.read) if fresh else h[..., plan.read]
    if plan.mask is not None:
        x, fresh = x * plan.mask, True
    # A zero norm becomes infinite: every finite x / inf is 0, as norm(0) = 0 reads, with one
    # pass over x (the division) instead of a division and a select.
    norm = torch.linalg.vector_norm(x, dim=-1, keepdim=True)
    norm.masked_fill_(norm == 0, float("inf"))
    return x.div_(norm) if fresh else x / norm


def _add(h: torch.Tensor, plan: SublayerPlan, delta: torch.Tensor) -> None:
    """h[..., write] += delta in place (the other cells get + 0, which leaves them as they are):
    by the fused kernel (fused.py) where it is built, else by torch."""
    if fused.applies(h) and h.is_contiguous():
        fused.scatter_add(h, plan.write_index, delta)
        return
    write = plan.write
    if isinstance(write, slice):
        h[..., write] += delta
    else:
        h.index_add_(-1, write, delta)


def _feed_forward_sublayer(h: torch.Tensor, plan: FeedForwardPlan) -> None:
    """h += the feed-forward sublayer's output, in place. Float32: pre-norm, then both products
    with the plan's float64 matrices, each dot product rounded once (transformer._dot_once says
    why). Float64: a small dense layer in one pass of the fused kernel where it is built
    (fused.dense_feed_forward), else pre-norm, products, add."""
    # The sparse kernel reads and writes tokens along the rows: so does the pre-norm then.
    tokens_last = plan.csr is not None
    if h.dtype == torch.float32:
        # Each dot product rounded once (transformer._dot_once): the products in float64.
        z = _prenorm(h, plan, tokens_last).double()
        _add(h, plan, _feed_forward(z, plan.in_float64()).float())
        return
    if plan.small and fused.applies(h) and h.is_contiguous():
        fused.dense_feed_forward(
            h, plan.read_index, plan.mask, plan.w_in, plan.w_out, plan.write_index, plan.by_column
        )
        return
    _add(h, plan, _feed_forward(_prenorm(h, plan, tokens_last), plan))


def _feed_forward(z: torch.Tensor, plan: FeedForwardPlan) -> torch.Tensor:
    """relu(z W_in) W_out, in blocks of tokens whose hidden units fit the cache block (a wide
    threshold layer has thousands of units: the hidden activations are its largest tensor)."""
    batch, n, _ = z.shape
    if plan.csr is not None and fused.applies(z) and math.isfinite(float(z.sum())):
        # The fused kernel (fused.py): each sum adds its row's nonzero terms, tokens blocked.
        return fused.sparse_feed_forward(z.reshape(batch * n, -1), *plan.csr).reshape(
            batch, n, -1
        )
    units = plan.w_in.shape[1]
    rows = max(1, CACHE_BLOCK_ELEMENTS // units)
    if plan.sparse is not None:  # W_in^T and W_out^T times the tokens as columns
        w_in, w_out = plan.sparse
        tokens = z.reshape(batch * n, -1).T  # [c, tokens]
        out = torch.empty(w_out.shape[0], batch * n, dtype=z.dtype, device=z.device)
        for start in range(0, batch * n, rows):
            stop = min(batch * n, start + rows)
            out[:, start:stop] = w_out @ torch.relu_(w_in @ tokens[:, start:stop])
        return out.T.reshape(batch, n, -1)
    if batch * n <= rows:
        return torch.relu_(z @ plan.w_in) @ plan.w_out
    flat = z.reshape(batch * n, -1)
    out = torch.empty(batch * n, plan.w_out.shape[1], dtype=z.dtype, device=z.device)
    hidden = torch.empty(rows, units, dtype=z.dtype, device=z.device)
    for start in range(0, batch * n, rows):
        stop = min(batch * n, start + rows)
        block = torch.mm(flat[start:stop], plan.w_in, out=hidden[: stop - start]).relu_()
        torch.mm(block, plan.w_out, out=out[start:stop])
    return out.view(batch, n, -1)


class CompactForward:
    """The compact plan of a whole network: per stored layer, its attention and feed-forward
    plans (None where a sublayer adds exact zeros only)."""

    def __init__(self, network) -> None:
        self.layers: dict[str, tuple[AttentionPlan | None, FeedForwardPlan | None]] = {}
        with torch.no_grad():
            for part in ("initial", "repeated", "final"):
                for k, layer in enumerate(getattr(network, part)):
                    attn = plan_attention(layer.attn) if layer.shape.n_heads else None
                    mlp = plan_feed_forward(layer.mlp) if layer.shape.d_ff else None
                    self.layers[f"{part}.{k}"] = (attn, mlp)

    def run(
        self,
        network,
        tokens: torch.Tensor,
        lengths: torch.Tensor,
        depth: int,
        residuals: list[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Logits [batch, outputs] at each last position, as `UniversalTransformer.forward`.

        `residuals`, when given, receives a copy of the stream after the embedding and after
        every sublayer the full pass's trace records (`Trace.residuals`' steps), for checks."""
        batch, n = tokens.shape
        # A fresh tensor, updated in place below (index_select: 2x faster than embed[tokens]).
        h = network.embed.index_select(0, tokens.reshape(-1)).view(batch, n, -1)
        positions = torch.arange(n, device=tokens.device)
        valid = positions[None, :] < lengths[:, None]
        state = _Scratch(h, valid, lengths, network.tie_tolerance)
        if residuals is not None:
            residuals.append(h.clone())
        for prefix in network.schedule(depth):
            attn, mlp = self.layers[prefix]
            # (the stored shape says which sublayers the trace records: read only for checks)
            shape = network.layer(prefix).shape if residuals is not None else None
            if attn is not None:
                state.sublayer(h, attn)
            if shape is not None and shape.n_heads:
                residuals.append(h.clone())
            if mlp is not None:
                _feed_forward_sublayer(h, mlp)
            if shape is not None and shape.d_ff:
                residuals.append(h.clone())
        last = h[torch.arange(batch, device=tokens.device), lengths - 1]
        return last @ network.unembed.T


class _Scratch:
    """What one forward pass shares across its layers: validity masks, the tie tolerance and
    the reusable score buffer."""

    def __init__(
        self, h: torch.Tensor, valid: torch.Tensor, lengths: torch.Tensor, tol: float
    ) -> None:
        self.valid = valid
        self.lengths = lengths.to(torch.int64).contiguous()  # as the fused kernel reads them
        self.length_range = (int(lengths.min()), int(lengths.max()))
        self.shortest = self.length_range[0]
        self.tol = tol
        self.dtype, self.device = h.dtype, h.device
        self.scores = torch.empty(0, dtype=h.dtype, device=h.device)
        self.futures: dict[tuple[int, int, int], torch.Tensor] = {}
        self.biases: dict[tuple[int, int, int, tuple[bool, ...]], torch.Tensor] = {}

    # Made on first use: the kernels' path needs neither.
    @functools.cached_property
    def positions(self) -> torch.Tensor:
        return torch.arange(self.valid.shape[1], device=self.device)

    @functools.cached_property
    def counts(self) -> torch.Tensor:
        """1..n as [1, n, 1, 1]: the number of keys a causal query sees."""
        n = self.valid.shape[1]
        return torch.arange(1, n + 1, dtype=self.dtype, device=self.device)[None, :, None, None]

    def _future(self, start: int, stop: int, keys: int) -> torch.Tensor:
        """[stop - start, keys - start]: key j > query i, for queries start..stop (cached: the
        layers of one pass share their chunking)."""
        block = self.futures.get((start, stop, keys))
        if block is None:
            p = self.positions
            block = self.futures[(start, stop, keys)] = p[None, start:keys] > p[start:stop, None]
        return block

    def _bias(
        self, start: int, stop: int, keys: int, plan: AttentionPlan
    ) -> torch.Tensor:
        """0 where a key is visible, -inf where a causal head hides it (key j > query i), on the
        diagonal block [heads or 1, stop - start, keys - start] (cached per chunk and heads)."""
        tag = () if plan.all_causal else plan.causal_heads
        bias = self.biases.get((start, stop, keys, tag))
        if bias is None:
            future = self._future(start, stop, keys)
            if not plan.all_causal:
                future = future & plan.scored_causal[:, None, None]
            bias = torch.zeros(future.shape, dtype=self.dtype, device=self.device)
            bias.masked_fill_(future, float("-inf"))
            self.biases[(start, stop, keys, tag)] = bias
        return bias

    def sublayer(self, h: torch.Tensor, plan: AttentionPlan) -> None:
        """h += the attention sublayer's output, in place: in the fused kernels where they
        apply (`_laid_out`), else pre-norm, `attention`, add."""
        if not self._laid_out(h, plan):
            _add(h, plan, self.attention(plan, _prenorm(h, plan)))

    def _laid_out(self, h: torch.Tensor, plan: AttentionPlan) -> bool:
        """Whether it added the output of a sublayer whose heads are all scored, or all
        constant-score, into h by the fused kernels: the pre-norm and the projection in one
        pass written as the attention kernel reads them (fused.attention_inputs), then the
        attention (fused.attend) and the output projection with the add (fused.project_add),
        or for constant scores the heads' means with the projection and the add in one pass
        (fused.uniform_add): no [N, c] pre-norm, [N, F] product, layout copies or
        [N, |write|] output. Float64 only (float32 keeps `hard_attention`'s subnormal
        handling) and with finite queries, keys and values (else False, h unchanged, and the
        other path runs)."""
        if (
            plan.projection is None
            or h.dtype != torch.float64
            or not plan.finite_scores
            or not fused.applies(h)
            or not h.is_contiguous()
        ):
            return False
        batch, n, _ = h.shape
        heads, dk, dv = plan.scored_causal.shape[0], plan.d_key, plan.d_val
        if not heads:  # constant-score heads only: their values (dk = 0), then their means
            heads = len(plan.uniform_causal)
        laid_out = fused.attention_inputs(
            h, plan.read_index, plan.mask, plan.projection, heads, dk, dv
        )
        if laid_out is None:  # a query, key or value that is not finite
            return False
        q, k_t, v_t = laid_out
        if plan.uniform_causal:
            fused.uniform_add(
                h, v_t, plan.uniform_flags, self.lengths, plan.write_index, plan.w_o,
                length_range=self.length_range,
            )
            return True
        out = torch.empty(batch, n, heads, dv, dtype=h.dtype, device=h.device)
        fused.attend(
            q, k_t, v_t, plan.causal_flags, self.lengths, self.tol, out,
            length_range=self.length_range,
        )
        fused.project_add(h, plan.write_index, out, plan.w_o)
        return True

    def attention(self, plan: AttentionPlan, z: torch.Tensor) -> torch.Tensor:
        """The attention sublayer's output on the write columns: [batch, n, |write|]."""
        batch, n, _ = z.shape
        qkv = z @ plan.qkv  # [b, n, F]: one projection for every head's query, key and value
        hs, dk, dv = plan.scored_causal.shape[0], plan.d_key, plan.d_val
        heads = hs + len(plan.uniform_causal)
        out = torch.empty(batch, n, heads, dv, dtype=z.dtype, device=z.device)
        values = qkv[..., 2 * hs * dk :].view(batch, n, heads, dv)
        if hs:
            self._scored(plan, qkv, values[:, :, :hs], out[:, :, :hs])
        for slot, causal in enumerate(plan.uniform_causal, start=hs):
            v = values[:, :, slot : slot + 1]
            if causal:  # the mean of v_0..v_i: a prefix sum over the count
                mean = out[:, :, slot : slot + 1]
                torch.div(torch.cumsum(v, dim=1), self.counts[:, :n], out=mean)
            else:  # the mean over the valid keys, the same for every query
                if self.shortest < n:
                    v = v * self.valid[:, :, None, None]
                mean = v.sum(dim=1, keepdim=True) / self.lengths.to(z.dtype)[:, None, None, None]
                out[:, :, slot : slot + 1] = mean
        return out.view(batch, n, heads * dv) @ plan.w_o

    def _scored(
        self, plan: AttentionPlan, qkv: torch.Tensor, values: torch.Tensor, out: torch.Tensor
    ) -> None:
        """Averaging-hard attention of the scored heads: by the fused kernel where it applies
        (`_fused`), else in cache-sized chunks of queries."""
        # A sum is finite only if every term is (an overflowing sum of finite terms only sends
        # the layer down the torch path): one pass instead of isfinite's three.
        if plan.finite_scores and fused.applies(qkv) and math.isfinite(float(qkv.sum())):
            self._fused(plan, qkv, values, out)
            return
        batch, n, _ = qkv.shape
        hs, dk, dv = plan.scored_causal.shape[0], plan.d_key, plan.d_val
        # The queries as a strided view (each chunk's rows are a plain matrix to a matmul); the
        # keys transposed once per layer, so that every chunk reads a row-major [dk, keys]
        # prefix instead of copying a strided one.
        q = qkv[..., : hs * dk].view(batch, n, hs, dk).transpose(1, 2)  # [b, hs, n, dk]
        k_t = qkv[..., hs * dk : 2 * hs * dk].view(batch, n, hs, dk).permute(0, 2, 3, 1)
        k_t = k_t.contiguous()  # [b, hs, dk, n]
        # [v, 1]: one product gives the weighted sums and the weights' row sums.
        v1 = torch.ones(batch, hs, n, dv + 1, dtype=qkv.dtype, device=qkv.device)
        v1[..., :dv] = values.transpose(1, 2)
        causal, all_causal = plan.scored_causal, plan.all_causal
        chunk = max(1, min(n, CACHE_BLOCK_ELEMENTS // max(1, batch * hs * n)))
        if all_causal:
            chunk = min(chunk, max(CAUSAL_MIN_ROWS, -(-n // CAUSAL_SPLITS)))
        need = batch * hs * chunk * n
        if self.scores.numel() < need:
            self.scores = torch.empty(need, dtype=qkv.dtype, device=qkv.device)
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            keys = stop if all_causal else n
            scores = self.scores[: batch * hs * (stop - start) * keys]
            scores = scores.view(batch, hs, stop - start, keys)
            torch.matmul(q[:, :, start:stop], k_t[..., :keys], out=scores)
            if keys <= start or not any(plan.causal_heads):
                pass  # no causal head, or no key past these queries
            elif plan.finite_scores:
                # The causal heads' diagonal block: keys j > i are hidden (+ -inf; + 0 exact).
                scores[..., start:keys] += self._bias(start, stop, keys, plan)
            else:
                future = self._future(start, stop, keys)
                if all_causal:
                    scores[..., start:keys].masked_fill_(future, float("-inf"))
                else:
                    scores[..., start:keys].masked_fill_(
                        future & causal[:, None, None], float("-inf")
                    )
            if self.shortest < keys:
                scores.masked_fill_(~self.valid[:, None, None, :keys], float("-inf"))
            # 1 on the keys scoring within the tolerance of the row maximum (the full pass's
            # heaviside(s - (best - tol)) is the same test), written over the scores.
            torch.ge(scores, scores.amax(dim=-1, keepdim=True) - self.tol, out=scores)
            sums = scores @ v1[:, :, :keys]
            out[:, start:stop] = (sums[..., :dv] / sums[..., dv:]).transpose(1, 2)

    def _fused(
        self, plan: AttentionPlan, qkv: torch.Tensor, values: torch.Tensor, out: torch.Tensor
    ) -> None:
        """`_scored` by the fused kernel (fused.py): one sweep over each query's keys instead of
        four passes over a score block. Only with finite queries, keys and values and scores
        that cannot overflow: the torch path defines how a NaN or infinity spreads."""
        batch, n, _ = qkv.shape
        hs, dk = plan.scored_causal.shape[0], plan.d_key
        q = qkv[..., : hs * dk].view(batch, n, hs, dk).transpose(1, 2)
        k = qkv[..., hs * dk : 2 * hs * dk].view(batch, n, hs, dk).transpose(1, 2)
        v = values.transpose(1, 2)
        fused.hard_attention(q, k, v, plan.scored_causal, self.lengths, self.tol, out)
