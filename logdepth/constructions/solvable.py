"""Solvable syntactic monoids in constant depth: reset levels and modular counters.

The minimal DFA's holonomy cascade (`automata.holonomy`) is split by `automata.solvable`: a
level with a trivial group stays a reset level, a level with a solvable group G becomes a reset
level R and one counter per factor of G's composition series (one counter of modulus |G| for a
cyclic G). Every expanded level i acts on its old value by the letter and the OLD values of the
levels above (at t - 1):

    reset level:  v_i(t) = the value written by the last j <= t resetting level i;
    counter Z_p:  v_i(t) = sum of the increments inc_i(s), s in (j, t], mod p, j the last
                  j <= t resetting it (to 0; BoS resets every level).

A counter is read as a difference of prefix sums: with the increments written in binary,
inc = sum_b 2^b bit_b, N_b(t) = #{s <= t : bit_b(s)} <= t is a plain count (Lemma 7's
average), N_b mod M comes from Lemma 1's table of j mod M (M = the lcm of every counter's
modulus, one table for all), and the counter is sum_b 2^b (N_b(t) - N_b(j)) mod p, the parts at
j fetched by Lemma 10's rightmost-reset read. Depth and width are functions of the
decomposition, never of n (module constants below):

    layers = 7 (Lemma 1's table; the positions and level 0's rightmost read ride along)
           + 2 per further reset level (the previous-position read and its table; the read)
           + 4 per counter with one count (modulus 2), 5 with two or three (modulus 3..8):
             the previous-position read and the table of its increments' bits; the counts'
             psi -> phi; the table lookups N_b mod M and their one-hot parts; the read at j
             and the difference mod p
           + 1 when the last level is a counter (the answer reads its feed-forward's value).

The layers for one counter level i (B counts, b < B):
  A   attn  old.(i-1) := level.(i-1) at t - 1 (equality lookup prev against pos)
      ff    reset.i, bit.i.b := level i's table at (old.0..old.(i-1), letter)
  C1  attn  psi(lambda N_b(t)) for every b (Lemma 7's averages of bit.i.b)
      ff    count.i.0 := phi (read alone)
  C2  attn  count.i.1 := phi (self-match, read alone)      [B >= 2 only]
      ff    count.i.2 := phi (read alone)                   [B = 3]
  C3  attn  clear the counts' psi (Lemma 4); rem.i.b := table row N_b's j mod M
      ff    part.i.b := one-hot of 2^b (N_b mod M) mod p by threshold steps; clear rem, count
  D   attn  base.i.b := part.i.b at the last j <= t resetting level i (Lemma 10)
      ff    level.i := one-hot of sum_b (part.i.b - base.i.b) mod p by saturating steps; clear
            part, base, bits, reset; after the last level the answer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from logdepth import catalog
from logdepth.automata.dfa import DFA
from logdepth.automata.nfa import NFA
from logdepth.automata.solvable import ADD, KEEP, RESET, SolvableCascade, solvable_cascade
from logdepth.compiler.cells import Cell, Layout, boolean
from logdepth.compiler.program import FeedForward, Layer, Program
from logdepth.constructions import counting, starfree
from logdepth.constructions.regular import frontier_record
from logdepth.errors import CompileError
from logdepth.gaps.regular import tie_tolerance
from logdepth.gaps.solvable import (
    FRONTIER_METHOD,
    frontier_for_bits,
    frontiers,
    precision_model,
    score_gaps,
)
from logdepth.kit.bits import TRUE, threshold_steps
from logdepth.kit.division import DivisionBuilder, max_modulus
from logdepth.kit.feedforward import clear_ff, stack_ff
from logdepth.kit.gadgets import (
    avg_flag,
    constant_ff,
    count_term,
    lookup_head,
    nearest_previous_head,
    offset_term,
    saturating_ff,
)
from logdepth.kit.hashing import UniformHead, psi_to_phi_ff, psi_to_phi_head
from logdepth.kit.words import OUTPUTS, word_readout
from logdepth.model.compiled import CompiledModel
from logdepth.model.config import BOS, DepthRule
from logdepth.model.inputs import END
from logdepth.precision import score_rounding_ulps

CONSTRUCTION = catalog.config_name("solvable")
THEOREM = (
    "holonomy cascade with each solvable group split into Z_p counters (Krohn-Rhodes, "
    "Kaloujnine-Krasner); constant depth"
)
REFERENCE = (
    "Krohn-Rhodes by holonomy (Zeiger 1967; Egri-Nagy & Nehaniv 2015), the Kaloujnine-Krasner "
    "embedding, and Merrill & Sabharwal (2025)'s Lemmas 1, 7 and 10"
)
TABLE_LAYERS = 7  # Lemma 1's block, the table of j mod M (division.LAYERS)
RESET_LAYERS = 2
# Three counts: the three sublayers where a psi can be read alone (C1.ff, C2.attn, C2.ff), so
# an increment has at most 3 bits and a counter's modulus is at most 8.
MAX_COUNTS = 3
MAX_COUNTER_MODULUS = 1 << MAX_COUNTS
MAX_TABLE_ROWS = starfree.MAX_TABLE_ROWS


def counts_of(modulus: int) -> int:
    """The bits an increment in Z_modulus needs (the counts of its counter)."""
    return max((modulus - 1).bit_length(), 1)


def counter_layers(modulus: int) -> int:
    """A, C1, [C2], C3, D: 4 layers, 5 with a second count."""
    return 4 + (counts_of(modulus) >= 2)


def layer_count(kinds: Sequence[tuple[str, int]]) -> int:
    """The layers for the levels (kind, modulus), top down (module docstring)."""
    if not kinds:
        return 1
    total = TABLE_LAYERS
    for kind, m in kinds[1:]:
        total += RESET_LAYERS if kind == "reset" else counter_layers(m)
    # A counter's value is written by a feed-forward, so the answer reads it one layer later.
    return total + (kinds[-1][0] == "counter")


def layers_of(report: Mapping[str, Any]) -> int:
    """One build's layer count from its report (the catalog's `depth` hook)."""
    kinds = report.get("level_kinds")
    if not isinstance(kinds, list):
        raise CompileError("a solvable model's report names its levels' kinds; this one does not")
    return layer_count([(k, int(m)) for k, m in kinds])


def table_modulus(cascade: SolvableCascade) -> int:
    """M: the lcm of every counter's modulus (Lemma 1's table serves them all)."""
    return math.lcm(*(lv.modulus for lv in cascade.levels if lv.kind == "counter"), 2)


# The gaps and the frontier: logdepth/gaps/solvable.py.


# ---------------------------------------------------------------------------------------------
# The program
# ---------------------------------------------------------------------------------------------


def _onehot(size: int, k: int) -> np.ndarray:
    out = np.zeros(size)
    out[k] = 1.0
    return out


def _rows(cascade: SolvableCascade, i: int) -> list[tuple[tuple[int, ...], str, Any]]:
    """Level i's table rows that do something (a reset, or a nonzero increment)."""
    out = []
    for (upper, a), entry in sorted(cascade.tables[i].items(), key=lambda kv: (kv[0], str(kv[1]))):
        if entry == KEEP or entry == (ADD, 0):
            continue
        out.append((upper, a, entry))
    return out


