"""Batched p-bit emulation: one forward pass with a different p per row computes, row by row,
bit for bit what each row computes alone at its own p; `least_bits` built on it finds the p
the one-p-at-a-time search finds."""

from __future__ import annotations

import random

import pytest
import torch

import logdepth
from logdepth.precision import MAX_EMULATED_BITS, MIN_EMULATED_BITS
from logdepth.verify import precision as vprecision
from logdepth.verify.precision import Case, all_right, cases_for, least_bits, right_at

BASICS = "examples/basics.ld"


@pytest.fixture(scope="module")
def models() -> dict[str, logdepth.CompiledModel]:
    spec = logdepth.parse_file(BASICS)
    return {
        "faithful": logdepth.compile(spec["parity"]),
        "wide": logdepth.compile(spec["parity"], construction="wide"),
        "a5 wide": logdepth.compile(spec["a5"], construction="wide"),
        "graph": logdepth.compile_connectivity(),
        "graph wide": logdepth.compile_connectivity(construction="wide"),
    }


def _run(
    model: logdepth.CompiledModel, cases: list[Case], bits
) -> tuple[torch.Tensor, torch.Tensor]:
    """The emulated logits of `cases` (of one size, padded to the longest) in one forward at
    `bits`, and the residual stream after the last layer (every position, every cell)."""
    vocab = {t: k for k, t in enumerate(model.config.vocab)}
    width = max(len(c.tokens) for c in cases)
    ids = torch.zeros(len(cases), width, dtype=torch.long)
    for row, case in enumerate(cases):
        ids[row, : len(case.tokens)] = torch.tensor([vocab[t] for t in case.tokens])
    lengths = torch.tensor([len(c.tokens) for c in cases])
    depth = model.config.depth_rule.depth(model.input_size(cases[0].tokens))
    network = model.network
    last = network.layer(network.schedule(depth)[-1])
    seen: list[torch.Tensor] = []
    handle = last.hook_resid_post.register_forward_hook(lambda m, i, out: seen.append(out))
    network.precision_bits = bits
    try:
        with torch.no_grad():
            logits = network(ids, lengths, depth)
    finally:
        network.precision_bits = None
        handle.remove()
    return logits, seen[-1]


# Below this p the unrounded float64 intermediate is exact to far below 2^-p
# (UniversalTransformer.round), so a row's result does not depend on the batch it runs in (the
# BLAS may sum a product in another order for another batch shape: at p = 51 the float64 ulp
# of that order shows through the rounding, batched or not, per-row bits or one p).
BATCH_FREE_BITS = 44


@pytest.mark.parametrize(
    ("name", "n"), [("faithful", 16), ("wide", 32), ("a5 wide", 8), ("graph", 3), ("graph wide", 4)]
)
def test_per_row_bits_match_each_row_alone_bit_for_bit(models, name, n):
    """Rows at p = 6, 13, 21, 30, 51 (and one p twice) in one forward: each row's logits and
    final residual stream are the very float64 values the row gives alone with
    precision_bits = its p (p <= BATCH_FREE_BITS), and the very values the same batch gives
    with every row at that p (any p)."""
    model = models[name]
    cases = cases_for(model, n, k=2, seed=5)
    ps = [6, 13, 21, 30, 51, 13]
    rows = [cases[k % len(cases)] for k in range(len(ps))]
    logits, residual = _run(model, rows, torch.tensor(ps))
    for row, (case, p) in enumerate(zip(rows, ps, strict=True)):
        same_logits, same_residual = _run(model, rows, p)
        assert torch.equal(logits[row], same_logits[row]), (name, p)
        assert torch.equal(residual[row], same_residual[row]), (name, p)
        if p <= BATCH_FREE_BITS:
            alone_logits, alone_residual = _run(model, [case], p)
            assert torch.equal(logits[row], alone_logits[0]), (name, p)
            length = len(case.tokens)
            assert torch.equal(residual[row, :length], alone_residual[0]), (name, p)
    # The rows' p matter: row 0 (p = 6) alone at p = 30 has another residual stream.
    assert not torch.equal(residual[0, : len(rows[0].tokens)], _run(model, [rows[0]], 30)[1][0])


def test_per_row_tie_tolerance_scales_row_by_row(models):
    """Each row's tie tolerance is the stored one times 2^(52 - p) of its own p."""
    network = models["wide"].network
    network.precision_bits = torch.tensor([10, 40])
    try:
        got = network.tie_tolerance.flatten().tolist()
    finally:
        network.precision_bits = None
    stored = network.config.tie_tolerance
    assert got == [stored * 2.0**42, stored * 2.0**12]


@pytest.mark.parametrize("bad", [0, 52, -3, 2.5, True, torch.tensor([[8]]), torch.tensor([8.0])])
def test_bad_precision_bits_are_refused(models, bad):
    with pytest.raises(ValueError, match="precision_bits"):
        models["wide"].network.precision_bits = bad
    assert models["wide"].network.precision_bits is None


def test_per_row_bits_must_match_the_batch(models):
    model = models["faithful"]
    cases = cases_for(model, 8, k=1, seed=0)
    with pytest.raises(ValueError, match="rows"):
        _run(model, cases, torch.tensor([20, 30, 40]))


