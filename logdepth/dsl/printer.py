"""The canonical printer: one layout for every spec, so ``parse(format(s)) == s`` and
``format(parse(format(s))) == format(s)``. Comments and blank lines inside blocks are not kept."""

from __future__ import annotations

from logdepth.automata.words import format_word
from logdepth.dsl.ast import Arrow, Block, CheckStmt, Cycles, Field, Ident, Str, Words, escape
from logdepth.graphs import Graph

INDENT = "    "


def _value(v) -> str:
    if isinstance(v, Ident):
        return v.text
    if isinstance(v, Str):
        return f'"{escape(v.value)}"'
    assert isinstance(v, Cycles)
    return "".join("(" + " ".join(p.text for p in cyc) + ")" for cyc in v.cycles)


def _names(ids) -> str:
    return ", ".join(i.text for i in ids)


def _stmt(s) -> str:
    if isinstance(s, Field):
        values = ", ".join(_value(v) for v in s.values)
        return f"{s.key.text}: {values}" if values else f"{s.key.text}:"
    if isinstance(s, Arrow):
        left = s.source.text + (" " + _names(s.symbols) if s.symbols else "")
        return f"{left} -> {_names(s.targets)}"
    assert isinstance(s, Words)
    return " ".join(w.text for w in s.words)


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
    """The canonical text of `spec`: blocks separated by blank lines, checks grouped."""
    out: list[str] = []
    checks = iter(spec.checks)
    prev = None
    for item in spec.module.items:
        if isinstance(item, Block):
            if prev is not None:
                out.append("\n")
            out.append(format_block(item))
            prev = "block"
        else:
            assert isinstance(item, CheckStmt)
            if prev == "block":
                out.append("\n")
            c = next(checks)
            out.append(format_check(c, spec[c.target]))
            prev = "check"
    return "".join(out)
