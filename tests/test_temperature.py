"""Softmax temperature (verify/temperature.py): the least beta reproducing hard attention."""

from __future__ import annotations

from pathlib import Path

from logdepth.constructions.regular import compile_regular
from logdepth.dsl import parse_file
from logdepth.verify.precision import cases_for
from logdepth.verify.temperature import least_beta, softmax_answers

SPEC = parse_file(Path(__file__).resolve().parents[1] / "examples" / "basics.ld")


def test_least_beta_is_tight_and_softmax_restores_hard_answers():
    model = compile_regular(SPEC["parity"], construction="wide")
    cases = cases_for(model, 8, 2, 1)
    hard = softmax_answers(model, cases, None)
    assert hard == [c.want for c in cases]
    beta = least_beta(model, cases)
    assert beta is not None and beta > 1
    assert softmax_answers(model, cases, beta) == hard
    assert softmax_answers(model, cases, 2 * beta) == hard
    # a quarter of it does not reproduce every answer (the search found a real threshold)
    assert softmax_answers(model, cases, beta / 4) != hard
    # the network is left in hard mode
    assert model.network.attention_mode == "hard"
