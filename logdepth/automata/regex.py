"""Regular expressions over an alphabet: Thompson NFA -> subset construction -> minimal DFA.

Syntax: alternation ``|``, grouping ``( )``, postfix ``*`` ``+`` ``?`` ``{m}`` ``{m,}`` ``{m,n}``,
``.`` (any alphabet symbol), classes ``[abc]`` ``[a-z]`` ``[^ab]`` over one-character symbols,
``<name>`` for a multi-character symbol, ``\\x`` for a literal x. Whitespace is ignored.
Errors are `SpecError` whose ``column`` is the 1-based column inside the pattern.
"""

from __future__ import annotations

from collections.abc import Sequence

from logdepth.automata.dfa import DFA
from logdepth.errors import SpecError

MAX_REPEAT = 1000  # bound on {m,n} counts: the Thompson NFA grows linearly in them
MAX_DFA_STATES = 20_000  # bound on the subset construction (it can be exponential)
MAX_NFA_STATES = 200_000  # bound on the Thompson NFA (nested counts multiply)
# Bound on nesting: groups inside groups plus postfix operators on one atom. The parser recurses
# four frames per group and the builder two per level; 100 levels stay far inside Python's
# default recursion limit (1000) wherever the parser is called from.
MAX_NESTING = 100


def _is_count(text: str) -> bool:
    """ASCII digits only: str.isdigit() also takes '²', which int() refuses."""
    return text.isascii() and text.isdigit()


class _Frag:
    __slots__ = ("start", "end")

    def __init__(self, start: int, end: int) -> None:
        self.start, self.end = start, end


class _Builder:
    """Thompson construction: states are ints; eps[q] and moves[q] = [(symbol, target)]."""

    def __init__(self) -> None:
        self.eps: list[list[int]] = []
        self.moves: list[list[tuple[str, int]]] = []

    def new(self) -> int:
        if len(self.eps) >= MAX_NFA_STATES:
            raise SpecError(
                f"invalid regex: too large (over {MAX_NFA_STATES} NFA states)", column=1
            )
        self.eps.append([])
        self.moves.append([])
        return len(self.eps) - 1

    def symbols(self, syms: Sequence[str]) -> _Frag:
        s, e = self.new(), self.new()
        for a in syms:
            self.moves[s].append((a, e))
        return _Frag(s, e)

    def empty(self) -> _Frag:
        s, e = self.new(), self.new()
        self.eps[s].append(e)
        return _Frag(s, e)

    def concat(self, a: _Frag, b: _Frag) -> _Frag:
        self.eps[a.end].append(b.start)
        return _Frag(a.start, b.end)

    def alt(self, a: _Frag, b: _Frag) -> _Frag:
        s, e = self.new(), self.new()
        self.eps[s] += [a.start, b.start]
        self.eps[a.end].append(e)
        self.eps[b.end].append(e)
        return _Frag(s, e)

    def star(self, a: _Frag) -> _Frag:
        s, e = self.new(), self.new()
        self.eps[s] += [a.start, e]
        self.eps[a.end] += [a.start, e]
        return _Frag(s, e)

    def opt(self, a: _Frag) -> _Frag:
        return self.alt(a, self.empty())


# An AST node: ("sym", [symbols]) | ("cat", [nodes]) | ("alt", [nodes]) | ("rep", node, m, n|None)


