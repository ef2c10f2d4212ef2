"""The holonomy (Krohn-Rhodes) decomposition of a minimal DFA into a cascade of levels.

Sources: Zeiger 1967; Eilenberg, Automata, Languages and Machines vol. B (1976); O. Maler, "On
the Krohn-Rhodes cascaded decomposition theorem" (2010); A. Egri-Nagy & C. L. Nehaniv,
"Computational holonomy decomposition of transformation semigroups" (2015), whose GAP package
SgpDec this follows.

For the minimal DFA with states X:

1. Image sets I: every X.w (w a word) and every singleton. Sets are bitmasks over the states.
2. Subduction classes: the strongly connected components of P -> P.a on I; a class lies below
   another through those edges and strict inclusion.
3. Heights: singletons 0, any other class 1 + the highest class below it. Level k of the
   cascade serves the classes of height k, from h(X) at the top down to 1.
4. Tiles of a class representative R: the maximal members of I strictly inside R.
5. For each member P of R's class, a one-to-one point map u_P: R -> P made of letter steps
   inside the class, and v_P its exact inverse.
6. Holonomy group of a class: the permutations t -> v_(P.a)(a(u_P(t))) of R's tiles, over
   members P and letters a with P.a in the class.
7. A cascade state is one value per level: a tile of the class at that height, or None (a
   dummy) when the chain skips the level. It names the state reached by decoding top down from
   P = X, replacing P by u_P(tile).
8. A letter acts top down with P (the old chain's set) and Q (the new chain's set): if Q's
   height is not this level, the dummy; if P's height is and P.a == Q, the tile is permuted by
   a holonomy group element; otherwise it is reset to the first tile of Q that contains P.a.
   Either way the action depends on the letter and the levels above only.
9. The action tables are built over every encoding of every state (the encodings are closed
   under the letters), keyed by (the old values of the levels above, letter).

The number of levels sets a constant depth; the image set can grow exponentially in |Q|, so
its size is bounded (`MAX_IMAGE_SETS`) and so is the number of encodings the tables are built
over (`MAX_ENCODINGS`); past either, `holonomy` refuses with the count it reached.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from logdepth.automata.classes import describe_group, minimal_dfa, strongly_connected
from logdepth.automata.dfa import DFA
from logdepth.automata.nfa import NFA
from logdepth.errors import CompileError

# Finding tiles compares every pair of image sets below a representative: quadratic in |I|.
MAX_IMAGE_SETS = 2_000
# Each encoding is a chain of tiles; the tables have one row per encoding prefix and letter.
MAX_ENCODINGS = 200_000

Value = tuple[int, int] | None  # (class index, tile index) or the dummy


@dataclass(frozen=True)
class HolonomyGroup:
    """The holonomy group of one subduction class: permutations of its representative's
    tiles (a sympy ``PermutationGroup`` in `group`)."""

    order: int
    structure: str | None
    is_solvable: bool
    group: Any = field(compare=False, repr=False)


@dataclass(frozen=True)
class Level:
    """One level of the cascade: the classes of one height and their tiles (as state sets)."""

    height: int
    classes: tuple[int, ...]  # class indices at this height
    tiles: tuple[tuple[frozenset[str], ...], ...]  # per class, its representative's tiles
    groups: tuple[HolonomyGroup, ...]  # per class

    @property
    def states(self) -> int:
        """Real (non-dummy) values of this level."""
        return sum(len(t) for t in self.tiles)


@dataclass(frozen=True)
class Action:
    """What a letter does to one level, given the levels above: a reset to `value`, or
    `permutation` (tile index -> tile index) of the class `klass`'s tiles."""

    value: Value = None
    klass: int | None = None
    permutation: tuple[int, ...] | None = None

    def apply(self, old: Value) -> Value:
        if self.permutation is None:
            return self.value
        assert old is not None and old[0] == self.klass, "a permutation reads a tile"
        return (self.klass, self.permutation[old[1]])


@dataclass(frozen=True)
class Cascade:
    """The holonomy cascade of a minimal DFA; `run` uses the tables alone."""

    name: str
    alphabet: tuple[str, ...]
    image_sets: int
    levels: tuple[Level, ...]  # top (height h(X)) down to height 1
    tables: tuple[dict[tuple[tuple[Value, ...], str], Action], ...] = field(
        repr=False, compare=False
    )
    decode: dict[tuple[Value, ...], str] = field(repr=False, compare=False)  # every encoding
    start: tuple[Value, ...]  # an encoding of the start state
    accept: frozenset[str]

    def step(self, values: tuple[Value, ...], letter: str) -> tuple[Value, ...]:
        """One letter: level i's new value from its action table at (old values above, letter)."""
        return tuple(
            self.tables[i][(values[:i], letter)].apply(values[i]) for i in range(len(values))
        )

    def run(self, word: Sequence[str]) -> str:
        """The DFA state the cascade reaches on `word` from the start encoding."""
        values = self.start
        for a in word:
            values = self.step(values, a)
        return self.decode[values]

    def accepts(self, word: Sequence[str]) -> bool:
        return self.run(word) in self.accept


