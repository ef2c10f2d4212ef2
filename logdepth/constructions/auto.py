"""construction="auto": the construction a language's class calls for (logdepth.classify).

Which constructions serve which class is the catalog's: each entry's `serves` names the classes
it may be built for and why, and auto tries the entries serving the language's class in
catalog order (`catalog.serving`), then the auto entry's `fallback` option. Built in: an
aperiodic monoid (star-free) gets `starfree`; a solvable one `counting` (a cyclic group) or
else `solvable`; anything else, or a build those refuse, the log-depth fallback `wide` (the
depth NC1-complete languages need unless TC0 = NC1). A plug-in that declares `serves` joins
the choice.

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
from logdepth.gaps.auto import chosen_entry
from logdepth.model.compiled import CompiledModel


def compile_auto(
    automaton: DFA | NFA, source: str | None = None, *, fallback: str
) -> CompiledModel:
    """Classify the language and compile it with the construction its class calls for (module
    docstring): the catalog's entries serving the class (`catalog.serving`), in order, then
    `fallback` (the catalog entry's option); the report's "chosen" record says which and why."""
    if not isinstance(automaton, DFA | NFA):
        raise CompileError(f"cannot compile a {type(automaton).__name__} as a regular language")
    try:
        found = classify(automaton)
    except CompileError as err:
        language_class, certificate, tried = "unknown", None, [f"classify refused: {err}"]
        candidates: list[tuple[catalog.Construction, str]] = []
    else:
        language_class = found.language_class
        certificate = found.to_json()["certificate"]
        candidates, tried = catalog.serving(language_class), []
    for entry, why in candidates:
        try:
            model = build(entry, automaton, source=source)
        except CompileError as err:
            tried.append(f"{entry.name} refused: {err}")
            continue
        return _record(model, entry.name, language_class, why, certificate, tried)
    why = {
        "non-solvable": "non-solvable syntactic monoid: NC1-complete, log depth (unless TC0 = "
        "NC1)",
        "solvable": "solvable, but the constant-depth constructions refused it (see refused), "
        "so log depth",
    }.get(language_class, "no constant-depth construction applies, so log depth")
    model = build(catalog.get(fallback), automaton, source=source)
    return _record(model, fallback, language_class, why, certificate, tried)


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
    entry = chosen_entry(report)
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


__all__ = ["compile_auto", "layers_of", "verify_auto"]
