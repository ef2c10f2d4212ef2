"""The `logdepth` command line: argparse subcommands.

Every user mistake (bad spec, unknown symbol, bad weight file, input past the frontier) is a
`LogdepthError`: printed as one clear message on stderr, exit status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from logdepth.catalog import INPUTS as catalog_inputs
from logdepth.catalog import names as catalog_names
from logdepth.errors import InputError, LogdepthError, SpecError
from logdepth.model.inputs import quoted, shown_symbol


# ---- helpers ---------------------------------------------------------------------------------
def _pick(
    spec: Any, name: str | None, path: str, want: str, how: str = "--name"
) -> tuple[str, Any]:
    """The object named `name` in `spec`, or its only object of the wanted kind; `how` is how
    the user names one (the option to suggest)."""
    from logdepth.graphs import Graph

    def is_wanted(obj: Any) -> bool:
        return isinstance(obj, Graph) == (want == "graph")

    kind = "graph" if want == "graph" else "automaton"
    if name is not None:
        if name not in spec:
            raise SpecError(
                f"no spec named {name!r}; the file defines {', '.join(spec.names) or 'nothing'}",
                file=path,
            )
        if not is_wanted(spec[name]):
            other = "an automaton" if want == "graph" else "a graph"
            raise SpecError(f"{name!r} is {other}; this needs a {kind}", file=path)
        return name, spec[name]
    candidates = [n for n in spec.names if is_wanted(spec[n])]
    if len(candidates) != 1:
        raise SpecError(
            f"the file defines {len(candidates)} {kind}s ({', '.join(candidates) or 'none'}); "
            f"choose one with {how}",
            file=path,
        )
    return candidates[0], spec[candidates[0]]


def _progress(enabled: bool, what: str = "inputs"):
    """Progress of a long verification run on stderr (logdepth.progress: a bar with an ETA on a
    terminal, a plain line every few seconds elsewhere)."""
    from logdepth.progress import Bar

    return Bar(what) if enabled else None


def _backend(model: Any, args: argparse.Namespace):
    """The backend --workers / --scheduler ask for (in this process without them): a context
    manager that stops a cluster it started, also on Ctrl-C (docs/distributed.md)."""
    from logdepth import distributed

    source = None
    if args.workers is not None or args.scheduler is not None:
        distributed.check_options(args.workers, args.scheduler)
        source = distributed.ModelSource.of_file(
            args.model, getattr(args, "dtype", None), getattr(args, "device", None)
        )
    return distributed.backend(model, source, args.workers, args.scheduler)


def _graph_argument(text: str):
    """`SPEC:NAME` (a graph block of a spec file) or a path to an edge-list / DIMACS file."""
    from logdepth.dsl import parse_file
    from logdepth.graphs import Graph

    path, _, name = text.rpartition(":")
    if path and name and Path(path).is_file() and not Path(text).is_file():
        spec = parse_file(path)
        return _pick(spec, name, path, "graph")[1]
    if not os.path.lexists(text):
        raise InputError(f"{text}: no such graph file (use SPEC:NAME or an edge-list file)")
    return Graph.from_file(text)  # says why a device, FIFO or directory is refused


# ---- subcommands ------------------------------------------------------------------------------
def _compile_construction(args: argparse.Namespace) -> str:
    """The catalog name `compile` builds: --construction, with --connectivity kept as the
    short form of the graph constructions (--connectivity [--construction uniform|wide]: the
    catalog's "connectivity" aliases)."""
    from logdepth import catalog

    if not args.connectivity:
        return args.construction or catalog.DEFAULT
    graphs = catalog.names(accepts="graph")
    choice = args.construction or catalog.aliases("connectivity")[0]
    if choice in graphs:
        return choice
    known = catalog.aliases("connectivity")
    if choice not in known:
        raise InputError(
            f"--connectivity has the constructions {' and '.join(known)}, not {choice}"
        )
    return catalog.by_alias("connectivity", choice).name


def cmd_compile(args: argparse.Namespace) -> int:
    import logdepth
    from logdepth import catalog
    from logdepth.fileio import refuse_inputs

    out = Path(args.output)
    construction = _compile_construction(args)
    entry = catalog.get(construction)
    # Fail before the work: option mistakes, and an output that would overwrite the spec.
    if entry.accepts == "graph":
        if args.spec is not None or args.name is not None or args.max_length is not None:
            raise InputError(
                f"--construction {construction} takes no spec, --name or --max-length: one set "
                "of weights serves every graph"
            )
    elif args.spec is None:
        raise InputError(f"--construction {construction} needs a SPEC file")
    elif entry.needs_max_length and args.max_length is None:
        raise InputError(f"--construction {construction} needs --max-length N")
    elif not entry.needs_max_length and args.max_length is not None:
        raise InputError(
            f"--max-length is for a non-uniform construction (--construction nonuniform or "
            f"nonuniform-wide); the {construction} model serves every length up to its frontier"
        )
    if args.max_length is not None and args.max_length < 1:
        raise InputError(f"--max-length must be at least 1, not {args.max_length}")
    if args.spec is not None:
        refuse_inputs(out, [args.spec], error=InputError)
    if entry.accepts == "graph":
        model = logdepth.compile(construction=construction)
    else:
        # --name lowers only that block: an error in another block does not stop it.
        spec = logdepth.parse_file(args.spec, only=args.name)
        name, automaton = _pick(spec, args.name, args.spec, "automaton")
        model = logdepth.compile(
            automaton,
            construction=construction,
            max_length=args.max_length,
            source=spec.source,
        )
    model.save(out)
    reach = model.config.frontier.get("float64")
    if args.max_length is not None and reach is not None and reach < args.max_length:
        # Built as asked, but precision, not the build, sets how long a word it answers.
        print(
            f"logdepth: note: --max-length {args.max_length:,} is past these weights' float64 "
            f"frontier: words longer than {reach:,} symbols are refused (docs/precision.md)",
            file=sys.stderr,
        )
    built = catalog.of_config(model.config.construction) or entry  # auto: what it chose
    for line in compile_summary(model, out, built.name, built.formula, verbose=args.verbose):
        print(line)
    return 0


def compile_summary(
    model: Any, out: Path, name: str, formula: str, *, verbose: bool = False
) -> list[str]:
    """What `compile` prints: the construction, the layer count, the width, the parameters and
    the frontier per dtype (--verbose: then every entry of the build's report)."""
    cfg = model.config
    report = model.extra.get("report", {})
    report = report if isinstance(report, dict) else {}
    s, r, t = cfg.s_r_t
    unit = catalog_inputs[cfg.input_format].unit
    # The mask buffers select cells; they are not weights (as `inspect` counts).
    parameters = sum(
        v.numel() for k, v in model.network.tensors.items() if not k.endswith(".mask")
    )
    layers = report.get("layers") if isinstance(report.get("layers"), str) else formula
    frontier = ", ".join(
        f"{dtype} {f'{n:,} {unit}' if n > 0 else 'none'}"
        for dtype, n in sorted(cfg.frontier.items())
    )
    theorem = report.get("theorem")
    lines = [
        f"wrote {out}: {name}" + (f" ({theorem})" if isinstance(theorem, str) else ""),
        f"  ({s}, {r}, {t})-universal transformer",
        f"  layers: {layers}",
        f"  d_model {cfg.d_model}, {parameters:,} parameters",
        f"  frontier (longest input it answers, per dtype): {frontier or 'none'}",
    ]
    chosen = report.get("chosen")
    if isinstance(chosen, dict):  # construction="auto" says what it picked and why
        why = f"{chosen.get('class')}: {chosen.get('reason')}"
        lines.append(f"  chosen: {chosen.get('construction')} ({why})")
    if verbose:
        lines += [
            f"  {key}: {value}"
            for key, value in report.items()
            if isinstance(value, str | int | float | bool)
        ]
    return lines


# Words (or graph queries) answered per forward pass: bounds memory on long inputs while
# keeping the per-call overhead small (10,000 words of length 64 is 10 passes).
RUN_BATCH = 1024
GRAPH_BATCH = 16


def _load_for_running(args: argparse.Namespace) -> Any:
    """The weight file of `args.model`, on --device and in --dtype when given."""
    import logdepth

    model = logdepth.load(args.model)
    if args.device is not None or args.dtype is not None:
        model = model.to(device=args.device, dtype=args.dtype)
    return model


def _lines(path: str) -> list[str]:
    """The lines of a file, or of stdin for "-", without their line ends ('' stays a word; an
    empty input has no lines, not one empty one)."""
    stdin = getattr(sys.stdin, "buffer", None) if path == "-" else None
    if path == "-" and stdin is None:  # replaced by text (a test harness): already decoded
        text = sys.stdin.read()
    else:
        data = stdin.read() if stdin is not None else Path(path).read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            line = data.count(b"\n", 0, err.start) + 1
            where = "stdin" if path == "-" else path
            raise InputError(
                f"{where}:{line}: cannot read: not UTF-8 text (byte {err.start:,})"
            ) from None
        text = text.removeprefix("\ufeff")  # a UTF-8 byte-order mark is not part of a word
    if not text:
        return []
    return [line.rstrip("\r") for line in text.split("\n")][: -1 if text.endswith("\n") else None]


def _stdin_is_piped() -> bool:
    try:
        return not sys.stdin.isatty()
    except (AttributeError, ValueError, OSError):  # closed, or replaced by a test harness
        return False


def _words(args: argparse.Namespace) -> tuple[list[str], bool]:
    """Words from the command line, then --file (or stdin: `-`, or no words on a pipe), and
    whether a file or stdin was read (an empty one has no words to answer: no lines out)."""
    words = list(args.words)
    streamed = words == ["-"] or args.file is not None
    if words == ["-"]:
        words = _lines("-")
    if args.file is not None:
        words += _lines(args.file)
    elif not words and _stdin_is_piped():
        words, streamed = _lines("-"), True
    return words, streamed


# How `run` echoes an input on its answer line: control characters (a TAB would split the TSV
# line, a newline would add one) and backslashes (so that an escape is never ambiguous) are
# written as the escapes Python writes them: \t \n \r \\ \x1b \u2028.
_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\\": "\\\\"}
# Escaped in JSON lines too: line breaks to readers that split on more than \n (str.splitlines),
# and lone surrogates (bytes of a command-line word that were not UTF-8), which a strict
# stdout cannot encode.
_JSON_ESCAPES = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}
_JSON_ESCAPES.update({c: f"\\u{c:04x}" for c in range(0xD800, 0xE000)})


