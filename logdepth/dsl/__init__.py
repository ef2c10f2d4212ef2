"""The logdepth spec language: parse text into automata and graphs (docs/dsl.md)."""

from __future__ import annotations

from pathlib import Path

from logdepth.dsl.lower import Check, Spec, lower
from logdepth.dsl.parser import parse_ast
from logdepth.dsl.printer import format
from logdepth.errors import SpecError


def parse(text: str, file: str = "<string>") -> Spec:
    """Parse and lower spec text; `DSLError` on syntax, `SpecError` on meaning."""
    return lower(parse_ast(text, file), text, file)


def parse_file(path: str | Path) -> Spec:
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(
            f"cannot read spec file: {getattr(exc, 'strerror', None) or exc}", file=str(path)
        ) from None
    return parse(text, file=str(path))


__all__ = ["Check", "Spec", "format", "parse", "parse_file"]
