"""The transition monoid of an automaton (paper Section 3: Theorem 1 composes monoid elements).

For a DFA an element is a map Q -> Q, stored as a tuple of state indices (``m[q]`` is where q
goes). For an NFA an element is a boolean relation, stored as a tuple of row bitmasks (bit r of
``m[q]`` says q can reach r). Elements are found by BFS from the identity, multiplying on the
right by the letters in alphabet order, so element 0 is the identity and the numbering is
deterministic. ``table[a, b]`` is the element of "a then b": the element of a word uv is
``table[element_of(u), element_of(v)]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import numpy as np

from logdepth.automata.dfa import DFA
from logdepth.automata.nfa import NFA
from logdepth.errors import CompileError
from logdepth.limits import FLOAT64_BYTES, MEMORY_ENV, format_bytes, max_memory

MAX_ELEMENTS = 5000  # beyond this the |M|^2 table (and Theorem 1's tables) are impractical
# Python's fixed costs per element found: the dict entry and bytes key header, the list slots,
# the parent/letter entries and the tuple header (CPython 3.11, 64-bit; sys.getsizeof of
# b"" is 33, of () 40, a dict entry about 100 with its index): a round upper bound.
ELEMENT_OVERHEAD_BYTES = 256


def element_bytes(kind: str, states: int, letters: int) -> int:
    """Bytes the BFS keeps per element found, for an automaton of `states` states (`_bfs`):
    the element's array and its bytes key (2 bytes a state as int16, or one bool per pair of
    states for a relation), the tuple written into `elements` (8 bytes a pointer, plus a Python
    int per row of a relation: 28 bytes and one bit per state), a row of `right` (one int per
    letter) and the fixed overhead."""
    if kind == "dfa":
        array = states * (2 if states < 2**15 else 4)
        entries = 8 * states
    else:
        array = states * states
        entries = states * (8 + 28 + states // 8)
    return 2 * array + entries + 8 * letters + ELEMENT_OVERHEAD_BYTES


def affordable_elements(kind: str, states: int, letters: int) -> int:
    """The most elements whose enumeration and |M|^2 table fit the memory limit: E elements
    cost E * element_bytes plus the int64 table 8 E^2 (`table`)."""
    per = element_bytes(kind, states, letters)
    limit = max_memory()
    # 8 E^2 + per E <= limit  <=>  E <= (-per + sqrt(per^2 + 32 limit)) / 16
    return max(1, int((-per + (per * per + 32 * limit) ** 0.5) / (2 * FLOAT64_BYTES)))


class TransitionMonoid:
    """Closure of the letters' transition elements under composition."""

    def __init__(
        self,
        name: str,
        kind: str,
        alphabet: tuple[str, ...],
        elements: list[tuple[int, ...]],
        letter: dict[str, int],
        right: np.ndarray,
        parent: np.ndarray,
        parent_letter: np.ndarray,
        accepting: np.ndarray,
    ) -> None:
        self.name = name
        self.kind = kind  # "dfa" (maps) or "nfa" (relations)
        self.alphabet = alphabet
        self.elements = elements
        self.identity = 0
        self.letter = letter
        self._right = right  # right[m, k] = element of "m then letter k"
        self._parent = parent
        self._parent_letter = parent_letter
        self.accepting = accepting

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def of(cls, automaton: DFA | NFA, max_elements: int = MAX_ELEMENTS) -> TransitionMonoid:
        """Enumerate the monoid; `CompileError` past `max_elements` elements, or past the
        number whose enumeration and table fit the memory limit (`affordable_elements`, from
        the automaton's size before the first element is found)."""
        kind = "dfa" if isinstance(automaton, DFA) else "nfa"
        states, letters = len(automaton.states), len(automaton.alphabet)
        affordable = affordable_elements(kind, states, letters)
        reason = "Theorem 1's tables would be too large"
        if affordable < max_elements:
            per = element_bytes(kind, states, letters)
            reason = (
                f"enumerating more (each element {format_bytes(per)} for {states:,} states, "
                f"plus the 8 |M|^2-byte table) would pass the memory limit of "
                f"{format_bytes(max_memory())}; raise it with {MEMORY_ENV}=SIZE"
            )
            max_elements = affordable
        if isinstance(automaton, DFA):
            return cls._of_dfa(automaton, max_elements, reason)
        if isinstance(automaton, NFA):
            return cls._of_nfa(automaton, max_elements, reason)
        raise TypeError(f"expected a DFA or an NFA, got {type(automaton).__name__}")

    @classmethod
    def _of_dfa(cls, dfa: DFA, max_elements: int, reason: str) -> TransitionMonoid:
        idx = {q: i for i, q in enumerate(dfa.states)}
        n = len(dfa.states)
        dtype = np.int16 if n < 2**15 else np.int32
        letters = np.array(
            [[idx[dfa.delta[(q, a)]] for q in dfa.states] for a in dfa.alphabet], dtype=dtype
        ).reshape(len(dfa.alphabet), n)

        def compose_all(e: np.ndarray) -> np.ndarray:
            # "e then letter": q -> letter[e[q]], for every letter at once.
            return letters[:, e]

        ident = np.arange(n, dtype=dtype)
        elems, letter, right, parent, plet = cls._bfs(
            ident, compose_all, letters, max_elements, dfa, reason
        )
        s = idx[dfa.start]
        acc = np.array([q in dfa.accept for q in dfa.states], dtype=bool)
        accepting = acc[np.array([e[s] for e in elems], dtype=np.int64)] if elems else acc[:0]
        tuples = [tuple(int(x) for x in e) for e in elems]
        return cls(dfa.name, "dfa", dfa.alphabet, tuples, letter, right, parent, plet, accepting)

    @classmethod
    def _of_nfa(cls, nfa: NFA, max_elements: int, reason: str) -> TransitionMonoid:
        idx = {q: i for i, q in enumerate(nfa.states)}
        n = len(nfa.states)
        letters = np.zeros((len(nfa.alphabet), n, n), dtype=bool)
        for (q, a), targets in nfa.delta.items():
            k = nfa.alphabet.index(a)
            for r in targets:
                letters[k, idx[q], idx[r]] = True
        lf = letters.astype(np.float32)

        def compose_all(e: np.ndarray) -> np.ndarray:
            # relation product "e then letter": (e @ letter) > 0
            return np.einsum("ij,kjl->kil", e.astype(np.float32), lf) > 0

        ident = np.eye(n, dtype=bool)
        elems, letter, right, parent, plet = cls._bfs(
            ident, compose_all, letters, max_elements, nfa, reason
        )
        start = np.zeros(n, dtype=bool)
        for q in nfa.start:
            start[idx[q]] = True
        acc = np.zeros(n, dtype=bool)
        for q in nfa.accept:
            acc[idx[q]] = True
        accepting = np.array([bool((e[start].any(axis=0) & acc).any()) for e in elems], dtype=bool)
        weights = 1 << np.arange(n, dtype=object)
        tuples = [tuple(int((row.astype(object) * weights).sum()) for row in e) for e in elems]
        return cls(nfa.name, "nfa", nfa.alphabet, tuples, letter, right, parent, plet, accepting)

    @staticmethod
    def _bfs(ident, compose_all, letters, max_elements, automaton, reason):
        key = lambda a: a.tobytes()  # noqa: E731
        elems = [ident]
        index = {key(ident): 0}
        parent = [-1]
        plet = [-1]
        rows: list[list[int]] = []
        i = 0
        while i < len(elems):
            nxt = compose_all(elems[i])
            row = []
            for k in range(len(letters)):
                kb = key(nxt[k])
                j = index.get(kb)
                if j is None:
                    j = len(elems)
                    if j >= max_elements:
                        raise CompileError(
                            f"the transition monoid of {automaton.name!r} has more than "
                            f"{max_elements:,} elements; "
                            f"{reason}"
                        )
                    index[kb] = j
                    elems.append(nxt[k])
                    parent.append(i)
                    plet.append(k)
                row.append(j)
            rows.append(row)
            i += 1
        right = np.array(rows, dtype=np.int64).reshape(len(elems), len(letters))
        letter_idx = {}
        # The element of each single letter (the identity's right-multiplication row).
        for k, a in enumerate(automaton.alphabet):
            letter_idx[a] = int(right[0, k])
        return elems, letter_idx, right, np.array(parent), np.array(plet)

    # -- the multiplication table ------------------------------------------------------------
    @cached_property
    def table(self) -> np.ndarray:
        """``table[a, b]`` = element of "a then b", filled column by column: b = parent(b)
        then letter(b), so column b = right[column parent(b), letter(b)]."""
        m = self.size
        t = np.empty((m, m), dtype=np.int64)
        t[:, 0] = np.arange(m)
        for b in range(1, m):
            t[:, b] = self._right[t[:, self._parent[b]], self._parent_letter[b]]
        return t

    @property
    def size(self) -> int:
        return len(self.elements)

    def element_of(self, word: Sequence[str]) -> int:
        """The element of `word` (KeyError on a symbol outside the alphabet)."""
        m = 0
        col = {a: k for k, a in enumerate(self.alphabet)}
        for a in word:
            m = int(self._right[m, col[a]])
        return m

    def accepts(self, word: Sequence[str]) -> bool:
        return bool(self.accepting[self.element_of(word)])

    # -- classification ----------------------------------------------------------------------
    @cached_property
    def is_group(self) -> bool:
        """Every element has an inverse (a finite monoid is a group iff that holds)."""
        return bool((self.table == 0).any(axis=1).all())

    @cached_property
    def is_aperiodic(self) -> bool:
        """Every element m has m^k = m^(k+1) for some k (no non-trivial group inside)."""
        m = self.size
        ids = np.arange(m)
        power = ids.copy()
        for _ in range(m):  # after |M| steps every power sequence is inside its cycle
            power = self.table[power, ids]
        return bool((self.table[power, ids] == power).all())

    @cached_property
    def inverse(self) -> np.ndarray | None:
        if not self.is_group:
            return None
        return np.argmax(self.table == 0, axis=1)

    def _subgroup(self, gens: np.ndarray) -> np.ndarray:
        members = {0}
        frontier = [0]
        gens = np.unique(gens)
        while frontier:
            new = np.unique(self.table[np.array(frontier)][:, gens].ravel())
            frontier = [int(x) for x in new if int(x) not in members]
            members.update(frontier)
        return np.array(sorted(members))

    def _generating_set(self, members: np.ndarray) -> np.ndarray:
        """A small generating set of the subgroup `members` (greedy, at most log2 |H| + 1)."""
        gens: list[int] = []
        sub = {0}
        for h in members:
            if int(h) not in sub:
                gens.append(int(h))
                sub = set(self._subgroup(np.array(gens)).tolist())
        return np.array(gens or [0])

    @cached_property
    def derived_series(self) -> list[int] | None:
        """Orders of G, G', G'', ... until it stabilises (None unless a group).

        H' is the normal closure in H of the commutators of a generating set S of H.
        """
        inv = self.inverse
        if inv is None:
            return None
        t = self.table
        h = np.arange(self.size)
        sizes = [len(h)]
        while len(h) > 1:
            s = self._generating_set(h)
            a, b = np.meshgrid(s, s, indexing="ij")
            ngens = set(t[t[t[inv[a], inv[b]], a], b].ravel().tolist())  # a^-1 b^-1 a b
            while True:
                n = self._subgroup(np.array(sorted(ngens)))
                nset = set(n.tolist())
                g = np.array(sorted(ngens))
                conj = t[t[inv[s][:, None], g[None, :]], s[:, None]].ravel()  # s^-1 g s
                extra = {int(c) for c in conj if int(c) not in nset}
                if not extra:
                    break
                ngens |= extra
            if len(n) == len(h):
                break
            h = n
            sizes.append(len(h))
        return sizes

    @cached_property
    def is_solvable(self) -> bool | None:
        series = self.derived_series
        return None if series is None else series[-1] == 1

    def describe(self) -> str:
        parts = [f"transition monoid of {self.name!r}: {self.size} elements"]
        if self.is_group:
            solv = "solvable" if self.is_solvable else "not solvable"
            parts.append(
                f"a group ({solv}; derived series {' > '.join(map(str, self.derived_series))})"
            )
        else:
            parts.append("not a group")
        parts.append("aperiodic" if self.is_aperiodic else "not aperiodic")
        return ", ".join(parts)
