# ruff: noqa: E501 -- error messages read best kept on one line each
"""AST -> automaton and graph objects, with every meaning error located (`SpecError`)."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from logdepth.automata.dfa import DFA, state_budget
from logdepth.automata.groups import KINDS as GROUP_KINDS
from logdepth.automata.groups import MAX_DEGREE, check_degree, from_cycles, group_dfa
from logdepth.automata.nfa import NFA
from logdepth.automata.regex import compile_regex
from logdepth.automata.words import parse_word, shown_alphabet
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
)
from logdepth.errors import InputError, SpecError
from logdepth.graphs import Graph
from logdepth.model.config import BOS
from logdepth.model.inputs import END

FIELDS = {
    "dfa": ("alphabet", "states", "start", "accept"),
    "nfa": ("alphabet", "states", "start", "accept"),
    "regex": ("alphabet", "pattern"),
    "group": ("generators", "degree", "alphabet"),
    "count": ("alphabet", "weights", "modulus", "accept"),
    "graph": ("nodes",),
}
AUTOMATON_VERBS = ("accepts", "rejects")
GRAPH_VERBS = ("connected", "disconnected")


def _or_list(items) -> str:
    items = [str(x) for x in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _names(ids) -> str:
    return ", ".join(i.text for i in ids)


def _kind_of(v) -> str:
    """How a value that is not a plain name is named in an error."""
    if isinstance(v, Str):
        return "a string"
    if isinstance(v, Assign):
        return f"an assignment '{v.key.text} = {v.value.text}'"
    if isinstance(v, Cycles):
        return "cycles"
    return f"{v.text!r}"


# What a symbol may be, for the errors that meet something else.
SYMBOL_RULE = (
    "a symbol is a name (letters and digits of any script, _ and ', e.g. a, 0, é) or a quoted "
    'string for anything else (e.g. "-", ",", " ", "🙂")'
)


def _digits(text: str) -> bool:
    """A whole number in ASCII digits (a name may hold other scripts' digits, which int()
    does not always read: '²')."""
    return text.isascii() and text.isdigit()


def _hint(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass(frozen=True)
class Check:
    """One check statement, lowered: each case is a word (tuple of symbols) or a (s, t) pair.
    `texts` are the cases as written; `spans` point at each case in the source."""

    target: str
    kind: str
    cases: tuple
    span: Span = field(default=Span(0, 0), compare=False, repr=False)
    texts: tuple[str, ...] = field(default=(), compare=False, repr=False)
    spans: tuple[Span, ...] = field(default=(), compare=False, repr=False)
    source_line: str = field(default="", compare=False, repr=False)

    @property
    def expected(self) -> bool:
        return self.kind in ("accepts", "connected")

    @property
    def line(self) -> int:
        return self.span.line


class Spec:
    """A parsed and lowered spec: ``spec[name]`` is a DFA, NFA or Graph.

    Equality is structural: the blocks' ASTs and the lowered checks, never spans or layout.
    """

    def __init__(self, module: Module, objects: dict, checks: list[Check], source: str, file: str):
        self.module = module
        self._objects = objects
        self.checks = checks
        self.source = source
        self.file = file

    @property
    def names(self) -> list[str]:
        return list(self._objects)

    @property
    def blocks(self) -> list[Block]:
        return [item for item in self.module.items if isinstance(item, Block)]

    def __getitem__(self, name: str):
        try:
            return self._objects[name]
        except (KeyError, TypeError):  # TypeError: an unhashable name
            raise SpecError(
                f"no spec named {name!r}; the spec defines {', '.join(self._objects) or 'nothing'}",
                file=self.file,
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._objects

    def __iter__(self) -> Iterator[str]:
        return iter(self._objects)

    def __len__(self) -> int:
        return len(self._objects)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Spec):
            return NotImplemented
        return self.blocks == other.blocks and self.checks == other.checks

    def __repr__(self) -> str:
        return f"Spec(names={self.names}, checks={len(self.checks)})"


class _Lowerer:
    def __init__(self, source: str, file: str) -> None:
        self.lines = source.split("\n")
        self.file = file

    def error(
        self, where: Span | Ident | Str | Field | Arrow | Words | Block | CheckStmt, message: str
    ) -> SpecError:
        span = where if isinstance(where, Span) else where.span
        line = span.line if span.line > 0 else None
        col = span.column if span.line > 0 else None
        src = self.lines[span.line - 1] if line is not None and line <= len(self.lines) else None
        return SpecError(message, file=self.file, line=line, column=col, source_line=src)

    # -- fields ----------------------------------------------------------------------------
    def fields(self, block: Block) -> tuple[dict[str, Field], list[Arrow], list[Words]]:
        allowed = FIELDS[block.kind]
        fields: dict[str, Field] = {}
        arrows, words = [], []
        for stmt in block.body or ():
            if isinstance(stmt, Field):
                key = stmt.key.text
                if key not in allowed:
                    raise self.error(
                        stmt.key,
                        f"unknown field {key!r} in {block.kind} {block.name.text!r}; "
                        f"expected {_or_list(allowed)}{_hint(key, allowed)}",
                    )
                if key in fields:
                    first = fields[key].span.line
                    raise self.error(
                        stmt.key, f"duplicate field {key!r} (first given on line {first})"
                    )
                fields[key] = stmt
            elif isinstance(stmt, Arrow):
                arrows.append(stmt)
            else:
                words.append(stmt)
        return fields, arrows, words

    def idents(self, f: Field, what: str) -> list[Ident]:
        out = []
        for v in f.values:
            if not isinstance(v, Ident):
                raise self.error(
                    v if not isinstance(v, Cycles) else f,
                    f"{f.key.text}: expected {what}, not {_kind_of(v)}"
                    + ("; quoted strings are for symbols only" if isinstance(v, Str) else ""),
                )
            out.append(v)
        return out

    def number(self, i: Ident, what: str) -> int:
        """A whole number written as ASCII digits (a NAME), or an error at it."""
        if not _digits(i.text):
            raise self.error(i, f"{what} must be a whole number, not {i.text!r}")
        return int(i.text)

    def unique(self, idents: list[Ident] | list[Ident | Str], what: str) -> list[str]:
        seen: dict[str, Ident | Str] = {}
        for i in idents:
            if i.text in seen:
                raise self.error(i, f"duplicate {what} {i.text!r}")
            seen[i.text] = i
        return list(seen)

    def alphabet(self, block: Block, fields: dict[str, Field]) -> list[str]:
        f = fields.get("alphabet")
        if f is None:
            raise self.error(
                block.name,
                f"{block.kind} {block.name.text!r} has no alphabet (add 'alphabet: a, b')",
            )
        ids: list[Ident | Str] = []
        for v in f.values:
            if not isinstance(v, Ident | Str):
                raise self.error(
                    v if not isinstance(v, Cycles) else f,
                    f"alphabet: expected symbols, not {_kind_of(v)}; {SYMBOL_RULE}",
                )
            if isinstance(v, Str) and v.value in ("", BOS, END):
                why = (
                    'the empty word is written ""'
                    if not v.value
                    else f"the models' own tokens {BOS!r} and {END!r} mark where a word begins and ends"
                )
                raise self.error(v, f"{v.value!r} cannot be a symbol ({why})")
            ids.append(v)
        symbols = self.unique(ids, "symbol")
        if not symbols:
            raise self.error(f, f"empty alphabet in {block.kind} {block.name.text!r}")
        return symbols

    def no_words(self, block: Block, words: list[Words]) -> None:
        if words:
            w = words[0]
            raise self.error(
                w,
                f"unexpected statement {' '.join(x.text for x in w.words)!r} in {block.kind} {block.name.text!r}; expected 'field: values' or a transition 'state symbol -> state'",
            )

    def no_arrows(self, block: Block, arrows: list[Arrow]) -> None:
        if arrows:
            raise self.error(arrows[0], f"a {block.kind} has no transitions or edges")

    # -- automata --------------------------------------------------------------------------
    def automaton(self, block: Block) -> DFA | NFA:
        fields, arrows, words = self.fields(block)
        self.no_words(block, words)
        name = block.name.text
        alphabet = self.alphabet(block, fields)
        declared = None
        if "states" in fields:
            declared = self.unique(self.idents(fields["states"], "states"), "state")
        if "start" not in fields:
            raise self.error(
                block.name, f"{block.kind} {name!r} has no start state (add 'start: q')"
            )
        start_ids = self.idents(fields["start"], "states")
        if not start_ids:
            raise self.error(fields["start"], f"{block.kind} {name!r}: 'start:' names no state")
        if block.kind == "dfa" and len(start_ids) > 1:
            raise self.error(start_ids[1], "a dfa has one start state; use an nfa for several")
        accept_ids = self.idents(fields["accept"], "states") if "accept" in fields else []
        self._check_arrows(block, arrows, alphabet)
        states = self._automaton_states(block, declared, start_ids, accept_ids, arrows)
        accept = frozenset(i.text for i in accept_ids)

        if block.kind == "nfa":
            delta: dict[tuple[str, str], set[str]] = {}
            for a in arrows:
                for s in a.symbols:
                    delta.setdefault((a.source.text, s.text), set()).update(
                        t.text for t in a.targets
                    )
            return NFA(
                name,
                states,
                tuple(alphabet),
                frozenset(i.text for i in start_ids),
                accept,
                {k: frozenset(v) for k, v in delta.items()},
            )
        ddelta = self._dfa_delta(block, arrows, states, alphabet)
        return DFA(name, states, tuple(alphabet), start_ids[0].text, accept, ddelta, "dfa")

    def _check_arrows(self, block: Block, arrows: list[Arrow], alphabet: list[str]) -> None:
        """`automaton`'s transition check: each names a symbol of the alphabet, and a dfa's
        has one target."""
        name = block.name.text
        aset = set(alphabet)
        for arrow in arrows:
            if block.kind == "dfa" and len(arrow.targets) > 1:
                raise self.error(
                    arrow.targets[1],
                    f"nondeterministic dfa {name!r}: '{arrow.source.text} {_names(arrow.symbols)}' has several targets ({_names(arrow.targets)}); use an nfa",
                )
            if not arrow.symbols:
                raise self.error(
                    arrow.targets[0] if not arrow.symbols else arrow,
                    f"transition from {arrow.source.text!r} names no symbol; write 'state symbol -> state'",
                )
            for s in arrow.symbols:
                if s.text not in aset:
                    raise self.error(
                        s,
                        f"undefined symbol {s.text!r}: not in the alphabet of {name!r} ({shown_alphabet(alphabet)}){_hint(s.text, alphabet)}",
                    )

    def _automaton_states(
        self,
        block: Block,
        declared: list[str] | None,
        start_ids: list[Ident],
        accept_ids: list[Ident],
        arrows: list[Arrow],
    ) -> tuple[str, ...]:
        """`automaton`'s states, in order: declared ones, else (dfa) sources and start, (nfa)
        every mention; a state named anywhere but not among them is an error at it."""
        order: dict[str, None] = {}
        if declared is not None:
            order = dict.fromkeys(declared)
        elif block.kind == "dfa":
            order = dict.fromkeys([start_ids[0].text] + [a.source.text for a in arrows])
        else:
            mentions = start_ids + accept_ids
            for a in arrows:
                mentions += [a.source, *a.targets]
            order = dict.fromkeys(i.text for i in mentions)
        refs = list(start_ids) + list(accept_ids)
        for a in arrows:
            refs += [a.source, *a.targets]
        for r in refs:
            if r.text not in order:
                why = (
                    "it is not in 'states:'" if declared is not None else "no transitions leave it"
                )
                raise self.error(
                    r,
                    f"undefined state {r.text!r} in {block.kind} {block.name.text!r}: {why}{_hint(r.text, order)}",
                )
        return tuple(order)

    def _dfa_delta(
        self, block: Block, arrows: list[Arrow], states: tuple[str, ...], alphabet: list[str]
    ) -> dict[tuple[str, str], str]:
        """`automaton`'s dfa transition table: one target per (state, symbol), no two arrows
        disagreeing, none missing."""
        name = block.name.text
        ddelta: dict[tuple[str, str], str] = {}
        where: dict[tuple[str, str], Arrow] = {}
        for a in arrows:
            if len(a.targets) > 1:
                raise self.error(
                    a.targets[1],
                    f"nondeterministic dfa {name!r}: '{a.source.text} {a.symbols[0].text}' has several targets ({', '.join(t.text for t in a.targets)}); use an nfa",
                )
            for s in a.symbols:
                key = (a.source.text, s.text)
                t = a.targets[0].text
                if key in ddelta and ddelta[key] != t:
                    first = where[key]
                    raise self.error(
                        s,
                        f"nondeterministic dfa {name!r}: '{key[0]} {key[1]} -> {t}' (line {a.span.line}) conflicts with '{key[0]} {key[1]} -> {ddelta[key]}' (line {first.span.line})",
                    )
                ddelta[key] = t
                where[key] = a
        missing = [(q, s) for q in states for s in alphabet if (q, s) not in ddelta]
        if missing:
            shown = ", ".join(f"({q}, {s})" for q, s in missing)
            raise self.error(
                block.name,
                f"dfa {name!r} is missing {len(missing)} transition{'s' if len(missing) > 1 else ''}: {shown}",
            )
        return ddelta

    def regex(self, block: Block) -> DFA:
        fields, arrows, words = self.fields(block)
        self.no_words(block, words)
        self.no_arrows(block, arrows)
        name = block.name.text
        alphabet = self.alphabet(block, fields)
        f = fields.get("pattern")
        if f is None:
            raise self.error(block.name, f"regex {name!r} has no pattern (add 'pattern: \"...\"')")
        if len(f.values) != 1 or not isinstance(f.values[0], Str):
            raise self.error(f, "pattern: expected one quoted string")
        pat = f.values[0]
        try:
            return compile_regex(pat.value, alphabet, name)
        except SpecError as exc:
            col = pat.column_of((exc.column or 1) - 1)
            raise self.error(
                Span(pat.span.line, col), f"{exc.message} (in the pattern of regex {name!r})"
            ) from None

    def group(self, block: Block) -> DFA:
        fields, arrows, words = self.fields(block)
        self.no_arrows(block, arrows)
        name = block.name.text
        mode = "elements"
        if "alphabet" in fields:
            ids = self.idents(fields["alphabet"], "'elements' or 'generators'")
            if len(ids) != 1 or ids[0].text not in ("elements", "generators"):
                raise self.error(
                    fields["alphabet"],
                    "a group's alphabet is 'elements' (every element, the default) or 'generators'",
                )
            mode = ids[0].text
        if len(words) > 1:
            raise self.error(words[1], "a group has one kind (e.g. 'alternating 5')")
        if words and "generators" in fields:
            raise self.error(
                words[0],
                "a group is either named (e.g. 'alternating 5') or given by 'generators:', not both",
            )
        if words:
            return self._named_group(block, fields, words[0], mode)
        if "generators" not in fields:
            raise self.error(
                block.name,
                f"group {name!r} names no group: write e.g. 'alternating 5' or 'generators: (1 2 3), (1 2)'",
            )
        gf = fields["generators"]
        if not gf.values:
            raise self.error(gf, "generators: names no permutation")
        degree = self._group_degree(fields)
        top = self._generator_points(gf)
        n = degree if degree is not None else top
        gens = self._generators(gf, n)
        try:
            return group_dfa(name, generators=gens, degree=n, alphabet=mode)
        except SpecError as exc:
            raise self.error(gf, exc.message) from None

    def _named_group(self, block: Block, fields: dict[str, Field], w: Words, mode: str) -> DFA:
        """`group`'s lowering of a named group ('alternating 5'): a known kind and a degree in
        range, no 'degree:' field."""
        kind = w.words[0]
        if kind.text not in GROUP_KINDS:
            raise self.error(
                kind,
                f"unknown group kind {kind.text!r}; expected {_or_list(GROUP_KINDS)} N, or 'generators:'{_hint(kind.text, GROUP_KINDS)}",
            )
        if len(w.words) != 2 or not _digits(w.words[1].text):
            raise self.error(w, f"expected a degree after {kind.text!r}, e.g. '{kind.text} 5'")
        if "degree" in fields:
            raise self.error(fields["degree"], "'degree:' is only for groups given by generators")
        n = int(w.words[1].text)
        try:
            check_degree(kind.text, n)
        except SpecError as exc:
            raise self.error(w.words[1], exc.message) from None
        try:
            return group_dfa(block.name.text, kind=kind.text, degree=n, alphabet=mode)
        except SpecError as exc:
            raise self.error(w, exc.message) from None

    def _group_degree(self, fields: dict[str, Field]) -> int | None:
        """`group`'s 'degree:' field, one number in 1..MAX_DEGREE, or None when absent."""
        if "degree" not in fields:
            return None
        ids = self.idents(fields["degree"], "a number")
        if len(ids) != 1 or not _digits(ids[0].text):
            raise self.error(fields["degree"], "degree: expected one number")
        degree = int(ids[0].text)
        if not 1 <= degree <= MAX_DEGREE:
            raise self.error(
                ids[0],
                f"group degree {degree} is out of range 1..{MAX_DEGREE} (elements are written as one digit per point)",
            )
        return degree

    def _generator_points(self, gf: Field) -> int:
        """`group`'s check of the points the generators use (each in 1..MAX_DEGREE), and the
        largest one, the degree when 'degree:' is absent."""
        top = 1
        for v in gf.values:
            if isinstance(v, Str | Assign):
                raise self.error(
                    v, "generators: expected cycles like (1 2 3) or one-line notation like 231"
                )
            pts = (
                [p for cyc in v.cycles for p in cyc]
                if isinstance(v, Cycles)
                else [Ident(c, Span(v.span.line, v.span.column + k)) for k, c in enumerate(v.text)]
            )
            for p in pts:
                if not _digits(p.text) or int(p.text) < 1:
                    raise self.error(p, f"{p.text!r} is not a point: points are 1..{MAX_DEGREE}")
                if int(p.text) > MAX_DEGREE:
                    raise self.error(
                        p,
                        f"group degree {p.text} is out of range 1..{MAX_DEGREE} (elements are written as one digit per point)",
                    )
                top = max(top, int(p.text))
            if isinstance(v, Ident):
                top = max(top, len(v.text))
        return top

    def _generators(self, gf: Field, n: int) -> list[tuple[int, ...]]:
        """`group`'s generators as permutations of 0..n-1: cycles with no repeated point or
        point past n, or one-line notation naming each of 1..n once."""
        gens = []
        for v in gf.values:
            if isinstance(v, Cycles):
                cycles = []
                for cyc in v.cycles:
                    pts = [int(p.text) for p in cyc]
                    if len(set(pts)) != len(pts):
                        raise self.error(cyc[0], "a cycle repeats a point")
                    for p, pi in zip(pts, cyc, strict=True):
                        if p > n:
                            raise self.error(pi, f"point {p} is beyond the degree {n}")
                    cycles.append(pts)
                gens.append(from_cycles(cycles, n))
            else:
                assert isinstance(v, Ident)
                if len(v.text) != n or sorted(v.text) != [str(i) for i in range(1, n + 1)]:
                    raise self.error(
                        v, f"{v.text!r} is not a permutation of 1..{n} in one-line notation"
                    )
                gens.append(tuple(int(c) - 1 for c in v.text))
        return gens

    def count(self, block: Block) -> DFA:
        """A modular count, lowered to its DFA: states r0..r{m-1} (the residue of the weighted
        count so far), start r0, reading a moves r_i to r_(i + weight(a) mod m)."""
        fields, arrows, words = self.fields(block)
        self.no_words(block, words)
        self.no_arrows(block, arrows)
        name = block.name.text
        alphabet = self.alphabet(block, fields)
        f = fields.get("modulus")
        if f is None:
            raise self.error(block.name, f"count {name!r} has no modulus (add 'modulus: 3')")
        ids = self.idents(f, "a number")
        if len(ids) != 1:
            raise self.error(f, "modulus: expected one number")
        m = self.number(ids[0], "the modulus")
        if m < 2:
            raise self.error(ids[0], f"modulus {m} is out of range: a count needs at least 2")
        if m > state_budget():
            raise self.error(
                ids[0],
                f"modulus {m} makes a DFA of {m:,} states, over the state budget of {state_budget():,} (raise it with LOGDEPTH_MAX_STATES=N)",
            )
        weights = dict.fromkeys(alphabet, 0)
        given: dict[str, Assign] = {}
        for v in fields["weights"].values if "weights" in fields else ():
            if not isinstance(v, Assign):
                raise self.error(
                    v if not isinstance(v, Cycles) else fields["weights"],
                    f"weights: expected 'symbol = weight' (e.g. 'a = 1'), not {_kind_of(v)}",
                )
            sym = v.key.text
            if sym not in weights:
                raise self.error(
                    v.key,
                    f"undefined symbol {sym!r}: not in the alphabet of {name!r} ({shown_alphabet(alphabet)}){_hint(sym, alphabet)}",
                )
            if sym in given:
                raise self.error(
                    v.key,
                    f"duplicate symbol {sym!r} in weights (first given on line {given[sym].span.line})",
                )
            given[sym] = v
            weights[sym] = self.number(v.value, f"the weight of {sym!r}") % m
        residues = []
        if "accept" in fields:
            for i in self.idents(fields["accept"], f"residues 0..{m - 1}"):
                r = self.number(i, "a residue")
                if r >= m:
                    raise self.error(
                        i, f"residue {r} is out of range 0..{m - 1} (the modulus is {m})"
                    )
                if r in residues:
                    raise self.error(i, f"duplicate residue {r}")
                residues.append(r)
        states = tuple(f"r{i}" for i in range(m))
        delta = {(f"r{i}", a): f"r{(i + k) % m}" for i in range(m) for a, k in weights.items()}
        accept = frozenset(f"r{r}" for r in residues)
        return DFA(name, states, tuple(alphabet), "r0", accept, delta, "count")

    # -- graphs ----------------------------------------------------------------------------
    def graph(self, block: Block) -> Graph:
        name = block.name.text
        if block.body is None:
            assert block.source is not None
            directed = None
            if block.mode is not None:
                if block.mode.text not in ("directed", "undirected"):
                    raise self.error(
                        block.mode,
                        f"expected 'directed' or 'undirected' after the file name, not {block.mode.text!r}",
                    )
                directed = block.mode.text == "directed"
            path = Path(block.source.value)
            if not path.is_absolute() and self.file not in ("<string>", "<stdin>"):
                path = Path(self.file).parent / path
            try:
                return Graph.from_file(path, name=name, directed=directed)
            except SpecError as exc:
                if exc.line is not None:  # located inside the graph file
                    raise
                reason = exc.message.removeprefix("cannot read graph file: ")
                raise self.error(
                    block.source, f"cannot read graph file {block.source.value!r}: {reason}"
                ) from None
        fields, arrows, words = self.fields(block)
        directed = True
        seen_mode = None
        for w in words:
            if len(w.words) != 1 or w.words[0].text not in ("directed", "undirected"):
                raise self.error(
                    w,
                    f"unexpected statement {' '.join(x.text for x in w.words)!r} in graph {name!r}; expected 'directed', 'undirected', 'nodes: ...' or an edge 'u -> v'",
                )
            if seen_mode is not None:
                raise self.error(w, f"graph {name!r} already says {seen_mode!r}")
            seen_mode = w.words[0].text
            directed = seen_mode == "directed"
        declared = None
        if "nodes" in fields:
            declared = self.unique(self.idents(fields["nodes"], "node names"), "node")
        order = dict.fromkeys(declared or [])
        edges = []
        for a in arrows:
            if a.symbols:
                raise self.error(a.symbols[0], "graph edges are written 'u -> v, w' (no symbols)")
            for node in (a.source, *a.targets):
                if node.text not in order:
                    if declared is not None:
                        raise self.error(
                            node,
                            f"undefined node {node.text!r} in graph {name!r}: it is not in 'nodes:'{_hint(node.text, order)}",
                        )
                    order[node.text] = None
            edges += [(a.source.text, t.text) for t in a.targets]
        return Graph(name, tuple(order), directed, frozenset(edges))

    # -- checks ----------------------------------------------------------------------------
    def check(self, stmt: CheckStmt, objects: dict) -> Check:
        target = stmt.target.text
        if target not in objects:
            raise self.error(
                stmt.target, f"check names an unknown spec {target!r}{_hint(target, objects)}"
            )
        obj = objects[target]
        src = self.lines[stmt.span.line - 1]
        if isinstance(obj, Graph):
            if stmt.verb not in GRAPH_VERBS:
                raise self.error(
                    stmt.target,
                    f"'{stmt.verb}' needs an automaton, but {target!r} is a graph; use 'connected' or 'disconnected'",
                )
            if not stmt.pairs:
                raise self.error(
                    stmt.target, f"'{stmt.verb}' takes node pairs 'a -> b', not strings"
                )
            for pair in stmt.pairs:
                for node in pair:
                    if node.text not in obj.nodes:
                        raise self.error(
                            node,
                            f"unknown node {node.text!r} in graph {target!r}{_hint(node.text, obj.nodes)}",
                        )
            return Check(
                target,
                stmt.verb,
                tuple((s.text, t.text) for s, t in stmt.pairs),
                stmt.span,
                tuple(f"{s.text} -> {t.text}" for s, t in stmt.pairs),
                tuple(s.span for s, _ in stmt.pairs),
                src,
            )
        if stmt.verb not in AUTOMATON_VERBS:
            raise self.error(
                stmt.target,
                f"'{stmt.verb}' needs a graph, but {target!r} is an automaton; use 'accepts' or 'rejects'",
            )
        if not stmt.strings:
            raise self.error(stmt.target, f"'{stmt.verb}' takes quoted words, not node pairs")
        words = []
        for s in stmt.strings:
            try:
                words.append(parse_word(s.value, obj.alphabet))
            except InputError as exc:
                pos = getattr(exc, "position", 0)
                sym = getattr(exc, "symbol", "?")
                raise self.error(
                    Span(s.span.line, s.column_of(pos)),
                    f"symbol {sym!r} is not in the alphabet of {target!r} ({shown_alphabet(obj.alphabet)})",
                ) from None
        return Check(
            target,
            stmt.verb,
            tuple(words),
            stmt.span,
            tuple(s.value for s in stmt.strings),
            tuple(s.span for s in stmt.strings),
            src,
        )

    def lower(self, module: Module, source: str, only: str | None = None) -> Spec:
        objects: dict = {}
        where: dict[str, Block] = {}
        if only is not None:
            defined = [i.name.text for i in module.items if isinstance(i, Block)]
            if only not in defined:
                raise SpecError(
                    f"no spec named {only!r}; the file defines {', '.join(defined) or 'nothing'}",
                    file=self.file,
                )
        for item in module.items:
            if not isinstance(item, Block):
                continue
            name = item.name.text
            if only is not None and name != only:
                continue  # blocks do not refer to each other: the others are not needed
            if name in where:
                raise self.error(
                    item.name,
                    f"duplicate name {name!r} (first defined on line {where[name].span.line})",
                )
            where[name] = item
            if item.body is None and item.kind != "graph":
                raise self.error(
                    item.span,
                    f"only graphs can be read from a file; write '{item.kind} {name} {{ ... }}'",
                )
            if item.kind in ("dfa", "nfa"):
                objects[name] = self.automaton(item)
            elif item.kind == "regex":
                objects[name] = self.regex(item)
            elif item.kind == "group":
                objects[name] = self.group(item)
            elif item.kind == "count":
                objects[name] = self.count(item)
            else:
                objects[name] = self.graph(item)
        checks = [
            self.check(item, objects)
            for item in module.items
            if isinstance(item, CheckStmt) and (only is None or item.target.text == only)
        ]
        return Spec(module, objects, checks, source, self.file)


def lower(module: Module, source: str, file: str = "<string>", only: str | None = None) -> Spec:
    """The spec's objects and checks; with `only`, just that block and the checks on it (an
    error elsewhere in the file's meaning does not stop it; syntax errors still do)."""
    return _Lowerer(source, file).lower(module, source, only)
