"""What `least_bits` spends and what it guarantees. A right p costs every input of the set, a
wrong one usually one input, so the set is searched by its first input alone and then run
whole at that input's p. From a sweep's guess the search steps one bit at a time, so it never
skips a p: below the least p an input can come out right by luck (an island), and a search
that jumps can land there. Checked on stand-in verdict tables."""

from __future__ import annotations

from logdepth.precision import MAX_EMULATED_BITS, MIN_EMULATED_BITS
from logdepth.verify.precision import SEARCH_WINDOW, sequential_search


def test_from_a_guess_no_p_is_skipped_so_an_island_below_is_never_the_answer():
    """Right from `top` up, wrong below it except at one lucky island: from any guess at or
    above `top` the answer is `top`, and every p from the guess down to it ran (and ran right);
    a bisection from the guess would land on the island for some of these."""
    bits = range(MIN_EMULATED_BITS, MAX_EMULATED_BITS + 1)
    for top in range(MIN_EMULATED_BITS + 3, 40):
        for island in range(MIN_EMULATED_BITS, top - 1):
            for guess in range(top, min(top + 8, MAX_EMULATED_BITS) + 1):
                probed: list[int] = []

                def verdict(p: int, top=top, island=island, probed=probed) -> bool:
                    probed.append(p)
                    return p >= top or p == island

                assert sequential_search(verdict, guess=guess) == top, (top, island, guess)
                assert set(range(top, guess + 1)) <= set(probed)
                assert island not in probed
    assert all(MIN_EMULATED_BITS <= p <= MAX_EMULATED_BITS for p in bits)


def test_a_guess_too_low_steps_up_and_never_passes_the_ceiling():
    for threshold in range(MIN_EMULATED_BITS, MAX_EMULATED_BITS + 1):
        for guess in range(MIN_EMULATED_BITS, threshold):
            probed: list[int] = []

            def verdict(p: int, threshold=threshold, probed=probed) -> bool:
                probed.append(p)
                return p >= threshold

            assert sequential_search(verdict, guess=guess) == threshold, (threshold, guess)
            assert probed == list(range(guess, threshold + 1))
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
    """Per-input thresholds: the answer is the largest, whichever input holds it; when every
    input needs the same p, the set costs one full run of its inputs plus the first input's
    probes (searching the whole set from the guess ran it whole at t + 1 and at t)."""
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
    # The set once, and the first input's probes from the guess (t + 1, t, t - 1), which the
    # lookahead runs in two forwards of at most SEARCH_WINDOW p, one row each.
    assert sum(rows) <= k + 2 * SEARCH_WINDOW


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
