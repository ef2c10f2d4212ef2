"""The class of a regular language: aperiodic, solvable or non-solvable, with certificates.

The class is a property of the syntactic monoid M, which is the transition monoid of the
minimal DFA. It decides which depth a transformer needs for the language:

- aperiodic (every maximal subgroup of M is trivial): star-free = FO[<] (Schützenberger 1965;
  McNaughton & Papert 1971), constant depth (Yang, Chiang & Angluin 2024);
- solvable (every maximal subgroup solvable, some nontrivial): constant depth through the
  Krohn-Rhodes decomposition (Liu et al. 2023, Theorem 2);
- non-solvable (some maximal subgroup is not solvable): NC1-complete (Barrington 1989), so log
  depth unless TC0 = NC1 (Liu et al. 2023, Theorem 4; Merrill & Sabharwal).

Elements of M are maps Q -> Q of the minimal DFA's states, stored as tuples (``x[q]`` is where
q goes); "x then y" is ``y[x[q]]``. The maximal subgroup at an idempotent e is its H-class
H_e = {x in M : x = e x e, rank x = rank e} (a group element of a transformation monoid is one
that permutes its image, and it lies in the H-class of its idempotent power). H_e acts
faithfully on im(e) by restriction, which is how it is handed to sympy: a permutation group of
degree rank(e) rather than the regular representation of degree |H_e|. All maximal subgroups
in one D-class are isomorphic, so one is reported per regular D-class.

Certificates are checkable without this module: a word x with x^i = x^(i+p), p > 1 (so
x^k != x^(k+1) for every k), with a prefix u and suffix v such that u x^i v and u x^(i+1) v get
different answers; and for a non-solvable monoid, words whose elements generate a group whose
derived series stops above the identity.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from math import factorial, lcm
from typing import Any

from logdepth.automata.dfa import DFA
from logdepth.automata.nfa import NFA
from logdepth.automata.words import format_word
from logdepth.errors import CompileError
from logdepth.limits import env_setting, positive_whole

# Every step here is linear in |M| (times |Q| and the alphabet) in pure Python: 100,000
# elements of a 20-state DFA take a few seconds. Raise it with the environment variable below.
DEFAULT_MONOID_BUDGET = 100_000
MONOID_BUDGET_ENV = "LOGDEPTH_MAX_MONOID"
# Groups up to this order are listed element by element to recognise dihedral and quaternion
# structure; larger ones are described by sympy's invariants only.
MAX_RECOGNISED_ORDER = 10_000

CLASSES = ("aperiodic", "solvable", "non-solvable")

Map = tuple[int, ...]
Word = tuple[str, ...]


def monoid_budget() -> int:
    """The monoid budget: $LOGDEPTH_MAX_MONOID when set (a whole number of elements, 1 or more;
    any other value is a `SettingError` naming the variable), else the default."""
    return env_setting(
        MONOID_BUDGET_ENV,
        positive_whole,
        DEFAULT_MONOID_BUDGET,
        "a whole number of elements, 1 or more",
    )


# ---- results ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Subgroup:
    """The maximal subgroup H_e at an idempotent e, standing for every H-class of its D-class.

    `group` is H_e as a sympy ``PermutationGroup`` on im(e) (points renumbered 0..rank-1 in
    state order); `generators` are words whose elements generate it.
    """

    idempotent: Word  # a shortest word spelling e
    rank: int  # |im(e)|: how many states e keeps apart
    idempotents_in_d_class: int  # how many maximal subgroups (all isomorphic) this one stands for
    order: int
    structure: str | None  # "1", "Z2", "Z2 x Z2", "S3", "D4", "Q8", "A5", ... when recognised
    is_cyclic: bool
    is_abelian: bool
    is_solvable: bool
    derived_series: tuple[int, ...]  # orders of G, G', G'', ... until it stabilises
    composition_factors: tuple[int, ...] | None  # their orders, top down (None: not computed)
    generators: tuple[Word, ...]
    group: Any = field(compare=False, repr=False)

    def to_json(self, alphabet: Sequence[str]) -> dict[str, Any]:
        return {
            "idempotent": format_word(self.idempotent, alphabet),
            "rank": self.rank,
            "idempotents_in_d_class": self.idempotents_in_d_class,
            "order": self.order,
            "structure": self.structure,
            "is_cyclic": self.is_cyclic,
            "is_abelian": self.is_abelian,
            "is_solvable": self.is_solvable,
            "derived_series": list(self.derived_series),
            "composition_factors": None
            if self.composition_factors is None
            else list(self.composition_factors),
            "generators": [format_word(w, alphabet) for w in self.generators],
        }


@dataclass(frozen=True)
class PeriodCertificate:
    """M is not aperiodic: x = element of `word` has x^index = x^(index+period), period > 1,
    so x^k != x^(k+1) for every k. Replayable: `prefix` x^index `suffix` and
    `prefix` x^(index+1) `suffix` get different answers (accepted: `accepted_at_index`)."""

    word: Word
    index: int
    period: int
    prefix: Word
    suffix: Word
    accepted_at_index: bool

    def to_json(self, alphabet: Sequence[str]) -> dict[str, Any]:
        return {
            "word": format_word(self.word, alphabet),
            "index": self.index,
            "period": self.period,
            "prefix": format_word(self.prefix, alphabet),
            "suffix": format_word(self.suffix, alphabet),
            "accepted_at_index": self.accepted_at_index,
        }


@dataclass(frozen=True)
class NonSolvableCertificate:
    """The elements of `words` generate a group of `order` whose derived series (orders) stops
    at `derived_series[-1]` > 1: it is not solvable."""

    words: tuple[Word, ...]
    order: int
    derived_series: tuple[int, ...]

    def to_json(self, alphabet: Sequence[str]) -> dict[str, Any]:
        return {
            "words": [format_word(w, alphabet) for w in self.words],
            "order": self.order,
            "derived_series": list(self.derived_series),
        }


@dataclass(frozen=True)
class Classification:
    """`logdepth.classify`'s answer for one automaton (see the module docstring)."""

    name: str
    language_class: str  # one of CLASSES, the most specific
    alphabet: Word
    states: int  # of the minimal DFA
    monoid_size: int
    idempotents: int
    subgroups: tuple[Subgroup, ...]  # one per regular D-class, in BFS order of their idempotent
    period: PeriodCertificate | None  # None exactly when aperiodic
    non_solvable: NonSolvableCertificate | None  # None unless non-solvable

    def to_json(self) -> dict[str, Any]:
        a = self.alphabet
        cert = None
        if self.period is not None:
            cert = {
                "period": self.period.to_json(a),
                "non_solvable": None if self.non_solvable is None else self.non_solvable.to_json(a),
            }
        return {
            "name": self.name,
            "class": self.language_class,
            "states": self.states,
            "monoid_size": self.monoid_size,
            "idempotents": self.idempotents,
            "subgroups": [g.to_json(a) for g in self.subgroups],
            "certificate": cert,
        }

    def lines(self) -> list[str]:
        """The text report for a person."""
        a = self.alphabet

        def w(word: Word) -> str:
            return repr(format_word(word, a))

        out = [
            f"{self.name}: {self.language_class}",
            f"  syntactic monoid: {self.monoid_size} elements, idempotents: {self.idempotents} "
            f"(minimal DFA: {self.states} states)",
        ]
        nontrivial = [g for g in self.subgroups if g.order > 1]
        out.append(
            f"  maximal subgroups, one per D-class: {len(self.subgroups)}, "
            f"{len(nontrivial)} nontrivial"
        )
        for g in nontrivial:
            kind = "solvable" if g.is_solvable else "NOT solvable"
            at = w(g.idempotent) if g.idempotent else "the identity"
            out.append(
                f"    {g.structure or '?'}: order {g.order}, {kind}, at idempotent {at} "
                f"(rank {g.rank}, {g.idempotents_in_d_class} idempotents in its D-class)"
            )
            out.append(f"      generated by {', '.join(w(x) for x in g.generators)}")
        if self.period is None:
            out.append("  certificate: every maximal subgroup is trivial (x^k = x^(k+1) for all x)")
        else:
            p = self.period
            i, j = p.index, p.index + 1
            said = ("accepted", "rejected") if p.accepted_at_index else ("rejected", "accepted")
            out.append(
                f"  certificate: x = {w(p.word)} has x^{i} = x^{i + p.period} but "
                f"x^{i} != x^{j}: its powers cycle with period {p.period}"
            )
            out.append(
                f"    replay: prefix {w(p.prefix)}, x^{i}, suffix {w(p.suffix)} is {said[0]}; "
                f"with x^{j} it is {said[1]}"
            )
        if self.non_solvable is not None:
            c = self.non_solvable
            out.append(
                f"  non-solvable: {', '.join(w(x) for x in c.words)} generate a group of order "
                f"{c.order} whose derived series {' > '.join(map(str, c.derived_series))} "
                "stops above 1"
            )
        return out


