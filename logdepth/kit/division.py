"""Lemma 1 (division) as a 7-layer causal block, with Lemmas 9-11 inside.

Lemma 1: given a modulus m and, at each token i, phi(a_i) with 0 <= a_i <= i, add
phi(floor(a_i / m)) and phi(a_i mod m). As in the paper, the block first builds a table indexed
by position (row j holds floor(j/m) and j mod m) and then lets token i look up row a_i.

Hashes are scaled (hashing.POSITION_SCALE = lambda): integers are phi(lambda v). The modulus is
either a Python int (Theorem 1 divides by 2) or a phi cell holding phi(mu m) at every token,
mu = `modulus_scale` (Theorem 2 divides by the vertex count n). The dividend is a phi cell
holding phi(lambda a_i), or None for the position itself (then the table row j is the answer).

How each step is made robust in floating point (docs/errata.md has the paper's versions):

- Lemma 9/10 (floor(j/m)). The paper attends from phi(j/m) to the nearest phi(k), tests
  equality to find the multiples of m, then attends to the nearest previous multiple. We attend
  from the *centred* query phi(lambda (j - (m-1)/2) / m) to the keys phi(lambda k): the query
  lies within (m-1)/(2m) of q = floor(j/m), and the angular Voronoi cell of phi(lambda q) reaches
  within lambda/8 of q +- 1/2, so for m < 4/lambda the unique best key is q (a pure argmax, no
  threshold; `hashing.floor_margin` is the score margin). Its value phi(lambda q) is the table's
  quotient.
- Lemma 9 (e_j = [m | j]). One sign read: j is a multiple iff (j - 1/2)/m < q, i.e. iff
  S = [phi(lambda (j - 1/2)/m)]_0 - [phi(lambda q)]_0 < 0. S is never near 0 (its size is half a
  hash spacing), so a sign read (exactly +-1) gives e_j exactly; no equality test on values that
  were computed along different paths.
- Lemma 11 (j mod m). The paper averages over the current block with noisy ties. We count:
  the multiples of m in 1..j number q, so a uniform head gives (j - m q)/(j + 1) linearly
  (constant m) or through a gated copy of phi(mu m) at the multiples (modulus in a cell).
- Lookup (layer 6 in the paper). An equality retrieval of row a_i (a_i <= i: causal).

Layer by layer. Cells are named `<name>.<cell>` (`name` is the builder's argument, e.g. "act");
each layer is a named step, and a host construction adds its own work to the free slots below.

  1 positions     attn  pos.psi := psi(lambda j)                          (uniform head)
                        [int m] query.psi := psi(lambda (j - (m-1)/2)/m),
                                probe.psi := psi(lambda (j - 1/2)/m)
                  ff    [modulus cell] m_at_bos := phi(mu m) at j = 0, else ORTHOGONAL (gate)
  2 queries       attn  [modulus cell] query.psi, probe.psi as above, through m_at_bos (uniform)
                  ff    pos := phi(lambda j)                              (reads pos.psi alone)
  3 query_hashes  attn  query := phi(query.psi)                (reads query.psi alone, self-match)
                  ff    probe := phi(probe.psi)               (reads probe.psi alone; none if m = 2)
  4 floor         attn  floor := phi(lambda floor(j/m)) by the floor retrieval (query -> pos)
                  ff    mult_test := [probe]_0 - [floor]_0; mult := (1/2, 1/2)
  5 multiple      attn  mult += (-sgn mult_test, sgn mult_test)/2, so mult = [m | j]
                                                                       (reads mult_test alone)
                  ff    [modulus cell] m_at_mult := phi(mu m) where m | j, j > 0, else ORTHOGONAL
  6 remainder     attn  mod.psi := psi(lambda (j - m floor(j/m))) (Lemma 11); clear pos.psi,
                        query.psi, probe.psi (Lemma 4: recompute, subtract)    (uniform head)
                  ff    mod := phi(lambda (j mod m))                      (reads mod.psi alone)
  7 lookup        attn  look up row a_i: copy floor, mod of the key with hash a_i; clear mod.psi
                  ff    clear every temporary (Lemma 5; mult_test by recomputation, Lemma 6)

Slots for a host construction (Theorem 1's 8-layer block, Theorem 2's layers 2-8): each step has
"<step>.uniform" (a psi term in the step's uniform head, which saves a head), "<step>.attn" (an
extra head) and "<step>.ff" (extra feed-forward units). A slot is free when the block's own
sublayer there reads only unit cells, or nothing: a cell of variable norm (psi, scalar) must be
read alone, so queries.ff, query_hashes.attn, query_hashes.ff (for m > 2), multiple.attn and
remainder.ff are taken, and `DivisionBuilder.add` refuses them. With an int modulus,
positions.ff, queries.attn and multiple.ff are empty: a host may read a psi alone there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from logdepth.compiler.cells import PICK_A, PICK_B, Cell, Layout
from logdepth.compiler.program import FeedForward, Head, Layer, unique_cells
from logdepth.errors import CompileError
from logdepth.kit.feedforward import clear_ff, linear_ff, stack_ff
from logdepth.kit.gadgets import (
    avg_bos,
    avg_flag,
    gate_ff,
    lookup_head,
    sign_read_head,
)
from logdepth.kit.hashing import (
    ORTHOGONAL,
    POSITION_SCALE,
    Average,
    PsiTerm,
    UniformHead,
    average_of,
    psi_to_phi_ff,
    psi_to_phi_head,
)

# Lemma 1's layers, in order, named for what each computes (the module docstring's table).
STEPS = ("positions", "queries", "query_hashes", "floor", "multiple", "remainder", "lookup")
LAYERS = len(STEPS)
# The three kinds of slot in every step: a psi term in the step's uniform head, an extra head,
# extra feed-forward units.
SLOT_KINDS = ("uniform", "attn", "ff")
SLOTS = tuple(f"{step}.{kind}" for step in STEPS for kind in SLOT_KINDS)


def max_modulus(scale: float = POSITION_SCALE) -> float:
    """Largest modulus the floor retrieval supports: the centred query stays (m-1)/(2m) from q,
    the Voronoi cell of q reaches q + 1/2 - scale/8, so we need 1/(2m) > scale/8."""
    return 4.0 / scale


@dataclass
class DivisionBlock:
    """The 7 layers of Lemma 1 and the cells they leave behind.

    quotient / remainder: phi(lambda floor(a_i/m)) and phi(lambda (a_i mod m)) at every token,
    written by layer 7 (not cleared: the caller owns them). `position` is phi(lambda j), the
    table's key; it is cleared by layer 7 unless `keep_position`.
    """

    layers: list[Layer]
    quotient: Cell | None
    remainder: Cell | None
    position: Cell


def _variable_norm(cells: Iterable[Cell]) -> list[Cell]:
    return [c for c in cells if c.norm is None]


class DivisionBuilder:
    """Builds Lemma 1's layers; a host construction may add work to the free slots (`add`,
    `declare`, `describe`; the module docstring names the slots) before calling `layers()`, or
    take the plain block with `block()`.

    Lemma 1: a 7-layer causal block adding phi(lambda floor(a_i/m)) and phi(lambda (a_i mod m)).

    layout: where the block allocates its cells (names prefixed with `name`).
    one, bos: the constant-one cell and the BoS flag (bool) of the host program.
    modulus: an int m (2 <= m < 4/lambda), or a phi cell holding phi(mu m) at every token
        (mu = modulus_scale; Theorem 2 divides by n this way).
    dividend: a phi cell holding phi(lambda a_i), 0 <= a_i <= i; None divides the position i.
    outputs: which of "quotient", "remainder" to write (new phi cells, returned in the block;
        with dividend None they are the table's own cells).
    keep_position: leave phi(lambda j) (the table key, `position`) in the stream.

    The cells (members, each `<name>.<layout name>`): `position_psi` (pos.psi) and `position`
    (pos): psi and phi of lambda j; `floor_query_psi` (query.psi) and `floor_query` (query): the
    centred floor query lambda (j - (m-1)/2)/m; `probe_psi` (probe.psi) and `probe` (probe):
    lambda (j - 1/2)/m, the multiple test's reference (the floor query itself when m = 2);
    `table_quotient` (floor): phi(lambda floor(j/m)); `multiple_test` (mult_test): the scalar
    [probe]_0 - [floor]_0, negative iff m | j; `is_multiple` (mult): the bool [m | j];
    `table_remainder_psi` (mod.psi) and `table_remainder` (mod): lambda (j mod m); for a modulus
    cell `modulus_at_bos` (m_at_bos) and `modulus_at_multiples` (m_at_mult): phi(mu m) at BoS,
    resp. at the multiples j > 0, ORTHOGONAL elsewhere.
    """

    def __init__(
        self,
        layout: Layout,
        *,
        one: Cell,
        bos: Cell,
        modulus: int | Cell,
        modulus_scale: float = 1.0,
        dividend: Cell | None = None,
        outputs: tuple[str, ...] = ("quotient", "remainder"),
        name: str = "div",
        scale: float = POSITION_SCALE,
        keep_position: bool = False,
    ) -> None:
        if isinstance(modulus, int):
            if not 2 <= modulus < max_modulus(scale):
                raise CompileError(
                    f"Lemma 1: modulus {modulus} outside 2..{max_modulus(scale):g} "
                    "(the floor retrieval's margin)"
                )
        elif modulus.kind != "phi":
            raise CompileError(f"Lemma 1: the modulus cell {modulus.name!r} must be a phi cell")
        for out in outputs:
            if out not in ("quotient", "remainder"):
                raise CompileError(f"Lemma 1: unknown output {out!r}")
        self.layout = layout
        self.one, self.bos = one, bos
        self.modulus = modulus
        self.modulus_scale = modulus_scale
        self.dividend = dividend
        self.outputs = outputs
        self.name = name
        self.scale = scale
        self.keep_position = keep_position
        self.int_modulus = isinstance(modulus, int)
        # (m-1)/2 = 1/2: the floor query and the multiple probe coincide.
        self.probe_is_query = self.int_modulus and modulus == 2

        self._uniform = [UniformHead(note=f"{name} uniform averages") for _ in range(LAYERS)]
        self._heads: list[list[Head]] = [[] for _ in range(LAYERS)]
        self._ffs: list[list[FeedForward]] = [[] for _ in range(LAYERS)]
        self._clears: list[list[Cell]] = [[] for _ in range(LAYERS)]
        self._updates: list[list[Cell]] = [[] for _ in range(LAYERS)]
        self._texts: list[list[str]] = [[] for _ in range(LAYERS)]
        self._build()
        # What the block itself reads in each sublayer: a host may add to a sublayer only if
        # these are unit cells (a psi or scalar must be read alone).
        self._own_attn_reads = [self._attention_reads(k) for k in range(LAYERS)]
        self._own_ff_reads = [self._ff_reads(k) for k in range(LAYERS)]

    # -- the block -------------------------------------------------------------------------
    def _build(self) -> None:
        """Lemma 1's seven steps, in order (the module docstring's table)."""
        self._allocate()
        a_bos = avg_bos(self.bos)
        a_notbos = average_of("notbos", self.bos, [0.0, 1.0])  # j / (j + 1)
        p_term = self._build_positions(a_bos, a_notbos)
        f_term, g_term, needs = self._build_queries(a_bos, a_notbos)
        self._build_floor(p_term, f_term, g_term, needs, a_bos, a_notbos)
        self._build_multiple()
        r_term, r_needs = self._build_remainder(a_bos, a_notbos)
        self._build_lookup(r_term, r_needs)

    def _allocate(self) -> None:
        """The block's cells, in this order (the layout's column order; the gated modulus
        cells come later, with the steps that write them)."""
        L, n = self.layout, self.name
        self.position_psi = L.psi(f"{n}.pos.psi")
        self.position = L.phi(f"{n}.pos")
        self.floor_query_psi = L.psi(f"{n}.query.psi")
        self.floor_query = L.phi(f"{n}.query")
        if self.probe_is_query:
            self.probe_psi, self.probe = self.floor_query_psi, self.floor_query
        else:
            self.probe_psi = L.psi(f"{n}.probe.psi")
            self.probe = L.phi(f"{n}.probe")
        self.table_quotient = L.phi(f"{n}.floor")
        self.multiple_test = L.scalar(f"{n}.mult_test")
        self.is_multiple = L.bool(f"{n}.mult")
        self.table_remainder_psi = L.psi(f"{n}.mod.psi")
        self.table_remainder = L.phi(f"{n}.mod")
        self.modulus_at_bos: Cell | None = None
        self.modulus_at_multiples: Cell | None = None
        self.quotient: Cell | None = None
        self.remainder: Cell | None = None
        if self.dividend is not None:
            if "quotient" in self.outputs:
                self.quotient = L.phi(f"{n}.quotient")
            if "remainder" in self.outputs:
                self.remainder = L.phi(f"{n}.remainder")
        else:
            self.quotient = self.table_quotient if "quotient" in self.outputs else None
            self.remainder = self.table_remainder if "remainder" in self.outputs else None

    def _build_positions(self, a_bos: Average, a_notbos: Average) -> PsiTerm:
        """Layer 1: positions (Lemma 7 with k = 0); the gated modulus phi(mu m) at BoS."""
        n, at = self.name, STEPS.index("positions")
        p_term = PsiTerm(self.position_psi, a={"notbos": self.scale}, b={"bos": 1.0})
        self._uniform[at].write(p_term, a_notbos, a_bos)
        self._texts[at].append(f"{n}: pos.psi = psi(lambda j) (Lemma 7)")
        if not self.int_modulus:
            self.modulus_at_bos = self.layout.phi(f"{n}.m_at_bos")
            self._ffs[at].append(
                gate_ff(
                    {self.bos: [1.0, 0.0]},
                    self.modulus,
                    self.modulus_at_bos,
                    ORTHOGONAL,
                    one=self.one,
                    note=f"{n}: m_at_bos = [j = 0] phi(mu m)",
                )
            )
            self._texts[at].append(f"{n}: m_at_bos = phi(mu m) at BoS")
        return p_term

    def _build_queries(
        self, a_bos: Average, a_notbos: Average
    ) -> tuple[PsiTerm, PsiTerm, list[Average]]:
        """Layers 2-3: the centred floor query and the multiple test's probe (Lemmas 9-10's
        inputs) as psi, then as phi (the query by a self-match head, the probe in the ff)."""
        n = self.name
        queries, hashes = STEPS.index("queries"), STEPS.index("query_hashes")
        # With an int modulus they need no gated cell, so layer 1's head writes them (one head
        # less per block); with a modulus cell they wait for m_at_bos.
        f_term, g_term, needs = self._query_terms(a_bos, a_notbos)
        at = STEPS.index("positions") if self.int_modulus else queries
        self._uniform[at].write(f_term, *needs)
        if not self.probe_is_query:
            self._uniform[at].write(g_term, *needs)
        self._ffs[queries].append(psi_to_phi_ff(self.position_psi, self.position))
        self._texts[queries].append(
            f"{n}: query.psi = psi(lambda (j - (m-1)/2)/m), probe.psi = psi(lambda (j - 1/2)/m); "
            "pos.psi -> phi"
        )
        # Layer 3: convert the floor query (attention, self-match) and the probe (feed-forward).
        self._heads[hashes].append(psi_to_phi_head(self.floor_query_psi, self.floor_query))
        if not self.probe_is_query:
            self._ffs[hashes].append(psi_to_phi_ff(self.probe_psi, self.probe))
        self._texts[hashes].append(f"{n}: query.psi, probe.psi -> phi")
        return f_term, g_term, needs

    def _multiple_test_ff(self, sign: float) -> FeedForward:
        """mult_test += sign ([probe]_0 - [floor]_0): Lemma 9's S (sign 1), or its removal by
        recomputation (sign -1, Lemma 6)."""
        return linear_ff(
            [
                (
                    {self.probe: PICK_A[None, :], self.table_quotient: -PICK_A[None, :]},
                    {self.multiple_test: np.array([[sign]])},
                )
            ]
        )

    def _build_floor(
        self,
        p_term: PsiTerm,
        f_term: PsiTerm,
        g_term: PsiTerm,
        needs: list[Average],
        a_bos: Average,
        a_notbos: Average,
    ) -> None:
        """Layer 4: the floor retrieval (Lemmas 9-10) and Lemma 9's sign input S. The psi cells
        are removed later, by the remainder step's uniform head (Lemma 4's second half), so
        that no extra head is needed."""
        n, at = self.name, STEPS.index("floor")
        self._heads[at].append(
            lookup_head(
                self.floor_query,
                self.position,
                {self.position: self.table_quotient},
                note=f"{n}: floor(j/m) by the centred query (Lemmas 9-10)",
            )
        )
        remainder_head = self._uniform[STEPS.index("remainder")]
        remainder_head.write(p_term.negated(), a_notbos, a_bos)
        remainder_head.write(f_term.negated(), *needs)
        clears = [self.position_psi, self.floor_query_psi]
        if not self.probe_is_query:
            remainder_head.write(g_term.negated(), *needs)
            clears.append(self.probe_psi)
        self._clears[STEPS.index("remainder")].extend(clears)
        self._ffs[at].append(
            stack_ff(
                [
                    self._multiple_test_ff(1.0),
                    FeedForward(
                        w_in={self.one: np.array([[1.0]])},
                        w_out={self.is_multiple: np.array([[0.5], [0.5]])},
                    ),
                ],
                note=f"{n}: mult_test = [probe]_0 - [floor]_0; mult = (1/2, 1/2)",
            )
        )
        self._texts[at].append(
            f"{n}: floor = phi(lambda floor(j/m)); mult_test = [probe]_0 - [floor]_0"
        )

    def _build_multiple(self) -> None:
        """Layer 5: mult = [mult_test < 0] = [m | j] (Lemma 9 as a sign read, Appendix A.1);
        the gated modulus phi(mu m) at the multiples j > 0."""
        n, at = self.name, STEPS.index("multiple")
        mult = self.is_multiple
        self._heads[at].append(
            sign_read_head(
                self.multiple_test,
                mult,
                np.array([[-0.5], [0.5]]),
                note=f"{n}: mult = [m | j] = [mult_test < 0]",
            )
        )
        self._updates[at].append(mult)
        self._texts[at].append(f"{n}: mult = [m | j] (sign of mult_test)")
        if not self.int_modulus:
            self.modulus_at_multiples = self.layout.phi(f"{n}.m_at_mult")
            self._ffs[at].append(
                gate_ff(
                    {mult: [1.0, 0.0], self.bos: [-1.0, 0.0]},
                    self.modulus,
                    self.modulus_at_multiples,
                    ORTHOGONAL,
                    one=self.one,
                    note=f"{n}: m_at_mult = [m | j, j > 0] phi(mu m)",
                )
            )

    def _build_remainder(self, a_bos: Average, a_notbos: Average) -> tuple[PsiTerm, list[Average]]:
        """Layer 6: the remainder j mod m by counting multiples (Lemma 11)."""
        n, at = self.name, STEPS.index("remainder")
        r_term, r_needs = self._remainder_term(a_bos, a_notbos)
        self._uniform[at].write(r_term, *r_needs)
        self._ffs[at].append(psi_to_phi_ff(self.table_remainder_psi, self.table_remainder))
        self._texts[at].append(f"{n}: mod.psi = psi(lambda (j mod m)) (Lemma 11); -> phi")
        return r_term, r_needs

    def _build_lookup(self, r_term: PsiTerm, r_needs: list[Average]) -> None:
        """Layer 7: the lookup of row a_i (the paper's layer 6), then clear everything
        (Lemma 5; mult_test by recomputation, Lemma 6)."""
        n, at = self.name, STEPS.index("lookup")
        floor, mod = self.table_quotient, self.table_remainder
        if self.dividend is not None:
            values = {}
            if self.quotient is not None:
                values[floor] = self.quotient
            if self.remainder is not None:
                values[mod] = self.remainder
            if values:
                self._heads[at].append(
                    lookup_head(
                        self.dividend,
                        self.position,
                        values,
                        note=f"{n}: look up row a_i (Lemma 1, layer 6)",
                    )
                )
        self._uniform[at].write(r_term.negated(), *r_needs)
        self._clears[at].append(self.table_remainder_psi)
        gone = self._temporaries()
        parts = [clear_ff(gone, note=f"{n}: clear temporaries (Lemma 5)")]
        # mult_test is a scalar (read alone only): remove it by recomputing it from the probe
        # and the floor (Lemma 6).
        parts.append(self._multiple_test_ff(-1.0))
        self._ffs[at].append(stack_ff(parts, note=f"{n}: clear temporaries (Lemmas 5-6)"))
        self._clears[at].extend(gone + [self.multiple_test])
        self._texts[at].append(f"{n}: look up row a_i; clear temporaries")

    def _temporaries(self) -> list[Cell]:
        """The unit cells the lookup step clears (Lemma 5): all but the caller's outputs."""
        gone = [self.floor_query, self.is_multiple]
        if not self.probe_is_query:
            gone.append(self.probe)
        if not self.keep_position:
            gone.append(self.position)
        if self.dividend is not None or "quotient" not in self.outputs:
            gone.append(self.table_quotient)
        if self.dividend is not None or "remainder" not in self.outputs:
            gone.append(self.table_remainder)
        for gated in (self.modulus_at_bos, self.modulus_at_multiples):
            if gated is not None:
                gone.append(gated)
        return gone

    def _query_terms(
        self, a_bos: Average, a_notbos: Average
    ) -> tuple[PsiTerm, PsiTerm, list[Average]]:
        """query.psi = psi(lambda (j - (m-1)/2)/m) and probe.psi = psi(lambda (j - 1/2)/m) as
        uniform averages."""
        lam = self.scale
        if self.int_modulus:
            m = float(self.modulus)  # type: ignore[arg-type]
            f = PsiTerm(
                self.floor_query_psi,
                a={"notbos": lam / m, "bos": -lam * (m - 1) / (2 * m)},
                b={"bos": 1.0},
            )
            g = PsiTerm(
                self.probe_psi, a={"notbos": lam / m, "bos": -lam / (2 * m)}, b={"bos": 1.0}
            )
            return f, g, [a_notbos, a_bos]
        # Modulus in a cell: phi(mu m) = (mu m c, c, ...)/.., c = 1/sqrt(2 mu^2 m^2 + 2).
        # X = c/(j+1) = avg [m_at_bos]_b, Y = m c/(j+1) = avg [m_at_bos]_a / mu, Z = c j/(j+1)
        # = c - X.
        assert self.modulus_at_bos is not None
        mu = self.modulus_scale
        a_b0 = average_of("m_at_bos.a", self.modulus_at_bos, PICK_A)
        a_b1 = average_of("m_at_bos.b", self.modulus_at_bos, PICK_B)
        a_c1 = average_of("modulus.b", self.modulus, PICK_B)  # type: ignore[arg-type]
        # query: a = lam (Z - Y/2 + X/2), b = Y;  probe: a = lam (Z - X/2), b = Y.
        f = PsiTerm(
            self.floor_query_psi,
            a={"modulus.b": lam, "m_at_bos.b": -lam / 2, "m_at_bos.a": -lam / (2 * mu)},
            b={"m_at_bos.a": 1.0 / mu},
        )
        g = PsiTerm(
            self.probe_psi,
            a={"modulus.b": lam, "m_at_bos.b": -1.5 * lam},
            b={"m_at_bos.a": 1.0 / mu},
        )
        return f, g, [a_b0, a_b1, a_c1]

    def _remainder_term(self, a_bos: Average, a_notbos: Average) -> tuple[PsiTerm, list[Average]]:
        """mod.psi = psi(lambda (j - m q)) with q = number of multiples of m in 1..j."""
        lam = self.scale
        a_mult = avg_flag(self.is_multiple, f"{self.name}.mult")
        if self.int_modulus:
            m = float(self.modulus)  # type: ignore[arg-type]
            # (j - m q)/(j+1) = notbos - m (avg mult - avg bos): mult_0 = 1 counts BoS as a
            # multiple.
            term = PsiTerm(
                self.table_remainder_psi,
                a={"notbos": lam, a_mult.name: -lam * m, "bos": lam * m},
                b={"bos": 1.0},
            )
            return term, [a_notbos, a_bos, a_mult]
        assert self.modulus_at_bos is not None and self.modulus_at_multiples is not None
        mu = self.modulus_scale
        a_b1 = average_of("m_at_bos.b", self.modulus_at_bos, PICK_B)  # X = c/(j+1)
        a_c1 = average_of("modulus.b", self.modulus, PICK_B)  # type: ignore[arg-type]  # c
        a_e0 = average_of("m_at_mult.a", self.modulus_at_multiples, PICK_A)  # mu m c q/(j+1)
        # a = lam (Z - m c q/(j+1)) = lam (c - X - avg[m_at_mult]_a / mu), b = X.
        term = PsiTerm(
            self.table_remainder_psi,
            a={"modulus.b": lam, "m_at_bos.b": -lam, "m_at_mult.a": -lam / mu},
            b={"m_at_bos.b": 1.0},
        )
        return term, [a_b1, a_c1, a_e0]

    # -- what each sublayer reads ----------------------------------------------------------------
    def _attention_reads(self, k: int) -> list[Cell]:
        heads = list(self._heads[k])
        if self._uniform[k].terms:
            heads.append(self._uniform[k].head())
        return unique_cells([c for h in heads for c in h.reads()])

    def _ff_reads(self, k: int) -> list[Cell]:
        return unique_cells([c for f in self._ffs[k] for c in f.reads()])

    # -- host access -------------------------------------------------------------------------
    def _step(self, step: str) -> int:
        if step not in STEPS:
            raise CompileError(
                f"Lemma 1 ({self.name}): no step {step!r}; the steps are {', '.join(STEPS)}"
            )
        return STEPS.index(step)

    def add(self, slot: str, part: PsiTerm | Head | FeedForward, *averages: Average) -> None:
        """Add a host's work to a free slot "<step>.<kind>" (module docstring): a psi term (and
        the averages it needs) to "<step>.uniform", a Head to "<step>.attn", a FeedForward to
        "<step>.ff". Refuses a slot whose sublayer the block reads a psi or scalar alone in, and
        a part that would read a psi or scalar together with other cells."""
        step, _, kind = slot.partition(".")
        if slot not in SLOTS:
            raise CompileError(
                f"Lemma 1 ({self.name}): no slot {slot!r}; slots are <step>.<kind> with steps "
                f"{', '.join(STEPS)} and kinds {', '.join(SLOT_KINDS)}"
            )
        k = self._step(step)
        want = {"uniform": PsiTerm, "attn": Head, "ff": FeedForward}[kind]
        if not isinstance(part, want):
            raise CompileError(
                f"Lemma 1 ({self.name}): slot {slot!r} takes a {want.__name__}, "
                f"not a {type(part).__name__}"
            )
        if averages and kind != "uniform":
            raise CompileError(f"Lemma 1 ({self.name}): averages go with a psi term only")
        # A psi term reads the cells its averages read; a head or feed-forward its own cells.
        reads = (
            [c for avg in averages for c in avg.of] if isinstance(part, PsiTerm) else part.reads()
        )
        if kind == "ff":
            own, before = self._own_ff_reads[k], self._ff_reads(k)
        else:
            own, before = self._own_attn_reads[k], self._attention_reads(k)
        taken = _variable_norm(own)
        if taken:
            raise CompileError(
                f"Lemma 1 ({self.name}): slot {slot!r} is not free: the block's sublayer there "
                f"reads {taken[0].kind} cell {taken[0].name!r} alone"
            )
        together = unique_cells(before + list(reads))
        alone = _variable_norm(together)
        if alone and len(together) > 1:
            raise CompileError(
                f"Lemma 1 ({self.name}): slot {slot!r}: {alone[0].kind} cell "
                f"{alone[0].name!r} must be read alone, but that sublayer would also read "
                f"{', '.join(c.name for c in together if c is not alone[0])}"
            )
        if isinstance(part, PsiTerm):
            self._uniform[k].write(part, *averages)
        elif isinstance(part, Head):
            self._heads[k].append(part)
        else:
            self._ffs[k].append(part)

    def declare(
        self, step: str, *, clears: Iterable[Cell] = (), updates: Iterable[Cell] = ()
    ) -> None:
        """Enter a host's cells in a step's hygiene ledger: `clears` (returned to zero by its
        parts there), `updates` (live cells its parts change by a delta)."""
        k = self._step(step)
        self._clears[k].extend(clears)
        self._updates[k].extend(updates)

    def describe(self, step: str, text: str) -> None:
        """Add what a host's work in a step computes to that layer's text."""
        self._texts[self._step(step)].append(text)

    def layers(self) -> list[Layer]:
        """The block's layers (with whatever a host added)."""
        out = []
        for k in range(LAYERS):
            heads = list(self._heads[k])
            if self._uniform[k].terms:
                heads.insert(0, self._uniform[k].head())
            ffs = [f for f in self._ffs[k] if f.units]
            ff = stack_ff(ffs) if ffs else None
            text = f"Lemma 1 ({self.name}) layer {k + 1}: " + "; ".join(self._texts[k])
            out.append(
                Layer(
                    text,
                    heads=heads,
                    ff=ff,
                    clears=tuple(self._clears[k]),
                    updates=tuple(self._updates[k]),
                )
            )
        return out

    def block(self) -> DivisionBlock:
        return DivisionBlock(self.layers(), self.quotient, self.remainder, self.position)
