"""The logdepth spec language: parse text into automata and graphs (docs/dsl.md)."""

from __future__ import annotations

import os
from pathlib import Path

from logdepth.dsl.lower import Check, Spec, lower
from logdepth.dsl.parser import parse_ast
from logdepth.dsl.printer import format
from logdepth.errors import SpecError
from logdepth.fileio import read_user_text

# A spec is hand-written text; a file this large is not one (and reading it would take minutes).
MAX_SPEC_BYTES = 64 * 1024 * 1024


def parse(text: str, file: str = "<string>", *, only: str | None = None) -> Spec:
    """Parse and lower spec text; `DSLError` on syntax, `SpecError` on meaning. With `only`,
    lower just the block of that name (and the checks on it)."""
    if not isinstance(file, str):
        raise SpecError(f"parse: file must be a str naming the source, not {type(file).__name__}")
    if not isinstance(text, str):
        hint = " (decode bytes first, or use parse_file)" if isinstance(text, bytes) else ""
        raise SpecError(f"parse expects the spec text as a str, not {type(text).__name__}{hint}")
    text = text.removeprefix("\ufeff")  # a UTF-8 byte-order mark is not part of the spec
    return lower(parse_ast(text, file), text, file, only)


def parse_file(path: str | Path, *, only: str | None = None) -> Spec:
    if not isinstance(path, str | os.PathLike):
        raise SpecError(f"parse_file expects a path, not {type(path).__name__}")
    path = Path(path)

    def error(message: str) -> SpecError:
        return SpecError(message, file=str(path))

    text = read_user_text(path, "spec file", MAX_SPEC_BYTES, error)
    return parse(text, file=str(path), only=only)


__all__ = ["Check", "Spec", "format", "parse", "parse_file"]