def _table_ff(
    cascade: SolvableCascade,
    i: int,
    old: Sequence[Cell],
    letter: Cell,
    vocab: Sequence[str],
    reset: Cell,
    out: Mapping[str, Any],
    one: Cell,
) -> FeedForward:
    """reset.i and rv.i (a reset level) or bit.i.b (a counter) from (old.0..old.(i-1),
    letter): one saturating step per row, plus BoS (resets to the start value)."""
    level = cascade.levels[i]
    rows = _rows(cascade, i)
    start = cascade.start[i]
    rows.append(((), BOS, start if level.kind == "reset" else (RESET, start)))
    units = len(rows)
    cond: dict[Cell, np.ndarray] = {c: np.zeros((units, c.size)) for c in (*old[:i], letter)}
    threshold = np.zeros(units)
    cols: dict[Cell, np.ndarray] = {reset: np.zeros((2, units))}
    init: dict[Cell, np.ndarray] = {reset: np.array([0.0, 1.0])}
    if level.kind == "reset":
        rv = out["rv"]
        cols[rv] = np.zeros((rv.size, units))
        init[rv] = _onehot(rv.size, 0)
    else:
        for bit in out["bits"]:
            cols[bit] = np.zeros((2, units))
            init[bit] = np.array([0.0, 1.0])
    for u, (upper, a, entry) in enumerate(rows):
        for k, value in enumerate(upper):
            cond[old[k]][u, value] = 1.0
        cond[letter][u, vocab.index(a)] = 1.0
        threshold[u] = len(upper) + 1
        if level.kind == "reset":
            cols[reset][:, u] = TRUE
            cols[out["rv"]][:, u] = _onehot(out["rv"].size, entry) - _onehot(out["rv"].size, 0)
        else:
            kind, x = entry
            if kind == RESET:
                if x != 0:
                    raise CompileError("a counter resets to 0 (its group's identity)")
                cols[reset][:, u] = TRUE
            else:
                for b, bit in enumerate(out["bits"]):
                    if x >> b & 1:
                        cols[bit][:, u] = TRUE
    return stack_ff(
        [constant_ff(init, one=one), saturating_ff(cond, threshold, cols, one=one)],
        note=f"level {i}'s table at (old.0..old.{i - 1}, letter): {units} rows",
    )


