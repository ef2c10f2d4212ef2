"""Monoid elements in the residual stream and the feed-forward tables that multiply them
(Theorem 1, Appendix C: "a single feedforward layer that uses a table lookup").

Two encodings, both unit vectors (so a code cell reads together with other unit cells):

- "onehot": element a of the transition monoid M is the basis vector e_a (|M| dimensions). The
  product table is one hidden unit per pair (a, b) with a b != b: |M|^2 units at most.
- "maps" (DFAs only): an element is a map f: Q -> Q, stored as |Q| one-hot rows e_{f(q)}, scaled
  by 1/sqrt(|Q|) (|Q|^2 dimensions). Composition is one unit per (q, r, s) ("f(q) = r and
  g(r) = s") plus |Q|^2 units that remove the old value: |Q|^3 + |Q|^2 units. The monoid never
  needs to be enumerated, which matters when it is huge (a random 10-state DFA).

An NFA element is a boolean relation; composing relations needs an OR of ANDs, which one ReLU
layer cannot do exactly, so an NFA uses "onehot" over its relation monoid, or, when that is
cheaper, an encoding of its determinized minimal DFA (same language; `choose_encoding`).

Every table entry is a conjunction of k 0/1 conditions (k = 3: [x = a], [y = b] and the gate f),
written as a saturating step (gadgets.saturating_ff: two ReLU units per conjunction, flat on both
sides of the threshold). The table's output therefore carries only its own rounding, never its
inputs' errors: a single unit with output weight 2 (the first release) doubled the error of the
code it read at every level, and after 13 levels div5 in float64 at n = 8,192 read a wrong
block (docs/precision.md). Widths below count hidden units, two per conjunction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from logdepth.automata.dfa import DFA
from logdepth.automata.monoid import TransitionMonoid
from logdepth.automata.nfa import NFA
from logdepth.compiler.cells import Cell, Layout
from logdepth.compiler.program import FeedForward
from logdepth.errors import CompileError
from logdepth.kit.gadgets import saturating_ff
from logdepth.limits import FLOAT64_BYTES, Estimate, format_bytes
from logdepth.model.codebook import Codebook

Element = int | tuple[int, ...]  # an index into the monoid (onehot) or a map as a tuple (maps)


def _add_gate(conditions: dict[Cell, np.ndarray], gate: Mapping[Cell, np.ndarray], units: int):
    """Add the gate's 0/1 linear form to every step's sum of conditions."""
    for cell, row in gate.items():
        block = conditions.setdefault(cell, np.zeros((units, cell.size)))
        block += np.asarray(row, dtype=float).reshape(1, cell.size)


@dataclass
class Encoding:
    """How monoid elements are written as code vectors, and the tables over them."""

    kind: str  # "onehot" or "maps"
    via: str  # "dfa" (minimized), "nfa" (relations) or "determinized" (an NFA's minimal DFA)
    monoid: TransitionMonoid | None
    states: int  # |Q| (maps); 0 for onehot
    letters: dict[str, Element]
    identity: Element
    accepting: Any  # onehot: bool array over M; maps: (start state index, accepting bool array)

    # -- sizes ---------------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return self.monoid.size if self.kind == "onehot" else self.states * self.states

    @property
    def table_units(self) -> int:
        """Hidden units of the product table: two per conjunction (a saturating step)."""
        if self.kind == "onehot":
            return 2 * max(1, int(np.count_nonzero(self._changes())))
        q = self.states
        return 2 * (q**3 + q * q)

    # -- values: read through the same Codebook a weight file carries --------------------------
    @cached_property
    def reader(self) -> Codebook:
        return Codebook(self.codebook())

    def labels(self, name: str) -> list[str]:
        return self.reader.labels(name)

    def code(self, element: Element) -> np.ndarray:
        return self.reader.code(element)

    def decode(self, block: np.ndarray) -> list[Element]:
        """Element of each row of a [positions, dim] block (argmax; rows of maps)."""
        return self.reader.decode(block)

    def multiply(self, a: Element, b: Element) -> Element:
        """a then b."""
        return self.reader.multiply(a, b)

    def product(self, word: Sequence[str]) -> Element:
        return self.reader.product(word)

    def accepts(self, element: Element) -> bool:
        return self.reader.accepts(element)

    def _changes(self) -> np.ndarray:
        """onehot: mask of pairs (a, b) whose product differs from b (other units do nothing)."""
        t = self.monoid.table  # type: ignore[union-attr]
        return t != np.arange(t.shape[0])[None, :]

    # -- the feed-forward tables -------------------------------------------------------------
    def table_ff(
        self,
        left: Cell,
        acc: Cell,
        gate: Mapping[Cell, np.ndarray],
        *,
        one: Cell,
        note: str = "",
    ) -> FeedForward:
        """acc += code(left * acc) - code(acc) where the gate f = 1 (f: a 0/1 linear form over
        bool cells, `gate`: cell -> row); nothing where f = 0. `left` is the earlier segment."""
        if self.kind == "onehot":
            return self._onehot_table(left, acc, gate, one, note)
        return self._maps_table(left, acc, gate, one, note)

    def _onehot_table(self, left, acc, gate, one, note) -> FeedForward:
        """One saturating step per pair (a, b) with a b != b: [x = a] and [acc = b] and g adds
        e_{ab} - e_b."""
        t = self.monoid.table  # type: ignore[union-attr]
        a_idx, b_idx = np.nonzero(self._changes())
        units = len(a_idx)
        if units == 0:  # a trivial monoid: nothing ever changes
            a_idx, b_idx, units = np.array([0]), np.array([0]), 1
        m = t.shape[0]
        conditions: dict[Cell, np.ndarray] = {left: np.zeros((units, m)), acc: np.zeros((units, m))}
        conditions[left][np.arange(units), a_idx] = 1.0
        conditions[acc][np.arange(units), b_idx] = 1.0
        _add_gate(conditions, gate, units)
        w_out = np.zeros((m, units))
        w_out[t[a_idx, b_idx], np.arange(units)] += 1.0
        w_out[b_idx, np.arange(units)] -= 1.0
        return saturating_ff(
            conditions,
            np.full(units, 3.0),
            {acc: w_out},
            one=one,
            note=note or "monoid table (one-hot)",
        )

    def _maps_table(self, left, acc, gate, one, note) -> FeedForward:
        """Saturating steps: (s, r, t) "left(s) = r and acc(r) = t and g" adds the entry
        new(s) = t; (s, t') "acc(s) = t' and g" removes the old entry. A code entry is 1/sqrt(q),
        so a condition reads it with weight sqrt(q) and a step writes 1/sqrt(q)."""
        q = self.states
        root = math.sqrt(q)
        compose = q**3
        units = compose + q * q
        conditions: dict[Cell, np.ndarray] = {
            left: np.zeros((units, q * q)),
            acc: np.zeros((units, q * q)),
        }
        threshold = np.empty(units)
        w_out = np.zeros((q * q, units))
        s, r, t = np.meshgrid(np.arange(q), np.arange(q), np.arange(q), indexing="ij")
        s, r, t = s.ravel(), r.ravel(), t.ravel()
        u = np.arange(compose)
        conditions[left][u, s * q + r] = root
        conditions[acc][u, r * q + t] = root
        threshold[u] = 3.0
        w_out[s * q + t, u] += 1.0 / root
        s2, t2 = np.meshgrid(np.arange(q), np.arange(q), indexing="ij")
        s2, t2 = s2.ravel(), t2.ravel()
        u2 = compose + np.arange(q * q)
        conditions[acc][u2, s2 * q + t2] = root
        threshold[u2] = 2.0
        w_out[s2 * q + t2, u2] -= 1.0 / root
        _add_gate(conditions, gate, units)
        return saturating_ff(
            conditions, threshold, {acc: w_out}, one=one, note=note or "monoid table (maps)"
        )

    def answer_ff(self, code: Cell, answer: Cell, note: str = "") -> FeedForward:
        """answer := <[element accepts], 1 - [element accepts]> (the final lookup layer)."""
        if self.kind == "onehot":
            m = self.dim
            w_in = {code: np.eye(m)}
            acc = np.asarray(self.accepting, dtype=float)
            w_out = np.vstack([acc, 1.0 - acc])
        else:
            q = self.states
            start, accepting = self.accepting
            w_in = {code: np.zeros((q, q * q))}
            w_in[code][np.arange(q), start * q + np.arange(q)] = math.sqrt(q)
            acc = np.asarray(accepting, dtype=float)
            w_out = np.vstack([acc, 1.0 - acc])
        return FeedForward(w_in=w_in, w_out={answer: w_out}, note=note or "accept lookup")

    def cell(self, layout: Layout, name: str, persistent: bool = False) -> Cell:
        return layout.code(name, self.labels(name), persistent)

    def codebook(self) -> dict[str, Any]:
        """What a weight file stores so that verify can read these codes without the compiler
        (`logdepth.verify.codebook.Codebook`): the letters, identity and accepting set, and for
        one-hot codes the multiplication table and each element's state map or relation."""
        if self.kind == "onehot":
            assert self.monoid is not None
            return {
                "kind": "onehot",
                "via": self.via,
                "states": self.states,
                "table": self.monoid.table.tolist(),
                "elements": [list(map(int, e)) for e in self.monoid.elements],
                "letters": {a: int(k) for a, k in self.letters.items()},
                "identity": int(self.identity),  # type: ignore[arg-type]
                "accepting": [bool(x) for x in self.accepting],
            }
        start, acc = self.accepting
        return {
            "kind": "maps",
            "via": self.via,
            "states": self.states,
            "letters": {a: list(map(int, v)) for a, v in self.letters.items()},  # type: ignore[arg-type]
            "identity": list(map(int, self.identity)),  # type: ignore[arg-type]
            "accepting": [int(start), [bool(x) for x in acc]],
        }

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "encoding": self.kind,
            "via": self.via,
            "code_dim": self.dim,
            "table_units": self.table_units,
        }
        if self.kind == "maps":
            out["states"] = self.states
        return out


