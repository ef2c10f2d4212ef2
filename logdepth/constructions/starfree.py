"""Star-free languages (aperiodic syntactic monoid) in constant depth: the holonomy cascade.

The minimal DFA of a star-free language decomposes into a cascade of L reset levels
(`automata.holonomy`; every holonomy group is trivial, so a letter either keeps a level's
value or resets it). Level i's value after token t is

    v_i(t) = A_i[v_0..v_{i-1} at t - 1, w_t](v_i(t - 1)),   A = keep or reset to a value,

so v_i(t) is the value written by the last position j <= t that resets level i, and BoS
(position 0) resets every level to the start state's encoding. The transformer runs the cascade
one level at a time, each in O(1) layers; the layer count is 2 L for every n (L >= 1), set by
the language, never by n.

Why a previous-position read (docs/starfree.md). Level i's action at t reads the levels above
*before* the letter at t, their values at t - 1, and the model's causal attention includes the
query itself, so "the last reset strictly before t" is not a rightmost-match read. We read the
upper values at t - 1 with Theorem 1's equality lookup (query phi(lambda (t - 1)), key
phi(lambda j)): exact whenever the lookup's gap clears the noise, the same gap (and so the same
quartic frontier) as Theorem 1's. A one-level cascade reads no previous position, and its
frontier is set by the rightmost-match read alone (cubic).

The layers (L levels, top down; `old.k` holds v_k(t - 1)):
  1 attn  psi(lambda t), psi(lambda (t - 1)) by uniform averages (Lemma 7, `offset_term`)
    ff    pos := phi(lambda t) (read alone)
  2 attn  level.0 := the reset value of the last j <= t resetting level 0 (Lemma 10's
          nearest-previous read: score [j resets] + [phi(lambda j)]_0); level 0's reset flag and
          value depend on the letter alone, so the embedding holds them
    ff    prev := phi(lambda (t - 1)) (read alone); L = 1: the answer
  for each level i = 1..L-1, two layers:
  A attn  old.(i-1) := level.(i-1) at position t - 1 (equality lookup prev against pos)
    ff    reset.i, rv.i := [A_i resets] and its value, from (old.0..old.(i-1), letter): one
          saturating step per table row (reachable upper configurations x letters)
  B attn  level.i := rv.i of the last j <= t with reset.i (Lemma 10)
    ff    clear reset.i, rv.i; after the last level: answer := [the levels' configuration
          decodes to an accepting state] (saturating steps over the encodings)

The answer is read at $, which resets nothing, so the levels there hold the state after the
word. A one-state DFA (no levels) is one layer: the constant answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from logdepth import catalog
from logdepth.automata.dfa import DFA
from logdepth.automata.holonomy import Cascade, Value, holonomy
from logdepth.automata.nfa import NFA
from logdepth.compiler.cells import Cell, Layout, boolean
from logdepth.compiler.program import FeedForward, Layer, Program
from logdepth.constructions.regular import frontier_record
from logdepth.errors import CompileError
from logdepth.gaps.regular import tie_tolerance
from logdepth.gaps.starfree import (
    FRONTIER_METHOD,
    frontier_for_bits,
    frontiers,
    levels_of,
    precision_model,
    score_gaps,
)
from logdepth.kit.bits import TRUE
from logdepth.kit.feedforward import clear_ff, stack_ff
from logdepth.kit.gadgets import (
    constant_ff,
    lookup_head,
    nearest_previous_head,
    offset_term,
    saturating_ff,
)
from logdepth.kit.hashing import (
    POSITION_SCALE,
    UniformHead,
    psi_to_phi_ff,
)
from logdepth.kit.words import OUTPUTS, word_readout
from logdepth.model.compiled import CompiledModel
from logdepth.model.config import BOS, DepthRule
from logdepth.model.inputs import END
from logdepth.precision import score_rounding_ulps

CONSTRUCTION = catalog.config_name("starfree")
THEOREM = "holonomy cascade of reset levels, each read by Lemma 10 (star-free, constant depth)"
REFERENCE = (
    "Krohn-Rhodes by holonomy (Zeiger 1967; Egri-Nagy & Nehaniv 2015) with Merrill & "
    "Sabharwal (2025)'s Lemma 7 averages, Lemma 10 nearest-previous read and equality lookup"
)
# Table rows (saturating steps, two hidden units each) over every level and the answer: the
# feed-forward width grows with them, and so does compile time. Past it, compile refuses.
MAX_TABLE_ROWS = 20_000


KEEP = -1  # a table entry that keeps the level's value
LAYERS_PER_LEVEL = 2


# ---------------------------------------------------------------------------------------------
# The cascade as index tables (what the weights and the report carry)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """The cascade of the minimal DFA with every level value numbered.

    labels[i][k]: the name of level i's value k ("-" the dummy, "c<class>t<tile>" a tile);
    tiles[i][k]: the states of that tile (empty for the dummy);
    tables[i]: (upper value indices, letter) -> KEEP or the reset value's index;
    start: the start state's encoding; decode: encoding -> state; accept: accepting states.
    """

    name: str
    alphabet: tuple[str, ...]
    heights: tuple[int, ...]
    labels: tuple[tuple[str, ...], ...]
    tiles: tuple[tuple[tuple[str, ...], ...], ...]
    tables: tuple[dict[tuple[tuple[int, ...], str], int], ...]
    start: tuple[int, ...]
    decode: dict[tuple[int, ...], str]
    accept: frozenset[str]

    @property
    def levels(self) -> int:
        return len(self.labels)

    def rows(self) -> int:
        """Saturating steps in the level tables (resets only, plus BoS) and the answer."""
        level_rows = sum(
            sum(1 for v in table.values() if v != KEEP) + 1 for table in self.tables[1:]
        )
        return level_rows + sum(1 for s in self.decode.values() if s in self.accept)

    def to_report(self) -> dict[str, Any]:
        """The cascade as JSON: what `verify.starfree` reruns without this module."""
        return {
            "levels": [
                {
                    "height": h,
                    "values": list(labels),
                    "tiles": [list(t) for t in tiles],
                    "table": [
                        [list(upper), a, v] for (upper, a), v in sorted(table.items())
                    ],
                }
                for h, labels, tiles, table in zip(
                    self.heights, self.labels, self.tiles, self.tables, strict=True
                )
            ],
            "start": list(self.start),
            "encodings": [[list(e), s] for e, s in sorted(self.decode.items())],
            "accept": sorted(self.accept),
        }


def require_aperiodic(automaton: DFA | NFA) -> None:
    """CompileError with classify's certificate unless the syntactic monoid is aperiodic."""
    from logdepth.automata.classes import classify

    found = classify(automaton)
    if found.language_class != "aperiodic":
        lines = "\n".join(found.lines()[1:])
        raise CompileError(
            f"the starfree construction needs an aperiodic syntactic monoid (a star-free "
            f"language); {found.name!r} is {found.language_class}, so no cascade of reset "
            f"levels decides it:\n{lines}"
        )


