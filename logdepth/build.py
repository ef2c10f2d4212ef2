"""The one compile driver: catalog entry -> Program -> hygiene -> assemble -> report -> model.

`build(entry, obj, ...)` is what `logdepth.compile`, the cascades' `auto` and the CLI's
`compile` run. It checks the request against the entry (an automaton or nothing, max_length
for a non-uniform build only), then builds:

- an entry with `program` gives a `Program` (constructions' named cells and layers, and in
  its `facts` what the builder learned for the report: the encoding, the minimised automaton,
  a cascade's plan); `compiler.assemble` checks its hygiene ledger and assembles the dense
  network; the entry's `report` (if any) describes the build, called with the program and,
  if it names them, the `network`, the compiled `obj` and the `entry`; the driver makes the
  CompiledModel (for a word model, with the spec it verifies against and the source text);
- an entry with `build` runs those steps itself, in its own module (auto, which builds with
  the entry it chooses), and returns the CompiledModel;

then writes the entry's config name into the model's config (a construction's files name it
from the catalog; an auto build names the entry it chose) and applies the entry's `finish`
(word models: the spec's element names).
"""

from __future__ import annotations

import inspect
from dataclasses import replace
from typing import Any

from logdepth.catalog import Construction, get, names, resolve
from logdepth.errors import CompileError
from logdepth.model.compiled import CompiledModel


def check_request(
    entry: Construction, obj: Any, max_length: Any = None, source: Any = None
) -> None:
    """Refuse, before any work, what the entry cannot build (CompileError says why)."""
    from logdepth.automata.dfa import DFA
    from logdepth.automata.nfa import NFA

    if max_length is not None and (
        isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1
    ):
        raise CompileError(f"max_length must be a positive integer, not {max_length!r}")
    if source is not None and not isinstance(source, str):
        raise CompileError(f"source must be the spec text (a str), not {type(source).__name__}")
    if entry.accepts == "automaton" and not isinstance(obj, DFA | NFA):
        kind = type(obj).__name__
        graphs = next(iter(names("graph")), None)
        hint = ""
        if graphs and kind == "Graph":
            hint = f" (graphs compile with construction={graphs!r})"
        raise CompileError(f"cannot compile a {kind} as a regular language{hint}")
    if entry.needs_max_length and max_length is None:
        raise CompileError(
            f"the {entry.name} construction ({entry.reference}) needs max_length: it is built "
            "for inputs up to that length"
        )
    if not entry.needs_max_length and max_length is not None:
        raise CompileError(
            f"max_length is for a non-uniform construction; {entry.name} serves every input "
            "size up to its frontier"
        )
    if entry.accepts == "graph" and obj is not None:
        raise CompileError(
            f"the {entry.name} construction takes no automaton or graph: one set of weights "
            "serves every graph"
        )


def build(
    entry: Construction | str,
    obj: Any = None,
    *,
    max_length: int | None = None,
    source: str | None = None,
) -> CompiledModel:
    """Compile `obj` (a DFA or NFA, or nothing for a graph construction) with `entry` (a
    catalog entry or its name); see the module docstring for the steps."""
    if isinstance(entry, str):
        entry = get(entry)
    check_request(entry, obj, max_length, source)
    args = [] if entry.accepts == "graph" else [obj]
    kwargs: dict[str, Any] = dict(entry.options)
    if max_length is not None:
        kwargs["max_length"] = max_length
    function = entry.builder()
    if "entry" in inspect.signature(function).parameters:
        kwargs["entry"] = entry
    if entry.program is not None:
        model = _assemble(entry, function(*args, **kwargs), obj, source)
    else:
        if source is not None and entry.accepts != "graph":
            kwargs["source"] = source
        model = function(*args, **kwargs)
    model = _named(entry, model)
    return resolve(entry.finish)(model) if entry.finish else model


def _assemble(entry: Construction, program: Any, obj: Any, source: str | None) -> CompiledModel:
    """Program -> hygiene -> assemble -> report -> model."""
    from logdepth.compiler.assemble import assemble  # checks the hygiene ledger first
    from logdepth.compiler.program import Program

    if not isinstance(program, Program):
        raise CompileError(
            f"the {entry.name} construction's program function ({entry.program}) returned a "
            f"{type(program).__name__}, not a logdepth Program"
        )
    network = assemble(program)
    report: dict[str, Any] = {}
    if entry.report:
        function = resolve(entry.report)
        named = inspect.signature(function).parameters
        given = (("network", network), ("obj", obj), ("entry", entry))
        report = dict(function(program, **{k: v for k, v in given if k in named}))
    if entry.accepts == "graph":
        return CompiledModel(network, {"report": report})
    return _word_model(network, obj, source, report)


def _word_model(network: Any, automaton: Any, source: str | None, report: dict) -> CompiledModel:
    """A word construction's CompiledModel: the network, and in its extra the spec the file
    verifies against (the automaton, DFA or NFA), the source text and the report."""
    from logdepth.automata.dfa import DFA

    extra = {
        "spec": automaton.to_dict(),
        "spec_type": "dfa" if isinstance(automaton, DFA) else "nfa",
        "source": source,
        "report": report,
    }
    return CompiledModel(network, extra)


def _named(entry: Construction, model: CompiledModel) -> CompiledModel:
    """The model's config names `entry` (a chooser's: the entry it chose): the catalog, not
    the builder, names a construction's files, so an entry that re-parameterises another's
    builder (a plug-in) gets files of its own."""
    if not entry.chooser and model.config.construction != entry.config_name:
        model.network.config = replace(model.config, construction=entry.config_name)
    return model


__all__ = ["build", "check_request"]