def _escaped(text: str) -> str:
    """`text` with control characters, lone surrogates, line and paragraph separators and
    backslashes escaped."""
    if text.isprintable() and "\\" not in text:
        return text
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp"):
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


# A failed input's answer line echoes at most this many characters, then a count: Linux's
# PATH_MAX, so any file path or graph name a user can type echoes whole and the line still names
# its input, while a 10 MB bad word is not copied to the output. (Messages on stderr are shorter
# still: ECHO_LIMIT, one terminal line.)
ANSWER_ECHO_LIMIT = 4096


def _shortened(text: str) -> str:
    """A failed input as its answer line echoes it: past ANSWER_ECHO_LIMIT characters, its
    first ones and a count."""
    if len(text) <= ANSWER_ECHO_LIMIT:
        return text
    return f"{text[:ANSWER_ECHO_LIMIT]}... ({len(text):,} characters)"


def _emit(args: argparse.Namespace, fields: dict[str, str], answer: Any, what: str) -> bool:
    """Print one answer line (TSV: the fields, then the answer; --json: one object) and, for
    an error, a message naming the input (`what`) on stderr. True when it was an answer."""
    ok = not isinstance(answer, Exception)
    shown = fields if ok else {k: _shortened(v) for k, v in fields.items()}
    if args.json:  # json.dumps escapes control characters itself
        out = {**shown, "answer": answer} if ok else {**shown, "error": str(answer)}
        print(json.dumps(out, ensure_ascii=False).translate(_JSON_ESCAPES))
    else:
        print("\t".join([*map(_escaped, shown.values()), answer if ok else "error"]))
    if not ok:
        print(f"logdepth: error: {what}: {answer}", file=sys.stderr)
    return ok