def cascade_plan(automaton: DFA | NFA) -> Plan:
    """The holonomy cascade of `automaton` as index tables (`Plan`); CompileError naming the
    certificate when the language is not star-free, and the estimate past MAX_TABLE_ROWS."""
    require_aperiodic(automaton)
    cascade: Cascade = holonomy(automaton)
    n_levels = len(cascade.levels)
    values: list[list[Value]] = [[None] for _ in range(n_levels)]
    for enc in cascade.decode:
        for i, v in enumerate(enc):
            if v not in values[i]:
                values[i].append(v)
    values = [[None, *sorted(v for v in vs if v is not None)] for vs in values]
    index = [{v: k for k, v in enumerate(vs)} for vs in values]

    def tile_states(i: int, v: Value) -> tuple[str, ...]:
        if v is None:
            return ()
        level = cascade.levels[i]
        return tuple(sorted(level.tiles[level.classes.index(v[0])][v[1]]))

    tables: list[dict[tuple[tuple[int, ...], str], int]] = []
    for i, table in enumerate(cascade.tables):
        out: dict[tuple[tuple[int, ...], str], int] = {}
        for (upper, a), action in table.items():
            if action.permutation is not None:
                if list(action.permutation) != list(range(len(action.permutation))):
                    raise CompileError(
                        f"level {i} of the cascade of {cascade.name!r} permutes its tiles: the "
                        "monoid is not aperiodic"
                    )
                entry = KEEP
            else:
                entry = index[i][action.value]
            out[(tuple(index[k][u] for k, u in enumerate(upper)), a)] = entry
        tables.append(out)
    plan = Plan(
        name=cascade.name,
        alphabet=tuple(cascade.alphabet),
        heights=tuple(lv.height for lv in cascade.levels),
        labels=tuple(
            tuple("-" if v is None else f"c{v[0]}t{v[1]}" for v in vs) for vs in values
        ),
        tiles=tuple(tuple(tile_states(i, v) for v in vs) for i, vs in enumerate(values)),
        tables=tuple(tables),
        start=tuple(index[i][v] for i, v in enumerate(cascade.start)),
        decode={
            tuple(index[i][v] for i, v in enumerate(enc)): s for enc, s in cascade.decode.items()
        },
        accept=frozenset(cascade.accept),
    )
    rows = plan.rows()
    if rows > MAX_TABLE_ROWS:
        raise CompileError(
            f"the cascade of {cascade.name!r} ({n_levels} levels) needs {rows:,} table rows "
            f"(saturating steps, {2 * rows:,} feed-forward units), past the limit of "
            f"{MAX_TABLE_ROWS:,} (starfree.MAX_TABLE_ROWS)"
        )
    return plan


