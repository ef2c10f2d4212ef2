"""A length the budget cuts part-way is reported as skipped, not as a hole in the sweep.

With a fast forward pass the budget can run out between the forward passes of one length (at
long lengths a pass holds one or two words), so that length may have run its accepted word and
not yet its rejected one. `report_words` must not call that a missing class; a fully run length
without one still fails."""

from __future__ import annotations

import logdepth
from logdepth.automata.sample import WordCounter
from logdepth.verify.report import VerifyReport
from logdepth.verify.words import Budget, LengthCount, WordRun, report_words

PARITY = logdepth.parse_file("examples/basics.ld")["parity"]
N = 4095


def _report(skipped: list[int]) -> VerifyReport:
    counter = WordCounter(PARITY)
    assert counter.has_words(N, True) and counter.has_words(N, False)
    run = WordRun(limit=2 * N, exhaustive_length=2, counter=counter)
    run.lengths[N] = LengthCount(N, accepted=1, rejected=0, language_accepts=True,
                                 language_rejects=True)
    run.skipped_lengths = skipped
    run.skipped_words = 3 if skipped else 0
    report = VerifyReport()
    report_words(run, counter, list(PARITY.alphabet), Budget(1.0), report)
    return report


def test_a_length_cut_by_the_budget_is_skipped_not_missing():
    report = _report([N, 2 * N])
    assert not any("no rejected word ran" in line for line in report.lines), report.lines
    assert any(line.startswith("skipped for the budget") for line in report.lines)


def test_a_fully_run_length_without_a_rejected_word_still_fails():
    report = _report([])
    assert not report.ok
    assert any(f"rejects words of length {N} but no rejected word ran" in line
               for line in report.lines)
