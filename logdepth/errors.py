"""One exception hierarchy for everything a user can get wrong.

The CLI catches `LogdepthError`, prints `str(err)` and exits non-zero; it never shows a
traceback for bad input. Located errors render as ``file:line:col: error: message`` followed by
the source line and a caret.
"""

from __future__ import annotations


class LogdepthError(Exception):
    """Base class of every error logdepth raises on purpose."""


class LocatedError(LogdepthError):
    """An error that points into a source text: file, 1-based line and column, source line."""

    def __init__(
        self,
        message: str,
        *,
        file: str = "<string>",
        line: int | None = None,
        column: int | None = None,
        source_line: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.source_line = source_line
        super().__init__(self.render())

    def render(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: error: {self.message}"
        if self.source_line is not None and self.column is not None:
            text += "\n    " + self.source_line.rstrip("\n")
            # Copy the line's tabs so that the caret lands under the column in any tab width.
            lead = "".join(c if c == "\t" else " " for c in self.source_line[: self.column - 1])
            text += "\n    " + lead + "^"
        return text


class DSLError(LocatedError):
    """The spec text is not well formed (a syntax error)."""


class SpecError(LocatedError):
    """A well-formed spec that means nothing: undefined state, missing transition, ..."""


class CompileError(LogdepthError):
    """A program or construction that cannot be assembled (e.g. the hygiene check failed)."""


class WeightFileError(LogdepthError):
    """A weight file that is missing, truncated, corrupt, tampered with or of a newer format."""


class InputError(LogdepthError):
    """An input the weights cannot answer: unknown symbol, or beyond the derived frontier."""


class MissingExtraError(LogdepthError):
    """A feature needs an optional extra that is not installed (e.g. logdepth[plot])."""