def cmd_run(args: argparse.Namespace) -> int:
    """Answer words (Theorem 1 models) or graph queries (Theorem 2), one line each."""
    from logdepth import catalog

    model = _load_for_running(args)
    return RUNNERS[catalog.input_of(model).name](model, args)


def _run_words(model: Any, args: argparse.Namespace) -> int:
    """Answer every word; a bad word fails only its own line."""
    if args.graph or args.pair or args.queries or args.source or args.target:
        raise InputError("this model recognizes words; --graph needs a connectivity model")
    words, streamed = _words(args)
    if not words and streamed:
        return 0  # an empty file or stdin: nothing to answer
    if not words:
        raise InputError("give at least one word ('' is the empty word), --file F, or stdin")
    ok = True
    for start in range(0, len(words), RUN_BATCH):
        batch = words[start : start + RUN_BATCH]
        for word, answer in zip(batch, model.accepts_each(batch), strict=True):
            shown = answer if isinstance(answer, Exception) else "accept" if answer else "reject"
            ok = _emit(args, {"word": word}, shown, f"word {quoted(word)}") and ok
        sys.stdout.flush()
    return 0 if ok else 1


@dataclass(frozen=True)
class _BadLine:
    """A malformed --queries line: answered `error` in its place while the others run."""

    where: str  # FILE:LINE
    line: str
    error: InputError


def _graph_queries(args: argparse.Namespace) -> list[tuple[str, str, str] | _BadLine]:
    """(graph, source, target) for every --graph and every pair (--source/--target and each
    --pair), then the lines "GRAPH SOURCE TARGET" of --queries (a malformed line is a
    `_BadLine` in its place: it fails alone)."""
    if args.words:
        raise InputError("this model takes graphs, not words")
    pairs = [tuple(p) for p in args.pair or []]
    if args.source is not None or args.target is not None:
        if args.source is None or args.target is None:
            raise InputError("--source and --target go together (or use --pair A B)")
        pairs.insert(0, (args.source, args.target))
    queries: list[tuple[str, str, str] | _BadLine] = [
        (g, s, t) for g in args.graph or [] for s, t in pairs
    ]
    if args.graph and not pairs:
        raise InputError("give the vertices: --source A --target B, or --pair A B (repeatable)")
    if pairs and not args.graph:
        raise InputError("give the graph: --graph SPEC:NAME or an edge-list file")
    for number, line in enumerate(_lines(args.queries) if args.queries else [], start=1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) != 3:
            err = InputError(f"expected GRAPH SOURCE TARGET, not {quoted(line)}")
            queries.append(_BadLine(f"{args.queries}:{number}", line, err))
            continue
        queries.append((fields[0], fields[1], fields[2]))
    if not queries and args.queries:
        return []  # an empty --queries file: nothing to answer
    if not queries:
        raise InputError(
            "this model decides connectivity: give --graph G with --source A --target B "
            "(or --pair A B), or --queries FILE"
        )
    return queries


def _run_graphs(model: Any, args: argparse.Namespace) -> int:
    """Answer every connectivity query; a bad graph or vertex fails only its own queries."""
    queries = _graph_queries(args)
    graphs: dict[str, Any] = {}
    for query in queries:
        if not isinstance(query, _BadLine) and query[0] not in graphs:
            try:
                graphs[query[0]] = _graph_argument(query[0])
            except LogdepthError as err:
                graphs[query[0]] = err
    ok = True
    for start in range(0, len(queries), GRAPH_BATCH):
        batch = queries[start : start + GRAPH_BATCH]
        runnable = [
            (graphs[q[0]], q[1], q[2])
            for q in batch
            if not isinstance(q, _BadLine) and not isinstance(graphs[q[0]], Exception)
        ]
        answers = iter(model.connected_each(runnable))
        for query in batch:
            if isinstance(query, _BadLine):  # the line is echoed as the graph field
                fields = {"graph": query.line, "source": "", "target": ""}
                _emit(args, fields, query.error, query.where)
                ok = False
                continue
            g, s, t = query
            answer = graphs[g] if isinstance(graphs[g], Exception) else next(answers)
            if isinstance(answer, bool):
                answer = "connected" if answer else "disconnected"
            fields = {"graph": g, "source": s, "target": t}
            what = f"graph {quoted(g)}, {quoted(s)} -> {quoted(t)}"
            ok = _emit(args, fields, answer, what) and ok
        sys.stdout.flush()
    return 0 if ok else 1


def cmd_verify(args: argparse.Namespace) -> int:
    import logdepth
    from logdepth.model.compiled import CompiledModel
    from logdepth.verify.report import EXHAUSTIVE_LIMIT

    for option, value in (("--max-length", args.max_length), ("--exhaustive", args.exhaustive)):
        if value is not None and value < 0:
            raise InputError(f"{option} must be 0 or more, not {value}")
    if not 0 <= args.budget < float("inf"):
        raise InputError(f"--budget must be a number of seconds, 0 or more, not {args.budget}")
    # Each sample is a forward pass: past the exhaustive limit it would run for days.
    if args.samples is not None and not 0 <= args.samples <= EXHAUSTIVE_LIMIT:
        raise InputError(f"--samples must be between 0 and {EXHAUSTIVE_LIMIT:,}")
    from logdepth import catalog
    from logdepth.api import verify as verify_model
    from logdepth.verify import oracle as oracles

    # A bad --oracle is reported before any work.
    oracle = oracles.load(args.oracle) if args.oracle is not None else None
    from logdepth.distributed import check_options

    check_options(args.workers, args.scheduler)  # the missing extra before any work
    model = _load_for_running(args)
    progress = _progress(not args.json)
    entry = catalog.of_config(model.config.construction)
    if entry is None:
        raise InputError(
            f"{args.model}: no construction is registered as {model.config.construction!r}, so "
            "there is no oracle or formula to verify it against (`logdepth constructions`)"
        )
    if args.spec is not None:
        if entry.accepts != "automaton":
            raise InputError(f"--spec is for word models; {entry.name} decides connectivity")
        path, _, name = args.spec.rpartition(":")
        if not path:
            path, name = args.spec, None
        spec = logdepth.parse_file(path)
        _, automaton = _pick(spec, name or None, path, "automaton", how="--spec SPEC:NAME")
        kind = "nfa" if type(automaton).__name__ == "NFA" else "dfa"
        extra = {**model.extra, "spec": automaton.to_dict(), "spec_type": kind}
        model = CompiledModel(model.network, extra)
    with _backend(model, args) as backend:
        run = backend if args.workers is not None or args.scheduler is not None else None
        if run is not None:  # stderr: the report itself is the serial one
            print(f"logdepth: verify's word passes run {run.where}", file=sys.stderr)
        report = verify_model(
            model,
            oracle=oracle,
            max_length=args.max_length,
            samples=args.samples,
            exhaustive=args.exhaustive,
            seed=args.seed,
            progress=progress,
            budget_s=args.budget,
            backend=run,
        )
        if run is not None and not run.used:
            print(
                f"logdepth: every check ran in this process: {entry.name}'s verifier hands no "
                "cases to the workers",
                file=sys.stderr,
            )
    if args.json:
        print(json.dumps(report.to_json(), indent=2, sort_keys=True))
    else:
        for line in report.lines:
            print(line)
        print(f"{'OK' if report.ok else 'FAILED'}: {report.checks} checks")
        if report.counterexample is not None:
            # Words are quoted so that the empty word is visible.
            shown = report.counterexample
            if entry.input_format and catalog.INPUTS[entry.input_format].quoted:
                shown = repr(shown)
            print(f"shortest counterexample: {shown}")
    return 0 if report.ok else 1


