"""construction="auto": the construction a language's class calls for (logdepth.classify).

- aperiodic syntactic monoid (star-free): `starfree`, 2 layers per cascade level for every n;
- a cyclic group (modular counting) that the counting construction accepts: `counting`, 8 layers
  for every n;
- any other solvable monoid: `solvable`, the cascade of reset levels and Z_p counters, a
  constant set by the decomposition (docs/solvable.md);
- otherwise (non-solvable, or a build the constant-depth constructions refuse): `wide`,
  Theorem 1 with bit-vector positions, ceil(log2 n) + 8 layers (the log depth that
  NC1-complete languages need unless TC0 = NC1).

The built model is the chosen construction's own (its file names that construction, so verify,
inspect and load treat it as such); its report gains a "chosen" record: the construction, the
class, why, and classify's certificate (or why classification was skipped).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from logdepth import catalog
from logdepth.automata.classes import classify
from logdepth.automata.dfa import DFA
from logdepth.automata.nfa import NFA
from logdepth.build import build
from logdepth.errors import CompileError
from logdepth.gaps.auto import chosen_entry as _chosen
from logdepth.model.compiled import CompiledModel

# The fallback: every regular language, log depth, the widest frontier of the log-depth ones.
FALLBACK = "wide"


def _candidates(language_class: str) -> list[tuple[str, str]]:
    """(construction, why) to try in order for a class; the fallback comes last."""
    if language_class == "aperiodic":
        return [
            ("starfree", "aperiodic syntactic monoid (every maximal subgroup trivial): star-free, "
             "a cascade of reset levels in constant depth"),
        ]
    if language_class == "solvable":
        return [
            ("counting", "solvable syntactic monoid; a cyclic group is modular counting in "
             "constant depth"),
            ("solvable", "solvable syntactic monoid: a cascade of reset levels and Z_p counters "
             "(Krohn-Rhodes, composition series) in constant depth"),
        ]
    return []


def compile_auto(automaton: DFA | NFA, source: str | None = None) -> CompiledModel:
    """Classify the language and compile it with the construction its class calls for (module
    docstring); the report's "chosen" record says which and why."""
    if not isinstance(automaton, DFA | NFA):
        raise CompileError(f"cannot compile a {type(automaton).__name__} as a regular language")
    try:
        found = classify(automaton)
    except CompileError as err:
        language_class, certificate, tried = "unknown", None, [f"classify refused: {err}"]
        candidates: list[tuple[str, str]] = []
    else:
        language_class = found.language_class
        certificate = found.to_json()["certificate"]
        candidates, tried = _candidates(language_class), []
    for name, why in candidates:
        try:
            model = build(catalog.get(name), automaton, source=source)
        except CompileError as err:
            tried.append(f"{name} refused: {err}")
            continue
        return _record(model, name, language_class, why, certificate, tried)
    why = {
        "non-solvable": "non-solvable syntactic monoid: NC1-complete, log depth (unless TC0 = "
        "NC1)",
        "solvable": "solvable, but the constant-depth constructions refused it (see refused), "
        "so log depth",
    }.get(language_class, "no constant-depth construction applies, so log depth")
    model = build(catalog.get(FALLBACK), automaton, source=source)
    return _record(model, FALLBACK, language_class, why, certificate, tried)


def _record(
    model: CompiledModel,
    name: str,
    language_class: str,
    why: str,
    certificate: Any,
    tried: list[str],
) -> CompiledModel:
    report = model.extra.setdefault("report", {})
    report["chosen"] = {
        "construction": name,
        "class": language_class,
        "reason": why,
        "certificate": certificate,
        "refused": tried,
    }
    return model


def layers_of(report: Mapping[str, Any]) -> int:
    """The chosen construction's layer count for its build (the catalog's `depth` hook; a
    log-depth choice has no one count, so this is for the constant-depth ones)."""
    entry = _chosen(report)
    if entry.depth is not None:
        return entry.layers(0, report=dict(report))
    if entry.slope == 0:
        return entry.offset
    raise CompileError(f"auto chose {entry.name}, whose layer count grows with n")


def verify_auto(model: CompiledModel, *args: Any, **kwargs: Any) -> Any:
    """Verify with the chosen construction's verifier (the file names it)."""
    entry = catalog.of_config(model.config.construction)
    if entry is None:
        raise CompileError(f"no construction is registered as {model.config.construction!r}")
    return entry.verify_function()(model, *args, **kwargs)


__all__ = ["FALLBACK", "compile_auto", "layers_of", "verify_auto"]
