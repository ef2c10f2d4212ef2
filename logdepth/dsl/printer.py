"""The canonical printer: one layout for every spec, so ``parse(format(s)) == s`` and
``format(parse(format(s))) == format(s)``. Comments are kept (a comment on its own line stays
before the statement that follows it, a trailing comment stays on its statement's line); blank
lines inside blocks are not."""

from __future__ import annotations

from logdepth.automata.words import format_word
from logdepth.dsl.ast import (
    Arrow,
    Assign,
    Block,
    CheckStmt,
    Cycles,
    Field,
    Ident,
    Str,
    Words,
    escape,
)
from logdepth.graphs import Graph

INDENT = "    "


def _value(v) -> str:
    if isinstance(v, Ident):
        return v.text
    if isinstance(v, Str):
        return f'"{escape(v.value)}"'
    if isinstance(v, Assign):
        return f"{_value(v.key)} = {v.value.text}"
    assert isinstance(v, Cycles)
    return "".join("(" + " ".join(p.text for p in cyc) + ")" for cyc in v.cycles)


def _names(ids) -> str:
    return ", ".join(i.text for i in ids)


def _stmt(s) -> str:
    if isinstance(s, Field):
        values = ", ".join(_value(v) for v in s.values)
        return f"{s.key.text}: {values}" if values else f"{s.key.text}:"
    if isinstance(s, Arrow):
        symbols = ", ".join(_value(v) for v in s.symbols)  # quoted ones stay quoted
        left = s.source.text + (" " + symbols if s.symbols else "")
        return f"{left} -> {_names(s.targets)}"
    assert isinstance(s, Words)
    return " ".join(w.text for w in s.words)


# One printed line: the source line it comes from (comments are placed by it), and its text.
Line = tuple[int, str]


def _block_lines(b: Block, close_line: int) -> list[Line]:
    line = b.span.line
    if b.body is None:
        return [(line, format_block(b).rstrip("\n"))]
    out = [(line, f"{b.kind} {b.name.text} {{")]
    out += [(s.span.line, INDENT + _stmt(s)) for s in b.body]
    out.append((close_line, "}"))
    return out


def _place_comments(lines: list[Line], source: str) -> str:
    """Interleave the source's comments with the printed lines (see the module docstring)."""
    from logdepth.dsl.parser import layout_tokens

    comments, _ = layout_tokens(source)
    src = source.split("\n")
    out: list[str] = []
    trailing = {}
    alone = []
    for line, column, text in comments:
        if src[line - 1][: column - 1].strip():
            trailing[line] = text
        else:
            alone.append((line, text))
    last_of = {tag: k for k, (tag, _) in enumerate(lines) if tag}
    pending = 0
    for k, (tag, text) in enumerate(lines):
        if tag:
            indent = text[: len(text) - len(text.lstrip())] or (INDENT if text == "}" else "")
            while pending < len(alone) and alone[pending][0] < tag:
                out.append(indent + alone[pending][1])
                pending += 1
        if tag in trailing and last_of[tag] == k:
            text += "  " + trailing.pop(tag)
        out.append(text)
    # Comments after the last statement, and trailing ones no printed line carries.
    out += [text for _, text in alone[pending:]] + list(trailing.values())
    return "\n".join(out) + "\n" if out else ""


def format_block(b: Block) -> str:
    head = f"{b.kind} {b.name.text}"
    if b.body is None:
        assert b.source is not None
        tail = f" {b.mode.text}" if b.mode is not None else ""
        return f'{head} from "{escape(b.source.value)}"{tail}\n'
    lines = [head + " {"]
    lines += [INDENT + _stmt(s) for s in b.body]
    lines.append("}")
    return "\n".join(lines) + "\n"


def format_check(c, obj=None) -> str:
    """A lowered `Check` (words printed by the word rule of the target's alphabet)."""
    if c.kind in ("connected", "disconnected"):
        args = ", ".join(f"{s} -> {t}" for s, t in c.cases)
    else:
        alphabet = obj.alphabet if obj is not None and not isinstance(obj, Graph) else ("", "")
        args = ", ".join('"' + escape(format_word(w, alphabet)) + '"' for w in c.cases)
    return f"check {c.target} {c.kind} {args}\n"


def format(spec) -> str:  # noqa: A001 - the public name the issue asks for
    """The canonical text of `spec`: blocks separated by blank lines, checks grouped, comments
    kept where they were."""
    from logdepth.dsl.parser import layout_tokens

    _, closes = layout_tokens(spec.source)
    close_lines = iter(closes)
    lines: list[Line] = []
    checks = iter(spec.checks)
    prev = None
    for item in spec.module.items:
        if isinstance(item, Block):
            if prev is not None:
                lines.append((0, ""))
            close = next(close_lines) if item.body is not None else item.span.line
            lines += _block_lines(item, close)
            prev = "block"
        else:
            assert isinstance(item, CheckStmt)
            if prev == "block":
                lines.append((0, ""))
            c = next(checks)
            lines.append((item.span.line, format_check(c, spec[c.target]).rstrip("\n")))
            prev = "check"
    return _place_comments(lines, spec.source)