def layer_count(levels: int) -> int:
    """2 L layers for L >= 1 levels; 1 for a one-state DFA (no levels)."""
    return max(LAYERS_PER_LEVEL * levels, 1)


def layers_of(report: Mapping[str, Any]) -> int:
    """One build's layer count from its report (the catalog's `depth` hook)."""
    return layer_count(levels_of(report))


# The gaps and the frontier: logdepth/gaps/starfree.py.


# ---------------------------------------------------------------------------------------------
# The program
# ---------------------------------------------------------------------------------------------


def _onehot(size: int, k: int) -> np.ndarray:
    out = np.zeros(size)
    out[k] = 1.0
    return out


def _level_table_ff(
    plan: Plan,
    i: int,
    old: Sequence[Cell],
    letter: Cell,
    vocab: Sequence[str],
    reset: Cell,
    rv: Cell,
    one: Cell,
) -> FeedForward:
    """reset.i := [A_i resets], rv.i := its value (e_0 where it keeps): one saturating step per
    resetting (upper configuration, letter) row, plus BoS (resets to the start encoding)."""
    size = rv.size
    rows = [(upper, a, v) for (upper, a), v in sorted(plan.tables[i].items()) if v != KEEP]
    rows.append(((), BOS, plan.start[i]))
    units = len(rows)
    cond: dict[Cell, np.ndarray] = {c: np.zeros((units, c.size)) for c in (*old[:i], letter)}
    threshold = np.zeros(units)
    cols = {reset: np.zeros((2, units)), rv: np.zeros((size, units))}
    for u, (upper, a, v) in enumerate(rows):
        for k, value in enumerate(upper):
            cond[old[k]][u, value] = 1.0
        cond[letter][u, vocab.index(a)] = 1.0
        threshold[u] = len(upper) + 1
        cols[reset][:, u] = TRUE
        cols[rv][:, u] = _onehot(size, v) - _onehot(size, 0)
    return stack_ff(
        [
            constant_ff({reset: np.array([0.0, 1.0]), rv: _onehot(size, 0)}, one=one),
            saturating_ff(cond, threshold, cols, one=one),
        ],
        note=f"reset.{i}, rv.{i} from (old.0..old.{i - 1}, letter): {units} table rows",
    )


