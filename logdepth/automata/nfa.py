"""Nondeterministic finite automata (several start states, several targets, no epsilon moves)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from logdepth.automata.dfa import DFA, check_budget, dict_error, state_budget, str_list_field
from logdepth.errors import CompileError
from logdepth.limits import MEMORY_ENV, format_bytes, max_memory

EMPTY: frozenset[str] = frozenset()
# CPython 3.11, 64-bit (sys.getsizeof): a str header is 49 bytes, a 2-tuple 56, a dict entry
# with its share of the table about 100, a frozenset 216 plus 8 bytes a slot (2 slots a member).
STR_BYTES, PAIR_BYTES, ENTRY_BYTES, SET_BYTES = 49, 56, 100, 216


def subset_bytes(members: int, name_length: int, letters: int) -> int:
    """What `determinize` keeps for one subset of `members` states named by `name_length`
    characters: the frozenset (in `order` and `seen`), its name in the DFA's states, and one
    transition per letter: a (name, letter) key and a target name, new strings each time."""
    subset = SET_BYTES + 16 * members
    name = STR_BYTES + name_length
    transitions = letters * (ENTRY_BYTES + PAIR_BYTES + 2 * name)
    return subset + name + transitions


@dataclass(frozen=True)
class NFA:
    """An NFA. `delta[(state, symbol)]` is a set of targets; a missing key is the empty set."""

    name: str
    states: tuple[str, ...]
    alphabet: tuple[str, ...]
    start: frozenset[str]
    accept: frozenset[str]
    delta: Mapping[tuple[str, str], frozenset[str]] = field(hash=False)
    source_kind: str = "nfa"

    def __post_init__(self) -> None:
        object.__setattr__(self, "states", tuple(self.states))
        object.__setattr__(self, "alphabet", tuple(self.alphabet))
        object.__setattr__(self, "start", frozenset(self.start))
        object.__setattr__(self, "accept", frozenset(self.accept))
        # Normalise: drop empty entries so equality does not depend on them.
        delta = {k: frozenset(v) for k, v in self.delta.items() if v}
        object.__setattr__(self, "delta", delta)

    def __hash__(self) -> int:
        return hash((self.name, self.states, self.alphabet, self.start, self.accept))

    def step(self, current: frozenset[str], symbol: str) -> frozenset[str]:
        out: set[str] = set()
        for q in current:
            out |= self.delta.get((q, symbol), EMPTY)
        return frozenset(out)

    def run(self, word: Sequence[str]) -> frozenset[str]:
        """The set of states reachable from the start states by reading `word`."""
        if any(a not in self.alphabet for a in word):
            raise KeyError(next(a for a in word if a not in self.alphabet))
        current = self.start
        for a in word:
            current = self.step(current, a)
        return current

    def accepts(self, word: Sequence[str]) -> bool:
        return bool(self.run(word) & self.accept)

    def _subset_name(self, subset: frozenset[str]) -> str:
        return "{" + ",".join(q for q in self.states if q in subset) + "}"

    def determinize(self, max_states: int | None = None) -> DFA:
        """Subset construction over reachable subsets.

        A subset is named ``{q1,q2}`` with its members in the NFA's state order (``{}`` is the
        empty set, the sink); subsets are numbered in BFS order, so the result is deterministic.
        It can need 2^|Q| subsets: past `max_states` (default `state_budget()`) it stops with a
        `CompileError` before building more.
        """
        budget = state_budget() if max_states is None else max_states
        first = self.start
        order = [first]
        seen = {first}
        delta: dict[tuple[str, str], str] = {}
        # The bytes kept so far, counted as subsets are found: the state budget bounds their
        # number, this their size (a large alphabet makes each subset cost more).
        memory, kept = max_memory(), 0
        letters = len(self.alphabet)
        i = 0
        while i < len(order):
            cur = order[i]
            i += 1
            for a in self.alphabet:
                nxt = self.step(cur, a)
                if nxt not in seen:
                    check_budget(len(order) + 1, budget, f"determinizing NFA {self.name!r}")
                    kept += subset_bytes(len(nxt), len(self._subset_name(nxt)), letters)
                    if kept > memory:
                        raise CompileError(
                            f"determinizing NFA {self.name!r} holds about {format_bytes(kept)} "
                            f"after {len(order):,} states, over the memory limit of "
                            f"{format_bytes(memory)}; raise it with {MEMORY_ENV}=SIZE if the "
                            "machine has room"
                        )
                    seen.add(nxt)
                    order.append(nxt)
                delta[(self._subset_name(cur), a)] = self._subset_name(nxt)
        return DFA(
            name=self.name,
            states=tuple(self._subset_name(s) for s in order),
            alphabet=self.alphabet,
            start=self._subset_name(first),
            accept=frozenset(self._subset_name(s) for s in order if s & self.accept),
            delta=delta,
            source_kind=self.source_kind,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "nfa",
            "name": self.name,
            "source_kind": self.source_kind,
            "states": list(self.states),
            "alphabet": list(self.alphabet),
            "start": [q for q in self.states if q in self.start],
            "accept": [q for q in self.states if q in self.accept],
            "delta": [
                [q, a, [r for r in self.states if r in self.delta[(q, a)]]]
                for q in self.states
                for a in self.alphabet
                if (q, a) in self.delta
            ],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> NFA:
        if not isinstance(d, Mapping):
            raise dict_error("an NFA must be a JSON object")
        if d.get("type", "nfa") != "nfa":
            raise dict_error(f"expected type 'nfa', got {d.get('type')!r}")
        name = d.get("name")
        if not isinstance(name, str):
            raise dict_error("field 'name' must be a string")
        kind = d.get("source_kind", "nfa")
        if not isinstance(kind, str):
            raise dict_error("field 'source_kind' must be a string")
        states = str_list_field(d, "states")
        alphabet = str_list_field(d, "alphabet")
        if not alphabet:
            raise dict_error("empty alphabet")
        sset, aset = set(states), set(alphabet)
        start = str_list_field(d, "start")
        accept = str_list_field(d, "accept")
        for q in start + accept:
            if q not in sset:
                raise dict_error(f"{q!r} is not a state")
        rows = d.get("delta")
        if not isinstance(rows, list):
            raise dict_error("field 'delta' must be a list of [state, symbol, [targets]]")
        delta: dict[tuple[str, str], set[str]] = {}
        for row in rows:
            ok = (
                isinstance(row, list)
                and len(row) == 3
                and isinstance(row[0], str)
                and isinstance(row[1], str)
                and isinstance(row[2], list)
                and all(isinstance(x, str) for x in row[2])
            )
            if not ok:
                raise dict_error(f"bad transition {row!r}: expected [state, symbol, [targets]]")
            q, a, targets = row
            if q not in sset or any(r not in sset for r in targets):
                raise dict_error(f"transition {row!r} names an undefined state")
            if a not in aset:
                raise dict_error(f"transition {row!r} uses a symbol outside the alphabet")
            delta.setdefault((q, a), set()).update(targets)
        return cls(
            name,
            tuple(states),
            tuple(alphabet),
            frozenset(start),
            frozenset(accept),
            {k: frozenset(v) for k, v in delta.items()},
            kind,
        )