def onehot_encoding(monoid: TransitionMonoid, via: str = "dfa") -> Encoding:
    return Encoding(
        kind="onehot",
        via=via,
        monoid=monoid,
        states=0,
        letters={a: int(k) for a, k in monoid.letter.items()},
        identity=monoid.identity,
        accepting=np.asarray(monoid.accepting, dtype=bool),
    )


def maps_encoding(dfa: DFA, via: str = "dfa") -> Encoding:
    index = {q: k for k, q in enumerate(dfa.states)}
    letters = {a: tuple(index[dfa.delta[(q, a)]] for q in dfa.states) for a in dfa.alphabet}
    accepting = np.array([q in dfa.accept for q in dfa.states], dtype=bool)
    return Encoding(
        kind="maps",
        via=via,
        monoid=None,
        states=len(dfa.states),
        letters=letters,
        identity=tuple(range(len(dfa.states))),
        accepting=(index[dfa.start], accepting),
    )


# Beyond this many table units one feed-forward layer would hold gigabytes of weights.
MAX_TABLE_UNITS = 2_000_000


def too_big(dfa: DFA) -> None:
    """Refuse a minimal DFA whose every encoding exceeds MAX_TABLE_UNITS, before building any:
    its monoid has at least |Q| elements (distinct states are the images of the start under
    distinct elements), so both tables need at least |Q|^2 units."""
    if len(dfa.states) ** 2 > MAX_TABLE_UNITS:
        raise CompileError(
            f"{dfa.name!r}: its minimal DFA has {len(dfa.states):,} states; Theorem 1's monoid "
            f"table would need at least {len(dfa.states) ** 2:,} feed-forward units (more than "
            f"{MAX_TABLE_UNITS:,})"
        )