def cmd_export(args: argparse.Namespace) -> int:
    """Write a weight file as ONNX or npz (docs/export.md)."""
    import logdepth
    from logdepth.export import export
    from logdepth.fileio import refuse_inputs

    refuse_inputs(args.output, [args.model])
    model = logdepth.load(args.model)
    if args.dtype is not None:
        model = model.to(args.dtype)
    meta = export(model, args.output, args.format, n_max=args.n)
    depth = meta["depth"]
    how = {
        "loop": "the repeated block as an ONNX Loop",
        "unrolled": f"unrolled for n <= {depth.get('n_max')} ({depth.get('copies')} copies)",
        "fixed": f"fixed depth ({depth.get('copies')} copies)",
    }[depth["mode"]]
    where = "" if args.format == "npz" else f", {how}"
    print(
        f"wrote {args.output}: {args.format}, {meta['dtype']}{where}; inputs up to "
        f"n = {meta['largest_n']} (larger ones get NaN logits)"
        if args.format == "onnx"
        else f"wrote {args.output}: npz, {meta['dtype']}, {len(meta['residual_labels'])} "
        "residual dimensions; config and labels in 'logdepth.json'"
    )
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    import logdepth
    from logdepth.verify.inspect import describe

    model = logdepth.load(args.model)
    info = describe(model)
    if args.json:
        print(json.dumps(info, indent=2, sort_keys=True))
        return 0
    cfg = info["config"]
    print(f"{args.model}: {info['construction'] or 'program'}")
    print(
        f"  ({cfg['s']}, {cfg['r']}, {cfg['t']})-universal, d_model {cfg['d_model']}, "
        f"{info['parameters']['total']:,} parameters ({info['parameters']['nonzero']:,} nonzero)"
    )
    rule = cfg["depth_rule"]
    counted = model.config.depth_rule.count_tokens
    if len(counted) > INSPECT_ITEMS:  # n counts the whole alphabet: name it, not 120 symbols
        among = f"the number of tokens among {len(counted):,} symbols"
        rule = rule.split(", n = ")[0] + f", n = {among}"
    print(
        f"  depth rule: {rule}; tie tolerance {cfg['tie_tolerance']:.3g}; "
        f"frontier {cfg['frontier'] or 'none'}"
    )
    # Symbols as messages show them ("-", " "); the models' own tokens (<bos>, <$>) bare.
    vocab = [v if v.startswith("<") and v.endswith(">") else shown_symbol(v) for v in cfg["vocab"]]
    if len(vocab) > INSPECT_ITEMS:
        vocab = [*vocab[:INSPECT_ITEMS], f"... ({len(vocab):,} in all)"]
    print(f"  vocabulary: {' '.join(vocab)}; outputs: {' '.join(cfg['outputs'])}")
    for key, value in info["report"].items():
        print(f"  {key}: {_brief(value)}")
    if any(len(str(v)) > INSPECT_WIDTH for v in info["report"].values()):
        print("  (long entries summarised: `inspect --json` writes them in full)")
    print("cells:")
    for cell in info["cells"]:
        labels = " ".join(cell["labels"][:8]) + (" ..." if len(cell["labels"]) > 8 else "")
        print(
            f"  [{cell['offset']:>5}:{cell['offset'] + len(cell['labels']):<5}] "
            f"{cell['name']} ({cell['kind']}): {labels}"
        )
    print("layers (per head: query . key -> value => writes; c causal, u unmasked):")
    for layer in info["layers"]:
        print(f"  {layer['name']:<14} heads {layer['heads']} ff {layer['d_ff']:<6} {layer['text']}")
        for head in layer["head_details"]:
            print(
                f"    head {head['head']} ({'c' if head['causal'] else 'u'}): "
                f"{_names(head['query'])} . {_names(head['key'])} -> {_names(head['value'])} "
                f"=> {_names(head['writes'])}" + (f"  # {head['note']}" if head["note"] else "")
            )
        if layer["ff_note"]:
            print(f"    ff: {layer['ff_note']}")
    return 0


# `inspect` keeps a report entry to one readable line: past INSPECT_WIDTH characters (an S5
# codebook is 119 KB) it shows the entry's shape instead, and at most INSPECT_ITEMS symbols of a
# vocabulary. `inspect --json` writes everything.
INSPECT_WIDTH = 160
INSPECT_ITEMS = 24


