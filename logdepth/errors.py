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


class PluginError(CompileError):
    """An installed construction plug-in (entry-point group `logdepth.constructions`) that
    fails to load or clashes with another construction; the message names it."""


class WeightFileError(LogdepthError):
    """A weight file that is missing, truncated, corrupt, tampered with or of a newer format."""


class InputError(LogdepthError):
    """An input the weights cannot answer: unknown symbol, or beyond the derived frontier."""


class NonFiniteError(LogdepthError):
    """NaN or infinity where a number must be: logits of a forward pass (a forward hook, an
    edited tensor, an overflow) or a weight about to be saved. Never read as an answer."""


class UnknownNameError(InputError, KeyError):
    """A name looked up that does not exist (a cell of a trace, ...); the message lists the
    names there are. Also a KeyError, for callers that look names up in a mapping."""

    __str__ = Exception.__str__  # KeyError's would print the message as a quoted repr


class SettingError(LogdepthError):
    """An environment variable set to a value logdepth cannot use."""


class MissingExtraError(LogdepthError):
    """A feature needs an optional extra that is not installed (e.g. logdepth[plot])."""