@pytest.mark.slow
def test_right_at_agrees_with_all_right_per_p(models):
    """right_at's verdict for each p is all_right's at that p (the one-p forward)."""
    model = models["wide"]
    cases = cases_for(model, 128, k=2, seed=0)
    ps = [8, 10, 11, 12, 13, 14, 20]
    assert right_at(model, cases, ps) == {p: all_right(model, cases, p) for p in ps}


def reference_search(right, lo=MIN_EMULATED_BITS, hi=MAX_EMULATED_BITS, guess=None):
    """The search as it was before batching, over right(p): step from a guess, or gallop up
    from lo and bisect. The independent reference (one forward per probed p)."""
    if guess is not None and lo <= guess <= hi:
        if right(guess):
            p = guess
            while p > MIN_EMULATED_BITS and right(p - 1):
                p -= 1
            return p
        p = guess + 1
        while p <= hi and not right(p):
            p += 1
        return p if p <= hi else None
    lo = max(lo, MIN_EMULATED_BITS)
    if lo > MIN_EMULATED_BITS and right(lo - 1):
        lo = MIN_EMULATED_BITS
    step, probe = 1, lo
    while probe < hi and not right(probe):
        lo, probe, step = probe + 1, min(hi, probe + step), 2 * step
    if probe >= hi and not right(hi):
        return None
    hi = probe
    while hi > lo:
        mid = (lo + hi) // 2
        if right(mid):
            hi = mid
        else:
            lo = mid + 1
    return hi


@pytest.mark.parametrize(
    ("name", "n", "hints"),
    [
        ("faithful", 32, {}),
        pytest.param("faithful", 128, {"lo": 21, "guess": 25}, marks=pytest.mark.slow),
        ("wide", 64, {"lo": 10}),
        pytest.param("wide", 512, {"lo": 13, "guess": 16}, marks=pytest.mark.slow),
        ("graph", 3, {}),
        pytest.param("graph wide", 4, {"lo": 15, "guess": 15}, marks=pytest.mark.slow),
    ],
)
def test_least_bits_is_the_sequential_search_answer(models, name, n, hints):
    model = models[name]
    cases = cases_for(model, n, k=2, seed=0)
    for given in (hints, {}):
        want = reference_search(lambda p: all_right(model, cases, p), **given)  # noqa: B023
        assert want is not None
        assert least_bits(model, cases, **given) == want, given


def _table(threshold: int | None, calls: list[list[int]]):
    """A stand-in for right_at: p is right iff p >= threshold (never, for None)."""

    def fake(model, cases, bits):
        calls.append(list(bits))
        return {p: threshold is not None and p >= threshold for p in bits}

    return fake


@pytest.mark.parametrize("fits", [1, 2, 5, 1000])
def test_the_search_finds_every_threshold_from_any_hint(monkeypatch, fits):
    """For every monotone verdict table (least right p anywhere in 4..51, or none), every
    guess and lo hint, and forwards holding 1, 2, 5 or all p: the least right p, and every p
    probed once."""
    monkeypatch.setattr(vprecision, "rows_per_forward", lambda model, tokens: fits)
    cases = [Case(["x"], "y")]
    for threshold in [*range(MIN_EMULATED_BITS, MAX_EMULATED_BITS + 1), None]:
        for hint in [{}, {"lo": 10}, {"lo": 30}, {"guess": 12}, {"lo": 20, "guess": 40}]:
            calls: list[list[int]] = []
            monkeypatch.setattr(vprecision, "right_at", _table(threshold, calls))
            assert least_bits(None, cases, **hint) == threshold, (threshold, hint)
            probed = [p for call in calls for p in call]
            assert len(probed) == len(set(probed)), (threshold, hint, calls)
            assert all(MIN_EMULATED_BITS <= p <= MAX_EMULATED_BITS for p in probed)


@pytest.mark.parametrize("fits", [1, 1000])
def test_the_reference_answer_without_monotonicity(monkeypatch, fits):
    """With verdicts that are not monotone in p (a few inputs can come out right at too few
    bits by luck), the answer is still the one-p-at-a-time search's, and it ran right while
    p - 1 ran wrong (or p is the floor); None only when hi ran wrong."""
    monkeypatch.setattr(vprecision, "rows_per_forward", lambda model, tokens: fits)
    rng = random.Random(7)
    for _ in range(300):
        table = {p: rng.random() < 0.3 for p in range(MIN_EMULATED_BITS, MAX_EMULATED_BITS + 1)}

        def fake(model, cases, bits, table=table):
            return {p: table[p] for p in bits}

        monkeypatch.setattr(vprecision, "right_at", fake)
        lo = rng.randrange(MIN_EMULATED_BITS, MAX_EMULATED_BITS + 1)
        guess = rng.choice([None, rng.randrange(MIN_EMULATED_BITS, MAX_EMULATED_BITS + 1)])
        p = least_bits(None, [Case(["x"], "y")], lo=lo, guess=guess)
        assert p == reference_search(table.__getitem__, lo=lo, guess=guess)
        if p is None:
            assert not table[MAX_EMULATED_BITS]
        else:
            assert table[p] and (p == MIN_EMULATED_BITS or not table[p - 1])
