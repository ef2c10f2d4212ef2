"""Verification of the constant-depth modular counting transformer (constructions/counting.py)
against the automaton it came from.

Everything is checked through the weights: answers come from `model.accepts_batch` (the forward
pass), the per-token values are decoded from the residual stream of `model.trace` by cell name.
Nothing here imports `logdepth.constructions`: what the compiler claims (the modulus m, the
weights k_sigma, the accepted residues R, the counts N_b and their weights w_b) is read from
the weight file's report and checked against the automaton before it is used to decode.

- The claim decides the automaton's language: a breadth-first search of the product of the
  automaton's DFA and Z_m (reading sigma adds k_sigma) finds no reachable pair (q, r) with
  [q accepting] != [r in R]; and sum_b w_b [sigma in S_b] = k_sigma (mod m) for every symbol.
- Every word up to `exhaustive`, random words up to `max_length`, and uniformly drawn accepted
  (and rejected) words at every length run (`verify.words.run_words`), answered like the
  automaton.
- Per token t of a few traced words (Lemma 1's per-position values; counting.py's layer table):
  after layer 6, count.b = phi(lambda N_b(t)); after layer 7, part.b = w_b N_b(t) mod m; after
  layer 8, residue = c_t mod m with c_t = sum_{j <= t} k_{w_j}.
- The layer count is COUNTING_LAYERS for every length checked and for n = 1, 8, 4096, 10^6,
  and every trace runs that many layers.
- Longer words (accepted, random, rejected) at F/2^k toward the stored frontier F, within the
  budget (`verify.words.Budget`); then the stored frontier curve n(p): words of the predicted
  length at an affordable p under p-bit emulation (`verify.precision.all_right`).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping, Sequence
from typing import Any

from logdepth import catalog
from logdepth.automata.dfa import DFA
from logdepth.automata.nfa import NFA
from logdepth.automata.words import format_word
from logdepth.model.compiled import CompiledModel
from logdepth.verify.report import Progress, VerifyReport
from logdepth.verify.words import (
    Budget,
    check_constant_layers,
    check_traced_cells,
    clamp_to_frontier,
    probe_frontier,
    run_words,
    words_details,
)

# The catalog entry this verifier serves (its config name is read from the catalog, not
# restated here).
ENTRY = "counting"
# Lemma 1's 7 layers and the answer layer, for every n: the catalog's (7, 0, 1).
COUNTING_LAYERS = catalog.get(ENTRY).offset
# Layer ends (0-based) where the decoded cells are live: the counts after layer 6, the parts
# after layer 7, the residue after layer 8 (counting.py's layer table).
COUNTS_AT, PARTS_AT, RESIDUE_AT = 5, 6, 7
DEFAULT_MAX_LENGTH = 64
DEFAULT_SAMPLES = 200
DEFAULT_BUDGET_S = 30.0


def _claim(model: CompiledModel) -> dict[str, Any]:
    report = model.extra.get("report") or {}
    expected = catalog.get(ENTRY).config_name
    if model.config.construction != expected:
        raise ValueError(
            f"verify_counting checks {expected!r} models, not {model.config.construction!r}"
        )
    return {
        "m": int(report["modulus"]),
        "weights": {str(a): int(k) for a, k in report["weights"].items()},
        "residues": {int(r) for r in report["residues"]},
        "counts": [(int(c["weight"]), set(c["symbols"])) for c in report["counts"]],
        "scale": float(report["position_scale"]),
    }


def language_mismatch(
    automaton: DFA | NFA, modulus: int, weights: Mapping[str, int], residues: set[int]
) -> tuple[str, ...] | None:
    """A shortest word on which the automaton and "sum k_sigma #_sigma mod m in R" disagree,
    or None when they define the same language (breadth-first search of the product)."""
    dfa = automaton.determinize() if isinstance(automaton, NFA) else automaton
    start = (dfa.start, 0)
    parent: dict[tuple[str, int], tuple[tuple[str, int], str] | None] = {start: None}
    queue = [start]
    for q, r in queue:
        if (q in dfa.accept) != (r in residues):
            word: list[str] = []
            at: tuple[str, int] = (q, r)
            while parent[at] is not None:
                at, a = parent[at]  # type: ignore[misc]
                word.append(a)
            return tuple(reversed(word))
        for a in dfa.alphabet:
            nxt = (dfa.delta[(q, a)], (r + weights[a]) % modulus)
            if nxt not in parent:
                parent[nxt] = ((q, r), a)
                queue.append(nxt)
    return None


def expected_cells(claim: dict[str, Any], word: Sequence[str]) -> dict[str, list]:
    """What counting.py's cells hold at tokens 0..n + 1 (BoS, the word, $): N_b(t), part.b
    = w_b N_b(t) mod m and residue = c_t mod m (the $ token adds nothing)."""
    m = claim["m"]
    tokens = [None, *word, None]
    out: dict[str, list] = {}
    for b, (weight, symbols) in enumerate(claim["counts"]):
        running = list(itertools.accumulate(int(a in symbols) for a in tokens))
        out[f"count.{b}"] = running
        out[f"part.{b}"] = [weight * n % m for n in running]
    c = itertools.accumulate(0 if a is None else claim["weights"][a] for a in tokens)
    out["residue"] = [x % m for x in c]
    return out


def check_cells(model: CompiledModel, claim: dict[str, Any], word: Sequence[str]) -> list[str]:
    """Trace `word` and compare the decoded counts, parts and residue at every token with
    `expected_cells`; returns the differences found (empty when all hold)."""
    trace = model.trace(list(word))
    ends = trace.layer_ends()
    errors = []
    if len(ends) != COUNTING_LAYERS:
        errors.append(f"the trace ran {len(ends)} layers, expected {COUNTING_LAYERS}")
        return errors
    want = expected_cells(claim, word)
    shown = format_word(word, model.alphabet) or "(empty)"
    for name, values in want.items():
        if name.startswith("count."):
            got = [float(z) / claim["scale"] for z in trace.decode(name, ends[COUNTS_AT])]
            bad = [t for t, (g, w) in enumerate(zip(got, values, strict=True)) if abs(g - w) > 1e-3]
        else:
            step = ends[PARTS_AT] if name.startswith("part.") else ends[RESIDUE_AT]
            got = list(trace.decode(name, step))
            bad = [t for t, (g, w) in enumerate(zip(got, values, strict=True)) if g != str(w)]
        if bad:
            t = bad[0]
            errors.append(f"{shown}: token {t} holds {name} = {got[t]}, expected {values[t]}")
    return errors


def _check_claim(claim: dict, automaton: DFA | NFA, report: VerifyReport) -> bool:
    """Step 1: the stored weights and residues decide the automaton's language, and the counts
    add up to the weights (mod m). False when the claim cannot be checked further."""
    m, weights, residues = claim["m"], claim["weights"], claim["residues"]
    alphabet = list(automaton.alphabet)
    report.checks += 1
    if set(weights) != set(alphabet):
        report.fail("the report's weights do not name the automaton's alphabet")
        return False
    word = language_mismatch(automaton, m, weights, residues)
    if word is not None:
        text = format_word(word, alphabet)
        report.fail(
            f"the stored weights and residues mod {m} do not decide the automaton's language: "
            f"they disagree on {text!r}",
            counterexample=text,
        )
        return False
    for a in alphabet:
        report.checks += 1
        total = sum(w for w, symbols in claim["counts"] if a in symbols) % m
        if total != weights[a] % m:
            report.fail(f"the counts weigh {a!r} {total}, its weight is {weights[a]} (mod {m})")
    report.lines.append(
        f"the report's counting claim (mod {m}, residues {sorted(residues)}, "
        f"{len(claim['counts'])} counts) decides the automaton's language"
    )
    return True


def verify_counting(
    model: CompiledModel,
    automaton: DFA | NFA | None = None,
    *,
    max_length: int | None = None,
    samples: int | None = None,
    exhaustive: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    budget_s: float | None = None,
) -> VerifyReport:
    """Check a counting-mod transformer against its automaton (module docstring). `automaton`
    defaults to the spec the weight file carries; `max_length` (default 64) is capped at the
    stored frontier; `samples` random words (default 200); `exhaustive` (default: every word
    while there are at most 2,048) is the longest length checked word by word; `budget_s`
    (default 30) the seconds spent on longer words toward the stored frontier."""
    samples = DEFAULT_SAMPLES if samples is None else samples
    budget = Budget(DEFAULT_BUDGET_S if budget_s is None else budget_s)
    report = VerifyReport()
    if automaton is None:
        spec = model.extra.get("spec")
        if spec is None:
            report.fail("the weight file carries no spec to verify against")
            return report
        kind = NFA if model.extra.get("spec_type") == "nfa" else DFA
        automaton = kind.from_dict(spec)
    try:
        claim = _claim(model)
    except (KeyError, TypeError, ValueError) as err:
        report.fail(f"the weight file's report does not describe a counting model: {err}")
        return report
    # 1. The claim decides the automaton's language, and the counts add up to the weights.
    if not _check_claim(claim, automaton, report):
        return report

    # 2. Words through the forward pass.
    frontier = model.frontier if model.frontier is not None else -1
    limit = clamp_to_frontier(
        model, DEFAULT_MAX_LENGTH if max_length is None else max_length, report
    )
    if limit < 0:
        return report
    rng = random.Random(seed)
    run = run_words(model, automaton, limit, samples, exhaustive, seed, budget, report, progress)

    # 3. The layer count is the constant.
    check_constant_layers(model, COUNTING_LAYERS, run.lengths, report)

    # 4. Per-token values decoded from traces.
    traced, cell_errors = check_traced_cells(
        model,
        automaton,
        limit,
        rng,
        budget,
        report,
        lambda w: check_cells(model, claim, w),
        "count.b, part.b and residue hold N_b(t), w_b N_b(t) mod m and c_t mod m",
    )

    # 5. Longer words toward the stored frontier within the budget, then the precision
    # model's prediction n(p) at an affordable p under emulation.
    longest, emulated = probe_frontier(
        model, automaton, max(run.longest, 0), budget, seed, report
    )
    report.details = {
        **words_details(run),
        "max_length": limit,
        "largest_n_run": longest,
        "mismatches": len(run.mismatches),
        "traced": traced,
        "cell_errors": cell_errors,
        "layers": COUNTING_LAYERS,
        "emulated": emulated,
        "dtype": model.dtype_name,
        "frontier": frontier,
        "budget_s": budget.seconds,
    }
    return report