def _difference_ff(
    p: int, part: Sequence[Cell], base: Sequence[Cell], level: Cell, one: Cell
) -> FeedForward:
    """level := one-hot of D mod p, D = sum_b (value of part.b - value of base.b) in
    [-B (p - 1), B (p - 1)] (each part a one-hot of 2^b N_b mod p): saturating steps [D >= s]
    move the one-hot from (s - 1) mod p to s mod p (telescoping)."""
    top = len(part) * (p - 1)
    low = -top
    parts = [constant_ff({level: _onehot(p, low % p)}, one=one)]
    steps = list(range(low + 1, top + 1))
    if steps:
        weights = np.arange(p, dtype=float)
        rows = {c: np.tile(weights, (len(steps), 1)) for c in part}
        rows.update({c: -np.tile(weights, (len(steps), 1)) for c in base})
        cols = np.stack([_onehot(p, s % p) - _onehot(p, (s - 1) % p) for s in steps], axis=1)
        parts.append(saturating_ff(rows, np.array(steps, dtype=float), {level: cols}, one=one))
    return stack_ff(parts, note="the counter: sum_b (part.b - base.b) mod p")


def _answer_ff(
    cascade: SolvableCascade, level: Sequence[Cell], answer: Cell, one: Cell
) -> FeedForward:
    """answer := [the levels' configuration names an accepting state]: one saturating step per
    accepting reachable configuration (the conjunction of its values)."""
    parts = [constant_ff({answer: np.array([0.0, 1.0])}, one=one, note="answer := false")]
    rows = [c for c, s in sorted(cascade.state_of.items()) if s in cascade.accept]
    if rows and level:
        units = len(rows)
        cond = {c: np.zeros((units, c.size)) for c in level}
        for u, config in enumerate(rows):
            for k, value in enumerate(config):
                cond[level[k]][u, value] = 1.0
        cols = {answer: np.tile(TRUE[:, None], (1, units))}
        parts.append(saturating_ff(cond, np.full(units, float(len(level))), cols, one=one))
    elif rows:
        parts.append(constant_ff({answer: TRUE}, one=one))
    return stack_ff(parts, note=f"answer: {len(rows)} accepting configurations")


@dataclass
class _Cascade:
    """The cells every level reads (allocated by `_division`, in the layout's column order)."""

    cascade: SolvableCascade
    layout: Layout
    one: Cell
    bos: Cell
    vocab: list[str]
    letter: Cell
    level: list[Cell]  # level.i, each level's value (one-hot)
    old: list[Cell]  # old.i, level.i at t - 1
    reset: list[Cell]
    answer: Cell
    pos: Cell  # phi(lambda t), Lemma 1's table key
    table: Cell  # Lemma 1's table of j mod M
    prev: Cell  # phi(lambda (t - 1))
    m: int
    scale: float

    def finish(self, i: int, parts: list[FeedForward]) -> list[FeedForward]:
        """The level's feed-forward parts, with the answer after the last level."""
        if i != len(self.level) - 1:
            return parts
        return [_answer_ff(self.cascade, self.level, self.answer, self.one), *parts]