def _answer_ff(plan: Plan, level: Sequence[Cell], answer: Cell, one: Cell) -> FeedForward:
    """answer := [the levels' encoding decodes to an accepting state]: one saturating step per
    accepting encoding (the conjunction of its L values)."""
    parts = [constant_ff({answer: np.array([0.0, 1.0])}, one=one, note="answer := false")]
    rows = [enc for enc, s in sorted(plan.decode.items()) if s in plan.accept]
    if rows and level:
        units = len(rows)
        cond = {c: np.zeros((units, c.size)) for c in level}
        for u, enc in enumerate(rows):
            for k, value in enumerate(enc):
                cond[level[k]][u, value] = 1.0
        cols = {answer: np.tile(TRUE[:, None], (1, units))}
        parts.append(
            saturating_ff(cond, np.full(units, float(len(level))), cols, one=one)
        )
    elif rows:  # no levels: the one state accepts
        parts.append(constant_ff({answer: TRUE}, one=one))
    return stack_ff(parts, note=f"answer from the levels: {len(rows)} accepting encodings")


@dataclass
class _Levels:
    """The cascade's cells (allocated by `_levels`, in the layout's column order)."""

    plan: Plan
    layout: Layout
    one: Cell
    bos: Cell
    vocab: list[str]
    letter: Cell
    level: list[Cell]  # level.i, each level's value
    reset: list[Cell]  # reset.i, [level i is reset at t]
    rv: list[Cell]  # rv.i, the value written
    old: list[Cell]  # old.i, level.i at t - 1
    answer: Cell


def _levels(plan: Plan) -> _Levels:
    L = Layout()
    one = L.one
    bos = L.bool("bos", persistent=True)
    vocab = [BOS, *plan.alphabet, END]
    letter = L.code("letter", [f"letter={a}" for a in vocab], persistent=True)
    n_levels = plan.levels
    level = [
        L.code(f"level.{i}", [f"level.{i}={x}" for x in plan.labels[i]], persistent=True)
        for i in range(n_levels)
    ]
    reset = [L.bool(f"reset.{i}") for i in range(n_levels)]
    rv = [L.code(f"rv.{i}", [f"rv.{i}={x}" for x in plan.labels[i]]) for i in range(n_levels)]
    old = [
        L.code(f"old.{i}", [f"old.{i}={x}" for x in plan.labels[i]], persistent=True)
        for i in range(n_levels - 1)
    ]
    answer = L.bool("answer")
    return _Levels(plan, L, one, bos, vocab, letter, level, reset, rv, old, answer)


def _starfree_embedding(c: _Levels) -> dict[str, dict[Cell, np.ndarray]]:
    """The token's letter, and level 0's reset flag and value (level 0 reads the letter only)."""
    plan, vocab = c.plan, c.vocab
    embedding: dict[str, dict[Cell, np.ndarray]] = {}
    for a in vocab:
        row = {
            c.one: np.ones(1),
            c.bos: boolean(a == BOS),
            c.letter: _onehot(len(vocab), vocab.index(a)),
        }
        if plan.levels:
            size = len(plan.labels[0])
            v = plan.start[0] if a == BOS else (KEEP if a == END else plan.tables[0][((), a)])
            row[c.reset[0]] = boolean(v != KEEP)
            row[c.rv[0]] = _onehot(size, 0 if v == KEEP else v)
        embedding[a] = row
    return embedding


