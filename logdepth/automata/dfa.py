"""Deterministic finite automata: the objects Theorem 1 compiles (paper Section 3)."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from logdepth.errors import CompileError, SpecError
from logdepth.limits import env_setting, positive_whole

SOURCE_KINDS = ("dfa", "regex", "group", "nfa", "count")
# How many states determinizing or minimizing may handle before it is refused. Theorem 1's
# tables need |Q|^2 feed-forward units at least (monoid_codes.MAX_TABLE_UNITS = 2,000,000 allows
# minimal DFAs of ~1,400 states), so a larger intermediate DFA only matters when it minimizes to
# far fewer states; 100,000 keeps the subset construction of a 25-state NFA near 2 s and its
# memory in the hundreds of MB. Raise it with the environment variable below.
DEFAULT_STATE_BUDGET = 100_000
STATE_BUDGET_ENV = "LOGDEPTH_MAX_STATES"


def state_budget() -> int:
    """The state budget: $LOGDEPTH_MAX_STATES when set (a whole number of states, 1 or more;
    any other value is a `SettingError` naming the variable), else the default."""
    return env_setting(
        STATE_BUDGET_ENV,
        positive_whole,
        DEFAULT_STATE_BUDGET,
        "a whole number of states, 1 or more",
    )


def check_budget(states: int, max_states: int | None, what: str) -> None:
    """Refuse `states` over the budget, naming it and how to raise it."""
    budget = state_budget() if max_states is None else max_states
    if states > budget:
        raise CompileError(
            f"{what} needs more than {budget:,} states (the state budget); raise it with "
            f"{STATE_BUDGET_ENV}=N if you have the time and memory"
        )


def hopcroft(succ: Sequence[Sequence[int]], symbols: int, accepting: Sequence[bool]) -> list[int]:
    """Hopcroft's algorithm, O(k n log n): the coarsest partition of states 0..n-1 that
    separates accepting from rejecting and is stable under every symbol. Returns a block id
    per state (states in one block are equivalent)."""
    n = len(succ)
    inverse: list[list[list[int]]] = [[[] for _ in range(n)] for _ in range(symbols)]
    for i, row in enumerate(succ):
        for a, j in enumerate(row):
            inverse[a][j].append(i)
    accept = {i for i in range(n) if accepting[i]}
    blocks = [b for b in (accept, set(range(n)) - accept) if b]
    block_of = [0] * n
    for b, members in enumerate(blocks):
        for i in members:
            block_of[i] = b
    # The smaller initial block suffices as a splitter (the other is implied).
    waiting = [min(range(len(blocks)), key=lambda b: len(blocks[b]))] if len(blocks) == 2 else []
    queued = set(waiting)
    while waiting:
        splitter = list(blocks[waiting[-1]])
        queued.discard(waiting.pop())
        for a in range(symbols):
            touched: dict[int, list[int]] = {}
            for j in splitter:
                for i in inverse[a][j]:
                    touched.setdefault(block_of[i], []).append(i)
            for b, hit in touched.items():
                if len(hit) == len(blocks[b]):
                    continue
                # Move the smaller side into a new block: each state moves O(log n) times.
                moved = set(hit) if 2 * len(hit) <= len(blocks[b]) else blocks[b] - set(hit)
                blocks[b] -= moved
                new = len(blocks)
                blocks.append(moved)
                for i in moved:
                    block_of[i] = new
                # Hopcroft's rule: if b waits, its remainder still does and the new block joins
                # it; if not, the smaller half (the new block) is splitter enough.
                waiting.append(new)
                queued.add(new)
    return block_of


def dict_error(message: str) -> SpecError:
    """The error for a malformed automaton dict (DFA.from_dict, NFA.from_dict)."""
    return SpecError(message, file="<dict>")


def str_list_field(d: Mapping[str, Any], key: str) -> list[str]:
    """The field `key` of an automaton dict: a list of distinct strings, or a SpecError."""
    value = d.get(key)
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise dict_error(f"field {key!r} must be a list of strings")
    if len(set(value)) != len(value):
        raise dict_error(f"field {key!r} has duplicate entries")
    return value


@dataclass(frozen=True)
class DFA:
    """A complete DFA. `delta[(state, symbol)]` is the next state for every pair."""

    name: str
    states: tuple[str, ...]
    alphabet: tuple[str, ...]
    start: str
    accept: frozenset[str]
    delta: Mapping[tuple[str, str], str] = field(hash=False)
    source_kind: str = "dfa"

    def __post_init__(self) -> None:
        object.__setattr__(self, "states", tuple(self.states))
        object.__setattr__(self, "alphabet", tuple(self.alphabet))
        object.__setattr__(self, "accept", frozenset(self.accept))
        object.__setattr__(self, "delta", dict(self.delta))

    def __hash__(self) -> int:
        return hash((self.name, self.states, self.alphabet, self.start, self.accept))

    # -- running ---------------------------------------------------------------------------
    def run(self, word: Sequence[str]) -> str:
        """The state reached from `start` after reading `word` (KeyError on unknown symbols)."""
        q = self.start
        delta = self.delta
        for a in word:
            q = delta[(q, a)]
        return q

    def accepts(self, word: Sequence[str]) -> bool:
        return self.run(word) in self.accept

    # -- structure -------------------------------------------------------------------------
    def reachable(self) -> tuple[str, ...]:
        """States reachable from start, in BFS order (symbols in alphabet order)."""
        seen = {self.start}
        order = [self.start]
        i = 0
        while i < len(order):
            q = order[i]
            i += 1
            for a in self.alphabet:
                r = self.delta[(q, a)]
                if r not in seen:
                    seen.add(r)
                    order.append(r)
        return tuple(order)

    def minimize(self, max_states: int | None = None) -> DFA:
        """The minimal DFA (Hopcroft's partition refinement over reachable states).

        Each block is named after its first member in the original state order, and states keep
        the original relative order, so the result is deterministic. Refuses (`CompileError`)
        more than `max_states` reachable states (default `state_budget()`).
        """
        reach = set(self.reachable())
        states = [q for q in self.states if q in reach]
        check_budget(len(states), max_states, f"minimizing DFA {self.name!r}")
        index = {q: i for i, q in enumerate(states)}
        succ = [[index[self.delta[(q, a)]] for a in self.alphabet] for q in states]
        block = hopcroft(succ, len(self.alphabet), [q in self.accept for q in states])
        rep: dict[int, str] = {}
        for i, q in enumerate(states):
            rep.setdefault(block[i], q)
        new_states = tuple(rep[b] for b in sorted(rep, key=lambda b: index[rep[b]]))
        delta = {}
        for i, q in enumerate(states):
            if rep[block[i]] != q:
                continue
            for a, j in zip(self.alphabet, succ[i], strict=True):
                delta[(q, a)] = rep[block[j]]
        accept = frozenset(rep[block[index[q]]] for q in states if q in self.accept)
        return DFA(
            name=self.name,
            states=new_states,
            alphabet=self.alphabet,
            start=rep[block[index[self.start]]],
            accept=accept,
            delta=delta,
            source_kind=self.source_kind,
        )

    # -- serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-able form; `DFA.from_dict(d.to_dict()) == d`."""
        return {
            "type": "dfa",
            "name": self.name,
            "source_kind": self.source_kind,
            "states": list(self.states),
            "alphabet": list(self.alphabet),
            "start": self.start,
            "accept": [q for q in self.states if q in self.accept],
            "delta": [[q, a, self.delta[(q, a)]] for q in self.states for a in self.alphabet],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DFA:
        """Rebuild and validate a DFA from `to_dict` output; `SpecError` on anything wrong."""
        if not isinstance(d, Mapping):
            raise dict_error("a DFA must be a JSON object")
        if d.get("type", "dfa") != "dfa":
            raise dict_error(f"expected type 'dfa', got {d.get('type')!r}")
        name = d.get("name")
        if not isinstance(name, str):
            raise dict_error("field 'name' must be a string")
        kind = d.get("source_kind", "dfa")
        if kind not in SOURCE_KINDS:
            raise dict_error(f"unknown source_kind {kind!r}")
        states = str_list_field(d, "states")
        alphabet = str_list_field(d, "alphabet")
        if not states:
            raise dict_error("a DFA needs at least one state")
        if not alphabet:
            raise dict_error("empty alphabet")
        start = d.get("start")
        if start not in states:
            raise dict_error(f"start state {start!r} is not a state")
        accept = str_list_field(d, "accept")
        for q in accept:
            if q not in states:
                raise dict_error(f"accepting state {q!r} is not a state")
        rows = d.get("delta")
        if not isinstance(rows, list):
            raise dict_error("field 'delta' must be a list of [state, symbol, target]")
        sset, aset = set(states), set(alphabet)
        delta: dict[tuple[str, str], str] = {}
        for row in rows:
            if not (
                isinstance(row, list) and len(row) == 3 and all(isinstance(x, str) for x in row)
            ):
                raise dict_error(f"bad transition {row!r}: expected [state, symbol, target]")
            q, a, r = row
            if q not in sset or r not in sset:
                raise dict_error(f"transition {row!r} names an undefined state")
            if a not in aset:
                raise dict_error(f"transition {row!r} uses a symbol outside the alphabet")
            if (q, a) in delta and delta[(q, a)] != r:
                raise dict_error(f"nondeterministic: two targets for ({q}, {a})")
            delta[(q, a)] = r
        missing = [(q, a) for q in states for a in alphabet if (q, a) not in delta]
        if missing:
            shown = ", ".join(f"({q}, {a})" for q, a in missing)
            raise dict_error(f"missing transitions: {shown}")
        return cls(name, tuple(states), tuple(alphabet), start, frozenset(accept), delta, kind)


def random_dfa(states: int, symbols: int, seed: int) -> DFA:
    """A reproducible random complete DFA: states q0..q{states-1} (q0 starts), symbols 'a', 'b',
    ..., each transition uniform, each state accepting with probability 1/2. Used by the
    benchmarks and tests as "a random k-state DFA"."""
    rng = random.Random(seed)
    names = [f"q{i}" for i in range(states)]
    alphabet = [chr(ord("a") + k) for k in range(symbols)]
    delta = {(q, a): rng.choice(names) for q in names for a in alphabet}
    accept = frozenset(q for q in names if rng.random() < 0.5)
    return DFA(f"random{states}", names, alphabet, names[0], accept, delta)