def trivial_encoding(kind: str, alphabet: Sequence[str]) -> Encoding:
    """The encoding of the one-state automaton over `alphabet` (the trivial monoid), in the
    given kind: code dimension 1, the smallest table. `table_cost` builds a construction's
    program with it to read off the shapes that do not depend on the monoid."""
    one = DFA("trivial", ("e",), tuple(alphabet), "e", frozenset(["e"]),
              {("e", a): "e" for a in alphabet})
    if kind == "onehot":
        return onehot_encoding(TransitionMonoid.of(one))
    return maps_encoding(one)


@dataclass(frozen=True)
class ProgramShape:
    """What a construction's program looks like apart from its monoid (`table_cost`): read
    from the program built with `trivial_encoding` (code dimension 1).

    width: its d_model; code_cells: cells holding an element code (each grows with the code's
    dimension); columns: the float64 count of every assembled tensor divided by d_model (each
    tensor, embedding, mask, W_Q ... W_out, has exactly one d_model axis); tables: layers whose
    feed-forward is a monoid table, as assembled (a repeated layer and its copy in the final
    block count twice); builds: distinct tables the program builds (`table_ff` calls);
    table_units: the trivial table's hidden units."""

    width: int
    code_cells: int
    columns: int
    tables: int
    builds: int
    table_units: int