# ---- the monoid -------------------------------------------------------------------------------
def minimal_dfa(automaton: DFA | NFA) -> DFA:
    """The minimal DFA of a DFA or NFA (its transition monoid is the syntactic monoid)."""
    if isinstance(automaton, NFA):
        automaton = automaton.determinize()
    if not isinstance(automaton, DFA):
        what = type(automaton).__name__
        raise CompileError(
            f"cannot take the syntactic monoid of a {what}: it belongs to a regular language "
            "(a DFA or an NFA)"
        )
    return automaton.minimize()


def then(x: Map, y: Map) -> Map:
    """x first, then y."""
    return tuple(y[q] for q in x)


@dataclass
class _Monoid:
    """The transition monoid by BFS from the identity (letters in alphabet order), so element i
    has a shortest word: `word(i)`. `right[i][k]` is "i then letter k"."""

    dfa: DFA
    elements: list[Map]
    index: dict[Map, int]
    parent: list[int]
    parent_letter: list[int]
    right: list[list[int]]
    letters: list[Map]

    def word(self, i: int) -> Word:
        out: list[str] = []
        while i > 0:
            out.append(self.dfa.alphabet[self.parent_letter[i]])
            i = self.parent[i]
        return tuple(reversed(out))


def _enumerate(dfa: DFA, budget: int) -> _Monoid:
    idx = {q: i for i, q in enumerate(dfa.states)}
    letters = [tuple(idx[dfa.delta[(q, a)]] for q in dfa.states) for a in dfa.alphabet]
    ident = tuple(range(len(dfa.states)))
    elements, index = [ident], {ident: 0}
    parent, parent_letter, right = [-1], [-1], []
    i = 0
    while i < len(elements):
        x = elements[i]
        row = []
        for k, a in enumerate(letters):
            y = tuple(a[q] for q in x)
            j = index.get(y)
            if j is None:
                j = len(elements)
                if j >= budget:
                    raise CompileError(
                        f"the syntactic monoid of {dfa.name!r} has more than {budget:,} elements "
                        f"(the monoid budget); raise it with {MONOID_BUDGET_ENV}=N if you have "
                        "the time and memory"
                    )
                index[y] = j
                elements.append(y)
                parent.append(i)
                parent_letter.append(k)
            row.append(j)
        right.append(row)
        i += 1
    return _Monoid(dfa, elements, index, parent, parent_letter, right, letters)


