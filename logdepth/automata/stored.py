"""The automaton a weight file carries: a word construction stores its spec (the DFA or NFA it
was compiled from) in the file's extra, so that verify, explain and the element names of the
code cells read it back without the source (constructions/regular.py, `word_model`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from logdepth.automata.dfa import DFA
from logdepth.automata.nfa import NFA
from logdepth.errors import InputError

if TYPE_CHECKING:  # types only: a weight file runs with `model` alone
    from logdepth.model.compiled import CompiledModel


def automaton_of(model: CompiledModel) -> DFA | NFA:
    """The DFA or NFA stored in the model's extra; an InputError if the file carries none."""
    spec = model.extra.get("spec")
    if spec is None:
        raise InputError(
            "the weight file carries no spec to verify against; give one with --spec SPEC[:NAME]"
        )
    if model.extra.get("spec_type") == "nfa":
        return NFA.from_dict(spec)
    return DFA.from_dict(spec)
