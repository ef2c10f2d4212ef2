"""Words over an alphabet: the one rule for writing them as text (docs/dsl.md, "Words").

The rule lives in `logdepth.model.inputs`, so that a weight file runs with `model` alone and the
DSL's `check`, `run`, `accepts` and `verify` split words the same way; this module is its home
for the automata side.
"""

from logdepth.model.inputs import (
    format_word,
    parse_word,
    shown_alphabet,
    shown_symbol,
    single_char,
)

__all__ = ["format_word", "parse_word", "shown_alphabet", "shown_symbol", "single_char"]
