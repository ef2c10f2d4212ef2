"""What the search guarantees from a sweep's guess: it steps one bit at a time, so it never
skips a p. Below the least p an input set can come out right by luck (an island), and a search
that jumps down from the guess can land there (a galloping version reported p = 13 for the
wide parity model at n = 16,384, against 15 at 8,192). Checked on stand-in verdict tables."""

from __future__ import annotations

from logdepth.precision import MAX_EMULATED_BITS, MIN_EMULATED_BITS
from logdepth.verify.precision import sequential_search


def test_from_a_guess_no_p_is_skipped_so_an_island_below_is_never_the_answer():
    """Right from `top` up, wrong below it except at one lucky island: from any guess at or
    above `top` the answer is `top`, and every p from the guess down to it ran (and ran right);
    a bisection from the guess would land on the island for some of these."""
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