def _division(
    cascade: SolvableCascade, L: Layout, bos: Cell, vocab: list[str], letter: Cell
) -> tuple[DivisionBuilder, _Cascade]:
    """Lemma 1's table of j mod M (M = `table_modulus`) with phi(lambda (t - 1)) in its first
    layer (Lemma 7), and the levels' cells."""
    one, levels = L.one, cascade.levels
    n = len(levels)
    m = table_modulus(cascade)
    scale = counting.position_scale(m)
    if not m < max_modulus(scale):
        raise CompileError(f"the counters' table modulus {m} is past Lemma 1's limit")
    level = [
        L.code(f"level.{i}", [f"level.{i}={x}" for x in lv.labels], persistent=True)
        for i, lv in enumerate(levels)
    ]
    old = [
        L.code(f"old.{i}", [f"old.{i}={x}" for x in levels[i].labels], persistent=True)
        for i in range(n - 1)
    ]
    reset = [L.bool(f"reset.{i}", persistent=True) for i in range(n)]
    answer = L.bool("answer")
    div = DivisionBuilder(
        L, one=one, bos=bos, modulus=m, outputs=("remainder",), name="div", scale=scale,
        keep_position=True,
    )
    prev_psi, prev = L.psi("prev.psi"), L.phi("prev")
    term, needs = offset_term(prev_psi, 1, one=one, bos=bos, scale=scale)
    div.add("positions.uniform", term, *needs)
    div.add("positions.ff", psi_to_phi_ff(prev_psi, prev))
    div.describe("positions", "prev := phi(lambda (t - 1)) (Lemma 7)")
    ctx = _Cascade(
        cascade, L, one, bos, vocab, letter, level, old, reset, answer,
        div.position, div.table_remainder, prev, m, scale,
    )
    return div, ctx


def _level0(div: DivisionBuilder, ctx: _Cascade) -> dict[str, dict[Cell, np.ndarray]]:
    """Level 0 (a reset level: its value rv.0 is written by the embedding), read in the table's
    last layer by Lemma 10's rightmost-reset read (it needs only pos); the embedding."""
    cascade, vocab, one, reset = ctx.cascade, ctx.vocab, ctx.one, ctx.reset
    labels = cascade.levels[0].labels
    rv0 = ctx.layout.code("rv.0", [f"rv.0={x}" for x in labels])
    embedding = {}
    for a in vocab:
        v = cascade.start[0] if a == BOS else (KEEP if a == END else cascade.tables[0][((), a)])
        embedding[a] = {
            one: np.ones(1),
            ctx.bos: boolean(a == BOS),
            ctx.letter: _onehot(len(vocab), vocab.index(a)),
            reset[0]: boolean(v != KEEP),
            rv0: _onehot(len(labels), 0 if v == KEEP else v),
        }
    div.add("lookup.attn", nearest_previous_head(reset[0], ctx.pos, one, {rv0: ctx.level[0]}))
    div.add("lookup.ff", stack_ff(ctx.finish(0, [clear_ff([reset[0], rv0])])))
    div.declare("lookup", clears=(reset[0], rv0))
    div.describe("lookup", "level.0 := rv.0 of the last j <= t resetting it (Lemma 10)")
    return embedding


def _read_old(ctx: _Cascade, i: int):
    """old.(i-1) := level.(i-1) at t - 1 (equality lookup prev against pos): layer A's head."""
    return lookup_head(
        ctx.prev, ctx.pos, {ctx.level[i - 1]: ctx.old[i - 1]},
        note=f"old.{i - 1} := level.{i - 1} at t - 1",
    )


def _reset_level(ctx: _Cascade, i: int) -> list[Layer]:
    """A reset level (A, B): its table writes reset.i and the value rv.i; level.i := rv.i of
    the last j <= t resetting it (Lemma 10)."""
    cascade, one, reset = ctx.cascade, ctx.one, ctx.reset
    rv = ctx.layout.code(f"rv.{i}", [f"rv.{i}={x}" for x in cascade.levels[i].labels])
    return [
        Layer(
            f"solvable level {i} (reset, A): old.{i - 1}; reset.{i}, rv.{i} by its table",
            heads=[_read_old(ctx, i)],
            ff=_table_ff(cascade, i, ctx.old, ctx.letter, ctx.vocab, reset[i], {"rv": rv}, one),
        ),
        Layer(
            f"solvable level {i} (reset, B): level.{i} := rv.{i} of the last reset",
            heads=[nearest_previous_head(reset[i], ctx.pos, one, {rv: ctx.level[i]})],
            ff=stack_ff(ctx.finish(i, [clear_ff([reset[i], rv])])),
            clears=(reset[i], rv),
        ),
    ]


