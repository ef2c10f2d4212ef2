"""Words over an alphabet: the one rule for writing them as text (docs/dsl.md, "Words").

Where every symbol of the alphabet is one character, a word is a plain string (``"0110"``);
whitespace between symbols is ignored. Otherwise symbols are separated by whitespace
(``"23145 31245"``). The empty string is the empty word in both cases.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from logdepth.errors import InputError


def single_char(alphabet: Iterable[str]) -> bool:
    """True when every symbol is exactly one character (words are then plain strings)."""
    return all(len(a) == 1 for a in alphabet)


def _unknown(symbol: str, position: int, text: str, alphabet: Sequence[str]) -> InputError:
    shown = ", ".join(alphabet)
    err = InputError(
        f"unknown symbol {symbol!r} at position {position} of word {text!r} "
        f"(the alphabet is {shown})"
    )
    # Where the symbol starts inside `text` (0-based), so callers can point at it.
    err.position = position  # type: ignore[attr-defined]
    err.symbol = symbol  # type: ignore[attr-defined]
    return err


def parse_word(text: str, alphabet: Sequence[str]) -> tuple[str, ...]:
    """Split `text` into symbols of `alphabet`; raise `InputError` naming an unknown symbol.

    The error carries ``position`` (0-based offset in `text`) and ``symbol`` attributes.
    """
    alpha = set(alphabet)
    word: list[str] = []
    if single_char(alphabet):
        for i, ch in enumerate(text):
            if ch.isspace():
                continue
            if ch not in alpha:
                raise _unknown(ch, i, text, alphabet)
            word.append(ch)
        return tuple(word)
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        j = i
        while j < n and not text[j].isspace():
            j += 1
        sym = text[i:j]
        if sym not in alpha:
            raise _unknown(sym, i, text, alphabet)
        word.append(sym)
        i = j
    return tuple(word)


def format_word(word: Sequence[str], alphabet: Sequence[str]) -> str:
    """The text of `word`: concatenated for one-character alphabets, else space-separated."""
    if single_char(alphabet):
        return "".join(word)
    return " ".join(word)
