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

Layer by layer (the 8-layer Theorem 1 block adds its own heads to the free slots):

  1 attn  P := psi(lambda j)                                   (uniform head)
          [int m] F := psi(lambda (j - (m-1)/2)/m), G := psi(lambda (j - 1/2)/m)
    ff    [modulus cell] B := (j = 0 ? phi(mu m) : w)          (gate; w is orthogonal to reads)
  2 attn  [modulus cell] F, G as above, through B              (uniform)
    ff    P -> phi                                             (reads P alone)
  3 attn  F -> phi                                             (reads F alone, self-match)
    ff    G -> phi                                             (reads G alone; skipped if m = 2)
  4 attn  T1 := phi(lambda floor(j/m)) by the floor retrieval
    ff    S := [G]_0 - [T1]_0; e := (1/2, 1/2)
  5 attn  e += (-sgn S / 2, sgn S / 2)  => e = [m | j]          (reads S alone)
    ff    [modulus cell] E := (e and not BoS ? phi(mu m) : w)  (gate)
  6 attn  T2 := psi(lambda (j - m floor(j/m))); clear P, F, G (Lemma 4: recompute, subtract)
    ff    T2 -> phi                                            (reads T2 alone)
  7 attn  lookup row a_i: copy T1, T2 of the key with hash a_i; clear T2 psi
    ff    clear every temporary (Lemma 5)

Free for a host construction: layer 1 ff and layer 5 ff when m is an int (they may read a psi
alone), and extra heads/units in every sublayer that reads only unit cells (attn 1, 2, 4, 6, 7;
ff 4, 7, and ff 1, 5 for a modulus cell). With an int modulus, attention 2 is empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from logdepth.compiler.cells import PICK_A, PICK_B, Cell, Layout
from logdepth.compiler.program import FeedForward, Head, Layer
from logdepth.constructions.gadgets import (
    avg_bos,
    avg_flag,
    gate_ff,
    lookup_head,
    sign_read_head,
)
from logdepth.constructions.hashing import (
    ORTHOGONAL,
    POSITION_SCALE,
    Average,
    PsiTerm,
    UniformHead,
    average_of,
    clear_ff,
    linear_ff,
    psi_to_phi_ff,
    psi_to_phi_head,
    stack_ff,
)
from logdepth.errors import CompileError

LAYERS = 7


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
    temporaries: list[Cell] = field(default_factory=list)