def _brief(value: Any, width: int = INSPECT_WIDTH) -> str:
    """`value` as one line of `inspect`: itself when short, else its shape (a dict's keys with
    each value's brief form, a list's length)."""
    text = str(value)
    if len(text) <= width or isinstance(value, str):  # prose stays whole
        return text
    if isinstance(value, dict):
        parts, used = [], 0
        for k, v in value.items():
            part = f"{k}: {_brief(v, 24)}"
            if used + len(part) > width and parts:
                parts.append(f"... ({len(value):,} keys)")
                break
            parts.append(part)
            used += len(part) + 2
        return "{" + ", ".join(parts) + "}"
    if isinstance(value, list | tuple):
        return f"[{len(value):,} items]"
    return text[: width - 3] + "..."


def _names(cells: Sequence[str]) -> str:
    """Cell names for one line of `inspect` ("-" for none)."""
    return ",".join(cells) or "-"


def cmd_precision(args: argparse.Namespace) -> int:
    """Least mantissa bits p per n (n = 2^k, or --sizes; p-bit emulation, Definition 4) and the
    fit."""
    import logdepth
    from logdepth import catalog
    from logdepth.distributed import check_options
    from logdepth.precision import log2_sizes
    from logdepth.progress import Bar
    from logdepth.verify.precision import MIN_FIT_SIZES, sweep

    check_options(args.workers, args.scheduler)  # the missing extra before any work
    model = logdepth.load(args.model)
    fmt = catalog.input_of(model)
    largest = args.max_n if args.max_n is not None else fmt.default_max_n
    if largest < 2:
        raise InputError("--max-n must be at least 2")
    sizes = _sweep_sizes(args.sizes, args.max_n) if args.sizes else log2_sizes(largest)
    if args.inputs < 1:  # with no inputs every p would pass: a fit of nothing
        raise InputError(f"--inputs must be 1 or more, not {args.inputs}")
    what = fmt.unit
    # n(p): the largest n the precision model promises at p bits (the file's derived curve).
    curve = (model.extra.get("report") or {}).get("frontier_by_bits") or {}
    # The bar counts the sweep's units as they finish (on workers, the largest first), its ETA
    # weighted by their estimated work (tokens squared: the largest n is most of it); the
    # table's rows print in the order of the sizes.
    drawn: list[tuple[int, int, float]] = []

    def advance(done: int, total: int, fraction: float) -> None:
        drawn[:] = [(done, total, fraction)]
        if done < total:  # the last one is drawn under the table
            bar(done, total, fraction)

    def show(n: int, p: int | None) -> None:
        promised = curve.get(str(p)) if p is not None else None
        shown = "-" if promised is None else ("none" if promised < 1 else f"{promised:,}")
        bar.clear()
        print(f"  {n:>8} {p if p is not None else '>51':>4} {shown:>12}", flush=True)
        if drawn and drawn[0][0] < drawn[0][1]:
            bar(*drawn[0])

    with _backend(model, args) as backend:  # a cluster that cannot start: nothing printed
        run = backend if args.workers is not None or args.scheduler is not None else None
        if run is not None:  # stderr: the report itself is the serial one
            print(f"logdepth: the sizes run {run.where}", file=sys.stderr)
        print(f"{args.model}: least p (stored mantissa bits) with every answer right,")
        print(f"  {args.inputs} accepting/connected + {args.inputs} random inputs per n ({what})")
        print(f"  stored frontier: {model.config.frontier or 'none'}")
        print(
            f"  {'n':>8} {'p':>4} {'frontier(p)':>12}   (frontier(p): the largest n promised at p)"
        )
        bar = Bar("units")  # started once the cluster is up: the ETA counts the sweep only
        result = sweep(
            model, sizes, k=args.inputs, seed=args.seed, progress=show, backend=run,
            advance=advance,
        )
        if drawn:
            bar(*drawn[0])
    if not result.fitted:
        past = result.past_floor
        where = f" (n = {', '.join(map(str, past))})" if past else ""
        print(
            f"no fit: {len(past)} size{'s' if len(past) != 1 else ''} past the flat floor"
            f"{where}; a line p = c log2(n) + b needs at least {MIN_FIT_SIZES} to be tested "
            "(a line through two points always fits): raise --max-n"
        )
        return 1
    sign = "-" if result.b < 0 else "+"
    print(
        f"fit over n = {result.fitted[0]}..{result.fitted[-1]}: p = {result.c:.2f} log2(n) "
        f"{sign} {abs(result.b):.2f}   (r^2 = {result.r2:.3f}, {len(result.fitted)} sizes); "
        f"below n = {result.fitted[0]} p is flat "
        "(gaps of the scaled hashes that do not shrink with n)"
    )
    return 0


def _sweep_sizes(text: str, max_n: int | None) -> list[int]:
    """--sizes: increasing integers >= 2, comma-separated (a sweep starts each size's search
    from the last one's p, which assumes growing n); not together with --max-n."""
    if max_n is not None:
        raise InputError("give --sizes or --max-n, not both")
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise InputError(f"--sizes takes comma-separated integers, not {text!r}") from None
    if any(n < 2 for n in sizes):
        raise InputError(f"--sizes must be at least 2 each, not {text!r}")
    if any(b <= a for a, b in zip(sizes, sizes[1:], strict=False)):
        raise InputError(f"--sizes must increase, not {text!r}")
    return sizes


def _trace_input(model: Any, args: argparse.Namespace, attention: bool = True):
    """The trace of MODEL on the command line's input: a word, or --graph/--source/--target."""
    from logdepth import catalog

    return TRACE_INPUTS[catalog.input_of(model).name](args)


def _graph_trace_input(args: argparse.Namespace):
    if args.graph is None or args.source is None or args.target is None:
        raise InputError("this model decides connectivity: give --graph, --source, --target")
    if args.word is not None:
        raise InputError("this model takes a graph, not a word")
    return None, _graph_argument(args.graph)


def _word_trace_input(args: argparse.Namespace):
    if args.graph is not None:
        raise InputError("this model recognizes words; --graph needs a connectivity model")
    if args.word is None:
        raise InputError("give the word to run ('' is the empty word)")
    return args.word, None


# Per input format (catalog.INPUTS): how `run` answers and what `explain` traces.
RUNNERS = {"word": _run_words, "graph": _run_graphs}
TRACE_INPUTS = {"word": _word_trace_input, "graph": _graph_trace_input}


