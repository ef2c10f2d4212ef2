"""The spec AST. Every node carries a `Span` (1-based line and column of its first character);
spans never take part in equality, so two specs that differ only in layout are equal."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    line: int
    column: int


NOWHERE = Span(0, 0)


def _span():
    return field(default=NOWHERE, compare=False, repr=False)


@dataclass(frozen=True)
class Ident:
    """A name: block, state, symbol, node, field key or keyword-like word."""

    text: str
    span: Span = _span()


@dataclass(frozen=True)
class Str:
    """A quoted string. `value` is the decoded text; `raw` is the text between the quotes as
    written (escapes intact), used to map positions inside the string back to columns."""

    value: str
    span: Span = _span()
    raw: str | None = field(default=None, compare=False, repr=False)

    @property
    def text(self) -> str:
        """The decoded text, as for an `Ident`: a quoted symbol ("-") is used like a name."""
        return self.value

    def column_of(self, index: int) -> int:
        """The file column of character `index` of `value`."""
        raw = self.raw if self.raw is not None else escape(self.value)
        i = k = 0
        while k < index and i < len(raw):
            i += 2 if raw[i] == "\\" else 1
            k += 1
        return self.span.column + 1 + i


@dataclass(frozen=True)
class Cycles:
    """A permutation in cycle notation, e.g. (1 2 3)(4 5): cycles applied left to right."""

    cycles: tuple[tuple[Ident, ...], ...]
    span: Span = _span()


@dataclass(frozen=True)
class Assign:
    """``key = value`` inside a field's list, e.g. the weights of a count block: ``a = 1``."""

    key: Ident | Str  # a symbol: a name or a quoted string
    value: Ident
    span: Span = _span()


Value = Ident | Str | Cycles | Assign


@dataclass(frozen=True)
class Field:
    """``key: value, value, ...`` (the list may be empty)."""

    key: Ident
    values: tuple[Value, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Arrow:
    """``source sym, sym -> target, target`` (automata) or ``u -> v, w`` (graphs: no symbols)."""

    source: Ident
    symbols: tuple[Ident | Str, ...]  # names or quoted strings ("-", " ")
    targets: tuple[Ident, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Words:
    """A bare statement of one or two words: ``alternating 5``, ``directed``."""

    words: tuple[Ident, ...]
    span: Span = _span()


Stmt = Field | Arrow | Words


@dataclass(frozen=True)
class Block:
    """``kind name { body }`` or ``graph name from "file" [directed|undirected]``."""

    kind: str
    name: Ident
    body: tuple[Stmt, ...] | None
    source: Str | None = None
    mode: Ident | None = None
    span: Span = _span()


@dataclass(frozen=True)
class CheckStmt:
    """``check target verb "w", "w"`` or ``check target verb a -> b, c -> d``."""

    target: Ident
    verb: str
    strings: tuple[Str, ...]
    pairs: tuple[tuple[Ident, Ident], ...]
    span: Span = _span()


@dataclass(frozen=True)
class Module:
    items: tuple[Block | CheckStmt, ...]


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def unescape(raw: str) -> str:
    out = []
    i = 0
    while i < len(raw):
        if raw[i] == "\\" and i + 1 < len(raw):
            out.append(raw[i + 1])
            i += 2
        else:
            out.append(raw[i])
            i += 1
    return "".join(out)