def _counter_level(ctx: _Cascade, i: int) -> list[Layer]:
    """A Z_p counter level (the module docstring's A, C1, C2, C3, D)."""
    L, p = ctx.layout, ctx.cascade.levels[i].modulus
    nb = counts_of(p)
    bits = [L.bool(f"bit.{i}.{b}", persistent=True) for b in range(nb)]
    cpsi = [L.psi(f"count.{i}.{b}.psi") for b in range(nb)]
    count = [L.phi(f"count.{i}.{b}") for b in range(nb)]
    rem = [L.phi(f"rem.{i}.{b}") for b in range(nb)]
    part = [L.code(f"part.{i}.{b}", [f"part.{i}.{b}={r}" for r in range(p)]) for b in range(nb)]
    base = [L.code(f"base.{i}.{b}", [f"base.{i}.{b}={r}" for r in range(p)]) for b in range(nb)]
    layers = [
        Layer(
            f"solvable level {i} (Z_{p} counter, A): old.{i - 1}; reset.{i} and the "
            "increment's bits by its table",
            heads=[_read_old(ctx, i)],
            ff=_table_ff(
                ctx.cascade, i, ctx.old, ctx.letter, ctx.vocab, ctx.reset[i], {"bits": bits},
                ctx.one,
            ),
        )
    ]
    counts, unclear = _counter_counts(ctx, i, bits, cpsi, count)
    layers += counts
    layers.append(_counter_parts(ctx, i, unclear, cpsi, count, rem, part))
    layers.append(_counter_difference(ctx, i, bits, part, base))
    return layers


def _counter_counts(
    ctx: _Cascade, i: int, bits: list[Cell], cpsi: list[Cell], count: list[Cell]
) -> tuple[list[Layer], UniformHead]:
    """C1, C2: the counts N_b(t) of the increment's bits as psi (Lemma 7's averages), then phi
    (each read alone); the head that clears the psi later (Lemma 4)."""
    nb = len(bits)
    uni = UniformHead(note=f"psi(lambda N_b) of level {i}'s bits (Lemma 7)")
    terms = []
    for b in range(nb):
        term, needs = count_term(
            cpsi[b], avg_flag(bits[b], f"bit.{i}.{b}"), bos=ctx.bos, scale=ctx.scale
        )
        uni.write(term, *needs)
        terms.append((term, needs))
    layers = [
        Layer(
            f"solvable level {i} (C1): the counts' psi; count.{i}.0 := phi",
            heads=[uni.head()],
            ff=psi_to_phi_ff(cpsi[0], count[0]),
        )
    ]
    if nb >= 2:
        layers.append(
            Layer(
                f"solvable level {i} (C2): the other counts' phi",
                heads=[psi_to_phi_head(cpsi[1], count[1])],
                ff=psi_to_phi_ff(cpsi[2], count[2]) if nb == 3 else None,
            )
        )
    unclear = UniformHead(note=f"clear level {i}'s count psi (Lemma 4)")
    for term, needs in terms:
        unclear.write(term.negated(), *needs)
    return layers, unclear


