"""Automata: DFA, NFA, regex and group lowering, and the transition monoid (paper Section 3)."""

from logdepth.automata.dfa import DFA
from logdepth.automata.monoid import TransitionMonoid
from logdepth.automata.nfa import NFA
from logdepth.automata.regex import compile_regex
from logdepth.automata.words import format_word, parse_word

__all__ = ["DFA", "NFA", "TransitionMonoid", "compile_regex", "format_word", "parse_word"]
