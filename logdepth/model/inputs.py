"""Turning user inputs into token sequences for the compiled transformers.

Kept inside `model` (no imports from `dsl` or `constructions`) so that a weight file can be run
with `model` alone.

- "word" format (Theorem 1): BoS w_1 ... w_n END; the answer is read at END.
- "graph" format (Theorem 2): BoS, the n x n adjacency matrix row-major as n^2 tokens "0"/"1",
  n^3 padding tokens, then source s and target t in unary (a^s b^t, vertices numbered 1..n).
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterable, Sequence

from logdepth.errors import InputError
from logdepth.model.config import BOS

END = "<$>"  # the paper's `$`, spelt so that no alphabet symbol can collide with it
PAD = "<pad>"
SOURCE, TARGET = "a", "b"
GRAPH_VOCAB = (BOS, "0", "1", PAD, SOURCE, TARGET)
SPECIAL_TOKENS = (BOS, END)


# An input quoted in a message shows at most ECHO_LIMIT characters and counts the rest, so that
# a 10 MB word is not copied into every message: the CLI's "logdepth: error: word '...'" then
# fits one 80-column terminal line.
ECHO_COLUMNS = 80
ECHO_LIMIT = ECHO_COLUMNS - len("logdepth: error: word ''")


def quoted(text: object) -> str:
    """`repr(text)`, shortened past ECHO_LIMIT characters to the first ones and a count of
    all: 'abc...'... (10,000,000 characters). A non-string is shown by `reprlib.repr` (a few
    items of a long list, never the whole)."""
    if not isinstance(text, str):
        return reprlib.repr(text)
    if len(text) <= ECHO_LIMIT:
        return repr(text)
    return f"{text[:ECHO_LIMIT]!r}... ({len(text):,} characters)"


def word_symbols(vocab: Sequence[str]) -> list[str]:
    """The alphabet: every vocabulary token but the special ones."""
    return [t for t in vocab if t not in SPECIAL_TOKENS]


def split_word(word: str | Sequence[str], alphabet: Sequence[str]) -> tuple[str, ...]:
    """A word as symbols: a string by the one word rule (`parse_word`: whitespace ignored, a
    plain string for one-character alphabets, symbols separated by whitespace otherwise), a
    sequence taken as symbols already. Unknown symbols are an InputError naming the position."""
    if isinstance(word, str):
        return parse_word(word, alphabet)
    symbols = tuple(word)
    known = set(alphabet)
    for position, symbol in enumerate(symbols, start=1):
        if symbol not in known:
            raise InputError(
                f"symbol {quoted(symbol)} at position {position} is not in the alphabet "
                f"{{{shown_alphabet(alphabet)}}}"
            )
    return symbols


def encode_word(symbols: Sequence[str]) -> list[str]:
    """BoS w END (Theorem 1's input w$)."""
    return [BOS, *symbols, END]


def encode_graph(adjacency: Sequence[Sequence[bool]], source: int, target: int) -> list[str]:
    """BoS A_{1,1} ... A_{n,n} pad^(n^3) a^s b^t, with 0-based vertex indices source, target
    written as s = source + 1 and t = target + 1 (paper Theorem 2's input)."""
    n = len(adjacency)
    if n == 0:
        raise InputError("the graph has no vertices")
    for v in (source, target):
        if not 0 <= v < n:
            raise InputError(f"vertex index {v} is outside 0..{n - 1}")
    cells = ["1" if adjacency[i][j] else "0" for i in range(n) for j in range(n)]
    return [BOS, *cells, *([PAD] * n**3), *([SOURCE] * (source + 1)), *([TARGET] * (target + 1))]


# ---- the word rule (docs/dsl.md, "Words"): one codec for the DSL, run, accepts and verify -----
# Where every symbol of the alphabet is one character (one Unicode code point: "é", "🙂", "-"),
# a word is a plain string ("0110"), each character one symbol; whitespace is ignored unless it
# is itself a symbol of the alphabet. Otherwise symbols are separated by whitespace
# ("23145 31245"), and a symbol that holds whitespace or starts with '"' is written in double
# quotes with the escapes \" and \\ ('"a b" c'; any symbol may be quoted). The empty string is
# the empty word in both cases.

QUOTE = '"'


def single_char(alphabet: Iterable[str]) -> bool:
    """True when every symbol is exactly one character (words are then plain strings)."""
    return all(len(a) == 1 for a in alphabet)


def _is_name(symbol: str) -> bool:
    """A symbol that reads unquoted in a message or a spec: letters, digits, _ and '."""
    return bool(symbol) and (symbol[0].isalnum() or symbol[0] == "_") and all(
        c.isalnum() or c in "_'" for c in symbol
    )


def shown_symbol(symbol: str) -> str:
    """A symbol as messages show it: bare when it is a name (0, a, é), else in double quotes
    ("-", " ", ",") so that a comma or a space in it cannot be misread."""
    return symbol if _is_name(symbol) else _quote(symbol)


def _quote(symbol: str) -> str:
    """`symbol` in double quotes, with the escapes \\" and \\\\ (as in a spec's strings)."""
    return QUOTE + symbol.replace("\\", "\\\\").replace(QUOTE, "\\" + QUOTE) + QUOTE


def shown_alphabet(alphabet: Sequence[str]) -> str:
    """The alphabet as messages list it: `0, 1` or `"-", "+", é`."""
    return ", ".join(shown_symbol(a) for a in alphabet)


def _unknown(symbol: str, position: int, text: str, alphabet: Sequence[str]) -> InputError:
    err = InputError(
        f"symbol {quoted(symbol)} at position {position + 1} of word {quoted(text)} is not in "
        f"the alphabet {{{shown_alphabet(alphabet)}}}"
    )
    # The message counts characters from 1; `position` is the 0-based offset where the symbol
    # starts inside `text`, so callers can point a caret at it.
    err.position = position  # type: ignore[attr-defined]
    err.symbol = symbol  # type: ignore[attr-defined]
    return err


def _quoted_symbol(text: str, start: int) -> tuple[str, int]:
    """The symbol written in double quotes at `text[start]`, and the offset after its closing
    quote (a backslash makes the next character literal)."""
    out, i, n = [], start + 1, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n:
            out.append(text[i + 1])
            i += 2
            continue
        if ch == QUOTE:
            if i + 1 < n and not text[i + 1].isspace():
                err = InputError(
                    f"a quoted symbol ends with '\"' followed by a space or the end of the word, "
                    f"at position {i + 2} of word {quoted(text)}"
                )
                err.position = i + 1  # type: ignore[attr-defined]
                err.symbol = text[i + 1]  # type: ignore[attr-defined]
                raise err
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    err = InputError(
        f"unterminated quoted symbol at position {start + 1} of word {quoted(text)} (a symbol "
        "in double quotes ends with '\"'; write \\\" for a quote inside it)"
    )
    err.position = start  # type: ignore[attr-defined]
    err.symbol = text[start:]  # type: ignore[attr-defined]
    raise err


def parse_word(text: str, alphabet: Sequence[str]) -> tuple[str, ...]:
    """Split `text` into symbols of `alphabet`; raise `InputError` naming an unknown symbol.

    The error carries ``position`` (0-based offset in `text`) and ``symbol`` attributes.
    """
    alpha = set(alphabet)
    word: list[str] = []
    if single_char(alphabet):
        for i, ch in enumerate(text):
            if ch in alpha:
                word.append(ch)
            elif not ch.isspace():
                raise _unknown(ch, i, text, alphabet)
        return tuple(word)
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        if text[i] == QUOTE:
            sym, j = _quoted_symbol(text, i)
        else:
            j = i
            while j < n and not text[j].isspace():
                j += 1
            sym = text[i:j]
        if sym not in alpha:
            raise _unknown(sym, i, text, alphabet)
        word.append(sym)
        i = j
    return tuple(word)


def _written(symbol: str) -> str:
    """A symbol of a space-separated word: quoted when it holds whitespace, starts with '"' or
    is empty, so that `parse_word` reads it back."""
    if symbol and not symbol.startswith(QUOTE) and not any(c.isspace() for c in symbol):
        return symbol
    return _quote(symbol)


def format_word(word: Sequence[str], alphabet: Sequence[str]) -> str:
    """The text of `word` that `parse_word` reads back: concatenated for one-character
    alphabets, else space-separated (quoting the symbols that need it)."""
    if single_char(alphabet):
        return "".join(word)
    return " ".join(_written(a) for a in word)