def _counter_parts(
    ctx: _Cascade,
    i: int,
    unclear: UniformHead,
    cpsi: list[Cell],
    count: list[Cell],
    rem: list[Cell],
    part: list[Cell],
) -> Layer:
    """C3: rem.i.b := N_b mod M by Lemma 1's table; part.i.b := one-hot of 2^b N_b mod p by
    threshold steps; the counts cleared (Lemma 4)."""
    p, m, one, nb = ctx.cascade.levels[i].modulus, ctx.m, ctx.one, len(count)
    steps = list(range(1, m))
    ffs = [constant_ff({c: _onehot(p, 0) for c in part}, one=one)]
    for b in range(nb):
        w = 1 << b
        cols = np.stack(
            [_onehot(p, w * r % p) - _onehot(p, w * (r - 1) % p) for r in steps], axis=1
        )
        ffs.append(
            threshold_steps(
                rem[b], [r - 0.5 for r in steps], {part[b]: cols}, one=one, scale=ctx.scale
            )
        )
    ffs.append(clear_ff([*rem, *count]))
    return Layer(
        f"solvable level {i} (C3): rem.{i}.b := N_b mod {m} (table lookup); "
        f"part.{i}.b := 2^b N_b mod {p}",
        heads=[
            unclear.head(),
            *(lookup_head(count[b], ctx.pos, {ctx.table: rem[b]}) for b in range(nb)),
        ],
        ff=stack_ff(ffs),
        clears=(*cpsi, *rem, *count),
    )


def _counter_difference(
    ctx: _Cascade, i: int, bits: list[Cell], part: list[Cell], base: list[Cell]
) -> Layer:
    """D: base.i.b := part.i.b at the last j <= t resetting level i (Lemma 10); level.i := one-hot
    of sum_b (part - base) mod p; clear part, base, bits, reset."""
    p, one, reset = ctx.cascade.levels[i].modulus, ctx.one, ctx.reset
    gone = [*part, *base]
    return Layer(
        f"solvable level {i} (D): base := parts at the last reset (Lemma 10); "
        f"level.{i} := sum_b (part - base) mod {p}",
        heads=[nearest_previous_head(reset[i], ctx.pos, one, dict(zip(part, base, strict=True)))],
        ff=stack_ff(
            [
                _difference_ff(p, part, base, ctx.level[i], one),
                clear_ff(gone, nonnegative=True),
                clear_ff([*bits, reset[i]]),
            ]
        ),
        clears=(*gone, *bits, reset[i]),
    )


def solvable_program(cascade: SolvableCascade) -> Program:
    """The layers of the module docstring for the expanded cascade."""
    L = Layout()
    one = L.one
    bos = L.bool("bos", persistent=True)
    vocab = [BOS, *cascade.alphabet, END]
    letter = L.code("letter", [f"letter={a}" for a in vocab], persistent=True)
    levels = cascade.levels
    n = len(levels)
    if n == 0:
        answer = L.bool("answer")
        layers = [
            Layer(
                "solvable: one state, the constant answer",
                ff=_answer_ff(cascade, [], answer, one),
            )
        ]
        embedding = {a: {one: np.ones(1), bos: boolean(a == BOS)} for a in vocab}
        m = 2
    else:
        div, ctx = _division(cascade, L, bos, vocab, letter)
        embedding = _level0(div, ctx)
        layers = div.layers()
        for i in range(1, n):
            if levels[i].kind == "reset":
                layers += _reset_level(ctx, i)
            else:
                layers += _counter_level(ctx, i)
        answer, m = ctx.answer, ctx.m
        if levels[-1].kind == "counter":
            layers.append(
                Layer(
                    "solvable answer: [the levels' configuration is accepting]",
                    ff=_answer_ff(cascade, ctx.level, answer, one),
                )
            )
    return Program(
        layout=L,
        vocab=vocab,
        embedding=embedding,
        initial=layers[:-1],
        repeated=[],
        final=layers[-1:],
        outputs=list(OUTPUTS),
        readout=word_readout(answer),
        depth_rule=DepthRule(count_tokens=tuple(cascade.alphabet), root=1),
        tie_tolerance=tie_tolerance(),
        input_format="word",
        construction=CONSTRUCTION,
        frontier=frontiers(m, n),
    )


def cascade_report(cascade: SolvableCascade) -> dict[str, Any]:
    """The expanded cascade as JSON, what `verify.solvable` reruns without this module: per
    level its kind, modulus (its number of values), values and table rows [upper values,
    letter, entry] (a reset level: -1 keeps, else the value written; a counter: ["reset", x]
    or ["add", k]); the start configuration; every reachable configuration and its state."""

    def entry(e: Any) -> Any:
        return e if isinstance(e, int) else [e[0], e[1]]

    return {
        "levels": [
            {
                "kind": lv.kind,
                "modulus": lv.modulus,
                "source": lv.source,
                "values": list(lv.labels),
                "table": [[list(u), a, entry(e)] for (u, a), e in sorted(
                    table.items(), key=lambda kv: (kv[0], str(kv[1])))],
            }
            for lv, table in zip(cascade.levels, cascade.tables, strict=True)
        ],
        "start": list(cascade.start),
        "configurations": [[list(c), s] for c, s in sorted(cascade.state_of.items())],
        "accept": sorted(cascade.accept),
    }


