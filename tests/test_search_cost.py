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
