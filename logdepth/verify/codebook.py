"""The monoid codebook a Theorem 1 file carries, checked against the automaton verify runs.

The codebook (`model.codebook.Codebook`) is how the level invariants decode the residual stream,
and the answer table of the weights is built from its accepting flags. A file whose codebook was
edited and its checksum recomputed loads; this check fails it, saying what disagrees:

- its shape: letters are the automaton's alphabet; every index, map and table entry in range;
- one-hot codes: the identity element is the identity map (or relation), the elements are
  distinct, every element is the product of some word, and the table is their composition:
  table[e, x] is the element of "e then letter x" for every e and letter x (compared map by
  map), and every other column follows from those (table[:, b] = table[table[:, b'], x] when b
  is b' then x), so the whole table is the composition of the elements;
- its language: the codebook read as an automaton (from the identity, multiply by each letter,
  accept by the flags) decides the same language as the automaton (a breadth-first search of
  their product finds no reachable pair that disagrees). With the composition above this covers
  every letter's map and every accepting flag that any word reaches.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import numpy as np

from logdepth import catalog
from logdepth.automata.dfa import DFA
from logdepth.automata.nfa import NFA
from logdepth.automata.words import format_word
from logdepth.errors import InputError
from logdepth.model.codebook import Codebook
from logdepth.model.compiled import CompiledModel
from logdepth.verify.report import VerifyReport


def _compose(kind: str) -> Callable[[tuple[int, ...], tuple[int, ...]], tuple[int, ...]]:
    """"a then b" for maps (a tuple of targets) or relations (a tuple of row bitmasks)."""
    if kind == "maps":
        return lambda a, b: tuple(b[s] for s in a)

    def relations(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
        out = []
        for row in a:
            acc, r = 0, 0
            while row:
                if row & 1:
                    acc |= b[r]
                row >>= 1
                r += 1
            out.append(acc)
        return tuple(out)

    return relations


def _onehot_problems(book: Codebook, alphabet: Sequence[str]) -> list[str]:
    """The one-hot table against the elements' maps (module docstring)."""
    table, elements, size = book.table, book.elements, len(book.table)
    if len(elements) != size:
        return [f"{len(elements)} element maps for a {size}-element table"]
    named = [("the identity", book.identity)]
    named += [(f"letter {a!r}", book.letters[a]) for a in alphabet]
    for name, k in named:
        if not 0 <= int(k) < size:  # type: ignore[arg-type]
            return [f"{name} is element {k}, outside the {size}-element table"]
    if size and (table.min() < 0 or table.max() >= size):
        return ["the table holds an entry outside its elements"]
    width = {len(e) for e in elements}
    if len(width) > 1:
        return ["the element maps have different lengths"]
    q = width.pop() if width else 0
    # An NFA's own monoid ("via": "nfa") holds relations as row bitmasks; a DFA's, maps.
    kind = "relations" if book.via == "nfa" else "maps"
    limit = 1 << q if kind == "relations" else q
    if any(not 0 <= x < limit for e in elements for x in e):
        return [f"an element is not a {kind[:-1]} of {q} states"]
    compose = _compose("maps" if kind == "maps" else "relations")
    identity = tuple(1 << s for s in range(q)) if kind == "relations" else tuple(range(q))
    if elements[int(book.identity)] != identity:  # type: ignore[arg-type]
        return [f"the identity element {book.identity} is not the identity {kind[:-1]}"]
    index = {e: k for k, e in enumerate(elements)}
    if len(index) != size:
        return ["two elements have the same map"]
    problems = []
    letters = [int(book.letters[a]) for a in alphabet]  # type: ignore[arg-type]
    for e in range(size):
        for a, x in zip(alphabet, letters, strict=True):
            want = index.get(compose(elements[e], elements[x]))
            if int(table[e, x]) != want:
                problems.append(
                    f"table[{e}, {x}] (element {e} then letter {a!r}) is {int(table[e, x])}, "
                    f"but composing their maps gives {want}"
                )
                if len(problems) > 3:
                    return problems
    if problems:
        return problems
    # Every element is a word's product; the other columns follow from the letter columns.
    parent: dict[int, tuple[int, int] | None] = {int(book.identity): None}  # type: ignore[arg-type]
    queue = [int(book.identity)]  # type: ignore[arg-type]
    for e in queue:
        for x in letters:
            f = int(table[e, x])
            if f not in parent:
                parent[f] = (e, x)
                queue.append(f)
    unreached = sorted(set(range(size)) - set(parent))
    if unreached:
        return [f"element {unreached[0]} is the product of no word ({len(unreached)} such)"]
    ident = int(book.identity)  # type: ignore[arg-type]
    if not np.array_equal(table[:, ident], np.arange(size)):
        return ["multiplying by the identity element changes an element"]
    for b, via in parent.items():
        if via is not None and not np.array_equal(table[:, b], table[table[:, via[0]], via[1]]):
            return [f"column {b} of the table is not the product of its word's letters"]
    return []


