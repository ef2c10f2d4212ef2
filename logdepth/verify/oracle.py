"""Where `verify` gets each input's right answer: the spec's automaton and BFS by default, or the
user's own function (`logdepth verify --oracle module:function`, `logdepth.verify(...,
oracle=fn)`; docs/oracle.md).

Every verifier asks here (`word_truth`, `graph_truth`), so an oracle set with `using` decides
every word and graph query that any verifier runs through the forward pass: the exhaustive and
sampled words, the frontier probe, the random graphs. Everything else is as without an oracle:
which words run (drawn from the spec's automaton, accepted and rejected ones at every length),
lengths, budgets, and the checks of the file's internals (codebook, levels, cascade), which
compare the weights with the construction's claims about the stored spec, not with an answer.

What the user's function gets:
- a word model: the word as a tuple of symbols (`tuple[str, ...]`, each an alphabet symbol;
  `()` is the empty word; for one-character alphabets `"".join(word)` is the plain string);
- a graph model: `(adjacency, source, target)`, the adjacency a tuple of rows of bools
  (`adjacency[i][j]`: an edge i -> j) and the vertices 0-based indices;
and returns True (accept; connected) or False (reject; disconnected): a `bool` (numpy's bool
too), nothing else.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import numpy as np

from logdepth.errors import InputError
from logdepth.model.inputs import quoted


class OracleError(InputError):
    """A user oracle that cannot be loaded or gave no usable answer."""


@dataclass(frozen=True)
class Oracle:
    """The user's function and the name reports give it."""

    function: Callable[..., Any]
    name: str

    def decide(self, *args: Any, shown: str) -> bool:
        """The function's answer on `args`; an `OracleError` naming the input `shown` if it
        raises or returns anything but a bool."""
        try:
            answer = self.function(*args)
        except Exception as err:  # the user's code: any failure is reported, not raised
            raise OracleError(
                f"the oracle {self.name} raised {type(err).__name__}: {err} (on {shown})"
            ) from None
        if not isinstance(answer, bool | np.bool_):
            raise OracleError(
                f"the oracle {self.name} returned {quoted(answer)} ({type(answer).__name__}) on "
                f"{shown}; it must return True or False"
            )
        return bool(answer)


_CURRENT: ContextVar[Oracle | None] = ContextVar("logdepth_oracle", default=None)


def of(function: Callable[..., Any] | Oracle | None) -> Oracle | None:
    """An `Oracle` for a callable (named by its module and qualified name)."""
    if function is None or isinstance(function, Oracle):
        return function
    if not callable(function):
        raise OracleError(f"an oracle must be a function, not {quoted(function)}")
    module = getattr(function, "__module__", None)
    name = getattr(function, "__qualname__", None) or type(function).__name__
    return Oracle(function, f"{module}:{name}" if module else name)


@contextlib.contextmanager
def using(oracle: Callable[..., Any] | Oracle | None) -> Iterator[Oracle | None]:
    """Within the block, `word_truth` and `graph_truth` ask `oracle` (None: the defaults)."""
    token = _CURRENT.set(of(oracle))
    try:
        yield _CURRENT.get()
    finally:
        _CURRENT.reset(token)


def current() -> Oracle | None:
    """The oracle `using` set, or None."""
    return _CURRENT.get()


def truth_name(default: str) -> str:
    """Who decides in reports: "the oracle m:f", or `default` ("the automaton", "BFS")."""
    oracle = current()
    return default if oracle is None else f"the oracle {oracle.name}"


def word_truth(automaton: Any, word: Sequence[str]) -> bool:
    """Whether `word` (a sequence of symbols) is in the language: the oracle's answer when one
    is set, else the automaton's."""
    oracle = current()
    if oracle is None:
        return bool(automaton.accepts(list(word)))
    word = tuple(word)
    shown = f"the word {quoted(word)}" + (" (the empty word)" if not word else "")
    return oracle.decide(word, shown=shown)


def graph_truth(adjacency: Any, source: int, target: int, reach: Any = None) -> bool:
    """Whether target is reachable from source (0-based): the oracle's answer when one is set,
    else `reach[source, target]` (a reachability matrix, computed by BFS when not given)."""
    oracle = current()
    if oracle is None:
        if reach is None:
            from logdepth.graphs import reachability

            reach = reachability(np.asarray(adjacency, dtype=bool))
        return bool(reach[source, target])
    rows = tuple(tuple(bool(x) for x in row) for row in adjacency)
    shown = f"the graph with {len(rows)} vertices, {source} -> {target}"
    return oracle.decide(rows, source, target, shown=shown)


def note(report: Any, oracle: Oracle | None) -> None:
    """Say in a report who decided the answers (nothing without an oracle)."""
    if oracle is not None:
        report.lines.insert(0, f"answers decided by the oracle {oracle.name}")
        report.details["oracle"] = oracle.name


def load(text: str) -> Oracle:
    """The function `module:function` names (`function` may be dotted: `module:Class.method`).
    The module is imported as `python -m` would: the current directory first on the path."""
    module_name, sep, attribute = text.partition(":")
    if not sep or not module_name or not attribute:
        raise OracleError(f"--oracle takes module:function (as in mymodule:decide), not {text!r}")
    cwd = os.getcwd()
    added = cwd not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name is not None and module_name.startswith(err.name):
            raise OracleError(
                f"--oracle {text}: no module named {module_name!r} (looked in the current "
                f"directory {cwd} and the installed packages)"
            ) from None
        raise OracleError(f"--oracle {text}: importing {module_name} failed: {err}") from None
    except Exception as err:  # the user's module raised while importing
        raise OracleError(
            f"--oracle {text}: importing {module_name} raised {type(err).__name__}: {err}"
        ) from None
    finally:
        if added:
            sys.path.remove(cwd)
    found: Any = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise OracleError(f"--oracle {text}: {module_name} has no attribute {attribute!r}")
        found = getattr(found, part)
    if not callable(found):
        raise OracleError(
            f"--oracle {text}: {attribute} is a {type(found).__name__}, not a function"
        )
    return Oracle(found, text)
