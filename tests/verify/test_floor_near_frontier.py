"""verify spends the budget the compact forward pass saves on more words near the frontier
(`verify.words.more_near_frontier`, after the probe and the emulated check)."""

from __future__ import annotations

import pytest

import logdepth
from logdepth.verify.report import VerifyReport
from logdepth.verify.words import NEAR_FRONTIER_ROUNDS, Budget, probe_frontier

PARITY = logdepth.parse_file("examples/basics.ld")["parity"]


@pytest.fixture(scope="module")
def parity32():
    """Parity by modular counting in float32 (8 layers, a stored frontier of 110): a cheap
    probe."""
    return logdepth.compile(PARITY, construction="counting").to("float32")


def _probe(model, seconds: float) -> VerifyReport:
    report = VerifyReport()
    probe_frontier(model, PARITY, 64, Budget(seconds), 0, report)
    return report


@pytest.mark.slow  # about 3 s idle: 8 rounds of words and a 23-bit emulated check at n = 110
def test_budget_left_runs_more_words_at_the_longest_length(parity32):
    report = _probe(parity32, 600.0)
    near = [line for line in report.lines if line.startswith("near the frontier")]
    assert report.ok and near, report.lines
    n = parity32.frontier
    assert near[0].endswith(f"more at n = {n}")
    # An accepted and a random word (and a rejected one when both are accepted) per round.
    words = int(near[0].split(":")[1].split()[0])
    assert 2 * NEAR_FRONTIER_ROUNDS <= words <= 3 * NEAR_FRONTIER_ROUNDS


def test_no_budget_left_runs_no_more_words(parity32):
    report = _probe(parity32, 0.0)
    assert not any(line.startswith("near the frontier") for line in report.lines)


def test_a_wrong_answer_near_the_frontier_fails(parity32, monkeypatch):
    """The extra rounds are checked, not just run: a model that is wrong there fails."""
    import logdepth.verify.words as words

    calls = []

    def wrong_after_the_probe(model, cases, bits):
        calls.append(bits)
        return len(calls) <= 2  # the probe's length and the emulated check pass

    monkeypatch.setattr(words, "all_right", wrong_after_the_probe)
    report = _probe(parity32, 600.0)
    assert not report.ok
    assert calls[-1] is None and len(calls) == 3  # the first extra round failed, and stopped
    # The failure names the length; the word itself is quoted from a second run (which the
    # patched check cannot make fail, so it says it was not reproduced).
    assert report.lines[-1].startswith(
        "FAIL: a word of length 110 (inside the stored frontier) is wrong: "
    )
