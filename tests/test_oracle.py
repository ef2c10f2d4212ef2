"""`verify --oracle module:function` and `logdepth.verify(..., oracle=fn)`: the user's function
decides each input; a wrong one is caught with a quoted counterexample, a right one passes, and
a bad one is a clear error."""

from __future__ import annotations

import itertools
from functools import cache
from pathlib import Path

import pytest

import logdepth
from logdepth.cli import main
from logdepth.verify.connectivity import reachability

BASICS = Path(__file__).resolve().parents[1] / "examples" / "basics.ld"
# Short runs: every word up to length 5, a few samples up to 6, nothing past them.
QUICK = ["--max-length", "6", "--exhaustive", "5", "--samples", "4", "--budget", "0"]
HELPERS = '''
def right(word):
    return word.count("1") % 2 == 0

def wrong(word):  # says reject on the even words of length 5
    return word.count("1") % 2 == 0 and len(word) != 5

def not_bool(word):
    return 1

def raises(word):
    raise ValueError("cannot decide")

not_callable = 3
'''
_names = itertools.count()


@cache
def parity():
    return logdepth.compile(logdepth.parse_file(BASICS)["parity"])


@pytest.fixture
def oracle_module(tmp_path, monkeypatch):
    """A helper module in a fresh current directory, under a name no other test imported."""
    name = f"parity_oracles_{next(_names)}"
    (tmp_path / f"{name}.py").write_text(HELPERS)
    parity().save(tmp_path / "parity.safetensors")
    monkeypatch.chdir(tmp_path)
    return name


def test_a_wrong_oracle_is_caught_with_a_quoted_counterexample(oracle_module, capsys):
    code = main(["verify", "parity.safetensors", "--oracle", f"{oracle_module}:wrong", *QUICK])
    out = capsys.readouterr().out
    assert code == 1
    assert f"answers decided by the oracle {oracle_module}:wrong" in out
    # The shortest even word of length 5, both answers.
    assert (
        f"shortest '00000': the oracle {oracle_module}:wrong rejects it, the transformer "
        "accepts it" in out
    )
    assert "shortest counterexample: '00000'" in out
    # The oracle decides answers, not coverage: the words run are the automaton's accepted and
    # rejected ones, so the wrong answers are the only failure.
    failures = [line for line in out.splitlines() if line.startswith("FAIL: ")]
    assert len(failures) == 1 and "answered wrongly" in failures[0], failures


def test_a_right_oracle_passes(oracle_module, capsys):
    code = main(["verify", "parity.safetensors", "--oracle", f"{oracle_module}:right", *QUICK])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"against the oracle {oracle_module}:right" in out and "OK:" in out


@pytest.mark.parametrize(
    "target, message",
    [
        ("{m}:not_bool", "returned 1 (int) on the word () (the empty word); it must return True"),
        ("{m}:raises", "raised ValueError: cannot decide (on the word ()"),
        ("{m}:not_callable", "not_callable is a int, not a function"),
        ("{m}:missing", "has no attribute 'missing'"),
        ("no_such_module_here:f", "no module named 'no_such_module_here'"),
        ("{m}", "--oracle takes module:function"),
    ],
)
def test_a_bad_oracle_is_a_clear_error(oracle_module, capsys, target, message):
    oracle = target.format(m=oracle_module)
    code = main(["verify", "parity.safetensors", "--oracle", oracle, *QUICK])
    err = capsys.readouterr().err
    assert code == 1
    assert message in err and "Traceback" not in err


def test_the_api_passes_words_as_tuples_of_symbols():
    seen: list = []

    def decide(word):
        seen.append(word)
        return word.count("1") % 2 == 0

    report = logdepth.verify(parity(), oracle=decide, max_length=4, samples=4, budget_s=0)
    assert report.ok, report.lines
    assert report.details["oracle"].endswith("decide")
    assert () in seen and ("0", "1", "1") in seen
    assert all(isinstance(w, tuple) and all(isinstance(a, str) for a in w) for w in seen)
    wrong = logdepth.verify(parity(), oracle=lambda w: True, max_length=4, samples=4, budget_s=0)
    assert not wrong.ok and wrong.counterexample == "1"


def test_a_graph_oracle_decides_connectivity_queries():
    model = logdepth.compile_connectivity()

    def connected(adjacency, source, target):
        assert isinstance(adjacency, tuple) and isinstance(source, int)
        return bool(reachability(adjacency)[source, target])

    options = {"max_length": 2, "samples": 2, "budget_s": 0}  # no frontier probe
    assert logdepth.verify(model, oracle=connected, **options).ok

    def negated(adjacency, source, target):  # wrong on every query
        return not connected(adjacency, source, target)

    report = logdepth.verify(model, oracle=negated, **options)
    assert not report.ok
    failure = next(line for line in report.lines if line.startswith("FAIL"))
    assert "the oracle" in failure and "the transformer" in failure and "edges=[" in failure