def _starfree_level0(c: _Levels, scale: float) -> tuple[list[Layer], Cell, Cell | None]:
    """Layers 1-2: the positions phi(lambda t) and phi(lambda (t - 1)) (Lemma 7's averages);
    level.0 := rv.0 of the last j <= t resetting level 0 (Lemma 10). Returns the layers and
    the cells pos, prev (None with one level)."""
    L, one, bos, n_levels = c.layout, c.one, c.bos, c.plan.levels
    pos_psi = L.psi("pos.psi")
    pos = L.phi("pos")
    uniform = UniformHead(note="psi(lambda t), psi(lambda (t - 1)) (Lemma 7)")
    term, needs = offset_term(pos_psi, 0, one=one, bos=bos, scale=scale)
    uniform.write(term, *needs)
    prev_psi = prev = None
    if n_levels > 1:
        prev_psi, prev = L.psi("prev.psi"), L.phi("prev")
        term, needs = offset_term(prev_psi, 1, one=one, bos=bos, scale=scale)
        uniform.write(term, *needs)
    first = Layer(
        "starfree layer 1: the positions phi(lambda t) and psi(lambda (t - 1)) "
        "(Lemma 7's averages)",
        heads=[uniform.head()],
        ff=psi_to_phi_ff(pos_psi, pos),
    )
    read0 = nearest_previous_head(
        c.reset[0], pos, one, {c.rv[0]: c.level[0]}, note="level.0 := rv.0 of the last reset <= t"
    )
    if n_levels > 1:
        assert prev_psi is not None and prev is not None
        second_ff = psi_to_phi_ff(prev_psi, prev)
        text = "prev := phi(lambda (t - 1))"
    else:
        second_ff = stack_ff(
            [_answer_ff(c.plan, c.level, c.answer, one), clear_ff([c.reset[0], c.rv[0]])]
        )
        text = "the answer; clear reset.0, rv.0"
    second = Layer(
        "starfree layer 2: level.0 := the value of the last j <= t resetting level 0 "
        f"(Lemma 10); {text}",
        heads=[read0],
        ff=second_ff,
        clears=() if n_levels > 1 else (c.reset[0], c.rv[0]),
    )
    return [first, second], pos, prev


def _starfree_level(c: _Levels, i: int, pos: Cell, prev: Cell) -> list[Layer]:
    """Level i >= 1 (A, B): old.(i-1) := level.(i-1) at t - 1 and level i's table; level.i :=
    rv.i of the last j <= t resetting level i (Lemma 10); after the last level the answer."""
    one, reset, rv, level, old = c.one, c.reset, c.rv, c.level, c.old
    # Level 0's flag and value come from the embedding; layer 2's feed-forward reads
    # prev's psi alone, so they are cleared here (every later level clears its own).
    above = [reset[0], rv[0]] if i == 1 else []
    table = Layer(
        f"starfree level {i} (A): old.{i - 1} := level.{i - 1} at t - 1 (equality "
        f"lookup); reset.{i}, rv.{i} := level {i}'s table at (old.0..old.{i - 1}, "
        "letter)",
        heads=[
            lookup_head(
                prev, pos, {level[i - 1]: old[i - 1]},
                note=f"old.{i - 1} := level.{i - 1} at t - 1",
            )
        ],
        ff=stack_ff(
            [
                _level_table_ff(c.plan, i, old, c.letter, c.vocab, reset[i], rv[i], one),
                *([clear_ff(above)] if above else []),
            ]
        ),
        clears=tuple(above),
    )
    last = i == c.plan.levels - 1
    parts = [clear_ff([reset[i], rv[i]])]
    if last:
        parts.insert(0, _answer_ff(c.plan, level, c.answer, one))
    read = Layer(
        f"starfree level {i} (B): level.{i} := rv.{i} of the last j <= t resetting "
        f"level {i} (Lemma 10)" + ("; the answer" if last else ""),
        heads=[
            nearest_previous_head(
                reset[i], pos, one, {rv[i]: level[i]},
                note=f"level.{i} := rv.{i} of the last reset <= t",
            )
        ],
        ff=stack_ff(parts),
        clears=(reset[i], rv[i]),
    )
    return [table, read]


