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
    for what, limit in (("max_image_sets", max_image_sets), ("max_encodings", max_encodings)):
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise CompileError(f"{what} must be a positive integer, not {limit!r}")
    return _Decomposition(minimal_dfa(automaton), max_image_sets).cascade(max_encodings)


class _Decomposition:
    """The module docstring's steps 1-9 on a minimal DFA, one method each; the sets are bit
    masks of state indices, named by their index in `sets`."""

    def __init__(self, dfa: DFA, max_image_sets: int) -> None:
        self.dfa = dfa
        self.n = len(dfa.states)
        idx = {q: i for i, q in enumerate(dfa.states)}
        self.letters = [[idx[dfa.delta[(q, a)]] for q in dfa.states] for a in dfa.alphabet]
        self._image_sets(max_image_sets)
        self._classes()
        self._heights()
        self._tiles_and_maps()
        self._tile_permutations: dict[tuple[int, int], tuple[int, ...]] = {}
        self._descents: dict[tuple[int, Value], int] = {}
        self._resets: dict[tuple[int, int], int] = {}

    def image(self, mask: int, k: int) -> int:
        out = 0
        for q in _bits(mask):
            out |= 1 << self.letters[k][q]
        return out

    def _image_sets(self, max_image_sets: int) -> None:
        """1. Image sets: the orbit of X, then the singletons (closed under the letters too)."""
        n, letters = self.n, self.letters
        full = (1 << n) - 1
        sets = [full]
        where = {full: 0}
        i = 0
        while i < len(sets):
            for k in range(len(letters)):
                t = self.image(sets[i], k)
                if t not in where:
                    if len(sets) + n > max_image_sets:
                        raise CompileError(
                            f"the holonomy decomposition of {self.dfa.name!r} needs more than "
                            f"{max_image_sets:,} image sets (more than {len(sets):,} images of "
                            f"its {n} states, plus {n} singletons); pass max_image_sets=N to go "
                            "further"
                        )
                    where[t] = len(sets)
                    sets.append(t)
            i += 1
        for q in range(n):
            if 1 << q not in where:
                where[1 << q] = len(sets)
                sets.append(1 << q)
        self.sets, self.where = sets, where
        self.step = [[where[self.image(s, k)] for k in range(len(letters))] for s in sets]

    def _classes(self) -> None:
        """2. Subduction classes, and the classes directly below each (edges and inclusion)."""
        sets, step = self.sets, self.step
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
        self.comp, self.members, self.below = comp, members, below

    def _heights(self) -> None:
        """3. Heights (the relation below is acyclic between classes)."""
        height: dict[int, int] = {}
        for c in self.members:
            todo = [c]
            while todo:
                d = todo[-1]
                missing = [e for e in self.below[d] if e not in height]
                if missing:
                    todo.extend(missing)
                    continue
                todo.pop()
                one = bin(self.sets[self.members[d][0]]).count("1") == 1
                height[d] = 0 if one else 1 + max((height[e] for e in self.below[d]), default=0)
        self.height = height

    def _tiles_and_maps(self) -> None:
        """4-5. Representatives (the first member in BFS order), tiles, and the point maps."""
        sets, members, comp = self.sets, self.members, self.comp
        order = sorted((c for c in members if self.height[c] > 0), key=lambda c: members[c][0])
        self.order = order
        self.number = {c: k for k, c in enumerate(order)}  # class index as the cascade names it
        self.rep: list[int] = [members[c][0] for c in order]
        self.tiles: list[list[int]] = []
        for r in self.rep:
            inside = [u for u in sets if u != sets[r] and u & sets[r] == u]
            self.tiles.append(
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
                for k, t in enumerate(self.step[j]):
                    if comp[t] == c and t not in u_map:
                        u_map[t] = {p: self.letters[k][q] for p, q in u_map[j].items()}
                        queue.append(t)
        self.u_map = u_map
        self.v_map = {j: {q: p for p, q in m.items()} for j, m in u_map.items()}

    def tile_permutation(self, j: int, k: int) -> tuple[int, ...]:
        """The permutation of rep tiles induced by letter k from member j into its class."""
        if (j, k) not in self._tile_permutations:
            c = self.number[self.comp[j]]
            t = self.step[j][k]
            point = {
                p: self.v_map[t][self.letters[k][self.u_map[j][p]]]
                for p in _bits(self.sets[self.rep[c]])
            }
            moved = [sum(1 << point[q] for q in _bits(tile)) for tile in self.tiles[c]]
            self._tile_permutations[(j, k)] = tuple(self.tiles[c].index(m) for m in moved)
        return self._tile_permutations[(j, k)]

    def _groups(self) -> list[HolonomyGroup]:
        """6. Holonomy groups."""
        from sympy.combinatorics import Permutation, PermutationGroup

        groups: list[HolonomyGroup] = []
        for ci, c in enumerate(self.order):
            size = len(self.tiles[ci])
            perms = {
                self.tile_permutation(j, k)
                for j in self.members[c]
                for k in range(len(self.letters))
                if self.comp[self.step[j][k]] == c
            }
            gens = [Permutation(list(p), size=size) for p in sorted(perms)]
            group = PermutationGroup(gens or [Permutation(list(range(size)), size=size)])
            groups.append(
                HolonomyGroup(group.order(), describe_group(group), group.is_solvable, group)
            )
        return groups

    def _levels(self, heights: list[int]) -> tuple[Level, ...]:
        """The levels, top down: each height's classes, their tiles and holonomy groups."""
        groups, height, order = self._groups(), self.height, self.order
        states = self.dfa.states
        return tuple(
            Level(
                height=k,
                classes=tuple(ci for ci, c in enumerate(order) if height[c] == k),
                tiles=tuple(
                    tuple(frozenset(states[q] for q in _bits(t)) for t in self.tiles[ci])
                    for ci, c in enumerate(order)
                    if height[c] == k
                ),
                groups=tuple(groups[ci] for ci, c in enumerate(order) if height[c] == k),
            )
            for k in heights
        )

    def level_of(self, j: int) -> int:
        return self.height[self.comp[j]]

    def descend(self, j: int, value: Value) -> int:
        """The chain's next set below set j: u_P of the chosen tile of P's representative."""
        assert value is not None
        if (j, value) not in self._descents:
            m = self.u_map[j]
            tile = self.tiles[value[0]][value[1]]
            self._descents[(j, value)] = self.where[sum(1 << m[q] for q in _bits(tile))]
        return self._descents[(j, value)]

    def reset_tile(self, pa: int, q: int) -> int:
        """The first tile of Q (by index) that contains P.a."""
        if (pa, q) not in self._resets:
            cq = self.number[self.comp[q]]
            self._resets[(pa, q)] = next(
                t
                for t in range(len(self.tiles[cq]))
                if self.sets[pa] & ~self.sets[self.descend(q, (cq, t))] == 0
            )
        return self._resets[(pa, q)]

    def _encodings(self, heights: list[int], max_encodings: int) -> dict[tuple[Value, ...], str]:
        """7. Every encoding of every state: a chain of tiles from X down to a singleton."""
        decode: dict[tuple[Value, ...], str] = {}
        stack: list[tuple[int, tuple[Value, ...]]] = [(0, ())]
        while stack:
            j, values = stack.pop()
            depth = len(values)
            if depth == len(heights):
                decode[values] = self.dfa.states[_bits(self.sets[j])[0]]
                if len(decode) > max_encodings:
                    raise CompileError(
                        f"the holonomy cascade of {self.dfa.name!r} has more than "
                        f"{max_encodings:,} encodings of its states; pass max_encodings=N to "
                        "build its tables anyway"
                    )
                continue
            if self.level_of(j) != heights[depth]:
                stack.append((j, (*values, None)))
                continue
            ci = self.number[self.comp[j]]
            for t in range(len(self.tiles[ci]) - 1, -1, -1):
                stack.append((self.descend(j, (ci, t)), (*values, (ci, t))))
        return decode

    def _action(self, p: int, q: int, k: int, lv: int) -> Action:
        """Level lv's action for letter k, the old chain at set p and the new one at set q."""
        if self.level_of(q) != lv:
            return Action()
        cq = self.number[self.comp[q]]
        pa = self.step[p][k]
        if self.level_of(p) == lv and pa == q:
            return Action(klass=cq, permutation=self.tile_permutation(p, k))
        return Action(value=(cq, self.reset_tile(pa, q)))

    def _tables(
        self, heights: list[int], decode: dict[tuple[Value, ...], str]
    ) -> list[dict[tuple[tuple[Value, ...], str], Action]]:
        """8-9. The action tables, from the chain semantics, over every encoding and letter."""
        tables: list[dict[tuple[tuple[Value, ...], str], Action]] = [{} for _ in heights]
        for values in decode:
            for k, a in enumerate(self.dfa.alphabet):
                p, q = 0, 0  # old and new chain sets (indices into sets)
                for i, lv in enumerate(heights):
                    action = self._action(p, q, k, lv)
                    known = tables[i].setdefault((values[:i], a), action)
                    assert known == action, "a level's action must depend on the levels above only"
                    nv = action.apply(values[i])
                    if self.level_of(p) == lv:
                        p = self.descend(p, values[i])
                    if nv is not None:
                        q = self.descend(q, nv)
                first = _bits(self.sets[p])[0]
                assert self.sets[q] == 1 << self.letters[k][first], "the chain semantics is wrong"
        return tables

    def cascade(self, max_encodings: int) -> Cascade:
        dfa = self.dfa
        heights = list(range(self.height[self.comp[0]], 0, -1))
        levels = self._levels(heights)
        decode = self._encodings(heights, max_encodings)
        tables = self._tables(heights, decode)
        start = next(v for v, s in decode.items() if s == dfa.start)
        return Cascade(
            name=dfa.name,
            alphabet=dfa.alphabet,
            image_sets=len(self.sets),
            levels=levels,
            tables=tuple(tables),
            decode=decode,
            start=start,
            accept=dfa.accept,
        )