def table_cost(enc: Encoding, shape: ProgramShape, what: str) -> Estimate:
    """The peak bytes of compiling `enc` into a program of `shape`, from shapes alone (before
    any table is built).

    With U the table's hidden units (`Encoding.table_units`: 2 |M|^2 one-hot, 2 (|Q|^3 + |Q|^2)
    maps), m its code dimension and d = width + code_cells (m - 1) the model width:
    - weights W = 8 d (columns + 2 tables (U - U_1)) bytes: each assembled table layer holds
      W_in [d_ff, d] and W_out [d, d_ff] in float64, d_ff growing by U - U_1 over the trivial
      table's U_1 (the other layers' widths grow only with m, not with m^2, and are left out);
    - program P = 8 * 3 U m per build: a table's feed-forward keeps its two conditions
      [U, m] (the left factor and the accumulator) and its output [m, U] until assembly;
    - assembly scatters each table into a zeroed [U, d] matrix and scales it (2 U d
      transient), and the network first registers zero-filled buffers of every weight before
      taking the assembled ones (a second W); saving holds the model and the file's bytes (2 W).
    peak = 2 W + P + 8 * 2 U d (compile and save of S5 on generators: 788 MB predicted,
    789 MB measured above the interpreter's own).
    """
    m = enc.dim
    units = enc.table_units
    d = shape.width + shape.code_cells * (m - 1)
    weights = FLOAT64_BYTES * d * (shape.columns + 2 * shape.tables * (units - shape.table_units))
    program = FLOAT64_BYTES * 3 * units * m * max(shape.builds, 1)
    transient = FLOAT64_BYTES * 2 * units * d
    peak = 2 * weights + program + transient
    detail = (
        f"{enc.kind} code of dimension {m:,}, d_model {d:,}, {shape.tables} monoid tables of "
        f"{units:,} hidden units: weights {format_bytes(weights)}"
    )
    return Estimate(what, peak, detail=detail)


def candidates(automaton: DFA | NFA) -> list[Encoding]:
    """Every encoding that can represent the automaton's monoid, in order of preference for
    equal cost: a DFA's one-hot monoid, its maps; an NFA's one-hot relation monoid, then the
    one-hot monoid and the maps of its determinized minimal DFA (recorded as via="determinized";
    the same language, so the same answers)."""
    out: list[Encoding] = []
    dfa = automaton.minimize() if isinstance(automaton, DFA) else None
    if isinstance(automaton, NFA):
        try:
            out.append(onehot_encoding(TransitionMonoid.of(automaton), via="nfa"))
        except CompileError:
            pass
        try:
            dfa = automaton.determinize().minimize()
        except CompileError:
            if out:  # the NFA's own monoid serves; its DFA is only an alternative
                return out
            raise
        via = "determinized"
    else:
        via = "dfa"
    assert dfa is not None
    too_big(dfa)
    try:
        out.append(onehot_encoding(TransitionMonoid.of(dfa), via=via))
    except CompileError:
        pass
    out.append(maps_encoding(dfa, via=via))
    return out


def choose_encoding(
    automaton: DFA | NFA, prefer: str | None = None, via: str | None = None
) -> Encoding:
    """The encoding with the fewest table units (|M|^2 one-hot vs |Q|^3 + |Q|^2 maps), or the
    one named by `prefer` (and `via`), as stored in a model's report."""
    options = candidates(automaton)
    if prefer is not None:
        named = [e for e in options if e.kind == prefer and (via is None or e.via == via)]
        if not named:
            raise CompileError(f"no {prefer!r} encoding (via {via!r}) for {automaton.name!r}")
        return named[0]
    best = min(options, key=lambda e: e.table_units)  # stable: earlier options win ties
    if best.table_units > MAX_TABLE_UNITS:
        raise CompileError(
            f"{automaton.name!r}: the cheapest monoid table needs {best.table_units} feed-forward "
            f"units (more than {MAX_TABLE_UNITS})"
        )
    return best