def _bits(mask: int) -> list[int]:
    return [q for q in range(mask.bit_length()) if mask >> q & 1]


def holonomy(
    automaton: DFA | NFA,
    max_image_sets: int = MAX_IMAGE_SETS,
    max_encodings: int = MAX_ENCODINGS,
) -> Cascade:
    """The holonomy decomposition of the minimal DFA of `automaton` (module docstring)."""
    from sympy.combinatorics import Permutation, PermutationGroup

    for what, limit in (("max_image_sets", max_image_sets), ("max_encodings", max_encodings)):
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise CompileError(f"{what} must be a positive integer, not {limit!r}")
    dfa = minimal_dfa(automaton)
    n = len(dfa.states)
    idx = {q: i for i, q in enumerate(dfa.states)}
    letters = [[idx[dfa.delta[(q, a)]] for q in dfa.states] for a in dfa.alphabet]

    def image(mask: int, k: int) -> int:
        out = 0
        for q in _bits(mask):
            out |= 1 << letters[k][q]
        return out

    # 1. Image sets: the orbit of X, then the singletons (closed under the letters too).
    full = (1 << n) - 1
    sets = [full]
    where = {full: 0}
    i = 0
    while i < len(sets):
        for k in range(len(letters)):
            t = image(sets[i], k)
            if t not in where:
                if len(sets) + n > max_image_sets:
                    raise CompileError(
                        f"the holonomy decomposition of {dfa.name!r} needs more than "
                        f"{max_image_sets:,} image sets (more than {len(sets):,} images of its "
                        f"{n} states, plus {n} singletons); pass max_image_sets=N to go further"
                    )
                where[t] = len(sets)
                sets.append(t)
        i += 1
    for q in range(n):
        if 1 << q not in where:
            where[1 << q] = len(sets)
            sets.append(1 << q)
    step = [[where[image(s, k)] for k in range(len(letters))] for s in sets]

    # 2. Subduction classes, and the classes directly below each (edges and inclusion).
    comp = strongly_connected(len(sets), lambda j: step[j])
    members: dict[int, list[int]] = {}
    for j in range(len(sets)):
        members.setdefault(comp[j], []).append(j)
    below: dict[int, set[int]] = {c: set() for c in members}
    for j, s in enumerate(sets):
        for t in step[j]:
            if comp[t] != comp[j]:
                below[comp[j]].add(comp[t])
        for t, u in enumerate(sets):
            if u != s and u & s == u and comp[t] != comp[j]:
                below[comp[j]].add(comp[t])

    # 3. Heights (the relation below is acyclic between classes).
    height: dict[int, int] = {}

    def h(c: int) -> int:
        todo = [c]
        while todo:
            d = todo[-1]
            missing = [e for e in below[d] if e not in height]
            if missing:
                todo.extend(missing)
                continue
            todo.pop()
            one = bin(sets[members[d][0]]).count("1") == 1
            height[d] = 0 if one else 1 + max((height[e] for e in below[d]), default=0)
        return height[c]

    for c in members:
        h(c)

    # 4-5. Representatives (the first member in BFS order), tiles, and the point maps.
    order = sorted((c for c in members if height[c] > 0), key=lambda c: members[c][0])
    number = {c: k for k, c in enumerate(order)}  # class index as the cascade names it
    rep: list[int] = [members[c][0] for c in order]
    tiles: list[list[int]] = []
    for r in rep:
        inside = [u for u in sets if u != sets[r] and u & sets[r] == u]
        tiles.append(
            sorted(
                (u for u in inside if not any(v != u and v & u == u for v in inside)),
                key=lambda u: (_bits(u), u),
            )
        )
    u_map: dict[int, dict[int, int]] = {}  # set index -> point map from its rep
    for c in order:
        r = members[c][0]
        u_map[r] = {q: q for q in _bits(sets[r])}
        queue = deque([r])
        while queue:
            j = queue.popleft()
            for k, t in enumerate(step[j]):
                if comp[t] == c and t not in u_map:
                    u_map[t] = {p: letters[k][q] for p, q in u_map[j].items()}
                    queue.append(t)
    v_map = {j: {q: p for p, q in m.items()} for j, m in u_map.items()}

    @cache
    def tile_permutation(j: int, k: int) -> tuple[int, ...]:
        """The permutation of rep tiles induced by letter k from member j into its class."""
        c = number[comp[j]]
        t = step[j][k]
        point = {p: v_map[t][letters[k][u_map[j][p]]] for p in _bits(sets[rep[c]])}
        moved = [sum(1 << point[q] for q in _bits(tile)) for tile in tiles[c]]
        return tuple(tiles[c].index(m) for m in moved)

    # 6. Holonomy groups.
    groups: list[HolonomyGroup] = []
    for ci, c in enumerate(order):
        size = len(tiles[ci])
        perms = {
            tile_permutation(j, k)
            for j in members[c]
            for k in range(len(letters))
            if comp[step[j][k]] == c
        }
        gens = [Permutation(list(p), size=size) for p in sorted(perms)]
        group = PermutationGroup(gens or [Permutation(list(range(size)), size=size)])
        groups.append(HolonomyGroup(group.order(), describe_group(group), group.is_solvable, group))

    top = height[comp[0]]
    heights = list(range(top, 0, -1))
    levels = tuple(
        Level(
            height=k,
            classes=tuple(ci for ci, c in enumerate(order) if height[c] == k),
            tiles=tuple(
                tuple(frozenset(dfa.states[q] for q in _bits(t)) for t in tiles[ci])
                for ci, c in enumerate(order)
                if height[c] == k
            ),
            groups=tuple(groups[ci] for ci, c in enumerate(order) if height[c] == k),
        )
        for k in heights
    )

    def level_of(j: int) -> int:
        return height[comp[j]]

    @cache
    def descend(j: int, value: Value) -> int:
        """The chain's next set below set j: u_P of the chosen tile of P's representative."""
        assert value is not None
        m = u_map[j]
        return where[sum(1 << m[q] for q in _bits(tiles[value[0]][value[1]]))]

    @cache
    def reset_tile(pa: int, q: int) -> int:
        """The first tile of Q (by index) that contains P.a."""
        cq = number[comp[q]]
        return next(
            t for t in range(len(tiles[cq])) if sets[pa] & ~sets[descend(q, (cq, t))] == 0
        )

    # 7. Every encoding of every state: a chain of tiles from X down to a singleton.
    decode: dict[tuple[Value, ...], str] = {}
    stack: list[tuple[int, tuple[Value, ...]]] = [(0, ())]
    while stack:
        j, values = stack.pop()
        depth = len(values)
        if depth == len(heights):
            decode[values] = dfa.states[_bits(sets[j])[0]]
            if len(decode) > max_encodings:
                raise CompileError(
                    f"the holonomy cascade of {dfa.name!r} has more than {max_encodings:,} "
                    "encodings of its states; pass max_encodings=N to build its tables anyway"
                )
            continue
        if level_of(j) != heights[depth]:
            stack.append((j, (*values, None)))
            continue
        ci = number[comp[j]]
        for t in range(len(tiles[ci]) - 1, -1, -1):
            stack.append((descend(j, (ci, t)), (*values, (ci, t))))

    # 8-9. The action tables, from the chain semantics, over every encoding and letter.
    tables: list[dict[tuple[tuple[Value, ...], str], Action]] = [{} for _ in heights]
    for values in decode:
        for k, a in enumerate(dfa.alphabet):
            p, q = 0, 0  # old and new chain sets (indices into sets)
            new: list[Value] = []
            for i, lv in enumerate(heights):
                if level_of(q) != lv:
                    action = Action()
                else:
                    cq = number[comp[q]]
                    pa = step[p][k]
                    if level_of(p) == lv and pa == q:
                        perm = tile_permutation(p, k)
                        action = Action(klass=cq, permutation=perm)
                    else:
                        action = Action(value=(cq, reset_tile(pa, q)))
                key = (values[:i], a)
                known = tables[i].setdefault(key, action)
                assert known == action, "a level's action must depend on the levels above only"
                nv = action.apply(values[i])
                new.append(nv)
                if level_of(p) == lv:
                    p = descend(p, values[i])
                if nv is not None:
                    q = descend(q, nv)
            assert sets[q] == 1 << letters[k][_bits(sets[p])[0]], "the chain semantics is wrong"
    start = next(v for v, s in decode.items() if s == dfa.start)
    return Cascade(
        name=dfa.name,
        alphabet=dfa.alphabet,
        image_sets=len(sets),
        levels=levels,
        tables=tuple(tables),
        decode=decode,
        start=start,
        accept=dfa.accept,
    )
