"""CLI subcommands of the DSL: ``logdepth fmt FILE`` and ``logdepth check SPEC``.

The main CLI calls `register(subparsers)`; each subcommand sets ``func(args) -> int``. Errors are
raised as `LogdepthError` subclasses, which the main CLI prints and turns into exit status 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from logdepth.dsl import format as format_spec
from logdepth.dsl import parse_file
from logdepth.dsl.checks import run_checks
from logdepth.dsl.lower import Spec
from logdepth.errors import SpecError
from logdepth.fileio import atomic_write

# A hook that, given the parsed spec and the CLI arguments, returns keyword arguments for
# `run_checks` (e.g. {"accepts": ..., "connected": ...} running compiled weights).
DeciderHook = Callable[[Spec, argparse.Namespace], dict[str, Any]]


def cmd_fmt(args: argparse.Namespace) -> int:
    spec = parse_file(args.file)
    text = format_spec(spec)
    if getattr(args, "write", False):
        if text != spec.source:  # an unchanged file keeps its bytes and its mtime
            atomic_write(args.file, text.encode())
    else:
        sys.stdout.write(text)
    return 0


def run_check_command(path: str, *, accepts=None, connected=None, names=None, out=None) -> int:
    """Run the checks of the spec at `path`, print one line per case; 1 if any fails."""
    out = out or sys.stdout
    spec = parse_file(path)
    unknown = [n for n in names or () if n not in spec]
    if unknown:
        raise SpecError(
            f"no spec named {unknown[0]!r}; the file defines {', '.join(spec.names) or 'nothing'}",
            file=path,
        )
    results = run_checks(spec, accepts=accepts, connected=connected, names=names)
    for r in results:
        print(r.describe(), file=out)
    failed = sum(not r.passed for r in results)
    print(f"{len(results) - failed} passed, {failed} failed", file=out)
    return 1 if failed else 0


def register(subparsers, *, check_hook: DeciderHook | None = None) -> None:
    """Add ``fmt`` and ``check``. `check_hook(spec, args)` may supply the deciders for ``check``
    (default: the ground-truth oracles)."""
    p = subparsers.add_parser("fmt", help="print a spec in canonical form")
    p.add_argument("file", help="spec file")
    p.add_argument("-w", "--write", action="store_true", help="rewrite the file in place")
    p.set_defaults(func=cmd_fmt)

    p = subparsers.add_parser("check", help="run a spec's check statements")
    p.add_argument("spec", help="spec file")
    p.add_argument("--name", action="append", help="only checks on this name (repeatable)")

    def cmd_check(args: argparse.Namespace) -> int:
        deciders: dict[str, Any] = {}
        if check_hook is not None:
            deciders = dict(check_hook(parse_file(args.spec), args))
        return run_check_command(args.spec, names=args.name, **deciders)

    p.set_defaults(func=cmd_check)