class _Parser:
    def __init__(self, pattern: str, alphabet: Sequence[str]) -> None:
        self.p = pattern
        self.i = 0
        self.alphabet = tuple(alphabet)
        self.alpha = set(alphabet)
        self.depth = 0

    def nest(self, index: int) -> None:
        """One more level of nesting; refuse past MAX_NESTING before recursing further."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"nested more than {MAX_NESTING} deep", index)

    def error(self, message: str, index: int | None = None) -> SpecError:
        col = (self.i if index is None else index) + 1
        return SpecError(f"invalid regex: {message}", column=col, source_line=self.p)

    def peek(self) -> str | None:
        while self.i < len(self.p) and self.p[self.i].isspace():
            self.i += 1
        return self.p[self.i] if self.i < len(self.p) else None

    def parse(self):
        node = self.alternation()
        if self.peek() is not None:
            if self.p[self.i] == ")":
                raise self.error("unmatched ')'")
            raise self.error(f"unexpected {self.p[self.i]!r}")
        return node

    def alternation(self):
        branches = [self.concatenation()]
        while self.peek() == "|":
            self.i += 1
            branches.append(self.concatenation())
        return branches[0] if len(branches) == 1 else ("alt", branches)

    def concatenation(self):
        items = []
        while (c := self.peek()) is not None and c not in "|)":
            items.append(self.repetition())
        return ("cat", items)

    def repetition(self):
        if self.peek() in ("*", "+", "?", "{"):
            raise self.error(f"nothing to repeat before {self.p[self.i]!r}")
        depth = self.depth
        node = self.atom()
        while (c := self.peek()) in ("*", "+", "?", "{"):
            self.nest(self.i)
            if c == "*":
                self.i += 1
                node = ("rep", node, 0, None)
            elif c == "+":
                self.i += 1
                node = ("rep", node, 1, None)
            elif c == "?":
                self.i += 1
                node = ("rep", node, 0, 1)
            else:
                node = ("rep", node, *self.braces())
        self.depth = depth
        return node

    def braces(self) -> tuple[int, int | None]:
        start = self.i
        close = self.p.find("}", start)
        if close < 0:
            raise self.error("unclosed '{'", start)
        body = self.p[start + 1 : close].replace(" ", "")
        parts = body.split(",")
        if (
            len(parts) > 2
            or not _is_count(parts[0])
            or (len(parts) == 2 and parts[1] and not _is_count(parts[1]))
        ):
            raise self.error("expected {m}, {m,} or {m,n} with whole numbers", start)
        m = int(parts[0])
        n: int | None = m if len(parts) == 1 else (int(parts[1]) if parts[1] else None)
        if n is not None and n < m:
            raise self.error(f"{{{m},{n}}}: the maximum is below the minimum", start)
        if m > MAX_REPEAT or (n is not None and n > MAX_REPEAT):
            raise self.error(f"repeat count over {MAX_REPEAT}", start)
        self.i = close + 1
        return m, n

    def symbol(self, sym: str, index: int) -> str:
        if sym not in self.alpha:
            raise self.error(
                f"symbol {sym!r} is not in the alphabet ({', '.join(self.alphabet)})", index
            )
        return sym

    def atom(self):
        c = self.peek()
        start = self.i
        if c == "(":
            self.nest(start)
            self.i += 1
            node = self.alternation()
            self.depth -= 1
            if self.peek() != ")":
                raise self.error("unclosed '('", start)
            self.i += 1
            return node
        if c == ".":
            self.i += 1
            return ("sym", list(self.alphabet))
        if c == "[":
            return ("sym", self.char_class())
        if c == "<":
            close = self.p.find(">", start)
            if close < 0:
                raise self.error("unclosed '<'", start)
            self.i = close + 1
            return ("sym", [self.symbol(self.p[start + 1 : close], start)])
        if c == "\\":
            if self.i + 1 >= len(self.p):
                raise self.error("pattern ends after '\\'", start)
            self.i += 2
            return ("sym", [self.symbol(self.p[start + 1], start)])
        if c in "]}>":
            raise self.error(f"unmatched {c!r}")
        self.i += 1
        return ("sym", [self.symbol(c, start)])

    def char_class(self) -> list[str]:
        start = self.i
        self.i += 1
        negate = False
        if self.i < len(self.p) and self.p[self.i] == "^":
            negate = True
            self.i += 1
        chosen: set[str] = set()
        first = True
        while True:
            if self.i >= len(self.p):
                raise self.error("unclosed '['", start)
            c = self.p[self.i]
            if c == "]" and not first:
                self.i += 1
                break
            first = False
            if c.isspace():
                self.i += 1
                continue
            if c == "\\" and self.i + 1 < len(self.p):
                self.i += 1
                c = self.p[self.i]
            lo_index = self.i
            self.i += 1
            if self.i + 1 < len(self.p) and self.p[self.i] == "-" and self.p[self.i + 1] != "]":
                hi = self.p[self.i + 1]
                if hi < c:
                    raise self.error(f"bad range {c}-{hi}", lo_index)
                chosen |= {a for a in self.alphabet if len(a) == 1 and c <= a <= hi}
                self.i += 2
            else:
                chosen.add(self.symbol(c, lo_index))
        if negate:
            return [a for a in self.alphabet if a not in chosen]
        return [a for a in self.alphabet if a in chosen]


def _build(b: _Builder, node) -> _Frag:
    kind = node[0]
    if kind == "sym":
        return b.symbols(node[1])
    if kind == "cat":
        if not node[1]:
            return b.empty()
        frag = _build(b, node[1][0])
        for child in node[1][1:]:
            frag = b.concat(frag, _build(b, child))
        return frag
    if kind == "alt":
        frag = _build(b, node[1][0])
        for child in node[1][1:]:
            frag = b.alt(frag, _build(b, child))
        return frag
    _, child, m, n = node
    frag = b.empty()
    for _ in range(m):
        frag = b.concat(frag, _build(b, child))
    if n is None:
        return b.concat(frag, b.star(_build(b, child)))
    for _ in range(n - m):
        frag = b.concat(frag, b.opt(_build(b, child)))
    return frag


def _closure(b: _Builder, states: set[int]) -> frozenset[int]:
    stack = list(states)
    seen = set(states)
    while stack:
        q = stack.pop()
        for r in b.eps[q]:
            if r not in seen:
                seen.add(r)
                stack.append(r)
    return frozenset(seen)


def compile_regex(pattern: str, alphabet: Sequence[str], name: str = "regex") -> DFA:
    """The minimal DFA of `pattern` over `alphabet` (full match), states named q0, q1, ...
    in BFS order from the start."""
    alphabet = tuple(alphabet)
    if not alphabet:
        raise SpecError("empty alphabet")
    tree = _Parser(pattern, alphabet).parse()
    b = _Builder()
    frag = _build(b, tree)
    start = _closure(b, {frag.start})
    order = [start]
    index = {start: 0}
    trans: dict[tuple[int, str], int] = {}
    i = 0
    while i < len(order):
        cur = order[i]
        i += 1
        for a in alphabet:
            nxt = {r for q in cur for (s, r) in b.moves[q] if s == a}
            key = _closure(b, nxt)
            if key not in index:
                if len(order) >= MAX_DFA_STATES:
                    raise SpecError(
                        f"invalid regex: its DFA has over {MAX_DFA_STATES} states", column=1
                    )
                index[key] = len(order)
                order.append(key)
            trans[(index[cur], a)] = index[key]
    names = [f"s{k}" for k in range(len(order))]
    raw = DFA(
        name=name,
        states=tuple(names),
        alphabet=alphabet,
        start=names[0],
        accept=frozenset(names[k] for k, s in enumerate(order) if frag.end in s),
        delta={(names[q], a): names[r] for (q, a), r in trans.items()},
        source_kind="regex",
    )
    return rename_bfs(raw.minimize(), prefix="q")


def rename_bfs(dfa: DFA, prefix: str = "q") -> DFA:
    """Rename states q0, q1, ... in BFS order from the start (a canonical naming)."""
    order = dfa.reachable()
    new = {q: f"{prefix}{k}" for k, q in enumerate(order)}
    return DFA(
        name=dfa.name,
        states=tuple(new[q] for q in order),
        alphabet=dfa.alphabet,
        start=new[dfa.start],
        accept=frozenset(new[q] for q in order if q in dfa.accept),
        delta={(new[q], a): new[dfa.delta[(q, a)]] for q in order for a in dfa.alphabet},
        source_kind=dfa.source_kind,
    )
