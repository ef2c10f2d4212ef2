"""Deterministic finite automata: the objects Theorem 1 compiles (paper Section 3)."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from logdepth.errors import SpecError

SOURCE_KINDS = ("dfa", "regex", "group", "nfa")


def _bad(message: str) -> SpecError:
    return SpecError(message, file="<dict>")


def _str_list(d: Mapping[str, Any], key: str) -> list[str]:
    value = d.get(key)
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise _bad(f"field {key!r} must be a list of strings")
    if len(set(value)) != len(value):
        raise _bad(f"field {key!r} has duplicate entries")
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

    def minimize(self) -> DFA:
        """The minimal DFA (Moore refinement over reachable states).

        Each block is named after its first member in the original state order, and states keep
        the original relative order, so the result is deterministic.
        """
        reach = set(self.reachable())
        states = [q for q in self.states if q in reach]
        index = {q: i for i, q in enumerate(states)}
        succ = [[index[self.delta[(q, a)]] for a in self.alphabet] for q in states]
        block = [1 if q in self.accept else 0 for q in states]
        n_blocks = len(set(block))
        while True:
            sigs: dict[tuple[int, ...], int] = {}
            new = []
            for i in range(len(states)):
                sig = (block[i], *(block[j] for j in succ[i]))
                new.append(sigs.setdefault(sig, len(sigs)))
            block = new
            if len(sigs) == n_blocks:
                break
            n_blocks = len(sigs)
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
            raise _bad("a DFA must be a JSON object")
        if d.get("type", "dfa") != "dfa":
            raise _bad(f"expected type 'dfa', got {d.get('type')!r}")
        name = d.get("name")
        if not isinstance(name, str):
            raise _bad("field 'name' must be a string")
        kind = d.get("source_kind", "dfa")
        if kind not in SOURCE_KINDS:
            raise _bad(f"unknown source_kind {kind!r}")
        states = _str_list(d, "states")
        alphabet = _str_list(d, "alphabet")
        if not states:
            raise _bad("a DFA needs at least one state")
        if not alphabet:
            raise _bad("empty alphabet")
        start = d.get("start")
        if start not in states:
            raise _bad(f"start state {start!r} is not a state")
        accept = _str_list(d, "accept")
        for q in accept:
            if q not in states:
                raise _bad(f"accepting state {q!r} is not a state")
        rows = d.get("delta")
        if not isinstance(rows, list):
            raise _bad("field 'delta' must be a list of [state, symbol, target]")
        sset, aset = set(states), set(alphabet)
        delta: dict[tuple[str, str], str] = {}
        for row in rows:
            if not (
                isinstance(row, list) and len(row) == 3 and all(isinstance(x, str) for x in row)
            ):
                raise _bad(f"bad transition {row!r}: expected [state, symbol, target]")
            q, a, r = row
            if q not in sset or r not in sset:
                raise _bad(f"transition {row!r} names an undefined state")
            if a not in aset:
                raise _bad(f"transition {row!r} uses a symbol outside the alphabet")
            if (q, a) in delta and delta[(q, a)] != r:
                raise _bad(f"nondeterministic: two targets for ({q}, {a})")
            delta[(q, a)] = r
        missing = [(q, a) for q in states for a in alphabet if (q, a) not in delta]
        if missing:
            shown = ", ".join(f"({q}, {a})" for q, a in missing)
            raise _bad(f"missing transitions: {shown}")
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
