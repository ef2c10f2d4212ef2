"""What `least_bits` spends: a right p costs every input of the set, a wrong one usually one
input, so the search from a sweep's guess (the precision model's sufficient p) should probe
few right p. Counted on stand-in verdict tables, one p per probe (no lookahead)."""

from __future__ import annotations

import pytest

from logdepth.precision import MAX_EMULATED_BITS, MIN_EMULATED_BITS
from logdepth.verify.precision import sequential_search


def _probes(threshold: int, guess: int) -> tuple[int | None, list[int], list[int]]:
    """The answer, and the right and the wrong p probed, for p right iff p >= threshold."""
    right: list[int] = []
    wrong: list[int] = []

    def verdict(p: int) -> bool:
        (right if p >= threshold else wrong).append(p)
        return p >= threshold

    return sequential_search(verdict, guess=guess), right, wrong


@pytest.mark.parametrize("threshold", [MIN_EMULATED_BITS + 1, 21, 27, 46])
def test_a_guess_one_bit_high_costs_one_right_p_and_one_wrong(threshold):
    """The Theorem 1 models' case (guess 28, least p 27 at n = 256): p and p - 1 only."""
    p, right, wrong = _probes(threshold, guess=threshold + 1)
    assert p == threshold
    assert (right, wrong) == ([threshold], [threshold - 1])


@pytest.mark.parametrize("threshold", [MIN_EMULATED_BITS + 1, 21, 27, 46])
def test_an_exact_guess_costs_one_right_p(threshold):
    p, right, wrong = _probes(threshold, guess=threshold)
    assert p == threshold and right == [threshold] and len(wrong) <= 2


@pytest.mark.parametrize("above", [2, 4, 6, 9, 15])
def test_a_guess_far_above_gallops_down(above):
    """The wide models' case (guess 16, least p 10): about log2(above) right p, not one per
    bit as stepping down would (7 right p at 6 bits above)."""
    threshold = 10
    p, right, wrong = _probes(threshold, guess=threshold + above)
    assert p == threshold
    stepping = above + 1  # right p probed stepping down one bit at a time from the guess
    assert len(right) <= 2 * (above - 1).bit_length() + 1  # gallop, then bisection
    assert len(right) < stepping and (above < 4 or len(right) < above)
    assert len(set(right + wrong)) == len(right + wrong)  # no p probed twice


def test_a_guess_too_low_gallops_up_and_never_passes_the_ceiling():
    for threshold in range(MIN_EMULATED_BITS, MAX_EMULATED_BITS + 1):
        for guess in range(MIN_EMULATED_BITS, threshold):
            p, right, wrong = _probes(threshold, guess)
            assert p == threshold, (threshold, guess)
            assert all(MIN_EMULATED_BITS <= q <= MAX_EMULATED_BITS for q in right + wrong)
    assert sequential_search(lambda p: False, guess=20) is None


def _per_case(monkeypatch, tables: list[dict[int, bool]]) -> list[int]:
    """Stand-ins for `right_at` and `case_verdicts` over per-case verdict tables (case i is
    `Case([str(i)], ...)`); returns the list that counts the rows they run."""
    from logdepth.verify import precision as vprecision

    rows: list[int] = []

    def right_at(model, cases, bits):
        rows.append(len(cases) * len(bits))
        return {p: all(tables[int(c.tokens[0])][p] for c in cases) for p in bits}

    def case_verdicts(model, cases, p):
        rows.append(len(cases))
        return [tables[int(c.tokens[0])][p] for c in cases]

    monkeypatch.setattr(vprecision, "right_at", right_at)
    monkeypatch.setattr(vprecision, "case_verdicts", case_verdicts)
    monkeypatch.setattr(vprecision, "rows_per_forward", lambda model, tokens: 1000)
    return rows


def test_a_set_is_searched_by_its_first_case_then_checked_whole(monkeypatch):
    """Per-case thresholds: the answer is the largest, whichever case holds it; when every
    case needs the same p, the set costs one full run of its cases plus the first case's
    probes."""
    import random

    from logdepth.verify.precision import Case, least_bits

    rng = random.Random(3)
    bits = range(MIN_EMULATED_BITS, MAX_EMULATED_BITS + 1)
    for _ in range(200):
        k = rng.randrange(1, 9)
        thresholds = [rng.randrange(MIN_EMULATED_BITS, 30) for _ in range(k)]
        rows = _per_case(monkeypatch, [{p: p >= t for p in bits} for t in thresholds])
        cases = [Case([str(i)], "y") for i in range(k)]
        guess = rng.choice([None, max(thresholds) + rng.randrange(0, 8)])
        assert least_bits(None, cases, guess=guess) == max(thresholds), (thresholds, guess)
    k, t = 64, 21
    rows = _per_case(monkeypatch, [{p: p >= t for p in bits}] * k)
    assert least_bits(None, [Case([str(i)], "y") for i in range(k)], guess=t + 1) == t
    assert sum(rows) <= k + 2 * 3  # the set once, and the first case's probes (<= 3 a forward)


def test_without_monotonicity_the_answer_ran_right_on_every_case(monkeypatch):
    """Verdicts that are not monotone in p: the p returned ran right on every case and p - 1
    ran wrong on one of them (or p is the floor); None only when some case ran wrong at the
    ceiling."""
    import random

    from logdepth.verify.precision import Case, least_bits

    rng = random.Random(11)
    bits = range(MIN_EMULATED_BITS, MAX_EMULATED_BITS + 1)
    for _ in range(300):
        k = rng.randrange(1, 6)
        tables = [{p: rng.random() < 0.6 for p in bits} for _ in range(k)]
        _per_case(monkeypatch, tables)
        guess = rng.choice([None, rng.randrange(MIN_EMULATED_BITS, MAX_EMULATED_BITS + 1)])
        p = least_bits(None, [Case([str(i)], "y") for i in range(k)], guess=guess)
        if p is None:
            assert not all(t[MAX_EMULATED_BITS] for t in tables)
        else:
            assert all(t[p] for t in tables)
            assert p == MIN_EMULATED_BITS or not all(t[p - 1] for t in tables)