def strongly_connected(n: int, successors: Callable[[int], Sequence[int]]) -> list[int]:
    """Tarjan's algorithm without recursion: a component id per node 0..n-1."""
    comp = [-1] * n
    low = [0] * n
    number = [-1] * n
    stack: list[int] = []
    on_stack = [False] * n
    counter = 0
    components = 0
    for root in range(n):
        if number[root] >= 0:
            continue
        work = [(root, iter(successors(root)))]
        number[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        while work:
            v, it = work[-1]
            for w in it:
                if number[w] < 0:
                    number[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack[w] = True
                    work.append((w, iter(successors(w))))
                    break
                if on_stack[w]:
                    low[v] = min(low[v], number[w])
            else:
                work.pop()
                if work:
                    u = work[-1][0]
                    low[u] = min(low[u], low[v])
                if low[v] == number[v]:
                    while True:
                        w = stack.pop()
                        on_stack[w] = False
                        comp[w] = components
                        if w == v:
                            break
                    components += 1
    return comp


def _d_classes(mon: _Monoid) -> list[int]:
    """A D-class id per element: D is the join of R (components of x -> x a) and L
    (components of x -> a x); in a finite monoid D = R o L, so the join is D."""
    n = len(mon.elements)
    r = strongly_connected(n, lambda i: mon.right[i])
    left = [[mon.index[then(a, x)] for a in mon.letters] for x in mon.elements]
    lc = strongly_connected(n, lambda i: left[i])
    root = list(range(n))

    def find(i: int) -> int:
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    first_r: dict[int, int] = {}
    first_l: dict[int, int] = {}
    for i in range(n):
        for first, c in ((first_r, r[i]), (first_l, lc[i])):
            j = first.setdefault(c, i)
            a, b = find(i), find(j)
            if a != b:
                root[max(a, b)] = min(a, b)
    return [find(i) for i in range(n)]


def _idempotent_power(x: Map) -> Map | None:
    """x^omega when x permutes its image (a group element), else None."""
    image = set(x)
    back = {x[p]: p for p in image}
    if len(back) != len(image):
        return None
    return tuple(back[y] for y in x)


def power_index_period(x: Map) -> tuple[int, int]:
    """(i, p): the least i >= 1 and p >= 1 with x^i = x^(i+p)."""
    n = len(x)
    stable = x
    for _ in range(n):
        stable = then(stable, x)
    image = set(stable)  # x^(n+1): inside the cycle of powers, so x permutes its image
    period = 1
    seen: set[int] = set()
    for p in image:
        if p in seen:
            continue
        length, q = 0, p
        while q not in seen:
            seen.add(q)
            q = x[q]
            length += 1
        period = lcm(period, length)
    xp = _power(x, period)
    cur, i = x, 1
    while then(cur, xp) != cur:
        cur, i = then(cur, x), i + 1
    return i, period


def _power(x: Map, k: int) -> Map:
    result: Map = tuple(range(len(x)))
    base = x
    while k:
        if k & 1:
            result = then(result, base)
        base = then(base, base)
        k >>= 1
    return result


# ---- groups ----------------------------------------------------------------------------------
def describe_group(group: Any) -> str | None:
    """A name for a small group when its invariants pin it down, else None."""
    order = group.order()
    if order == 1:
        return "1"
    if group.is_abelian:
        return " x ".join(f"Z{k}" for k in group.abelian_invariants())
    moved = sorted({p for g in group.generators for p in g.support()})
    if len(group.orbit(moved[0])) == len(moved):  # transitive on the points it moves
        if order == factorial(len(moved)):
            return f"S{len(moved)}"
        if len(moved) >= 4 and 2 * order == factorial(len(moved)):
            return f"A{len(moved)}"
    centre = group.center().order()
    if order == 60 and group.is_perfect:
        return "A5"  # the only perfect group of order 60
    if order == 24 and centre == 1:
        return "S4"  # the only group of order 24 with trivial centre
    if order == 120 and centre == 1 and not group.is_solvable:
        return "S5"  # SL(2,5) and A5 x Z2 have centre Z2
    if order == 6:
        return "S3"  # the only non-abelian group of order 6
    if order > MAX_RECOGNISED_ORDER:
        return None
    elements = list(group.generate())
    involutions = [g for g in elements if g.order() == 2]
    if order == 8 and len(involutions) == 1:
        return "Q8"  # non-abelian of order 8: D4 has five involutions, Q8 one
    half = order // 2
    if order % 2 == 0 and half >= 3:
        for r in elements:
            if r.order() != half:
                continue
            rotations = {r**k for k in range(half)}
            if any(s not in rotations and s * r * s == r**-1 for s in involutions):
                return f"D{half}"
            break  # in D_n (n >= 3) every element of order n is a rotation: one r decides
    return None


def composition_factors(group: Any) -> tuple[int, ...] | None:
    """Orders of the composition factors of `group`, top down; None when the perfect core is
    not simple or too large to test (sympy computes composition series of solvable groups
    only).

    For a non-solvable G the derived series ends at a perfect P != 1; G/P is solvable, so its
    factors are Z_p, one per prime factor of |G:P| with multiplicity (Jordan-Hölder), and P is
    one more factor when it is simple: no element's normal closure in P is a proper subgroup.
    """
    from sympy import factorint

    if group.is_solvable:
        series = group.composition_series()
        return tuple(a.order() // b.order() for a, b in zip(series, series[1:], strict=False))
    core = group.derived_series()[-1]
    if core.order() > MAX_RECOGNISED_ORDER:
        return None
    for cls in core.conjugacy_classes():
        g = next(iter(cls))
        if not g.is_Identity and core.normal_closure(g).order() < core.order():
            return None
    index = factorint(group.order() // core.order())
    primes = [p for p, k in sorted(index.items()) for _ in range(k)]
    return (*primes, core.order())


def _subgroup(mon: _Monoid, e: Map, members: list[int], count: int) -> Subgroup:
    from sympy.combinatorics import Permutation, PermutationGroup

    points = sorted(set(e))
    pos = {p: i for i, p in enumerate(points)}

    def perm(i: int) -> Any:
        x = mon.elements[i]
        return Permutation([pos[x[p]] for p in points], size=len(points))

    gens: list[int] = []
    group = PermutationGroup([Permutation(list(range(len(points))), size=len(points))])
    for i in members:  # BFS order: the shortest words first
        if not group.contains(perm(i)):
            gens.append(i)
            group = PermutationGroup([perm(j) for j in gens])
    derived = tuple(h.order() for h in group.derived_series())
    e_index = mon.index[e]
    return Subgroup(
        idempotent=mon.word(e_index),
        rank=len(points),
        idempotents_in_d_class=count,
        order=group.order(),
        structure=describe_group(group),
        is_cyclic=bool(group.is_cyclic),
        is_abelian=bool(group.is_abelian),
        is_solvable=bool(group.is_solvable),
        derived_series=derived,
        composition_factors=composition_factors(group),
        generators=tuple(mon.word(i) for i in gens) or (mon.word(e_index),),
        group=group,
    )


# ---- certificates -----------------------------------------------------------------------------
def _access_words(dfa: DFA) -> dict[str, Word]:
    """A shortest word reaching each state (all are reachable in a minimal DFA)."""
    words: dict[str, Word] = {dfa.start: ()}
    queue = deque([dfa.start])
    while queue:
        q = queue.popleft()
        for a in dfa.alphabet:
            r = dfa.delta[(q, a)]
            if r not in words:
                words[r] = (*words[q], a)
                queue.append(r)
    return words


def _separating_suffix(dfa: DFA, p: str, q: str) -> Word:
    """A shortest word accepted from exactly one of p, q (they differ in a minimal DFA)."""
    seen = {(p, q): ()}
    queue = deque([(p, q)])
    while queue:
        a, b = queue.popleft()
        if (a in dfa.accept) != (b in dfa.accept):
            return seen[(a, b)]
        for s in dfa.alphabet:
            nxt = (dfa.delta[(a, s)], dfa.delta[(b, s)])
            if nxt not in seen:
                seen[nxt] = (*seen[(a, b)], s)
                queue.append(nxt)
    raise AssertionError(f"states {p!r} and {q!r} of a minimal DFA are equivalent")


def _period_certificate(mon: _Monoid, i: int) -> PeriodCertificate:
    x = mon.elements[i]
    index, period = power_index_period(x)
    lo = _power(x, index)
    hi = then(lo, x)
    dfa = mon.dfa
    q = next(q for q in range(len(x)) if lo[q] != hi[q])
    prefix = _access_words(dfa)[dfa.states[q]]
    suffix = _separating_suffix(dfa, dfa.states[lo[q]], dfa.states[hi[q]])
    return PeriodCertificate(
        word=mon.word(i),
        index=index,
        period=period,
        prefix=prefix,
        suffix=suffix,
        accepted_at_index=_run_from(dfa, dfa.states[lo[q]], suffix) in dfa.accept,
    )


def _run_from(dfa: DFA, q: str, word: Sequence[str]) -> str:
    for a in word:
        q = dfa.delta[(q, a)]
    return q


def has_period(x: Map) -> bool:
    """x^k != x^(k+1) for every k: x moves a point of its stable image im(x^m), m >= |Q|
    (there x acts as a permutation; it is the identity exactly when x^m = x^(m+1))."""
    y, m = x, 1
    while m < len(x):
        y, m = then(y, y), 2 * m
    return any(x[q] != q for q in set(y))


# ---- the entry point --------------------------------------------------------------------------
def classify(automaton: DFA | NFA, max_size: int | None = None) -> Classification:
    """The class of the language of `automaton` (a DFA or an NFA), from its syntactic monoid.

    Refuses (`CompileError`) a syntactic monoid of more than `max_size` elements (default
    `monoid_budget()`: $LOGDEPTH_MAX_MONOID or 100,000).
    """
    if max_size is not None and (
        isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1
    ):
        raise CompileError(f"max_size must be a positive integer, not {max_size!r}")
    dfa = minimal_dfa(automaton)
    mon = _enumerate(dfa, monoid_budget() if max_size is None else max_size)
    n = len(mon.elements)
    # Group elements by their idempotent power: the H-classes of the idempotents.
    groups: dict[Map, list[int]] = {}
    for i, x in enumerate(mon.elements):
        e = _idempotent_power(x)
        if e is not None:
            groups.setdefault(e, []).append(i)
    idempotents = sorted(mon.index[e] for e in groups)
    d_class = _d_classes(mon)
    count: dict[int, int] = {}
    for i in idempotents:
        count[d_class[i]] = count.get(d_class[i], 0) + 1
    subgroups = []
    done: set[int] = set()
    for i in idempotents:
        if d_class[i] in done:
            continue
        done.add(d_class[i])
        e = mon.elements[i]
        subgroups.append(_subgroup(mon, e, groups[e], count[d_class[i]]))
    # The first element (a shortest word, by BFS) whose powers cycle with period > 1.
    first = next((i for i, x in enumerate(mon.elements) if has_period(x)), None)
    period = None if first is None else _period_certificate(mon, first)
    bad = next((g for g in subgroups if not g.is_solvable), None)
    if bad is None:
        cls = "aperiodic" if all(g.order == 1 for g in subgroups) else "solvable"
        non_solvable = None
    else:
        cls = "non-solvable"
        non_solvable = NonSolvableCertificate(bad.generators, bad.order, bad.derived_series)
    if (period is None) != (cls == "aperiodic"):  # two routes to the same fact must agree
        raise AssertionError(f"classify {dfa.name!r}: period search and subgroups disagree")
    return Classification(
        name=dfa.name,
        language_class=cls,
        alphabet=dfa.alphabet,
        states=len(dfa.states),
        monoid_size=n,
        idempotents=len(idempotents),
        subgroups=tuple(subgroups),
        period=period,
        non_solvable=non_solvable,
    )