class DivisionBuilder:
    """Builds Lemma 1's layers; a host construction may add work to the free slots before
    calling `layers()` (see the module docstring for which sublayers are free), or take the
    plain block with `block()`.

    Lemma 1: a 7-layer causal block adding phi(lambda floor(a_i/m)) and phi(lambda (a_i mod m)).

    layout: where the block allocates its cells (names prefixed with `name`).
    one, bos: the constant-one cell and the BoS flag (bool) of the host program.
    modulus: an int m (2 <= m < 4/lambda), or a phi cell holding phi(mu m) at every token
        (mu = modulus_scale; Theorem 2 divides by n this way).
    dividend: a phi cell holding phi(lambda a_i), 0 <= a_i <= i; None divides the position i.
    outputs: which of "quotient", "remainder" to write (new phi cells, returned in the block;
        with dividend None they are the table's own cells).
    keep_position: leave phi(lambda j) (the table key, `block.position`) in the stream.
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
        self.mu = modulus_scale
        self.dividend = dividend
        self.outputs = outputs
        self.name = name
        self.scale = scale
        self.keep_position = keep_position
        self.constant = isinstance(modulus, int)
        self.same_fg = self.constant and modulus == 2  # (m-1)/2 = 1/2: F and G coincide

        self.uniform = [UniformHead(note=f"{name} uniform averages") for _ in range(LAYERS)]
        self.heads: list[list[Head]] = [[] for _ in range(LAYERS)]
        self.ffs: list[list[FeedForward]] = [[] for _ in range(LAYERS)]
        self.clears: list[list[Cell]] = [[] for _ in range(LAYERS)]
        self.updates: list[list[Cell]] = [[] for _ in range(LAYERS)]
        self.texts: list[list[str]] = [[] for _ in range(LAYERS)]
        self._build()

    # -- the block -------------------------------------------------------------------------
    def _build(self) -> None:
        L, n, lam = self.layout, self.name, self.scale
        one, bos = self.one, self.bos
        self.P = L.psi(f"{n}.P")
        self.Pphi = L.phi(f"{n}.pos")
        self.F = L.psi(f"{n}.F")
        self.Fphi = L.phi(f"{n}.Fq")
        if self.same_fg:
            self.G, self.Gphi = self.F, self.Fphi
        else:
            self.G = L.psi(f"{n}.G")
            self.Gphi = L.phi(f"{n}.Gq")
        self.T1 = L.phi(f"{n}.floor")
        self.S = L.scalar(f"{n}.S")
        self.e = L.bool(f"{n}.mult")
        self.T2 = L.psi(f"{n}.R")
        self.T2phi = L.phi(f"{n}.mod")
        self.B: Cell | None = None
        self.E: Cell | None = None
        self.quotient: Cell | None = None
        self.remainder: Cell | None = None
        if self.dividend is not None:
            if "quotient" in self.outputs:
                self.quotient = L.phi(f"{n}.quotient")
            if "remainder" in self.outputs:
                self.remainder = L.phi(f"{n}.remainder")
        else:
            self.quotient = self.T1 if "quotient" in self.outputs else None
            self.remainder = self.T2phi if "remainder" in self.outputs else None

        a_bos = avg_bos(bos)
        a_notbos = average_of("notbos", bos, [0.0, 1.0])  # j / (j + 1)

        # Layer 1: positions (Lemma 7 with k = 0); the gated modulus.
        p_term = PsiTerm(self.P, a={"notbos": lam}, b={"bos": 1.0})
        self.uniform[0].write(p_term, a_notbos, a_bos)
        self.texts[0].append(f"{n}: P = psi(lambda j) (Lemma 7)")
        if not self.constant:
            self.B = L.phi(f"{n}.Bm")
            self.ffs[0].append(
                gate_ff(
                    {bos: [1.0, 0.0]},
                    self.modulus,
                    self.B,
                    ORTHOGONAL,
                    one=one,
                    note=f"{n}: B = [j = 0] phi(mu m)",
                )
            )
            self.texts[0].append(f"{n}: B = phi(mu m) at BoS")

        # Layer 2: the floor query F and the multiple test's reference G.
        # With an int modulus they need no gated cell, so layer 1's head writes them (one head
        # less per block); with a modulus cell they wait for B.
        f_term, g_term, needs = self._query_terms(a_bos, a_notbos)
        at = 0 if self.constant else 1
        self.uniform[at].write(f_term, *needs)
        if not self.same_fg:
            self.uniform[at].write(g_term, *needs)
        self.ffs[1].append(psi_to_phi_ff(self.P, self.Pphi))
        self.texts[1].append(
            f"{n}: F = psi(lambda (j - (m-1)/2)/m), G = psi(lambda (j - 1/2)/m); P -> phi"
        )

        # Layer 3: convert F (attention, self-match) and G (feed-forward).
        self.heads[2].append(psi_to_phi_head(self.F, self.Fphi))
        if not self.same_fg:
            self.ffs[2].append(psi_to_phi_ff(self.G, self.Gphi))
        self.texts[2].append(f"{n}: F, G -> phi")

        # Layer 4: floor retrieval (Lemmas 9-10). The psi cells P, F, G are removed later, by
        # layer 6's uniform head (Lemma 4's second half), so that no extra head is needed here.
        self.heads[3].append(
            lookup_head(
                self.Fphi,
                self.Pphi,
                {self.Pphi: self.T1},
                note=f"{n}: floor(j/m) by the centred query (Lemmas 9-10)",
            )
        )
        self.uniform[5].write(p_term.negated(), a_notbos, a_bos)
        self.uniform[5].write(f_term.negated(), *needs)
        clears = [self.P, self.F]
        if not self.same_fg:
            self.uniform[5].write(g_term.negated(), *needs)
            clears.append(self.G)
        self.clears[5].extend(clears)
        self.ffs[3].append(
            stack_ff(
                [
                    linear_ff(
                        [
                            (
                                {self.Gphi: PICK_A[None, :], self.T1: -PICK_A[None, :]},
                                {self.S: np.array([[1.0]])},
                            )
                        ]
                    ),
                    FeedForward(
                        w_in={one: np.array([[1.0]])}, w_out={self.e: np.array([[0.5], [0.5]])}
                    ),
                ],
                note=f"{n}: S = [G]_0 - [T1]_0; e = (1/2, 1/2)",
            )
        )
        self.texts[3].append(f"{n}: T1 = phi(lambda floor(j/m)); S = [G]_0 - [T1]_0")

        # Layer 5: e = [S < 0] = [m | j] (sign read, Appendix A.1).
        self.heads[4].append(
            sign_read_head(
                self.S, self.e, np.array([[-0.5], [0.5]]), note=f"{n}: e = [m | j] = [S < 0]"
            )
        )
        self.updates[4].append(self.e)
        self.texts[4].append(f"{n}: e = [m | j] (sign of S)")
        if not self.constant:
            self.E = L.phi(f"{n}.Em")
            self.ffs[4].append(
                gate_ff(
                    {self.e: [1.0, 0.0], bos: [-1.0, 0.0]},
                    self.modulus,
                    self.E,
                    ORTHOGONAL,
                    one=one,
                    note=f"{n}: E = [m | j, j > 0] phi(mu m)",
                )
            )

        # Layer 6: the remainder by counting multiples (Lemma 11).
        r_term, r_needs = self._remainder_term(a_bos, a_notbos)
        self.uniform[5].write(r_term, *r_needs)
        self.ffs[5].append(psi_to_phi_ff(self.T2, self.T2phi))
        self.texts[5].append(f"{n}: T2 = psi(lambda (j mod m)) (Lemma 11); -> phi")

        # Layer 7: the lookup at a_i, then clear everything (Lemma 5).
        if self.dividend is not None:
            values = {}
            if self.quotient is not None:
                values[self.T1] = self.quotient
            if self.remainder is not None:
                values[self.T2phi] = self.remainder
            if values:
                self.heads[6].append(
                    lookup_head(
                        self.dividend,
                        self.Pphi,
                        values,
                        note=f"{n}: look up row a_i (Lemma 1, layer 6)",
                    )
                )
        self.uniform[6].write(r_term.negated(), *r_needs)
        self.clears[6].append(self.T2)
        gone = [self.Fphi, self.e]
        if not self.same_fg:
            gone.append(self.Gphi)
        if not self.keep_position:
            gone.append(self.Pphi)
        if self.dividend is not None or "quotient" not in self.outputs:
            gone.append(self.T1)
        if self.dividend is not None or "remainder" not in self.outputs:
            gone.append(self.T2phi)
        for extra in (self.B, self.E):
            if extra is not None:
                gone.append(extra)
        parts = [clear_ff(gone, note=f"{n}: clear temporaries (Lemma 5)")]
        # S is a scalar (read alone only): remove it by recomputing it from G and T1 (Lemma 6).
        parts.append(
            linear_ff(
                [
                    (
                        {self.Gphi: PICK_A[None, :], self.T1: -PICK_A[None, :]},
                        {self.S: np.array([[-1.0]])},
                    )
                ]
            )
        )
        self.ffs[6].append(stack_ff(parts, note=f"{n}: clear temporaries (Lemmas 5-6)"))
        self.clears[6].extend(gone + [self.S])
        self.texts[6].append(f"{n}: look up row a_i; clear temporaries")

    def _query_terms(
        self, a_bos: Average, a_notbos: Average
    ) -> tuple[PsiTerm, PsiTerm, list[Average]]:
        """F = psi(lambda (j - (m-1)/2)/m) and G = psi(lambda (j - 1/2)/m) as uniform averages."""
        lam = self.scale
        if self.constant:
            m = float(self.modulus)  # type: ignore[arg-type]
            f = PsiTerm(
                self.F, a={"notbos": lam / m, "bos": -lam * (m - 1) / (2 * m)}, b={"bos": 1.0}
            )
            g = PsiTerm(self.G, a={"notbos": lam / m, "bos": -lam / (2 * m)}, b={"bos": 1.0})
            return f, g, [a_notbos, a_bos]
        # Modulus in a cell: phi(mu m) = (mu m c, c, ...)/.., c = 1/sqrt(2 mu^2 m^2 + 2).
        # X = c/(j+1) = avg [B]_b, Y = m c/(j+1) = avg [B]_a / mu, Z = c j/(j+1) = c - X.
        assert self.B is not None
        mu = self.mu
        a_b0 = average_of("B.a", self.B, PICK_A)
        a_b1 = average_of("B.b", self.B, PICK_B)
        a_c1 = average_of("mod.b", self.modulus, PICK_B)  # type: ignore[arg-type]
        # F: a = lam (Z - Y/2 + X/2), b = Y;  G: a = lam (Z - X/2), b = Y.
        f = PsiTerm(
            self.F, a={"mod.b": lam, "B.b": -lam / 2, "B.a": -lam / (2 * mu)}, b={"B.a": 1.0 / mu}
        )
        g = PsiTerm(self.G, a={"mod.b": lam, "B.b": -1.5 * lam}, b={"B.a": 1.0 / mu})
        return f, g, [a_b0, a_b1, a_c1]

    def _remainder_term(self, a_bos: Average, a_notbos: Average) -> tuple[PsiTerm, list[Average]]:
        """T2 = psi(lambda (j - m q)) with q = number of multiples of m in 1..j."""
        lam = self.scale
        a_mult = avg_flag(self.e, f"{self.name}.mult")
        if self.constant:
            m = float(self.modulus)  # type: ignore[arg-type]
            # (j - m q)/(j+1) = notbos - m (avg e - avg bos): e_0 = 1 counts BoS as a multiple.
            term = PsiTerm(
                self.T2, a={"notbos": lam, a_mult.name: -lam * m, "bos": lam * m}, b={"bos": 1.0}
            )
            return term, [a_notbos, a_bos, a_mult]
        assert self.B is not None and self.E is not None
        mu = self.mu
        a_b1 = average_of("B.b", self.B, PICK_B)  # X = c/(j+1)
        a_c1 = average_of("mod.b", self.modulus, PICK_B)  # type: ignore[arg-type]  # c
        a_e0 = average_of("E.a", self.E, PICK_A)  # mu m c q/(j+1)
        # a = lam (Z - m c q/(j+1)) = lam (c - X - avg[E]_a / mu), b = X.
        term = PsiTerm(self.T2, a={"mod.b": lam, "B.b": -lam, "E.a": -lam / mu}, b={"B.b": 1.0})
        return term, [a_b1, a_c1, a_e0]

    # -- host access -------------------------------------------------------------------------
    def add_head(self, layer: int, head: Head) -> None:
        self.heads[layer].append(head)

    def add_ff(self, layer: int, ff: FeedForward) -> None:
        self.ffs[layer].append(ff)

    def add_text(self, layer: int, text: str) -> None:
        self.texts[layer].append(text)

    def layers(self) -> list[Layer]:
        """The block's layers (with whatever a host added)."""
        out = []
        for k in range(LAYERS):
            heads = list(self.heads[k])
            if self.uniform[k].terms:
                heads.insert(0, self.uniform[k].head())
            ffs = [f for f in self.ffs[k] if f.units]
            ff = stack_ff(ffs) if ffs else None
            text = f"Lemma 1 ({self.name}) layer {k + 1}: " + "; ".join(self.texts[k])
            out.append(
                Layer(
                    text,
                    heads=heads,
                    ff=ff,
                    clears=tuple(self.clears[k]),
                    updates=tuple(self.updates[k]),
                )
            )
        return out

    def block(self) -> DivisionBlock:
        temporaries = [
            c
            for c in (
                self.P,
                self.F,
                self.G,
                self.Fphi,
                self.Gphi,
                self.S,
                self.e,
                self.T2,
                self.B,
                self.E,
            )
            if c is not None
        ]
        return DivisionBlock(self.layers(), self.quotient, self.remainder, self.Pphi, temporaries)
