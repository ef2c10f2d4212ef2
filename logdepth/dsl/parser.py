"""Text -> AST with Lark (LALR, contextual lexer; the grammar ships as package data).

Syntax errors become `DSLError` at the offending token, naming what was expected in words.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from logdepth.dsl.ast import (
    Arrow,
    Assign,
    Block,
    CheckStmt,
    Cycles,
    Field,
    Ident,
    Module,
    Span,
    Str,
    Words,
    unescape,
)
from logdepth.errors import DSLError

# How each kind of token is named in error messages (the rest are quoted literals).
TOKEN_WORDS = {
    "NAME": "a name",
    "STRING": "a quoted string",
    "_NL": "end of line",
    "$END": "end of file",
}


def _span(tok: Token) -> Span:
    return Span(tok.line, tok.column)


def _ident(tok: Token) -> Ident:
    return Ident(str(tok), _span(tok))


def _str(tok: Token) -> Str:
    raw = str(tok)[1:-1]
    return Str(unescape(raw), _span(tok), raw)


class _ToAST(Transformer):
    """Runs inside the LALR parser (no parse tree is built), so it must be cheap."""

    def start(self, items):
        return Module(tuple(items))

    def kind(self, children):
        return children[0]

    def block(self, c):
        kind_tok, name = c[0], c[1]
        if isinstance(c[2], tuple):  # body
            return Block(str(kind_tok), _ident(name), c[2], span=_span(kind_tok))
        mode = _ident(c[3]) if c[3] is not None else None
        return Block(str(kind_tok), _ident(name), None, _str(c[2]), mode, span=_span(kind_tok))

    def body(self, stmts):
        return tuple(stmts)

    def field(self, c):
        values = c[1] if c[1] is not None else ()
        return Field(_ident(c[0]), values, _span(c[0]))

    def values(self, c):
        out = []
        for v in c:
            if isinstance(v, Token):
                out.append(_str(v) if v.type == "STRING" else _ident(v))
            else:
                out.append(v)
        return tuple(out)

    def cycles(self, c):
        return Cycles(tuple(cyc for cyc, _ in c), c[0][1])

    def cycle(self, c):
        # c[0] is the "(" token: the cycle's span.
        return tuple(_ident(t) for t in c[1:]), _span(c[0])

    def assign(self, c):
        key = _str(c[0]) if c[0].type == "STRING" else _ident(c[0])
        return Assign(key, _ident(c[1]), _span(c[0]))

    def arrow(self, c):
        symbols = c[1] if c[1] is not None else ()
        return Arrow(_ident(c[0]), symbols, c[2], _span(c[0]))

    def names(self, c):
        return tuple(_ident(t) for t in c)

    def symbols(self, c):
        return tuple(_str(t) if t.type == "STRING" else _ident(t) for t in c)

    def words(self, c):
        toks = [t for t in c if t is not None]
        return Words(tuple(_ident(t) for t in toks), _span(toks[0]))

    def check(self, c):
        check_tok, target, verb, args = c
        if args and isinstance(args[0], Str):
            return CheckStmt(_ident(target), str(verb), args, (), _span(check_tok))
        return CheckStmt(_ident(target), str(verb), (), args, _span(check_tok))

    def verb(self, c):
        return c[0]

    def strings(self, c):
        return tuple(_str(t) for t in c)

    def pairs(self, c):
        return tuple(c)

    def pair(self, c):
        return (_ident(c[0]), _ident(c[1]))


@lru_cache(maxsize=1)
def _lark() -> Lark:
    grammar = resources.files("logdepth.dsl").joinpath("grammar.lark").read_text()
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        maybe_placeholders=True,
        transformer=_ToAST(),
    )


def _describe(name: str) -> str:
    if name in TOKEN_WORDS:
        return TOKEN_WORDS[name]
    for term in _lark().terminals:
        if term.name == name and term.pattern.type == "str":
            return f"'{term.pattern.value}'"
    return name.lower().strip("_")


def _expected(names) -> str:
    words = sorted({_describe(n) for n in names if n not in ("COMMENT", "WS_INLINE")})
    # Literals first (alphabetical), then the descriptive ones.
    words.sort(key=lambda w: (not w.startswith("'"), w))
    if not words:
        return ""
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _unexpected_token(tok: Token) -> str:
    if tok.type == "$END":
        return "unexpected end of file"
    if tok.type == "_NL":
        return "unexpected end of line"
    if tok.type == "NAME":
        return f"unexpected name '{tok}'"
    if tok.type == "STRING":
        return f"unexpected string {tok}"
    return f"unexpected {_describe(tok.type)}"


def _end_position(text: str) -> tuple[int, int]:
    lines = text.split("\n")
    while len(lines) > 1 and not lines[-1].strip():
        lines.pop()
    return len(lines), len(lines[-1]) + 1


def _error(exc: UnexpectedInput, text: str, file: str) -> DSLError:
    lines = text.split("\n")
    if isinstance(exc, UnexpectedToken) and exc.token.type != "$END":
        line, col = exc.token.line, exc.token.column
        if exc.token.type == "_NL":
            # Point just after the last character on the line, not at the next line.
            line, col = exc.token.line, exc.token.column
        message = f"{_unexpected_token(exc.token)}; expected {_expected(exc.expected)}"
    elif isinstance(exc, UnexpectedToken | UnexpectedEOF):
        line, col = _end_position(text)
        message = f"unexpected end of file; expected {_expected(exc.expected)}"
    else:
        assert isinstance(exc, UnexpectedCharacters)
        line, col = exc.line, exc.column
        ch = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else ""
        if ch == '"':
            message = "unterminated string (a string ends with '\"' on the same line)"
        else:
            message = f"unexpected character {ch!r}"
            allowed = getattr(exc, "allowed", None)
            if allowed:
                message += f"; expected {_expected(allowed)}"
            if allowed and "STRING" in allowed and not ch.isspace():
                # Where a quoted string may stand, the user is most likely writing a symbol.
                quoted = '"' + ch.replace("\\", "\\\\") + '"'
                message += (
                    " (a name is letters, digits, _ and '; any other symbol is written in "
                    f"double quotes: {quoted})"
                )
    source_line = lines[line - 1] if 0 < line <= len(lines) else None
    return DSLError(message, file=file, line=line, column=col, source_line=source_line)


def layout_tokens(text: str) -> tuple[list[tuple[int, int, str]], list[int]]:
    """What the AST does not keep, for the printer: every comment as (line, column, text) and
    the line of every closing brace, in order (the k-th closes the k-th braced block). Uses the
    lexer, so a '#' inside a string is not a comment. Call only on text that parses."""
    comments: list[tuple[int, int, str]] = []
    braces: list[int] = []
    for tok in _lark().lex(text if text.endswith("\n") else text + "\n", dont_ignore=True):
        if tok.type == "COMMENT":
            comments.append((tok.line, tok.column, str(tok).rstrip()))
        elif tok.type == "_RBRACE":
            braces.append(tok.line)
    return comments, braces


def parse_ast(text: str, file: str = "<string>") -> Module:
    """Parse spec text into a `Module`; `DSLError` on a syntax error."""
    padded = text if text.endswith("\n") else text + "\n"
    try:
        return _lark().parse(padded)
    except UnexpectedInput as exc:
        raise _error(exc, text, file) from None