def starfree_program(plan: Plan, scale: float = POSITION_SCALE) -> Program:
    """The layers of the module docstring for the cascade `plan`."""
    c = _levels(plan)
    embedding = _starfree_embedding(c)
    n_levels = plan.levels
    layers: list[Layer] = []
    if not n_levels:
        layers.append(
            Layer(
                "starfree layer 1: one state, the constant answer",
                ff=_answer_ff(plan, c.level, c.answer, c.one),
            )
        )
    else:
        layers, pos, prev = _starfree_level0(c, scale)
        for i in range(1, n_levels):
            assert prev is not None
            layers += _starfree_level(c, i, pos, prev)
    return Program(
        layout=c.layout,
        vocab=c.vocab,
        embedding=embedding,
        initial=layers[:-1],
        repeated=[],
        final=layers[-1:],
        outputs=list(OUTPUTS),
        readout=word_readout(c.answer),
        # r = 0: the unrolling d(n) runs an empty block, so the depth is constant.
        depth_rule=DepthRule(count_tokens=tuple(plan.alphabet), root=1),
        tie_tolerance=tie_tolerance(),
        input_format="word",
        construction=CONSTRUCTION,
        frontier=frontiers(n_levels),
    )


# ---------------------------------------------------------------------------------------------
# The public entry point
# ---------------------------------------------------------------------------------------------


def compile_starfree(automaton: DFA | NFA, source: str | None = None) -> CompiledModel:
    """Compile a star-free language (a DFA or NFA whose syntactic monoid is aperiodic) into
    the constant-depth cascade transformer (module docstring): 2 L layers for every n, through
    the build driver (`logdepth.build`: `build_program`, then `report`).

    model.extra carries the spec, its type, the source and a report: the cascade (levels,
    their heights, values, tiles and tables, the start encoding, every encoding and the state
    it names), the layer count, widths, and the frontier with its curve. `CompileError` with
    classify's certificate for a language that is not star-free, and past MAX_TABLE_ROWS."""
    from logdepth.build import build  # the driver: program, hygiene, assembly, report

    return build(catalog.get("starfree"), automaton, source=source)


def build_program(automaton: DFA | NFA) -> Program:
    """The catalog's `program` for star-free languages: the cascade's plan and its layers;
    the plan is the program's fact, for `report`."""
    if not isinstance(automaton, DFA | NFA):
        raise CompileError(f"cannot compile a {type(automaton).__name__} as a star-free language")
    plan = cascade_plan(automaton)
    program = starfree_program(plan)
    program.facts = {"plan": plan}
    return program


def report(program: Program, network) -> dict[str, Any]:
    """The catalog's `report` for star-free languages (the plan; the network's rounding)."""
    plan: Plan = program.facts["plan"]
    n_levels = plan.levels
    layers = layer_count(n_levels)
    return {
        "theorem": THEOREM,
        "reference": REFERENCE,
        "construction": CONSTRUCTION,
        "states_minimized": len({s for s in plan.decode.values()}),
        "alphabet": len(plan.alphabet),
        "levels": n_levels,
        "level_widths": [len(labels) for labels in plan.labels],
        "table_rows": plan.rows(),
        "cascade": plan.to_report(),
        "layers": f"{layers} (constant in n: 2 per cascade level, {n_levels} levels)",
        "layer_count": layers,
        "d_model": program.layout.d_model,
        **frontier_record(program, FRONTIER_METHOD, lambda p: frontier_for_bits(p, n_levels)),
        "position_scale": POSITION_SCALE,
        "score_rounding_ulps": round(score_rounding_ulps(network), 1),
    }


__all__ = [
    "CONSTRUCTION",
    "MAX_TABLE_ROWS",
    "Plan",
    "build_program",
    "cascade_plan",
    "compile_starfree",
    "frontier_for_bits",
    "frontiers",
    "layer_count",
    "layers_of",
    "precision_model",
    "report",
    "score_gaps",
]