def cmd_explain(args: argparse.Namespace) -> int:
    import logdepth
    from logdepth.explain import explain_graph, explain_word, render_html
    from logdepth.fileio import atomic_write, refuse_inputs

    refuse_inputs(args.output, [args.model])
    model = logdepth.load(args.model)
    word, graph = _trace_input(model, args)
    if graph is not None:
        data = explain_graph(model, graph, args.source, args.target)
    else:
        data = explain_word(model, word)
    page = render_html(data)
    atomic_write(args.output, page.encode("utf-8"))
    print(
        f"wrote {args.output}: {len(data['levels'])} levels, {len(data['layers'])} layers, "
        f"{len(page.encode()) / 1e6:.2f} MB; answer {data['answer']}"
    )
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from logdepth import plot

    plot.pyplot()  # a missing extra is reported before any work
    if args.depth:
        if args.model is not None or args.word is not None:
            raise InputError("plot --depth takes no model or input")
        plot.plot_depth(args.output, max_n=args.max_n)
        print(f"wrote {args.output}: layer count against n, up to n = {args.max_n}")
        return 0
    import logdepth
    from logdepth.model import inputs

    if args.model is None:
        raise InputError("plot needs MODEL and an input (or --depth)")
    from logdepth.fileio import refuse_inputs

    refuse_inputs(args.output, [args.model])
    model = logdepth.load(args.model)
    word, graph = _trace_input(model, args)
    if graph is not None:
        nodes = list(graph.nodes)
        for v in (args.source, args.target):
            if v not in nodes:
                raise InputError(f"vertex {v!r} is not a node of the graph")
        tokens = inputs.encode_graph(
            graph.adjacency(), nodes.index(args.source), nodes.index(args.target)
        )
        trace = model.trace_tokens(tokens, attention=args.what == "attention")
    else:
        trace = model.trace(word, attention=args.what == "attention")
    if args.what == "residual":
        plot.plot_residual(trace, args.output, args.layer)
    else:
        plot.plot_attention(trace, args.output, args.layer)
    print(f"wrote {args.output}")
    return 0