def compile_solvable(automaton: DFA | NFA, source: str | None = None) -> CompiledModel:
    """Compile a language whose syntactic monoid is solvable into the constant-depth cascade of
    reset levels and modular counters (module docstring), through the build driver
    (`logdepth.build`: `build_program`, then `report`). CompileError with classify's
    certificate for a non-solvable monoid, past the table limit, and for a counter modulus
    above MAX_COUNTER_MODULUS."""
    from logdepth.build import build  # the driver: program, hygiene, assembly, report

    return build(catalog.get("solvable"), automaton, source=source)


def build_program(automaton: DFA | NFA) -> Program:
    """The catalog's `program` for solvable monoids: the expanded cascade (refused past the
    counter and table limits) and its layers; the cascade and its table rows are the
    program's facts, for `report`."""
    if not isinstance(automaton, DFA | NFA):
        raise CompileError(f"cannot compile a {type(automaton).__name__} as a regular language")
    # Each reachable configuration is a row of the tables below it or of the answer, so past
    # MAX_TABLE_ROWS of them the build would be refused anyway: stop the search there.
    cascade = solvable_cascade(
        automaton, max_configurations=MAX_TABLE_ROWS, max_cyclic=MAX_COUNTER_MODULUS
    )
    for lv in cascade.levels:
        if lv.kind == "counter" and lv.modulus > MAX_COUNTER_MODULUS:
            raise CompileError(
                f"the cascade of {cascade.name!r} has a Z_{lv.modulus} counter (a prime "
                f"composition factor); the solvable construction reads at most {MAX_COUNTS} "
                f"counts per counter (modulus <= {MAX_COUNTER_MODULUS})"
            )
    rows = sum(len(_rows(cascade, i)) + 1 for i in range(1, len(cascade.levels)))
    rows += sum(1 for s in cascade.state_of.values() if s in cascade.accept)
    if rows > MAX_TABLE_ROWS:
        raise CompileError(
            f"the solvable cascade of {cascade.name!r} needs {rows:,} table rows, past the "
            f"limit of {MAX_TABLE_ROWS:,}"
        )
    program = solvable_program(cascade)
    program.facts = {"cascade": cascade, "table_rows": rows}
    return program


def report(program: Program, network) -> dict[str, Any]:
    """The catalog's `report` for solvable monoids (the cascade; the network's rounding)."""
    cascade: SolvableCascade = program.facts["cascade"]
    kinds = [[lv.kind, lv.modulus] for lv in cascade.levels]
    layers = layer_count([(k, mm) for k, mm in kinds])
    m = table_modulus(cascade) if cascade.levels else 2
    return {
        "theorem": THEOREM,
        "reference": REFERENCE,
        "construction": CONSTRUCTION,
        "states_minimized": len(set(cascade.state_of.values())),
        "alphabet": len(cascade.alphabet),
        "levels": len(cascade.levels),
        "level_kinds": kinds,
        "groups": [
            None if s is None else {"order": s.order, "structure": s.structure,
                                    "moduli": list(s.moduli)}
            for s in cascade.splits
        ],
        "table_modulus": m,
        "table_rows": program.facts["table_rows"],
        "cascade": cascade_report(cascade),
        "layers": f"{layers} (constant in n)",
        "layer_count": layers,
        "d_model": program.layout.d_model,
        **frontier_record(program, FRONTIER_METHOD,
                          lambda p: frontier_for_bits(p, m, len(cascade.levels))),
        "position_scale": counting.position_scale(m),
        "score_rounding_ulps": round(score_rounding_ulps(network), 1),
    }


__all__ = [
    "CONSTRUCTION",
    "build_program",
    "compile_solvable",
    "frontier_for_bits",
    "layer_count",
    "layers_of",
    "precision_model",
    "report",
    "score_gaps",
    "solvable_program",
]