def codebook_problems(data: Mapping[str, Any], automaton: DFA | NFA) -> list[str]:
    """What in the codebook `data` disagrees with itself or with `automaton` (empty: nothing)."""
    try:
        book = Codebook(data)
    except InputError as err:
        return [str(err)]
    alphabet = tuple(automaton.alphabet)
    if set(book.letters) != set(alphabet):
        return [
            f"its letters {sorted(book.letters)} are not the automaton's alphabet "
            f"{sorted(alphabet)}"
        ]
    step: Callable[[Hashable, str], Hashable]
    if book.kind == "onehot":
        problems = _onehot_problems(book, alphabet)
        if problems:
            return problems
        start: Hashable = int(book.identity)  # type: ignore[arg-type]
        table = book.table

        def step(e: Hashable, a: str) -> Hashable:
            return int(table[e, book.letters[a]])  # type: ignore[index]

        def flag(e: Hashable) -> bool:
            return bool(book.accepting[e])  # type: ignore[index]

        def name(e: Hashable) -> str:
            return f"element {e}"

    else:
        q = book.states
        maps = {a: tuple(book.letters[a]) for a in alphabet}  # type: ignore[arg-type]
        first, acc = book.accepting
        if any(len(m) != q or not all(0 <= t < q for t in m) for m in maps.values()):
            return [f"a letter's map is not a map of its {q} states"]
        if tuple(book.identity) != tuple(range(q)):  # type: ignore[arg-type]
            return ["the identity is not the identity map"]
        if not 0 <= first < q:
            return [f"the start state {first} is not one of its {q} states"]
        start = first

        def step(s: Hashable, a: str) -> Hashable:
            return maps[a][s]  # type: ignore[index]

        def flag(s: Hashable) -> bool:
            return bool(acc[s])  # type: ignore[index]

        def name(s: Hashable) -> str:
            return f"state {s}"

    dfa = automaton.determinize() if isinstance(automaton, NFA) else automaton
    pair = (start, dfa.start)
    parent: dict[tuple[Hashable, str], tuple[tuple[Hashable, str], str] | None] = {pair: None}
    queue = [pair]
    for c, s in queue:
        want = s in dfa.accept
        if flag(c) != want:
            word: list[str] = []
            at = (c, s)
            while parent[at] is not None:
                at, a = parent[at]  # type: ignore[misc]
                word.append(a)
            text = format_word(word[::-1], alphabet)
            return [
                f"its accepting flag of {name(c)} (reached by {text!r}) says "
                f"{'accept' if flag(c) else 'reject'}, but the automaton "
                f"{'accepts' if want else 'rejects'} {text!r}"
            ]
        for a in alphabet:
            nxt = (step(c, a), dfa.delta[(s, a)])
            if nxt not in parent:
                parent[nxt] = ((c, s), a)
                queue.append(nxt)
    return []


def check_codebook_against(
    model: CompiledModel, automaton: DFA | NFA, report: VerifyReport
) -> None:
    """`codebook_problems` for a file whose construction carries a codebook; a failure names
    the first disagreement. (A file without one fails where the invariants are decoded.)"""
    entry = catalog.of_config(model.config.construction)
    data = (model.extra.get("report") or {}).get("codebook")
    if entry is None or not entry.monoid_codes or not isinstance(data, Mapping):
        return
    report.checks += 1
    problems = codebook_problems(data, automaton)
    if problems:
        more = f" ({len(problems)} disagreements shown)" if len(problems) > 1 else ""
        report.fail(f"the file's monoid codebook disagrees with the automaton: {problems[0]}{more}")
        return
    size = len(data.get("table") or []) if data.get("kind") == "onehot" else data.get("states")
    unit = ("element" if data.get("kind") == "onehot" else "state") + ("" if size == 1 else "s")
    report.lines.append(
        f"the file's monoid codebook ({data.get('kind')}, {size} {unit}, via "
        f"{data.get('via')}) agrees with the automaton: identity, letters"
        + (", multiplication table" if data.get("kind") == "onehot" else "")
        + " and accepting flags decide its language"
    )