def cmd_constructions(args: argparse.Namespace) -> int:
    """Every registered construction: its name, reference, input, layer formula."""
    from logdepth.catalog import entries

    rows = [
        {
            "name": c.name,
            "reference": c.reference,
            "accepts": c.accepts,
            "input": c.input_format,
            "layers": c.formula,
            "capacity": c.capacity,
            "needs_max_length": c.needs_max_length,
            "config_name": c.config_name,
            "summary": c.summary,
        }
        for c in entries()
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        cap = f", n <= {r['capacity']:,}" if r["capacity"] else ""
        size = " (--max-length N)" if r["needs_max_length"] else ""
        print(f"{r['name']}{size}: {r['reference']}")
        what = "a DFA or NFA" if r["accepts"] == "automaton" else "nothing (one file, every graph)"
        print(f"    compiles {what}; runs on {r['input']}s; layers {r['layers']}{cap}")
        if r["summary"]:
            print(f"    {r['summary']}")
    return 0


def cmd_budget(args: argparse.Namespace) -> int:
    """Corollaries 1.2 and 2.1 as depth budgets, next to the exact layer formulas."""
    from dataclasses import asdict

    from logdepth.budget import LAYERS_LIMIT_REASON, budgets, max_layers

    if args.layers < 0:
        raise InputError(f"--layers must be 0 or more, not {args.layers}")
    if args.layers > max_layers():
        raise InputError(
            f"--layers must be at most {max_layers():,}, not {args.layers:,}: {LAYERS_LIMIT_REASON}"
        )
    rows = budgets(args.layers)
    if args.json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
        return 0
    print(f"largest input with {args.layers} layers:")
    for r in rows:
        largest = "any" if r.largest is None else f"{r.largest:,}"
        print(f"  {r.construction:<26} {r.formula:<30} {largest:>15} {r.unit}")
    print("(exact: inverts the layer counts of the built weights; paper: its corollary bounds)")
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    """The class of each automaton's language (aperiodic / solvable / non-solvable) from its
    syntactic monoid, with certificates; one section (--json: one object per line) each."""
    import logdepth
    from logdepth.graphs import Graph

    spec = logdepth.parse_file(args.spec)
    if args.name is not None:
        if args.name in spec and isinstance(spec[args.name], Graph):
            raise SpecError(
                f"{args.name!r} is a graph; classify takes an automaton (a dfa, nfa, regex or "
                "group block)",
                file=args.spec,
            )
        names = [_pick(spec, args.name, args.spec, "automaton")[0]]
    else:
        names = [n for n in spec.names if not isinstance(spec[n], Graph)]
        if not names:
            raise SpecError("the file defines no automaton to classify", file=args.spec)
    ok = True
    for k, name in enumerate(names):
        try:
            result = logdepth.classify(spec[name])
        except LogdepthError as err:
            if args.name is not None:
                raise
            ok = False
            print(f"logdepth: error: {name}: {err}", file=sys.stderr)
            if args.json:
                print(json.dumps({"name": name, "error": str(err)}, ensure_ascii=False))
            continue
        if args.json:
            print(json.dumps(result.to_json(), ensure_ascii=False))
        else:
            print(("\n" if k else "") + "\n".join(result.lines()))
    return 0 if ok else 1


def _sizes(text: str) -> list[int]:
    """--n 64,4096,1000000: positive integers, comma-separated."""
    try:
        sizes = [int(x.replace("_", "")) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError(f"--n takes comma-separated sizes such as 64,4096, not {text!r}") from None
    if not sizes or any(n < 1 for n in sizes):
        raise InputError(f"--n takes sizes of at least 1, not {text!r}")
    return sizes


def cmd_compare(args: argparse.Namespace) -> int:
    """Every construction that applies to one automaton, side by side (logdepth.compare)."""
    from dataclasses import asdict

    import logdepth
    from logdepth.compare import compare, lines

    sizes = _sizes(args.n)
    spec = logdepth.parse_file(args.spec)
    name, automaton = _pick(spec, args.name, args.spec, "automaton")
    rows = compare(automaton, sizes)
    if args.json:
        print(json.dumps({"name": name, "rows": [asdict(r) for r in rows]}, indent=2))
        return 0
    print(f"{name}: layers per n, width, parameters, stored frontiers (symbols), compile time")
    print("\n".join(lines(rows, sizes)))
    return 0


# ---- entry point -----------------------------------------------------------------------------
def _check_hook(spec: Any, args: argparse.Namespace) -> dict[str, Any]:
    """`logdepth check` decides every check by running compiled weights, not the oracles."""
    import logdepth
    from logdepth.graphs import Graph

    cache: dict[str, Any] = {}

    def model_for(name: str):
        if name not in cache:
            cache[name] = logdepth.compile(spec[name], source=spec.source)
        return cache[name]

    connectivity: list[Any] = []

    def accepts(name: str, word: Sequence[str]) -> bool:
        return model_for(name).accepts(list(word))

    def connected(name: str, source: str, target: str) -> bool:
        if not connectivity:
            connectivity.append(logdepth.compile_connectivity())
        graph = spec[name]
        assert isinstance(graph, Graph)
        return connectivity[0].connected(graph, source, target)

    return {"accepts": accepts, "connected": connected}


class _Parser(argparse.ArgumentParser):
    """An argument parser that, with `intermixed=True`, takes its options anywhere among its
    positional arguments (`run M 0110 --dtype float32` and `run M --dtype float32 0110`): plain
    argparse ends a `nargs="*"` positional at the first option and refuses the words after it.
    Only for parsers without subcommands or REMAINDER arguments (argparse's own limit)."""

    def __init__(self, *args: Any, intermixed: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._intermixed = intermixed
        self._inside = False  # parse_known_intermixed_args calls parse_known_args twice

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        if not self._intermixed or self._inside:
            return super().parse_known_args(args, namespace)
        self._inside = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._inside = False


def build_parser() -> argparse.ArgumentParser:
    from logdepth.dsl import commands as dsl_commands

    parser = argparse.ArgumentParser(
        prog="logdepth",
        description="Compile automata and graphs into log-depth transformer weights "
        "(Merrill & Sabharwal 2025), run them, and verify them.",
    )
    parser.add_argument("--version", action="version", version=f"logdepth {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    _add_compile_parsers(sub)
    _add_run_parsers(sub)
    _add_verify_parsers(sub)
    _add_tools_parsers(sub)
    _add_pictures_parsers(sub)
    _add_listings_parsers(sub)

    dsl_commands.register(sub, check_hook=_check_hook)
    for command in sub.choices.values():  # `logdepth run --version` works too
        command.add_argument("--version", action="version", version=f"logdepth {_version()}")
    return parser


def _add_compile_parsers(sub: Any) -> None:
    """compile: a spec (Theorem 1 and the rest) or Theorem 2's graph model."""
    p = sub.add_parser("compile", help="compile a spec (Theorem 1) or connectivity (Theorem 2)")
    p.add_argument("spec", nargs="?", help="spec file")
    p.add_argument("--name", help="which automaton of the spec file")
    p.add_argument(
        "--construction",
        choices=_construction_choices(),
        help="which construction (default uniform; `logdepth constructions` lists them)",
    )
    p.add_argument("--max-length", type=int, help="longest word (nonuniform, Corollary 1.1)")
    p.add_argument(
        "--connectivity",
        action="store_true",
        help="Theorem 2's graph model (--construction connectivity; with wide: connectivity-wide)",
    )
    p.add_argument("-o", "--output", required=True, help="weight file to write (.safetensors)")
    p.add_argument(
        "--verbose", action="store_true", help="print every entry of the build's report too"
    )
    p.set_defaults(func=cmd_compile)


def _add_run_parsers(sub: Any) -> None:
    """run: words or graph queries through a weight file."""
    p = sub.add_parser(
        "run",
        intermixed=True,
        help="run a weight file on words or graph queries",
        description="Answer each word (or graph query) on its own line: the input echoed, then "
        "the answer, tab-separated (--json: one object per line). Words come from the command "
        "line, --file F, or stdin ('-', or no words on a pipe). A bad input gets an 'error' "
        "answer and a message on stderr; the others are still answered; the exit status is 1 "
        "if any failed.",
    )
    p.add_argument("model", help="weight file")
    p.add_argument("words", nargs="*", help="words ('' is the empty word; '-' reads stdin)")
    p.add_argument("--file", help="read words from this file, one per line ('-': stdin)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument(
        "--graph",
        action="append",
        help="SPEC:NAME, or an edge-list or DIMACS file (repeatable: every pair on every graph)",
    )
    p.add_argument("--source", help="source vertex")
    p.add_argument("--target", help="target vertex")
    p.add_argument(
        "--pair", nargs=2, action="append", metavar=("A", "B"), help="a query (repeatable)"
    )
    p.add_argument("--queries", help="file of 'GRAPH SOURCE TARGET' lines ('-': stdin)")
    _device_options(p)
    p.set_defaults(func=cmd_run)


def _add_verify_parsers(sub: Any) -> None:
    """verify: a weight file against ground truth (or the user's oracle)."""
    from logdepth.verify.regular import DEFAULT_BUDGET_S

    p = sub.add_parser("verify", help="check a weight file against ground truth")
    p.add_argument("model", help="weight file")
    p.add_argument("--spec", help="SPEC[:NAME] to verify against instead of the stored spec")
    p.add_argument("--max-length", type=int, help="longest word (or most vertices) to sample")
    p.add_argument(
        "--samples", type=int, help="random inputs to check (default: 200 words or 100 graphs)"
    )
    p.add_argument("--exhaustive", type=int, help="check every input up to this size")
    p.add_argument(
        "--budget",
        type=float,
        default=DEFAULT_BUDGET_S,
        help="word models: seconds for everything past the words up to length 64 (longer "
        "words, traces, the frontier probe, emulation); graph models: for graphs of more "
        "vertices toward the frontier; what does not fit is skipped and said (default 30)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--oracle",
        metavar="MODULE:FUNCTION",
        help="your function decides each input instead of the spec (docs/oracle.md); MODULE "
        "is imported from the current directory first, as python -m does",
    )
    p.add_argument("--json", action="store_true", help="machine-readable report")
    _device_options(p)
    _distributed_options(p, "the words' forward passes")
    p.set_defaults(func=cmd_verify)


def _add_tools_parsers(sub: Any) -> None:
    """export, inspect and precision: a weight file for other tools, its contents, its bits."""
    p = sub.add_parser(
        "export", help="write a weight file as ONNX or npz for other tools (docs/export.md)"
    )
    p.add_argument("model", help="weight file")
    p.add_argument("--format", choices=["onnx", "npz"], required=True)
    p.add_argument(
        "--n",
        "--max-length",
        dest="n",
        type=int,
        help="onnx: unroll the repeated block for inputs up to this size (default: an ONNX Loop)",
    )
    p.add_argument("--dtype", choices=["float64", "float32"], help="export in this dtype")
    p.add_argument("-o", "--output", required=True, help="file to write")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("inspect", help="show a weight file's config, cells and layers")
    p.add_argument("model", help="weight file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser(
        "precision", help="least mantissa bits per input size (p-bit emulation) and the fit"
    )
    p.add_argument("model", help="weight file")
    p.add_argument("--max-n", type=int, help="largest n = 2^k (default 1024 symbols, 8 vertices)")
    p.add_argument(
        "--sizes",
        help="the sizes n to sweep, comma-separated and increasing (e.g. 2,3,4,6,8,12,16), "
        "instead of the powers of two up to --max-n",
    )
    p.add_argument("--inputs", type=int, default=4, help="accepting and random inputs per n")
    p.add_argument("--seed", type=int, default=0)
    _distributed_options(p, "the sizes")
    p.set_defaults(func=cmd_precision)


def _add_pictures_parsers(sub: Any) -> None:
    """explain and plot: one forward pass as a page or a PNG."""
    p = sub.add_parser(
        "explain", help="one forward pass as a self-contained HTML page (levels, layers, heads)"
    )
    p.add_argument("model", help="weight file")
    p.add_argument("word", nargs="?", help="the word ('' is the empty word)")
    p.add_argument("--graph", help="SPEC:NAME, or an edge-list or DIMACS file")
    p.add_argument("--source", help="source vertex")
    p.add_argument("--target", help="target vertex")
    p.add_argument("-o", "--output", required=True, help="HTML file to write")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("plot", help="PNG plots (needs the extra: pip install 'logdepth[plot]')")
    p.add_argument("model", nargs="?", help="weight file")
    p.add_argument("word", nargs="?", help="the word ('' is the empty word)")
    p.add_argument("--graph", help="SPEC:NAME, or an edge-list or DIMACS file")
    p.add_argument("--source", help="source vertex")
    p.add_argument("--target", help="target vertex")
    p.add_argument("--what", choices=["residual", "attention"], default="residual")
    p.add_argument("--layer", type=int, help="layer index as run, from 0 (see explain)")
    p.add_argument("--depth", action="store_true", help="layer count against n, every theorem")
    p.add_argument("--max-n", type=int, default=1024, help="largest n of --depth")
    p.add_argument("-o", "--output", required=True, help="PNG file to write")
    p.set_defaults(func=cmd_plot)


def _add_listings_parsers(sub: Any) -> None:
    """constructions, budget, classify and compare: the catalog and the languages."""
    p = sub.add_parser("constructions", help="list every construction: reference, input, layers")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_constructions)

    p = sub.add_parser("budget", help="largest input per construction for a number of layers")
    p.add_argument("--layers", type=int, required=True, help="the depth budget d")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_budget)

    p = sub.add_parser(
        "classify",
        help="aperiodic / solvable / non-solvable: the syntactic monoid, with certificates",
    )
    p.add_argument("spec", help="spec file")
    p.add_argument("--name", help="only this automaton (default: every automaton of the file)")
    p.add_argument("--json", action="store_true", help="one JSON object per automaton, per line")
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser(
        "compare", help="every construction for one automaton: layers, width, frontiers, time"
    )
    p.add_argument("spec", help="spec file")
    p.add_argument("--name", help="which automaton of the spec file")
    p.add_argument("--n", default="64,4096,1000000", help="sizes for the layer counts")
    p.add_argument("--json", action="store_true", help="the rows as JSON")
    p.set_defaults(func=cmd_compare)

def _device_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dtype", choices=["float64", "float32"], help="run in this dtype")
    p.add_argument("--device", help="run on this device (cpu, cuda, cuda:1, ...)")


def _distributed_options(p: argparse.ArgumentParser, what: str) -> None:
    """--workers / --scheduler (the extra logdepth[distributed]; docs/distributed.md)."""
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help=f"run {what} on a local Dask cluster of N worker processes (same report as "
        "without; pip install 'logdepth[distributed]')",
    )
    g.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help=f"run {what} on a running Dask cluster (tcp://host:8786; docs/distributed.md)",
    )


