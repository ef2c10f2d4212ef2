"""Permutation groups of degree at most 9 and their Cayley automata.

An element is written in one-line notation: the images of 1..N as digits, so "21345" swaps 1
and 2. A word x1 x2 ... xk denotes the product applied left to right: x1 acts first, then x2,
and so on, i.e. the point i goes to xk(...x2(x1(i))). The Cayley automaton has one state per
element, starts and accepts at the identity, and reading x moves from g to "g then x".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from math import factorial

from logdepth.automata.dfa import DFA
from logdepth.errors import SpecError

MAX_DEGREE = 9  # one digit per point in one-line notation
MAX_TRANSITIONS = 2_000_000  # |G| x |alphabet| of a Cayley automaton we are willing to build
KINDS = ("alternating", "symmetric", "cyclic", "dihedral")

Perm = tuple[int, ...]  # 0-based images: p[i] is the image of point i


def identity(n: int) -> Perm:
    return tuple(range(n))


def then(p: Perm, q: Perm) -> Perm:
    """p first, then q."""
    return tuple(q[i] for i in p)


def one_line(p: Perm) -> str:
    return "".join(str(i + 1) for i in p)


def from_cycles(cycles: Iterable[Sequence[int]], n: int) -> Perm:
    """The permutation of 1..n given by disjoint-or-not cycles, composed left to right."""
    perm = identity(n)
    for cyc in cycles:
        img = list(range(n))
        for k, a in enumerate(cyc):
            img[a - 1] = cyc[(k + 1) % len(cyc)] - 1
        perm = then(perm, tuple(img))
    return perm


def parity(p: Perm) -> int:
    seen = [False] * len(p)
    transpositions = 0
    for i in range(len(p)):
        if seen[i]:
            continue
        j, length = i, 0
        while not seen[j]:
            seen[j] = True
            j = p[j]
            length += 1
        transpositions += length - 1
    return transpositions % 2


def named_generators(kind: str, n: int) -> list[Perm]:
    """Standard generators: cyclic (1..n); symmetric (1 2), (1..n); alternating the 3-cycles
    (1 2 k); dihedral the rotation (1..n) and the reflection i -> n+1-i."""
    rot = from_cycles([list(range(1, n + 1))], n)
    if kind == "cyclic":
        return [rot]
    if kind == "symmetric":
        return [from_cycles([[1, 2]], n), rot] if n >= 2 else [identity(n)]
    if kind == "alternating":
        return [from_cycles([[1, 2, k]], n) for k in range(3, n + 1)] or [identity(n)]
    if kind == "dihedral":
        return [rot, tuple(n - 1 - i for i in range(n))]
    raise SpecError(f"unknown group kind {kind!r}; expected one of {', '.join(KINDS)}")


def closure(generators: Sequence[Perm], n: int) -> list[Perm]:
    """All elements generated, in BFS order from the identity (generators in order)."""
    e = identity(n)
    order = [e]
    seen = {e}
    i = 0
    while i < len(order):
        g = order[i]
        i += 1
        for s in generators:
            h = then(g, s)
            if h not in seen:
                seen.add(h)
                order.append(h)
    return order


def check_degree(kind: str, n: int) -> None:
    if not 1 <= n <= MAX_DEGREE:
        raise SpecError(
            f"group degree {n} is out of range 1..{MAX_DEGREE} "
            "(elements are written as one digit per point)"
        )
    if kind == "dihedral" and n < 3:
        raise SpecError(f"dihedral groups need degree at least 3, got {n}")


def cayley_dfa(name: str, elements: Sequence[Perm], alphabet: Sequence[Perm]) -> DFA:
    """The Cayley automaton: states = elements (one-line names), start = accept = identity,
    reading x moves g to "g then x"."""
    names = [one_line(g) for g in elements]
    letters = [one_line(x) for x in alphabet]
    delta = {}
    for g, gname in zip(elements, names, strict=True):
        for x, xname in zip(alphabet, letters, strict=True):
            delta[(gname, xname)] = one_line(then(g, x))
    e = names[0]
    return DFA(name, tuple(names), tuple(letters), e, frozenset([e]), delta, "group")


def group_dfa(
    name: str,
    *,
    kind: str | None = None,
    degree: int | None = None,
    generators: Sequence[Perm] | None = None,
    alphabet: str = "elements",
) -> DFA:
    """Lower a group declaration. `alphabet` is "elements" (every element) or "generators"."""
    if kind is not None:
        assert degree is not None
        check_degree(kind, degree)
        gens = named_generators(kind, degree)
        n = degree
        order = {
            "symmetric": factorial(n),
            "alternating": max(factorial(n) // 2, 1),
            "cyclic": n,
            "dihedral": 2 * n,
        }[kind]
        if alphabet != "generators" and order * order > MAX_TRANSITIONS:
            raise SpecError(
                f"the Cayley automaton of {kind} {n} would have {order} states x {order} letters "
                f"= {order * order:,} transitions, over the limit of {MAX_TRANSITIONS:,}; "
                "use 'alphabet: generators'"
            )
        elements = closure(gens, n)
        if kind == "symmetric" or kind == "alternating":
            elements = [g for g in elements if kind == "symmetric" or parity(g) == 0]
    else:
        assert generators is not None and degree is not None
        gens = list(generators)
        n = degree
        elements = closure(gens, n)
    size = len(elements)
    n_letters = len(set(gens)) if alphabet == "generators" else size
    if size * n_letters > MAX_TRANSITIONS:
        hint = "; use 'alphabet: generators'" if alphabet != "generators" else ""
        raise SpecError(
            f"the Cayley automaton of this group would have {size} states x {n_letters} letters "
            f"= {size * n_letters:,} transitions, over the limit of {MAX_TRANSITIONS:,}{hint}"
        )
    if alphabet == "generators":
        letters: list[Perm] = []
        for g in gens:
            if g not in letters:
                letters.append(g)
    else:
        letters = sorted(elements)
    return cayley_dfa(name, elements, letters)
