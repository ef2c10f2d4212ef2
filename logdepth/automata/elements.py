"""Names for the monoid elements a Theorem 1 transformer carries in its `delta` cell.

Theorem 1 (Section 3) multiplies elements of the automaton's transition monoid up a binary tree.
The weight file stores the spec and the encoding (`model.extra`), so an element decoded from the
residual stream can be named as the automaton's user would name it:

- a permutation group's word problem (spec `source_kind` "group"): the group element itself, in
  one-line notation (the Cayley automaton's state reached from the identity);
- any other DFA: the state map f: Q -> Q, written as the images (f(q_1) ... f(q_k));
- an NFA's relation monoid: the relation, written as the image sets ({...} ... {...}).

Each element also gets a shortest word that reaches it (breadth-first over the letters, up to
`MAX_WORDS` elements) and whether it is accepting.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from logdepth.automata.stored import automaton_of
from logdepth.model.codebook import Codebook

if TYPE_CHECKING:  # types only (the compiled model brings torch)
    from logdepth.model.codebook import Element
    from logdepth.model.compiled import CompiledModel

MAX_WORDS = 5000  # shortest words are searched over at most this many elements
MAX_SHOWN_STATES = 8  # a state map over more states is abbreviated in its short name


@dataclass(frozen=True)
class ElementName:
    """How one element is shown: short and full names, a word reaching it, accepting or not."""

    short: str  # what fits in a tree node
    full: str  # the whole map or relation (a tooltip)
    word: str | None  # a shortest word with this element, if found
    accepting: bool


class ElementNamer:
    """Names the elements of one model's encoding (see the module docstring)."""

    def __init__(self, automaton: Any, encoding: Codebook) -> None:
        """`automaton` is the DFA or NFA of `automata.stored.automaton_of`; the states named are
        those the encoding was built over (`encoding.via`: the minimal DFA, the NFA itself, or
        the NFA's determinized minimal DFA)."""
        self.encoding = encoding
        self.group = getattr(automaton, "source_kind", None) == "group"
        self.start: int | None = None
        if encoding.via == "nfa":
            self.states = list(automaton.states)
        else:
            dfa = automaton.minimize() if encoding.via == "dfa" else automaton.determinize()
            if encoding.via == "determinized":
                dfa = dfa.minimize()
            self.states = list(dfa.states)
            self.start = self.states.index(dfa.start)
        self.alphabet = list(encoding.letters)
        self.separator = "" if all(len(a) == 1 for a in self.alphabet) else " "
        self._words = self._shortest_words()

    def legend(self) -> str:
        """One sentence saying how short names read."""
        if self.group:
            return "Elements are group elements in one-line notation (the identity is e)."
        shown = ", ".join(self.states[:MAX_SHOWN_STATES])
        more = ", ..." if len(self.states) > MAX_SHOWN_STATES else ""
        if self.encoding.via == "nfa":
            return (
                f"Elements are relations on the NFA's states: the set each of ({shown}{more}) "
                "reaches, in that order (the identity is e)."
            )
        return (
            f"Elements are state maps f: Q -> Q written as (f({shown}{more})), in that order "
            "(the identity is e)."
        )

    def name(self, element: Element) -> ElementName:
        """The element's names, a shortest word with it, and whether it is accepting."""
        mapping = self._mapping(element)
        if self.encoding.via == "nfa":
            images = [
                "{" + ",".join(s for k, s in enumerate(self.states) if row >> k & 1) + "}"
                if row
                else "\u2205"
                for row in mapping
            ]
            full = "; ".join(f"{q} -> {img}" for q, img in zip(self.states, images, strict=True))
            short = " ".join(images)
        else:
            images = [self.states[t] for t in mapping]
            full = ", ".join(f"{q} -> {t}" for q, t in zip(self.states, images, strict=True))
            shown = images[:MAX_SHOWN_STATES]
            short = "(" + " ".join(shown) + (" ..." if len(images) > len(shown) else "") + ")"
        if self.group and self.start is not None:
            short = self.states[mapping[self.start]]
        if element == self.encoding.identity:
            short = "e"
        return ElementName(short, full, self._words.get(element), self.encoding.accepts(element))

    def _mapping(self, element: Element) -> tuple[int, ...]:
        return self.encoding.mapping(element)

    def _shortest_words(self) -> dict[Element, str]:
        enc = self.encoding
        words: dict[Element, str] = {enc.identity: "(empty word)"}
        paths: dict[Element, list[str]] = {enc.identity: []}
        queue = deque([enc.identity])
        while queue and len(paths) < MAX_WORDS:
            e = queue.popleft()
            for a in self.alphabet:
                f = enc.multiply(e, enc.letters[a])
                if f not in paths:
                    paths[f] = paths[e] + [a]
                    words[f] = self.separator.join(paths[f])
                    queue.append(f)
        return words


def code_labels(namer: ElementNamer, cell: str) -> list[str]:
    """Readable labels for a code cell of `namer`'s encoding, one per dimension.

    One-hot codes (dimension a is element a): `cell=NAME` with the element's short name (its
    full name where short names collide). State-map codes (dimension (s, t) is "f(s) = t"):
    `cell:S->T` with the states' names. `model.compiled.decode_names` reads both forms back.
    """
    enc = namer.encoding
    if enc.kind == "onehot":
        names = [namer.name(e) for e in range(enc.dim)]
        values = [n.short for n in names]
        if len(set(values)) < len(values):
            values = [n.full or n.short for n in names]
        if len(set(values)) < len(values):
            values = [f"{v} #{k}" for k, v in enumerate(values)]
        return [f"{cell}={v}" for v in values]
    states = namer.states
    return [f"{cell}:{s}->{t}" for s in states for t in states]


def name_code_cells(model: CompiledModel) -> CompiledModel:
    """Relabel the monoid-element code cells (`delta`, `left`) with the spec's names (states,
    group or monoid elements: `code_labels`) in place of indices, so that `residual_labels`,
    `trace.decode` and `inspect` speak the spec's language. The weights are unchanged; the
    labels are stored in the config. (The catalog's `finish` for word models: compile reads
    the file's own spec and codebook, nothing of verify or explain.)"""
    automaton = automaton_of(model)
    encoding = Codebook.of(model.extra.get("report") or {})
    namer = ElementNamer(automaton, encoding)
    cells = tuple(
        replace(c, labels=tuple(code_labels(namer, c.name)))
        if c.kind == "code" and c.labels == tuple(encoding.labels(c.name))
        else c
        for c in model.config.cells
    )
    model.network.config = replace(model.config, cells=cells)
    return model