def _version() -> str:
    """The installed distribution's version, else the package's own (a source checkout)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("logdepth")
    except PackageNotFoundError:
        from logdepth import __version__

        return __version__


def _terminate(signum: int, frame: Any) -> None:
    """SIGTERM unwinds like an exception, so `finally` blocks remove temporary files."""
    raise SystemExit(128 + signum)


def _construction_choices() -> list[str]:
    """--construction's choices: every catalog entry, or the built-in ones when an installed
    plug-in is broken (the commands that need the plug-ins then say which one and why)."""
    from logdepth import catalog
    from logdepth.errors import PluginError

    try:
        return catalog_names()
    except PluginError:
        return [entry.name for entry in catalog.CONSTRUCTIONS]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        previous = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread: leave signals alone
        previous = None
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # a pipe's buffer: a closed reader shows here, not at exit
        return code
    except BrokenPipeError:
        # The reader went away (`inspect | head -1`): stop quietly. Point stdout at devnull so
        # that the interpreter's final flush does not complain either.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):  # stdout is not a real file (tests capture it)
            pass
        return 141  # 128 + SIGPIPE, as a process killed by the signal reports
    except LogdepthError as err:
        text = str(err)
        print(text if ": error: " in text else f"logdepth: error: {text}", file=sys.stderr)
        return 1
    except OSError as err:
        where = f"{err.filename}: " if err.filename else ""
        print(f"logdepth: error: {where}{err.strerror or err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
