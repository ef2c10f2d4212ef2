"""Layer-norm hashes: storing numbers as psi/phi blocks and reading them back (Appendix A,
Lemmas 2-4), plus the score geometry the frontier is derived from.

Storage (the paper's Section 2.1 and Appendix A). A number z lives in the residual stream
either as the unnormalized block
psi(a, b) = <a, b, -a, -b> with a / b = z, or as the unit block phi(z) = psi(z, 1) / |psi(z, 1)|.
Masked pre-norm reads either one as phi(z) (Lemma 2). A psi cell has no fixed norm, so a sublayer
must read it alone (logdepth.compiler.cells); to use z together with other cells it is first
converted into a phi cell (Lemma 4): `psi_to_phi_ff` (a feed-forward sublayer that reads the
psi cell alone) or `psi_to_phi_head` (an attention sublayer that reads it alone and attends to
the key with the same hash, i.e. itself when the stored value is injective in the position).

Uniform averages (Section 1.2, "uniform causal attention with value 1 only at BoS returns 1/i").
A head whose query is zero gives every key the score 0 exactly, so it averages its value over
the keys j <= i: with value "one" it returns 1, with value "BoS flag" it returns 1/(i+1). Every
psi this package writes has coordinates that are linear combinations of such averages; one head
(`uniform_head`) computes all the averages a sublayer needs and its output map writes (or, with
the opposite sign, clears: Lemma 4's second half / Lemma 6) any number of psi cells.

Scaled hashes (our deviation, docs/errata.md). The paper hashes an integer v as phi(v); two
neighbours then differ in attention score by 1 - phi(v).phi(v+1) ~ 1/(2 v^4), which float64
resolves only up to v ~ 2600 and float32 up to v ~ 20. We hash integers as phi(lambda v) with
lambda = POSITION_SCALE = 2^-6: the neighbour gap becomes ~ (lambda / (1 + lambda^2 v^2))^2 / 2,
which is larger for every v > 1 / lambda and keeps nearest-integer (floor) retrieval within
lambda / 8 of the midpoints (see `floor_margin`). Equality of hashes is unchanged by the scale.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from logdepth.compiler.cells import PICK_A, Cell
from logdepth.compiler.program import FeedForward, Head
from logdepth.errors import CompileError
from logdepth.kit.feedforward import linear_ff

# lambda: integers (positions, counts, quotients, remainders) are stored as phi(lambda * v).
# A power of two, so lambda * v is exact in floating point. Why 2^-6: the frontier of a dtype
# is where the smallest neighbour gap (lambda / (1 + (lambda n)^2))^2 / 2 meets the rounding
# noise; 2^-6 keeps float32 exact to n ~ 100 and float64 beyond n ~ 10^4 (regular.frontier).
POSITION_SCALE = 2.0**-6

PSI_ROWS = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])  # (a, b) -> psi(a, b)
IDENTITY4 = np.eye(4)


# A unit vector orthogonal to every phi(z) = <z, 1, -z, -1>/sqrt(2z^2 + 2): its hash readings
# PICK_A and PICK_B are both 0 and its dot product with any hash is 0, so it stands for "no
# value". Lemma 1's gated modulus cells hold it where the gate is closed (averaging it adds
# nothing); Theorem 2's BoS holds it in its [i = j] key and x%n (it adds nothing to a score).
ORTHOGONAL = np.array([1.0, 0.0, 1.0, 0.0]) / math.sqrt(2.0)


def hashed(v: float, scale: float = POSITION_SCALE) -> np.ndarray:
    """phi(scale * v) as a numpy vector (the value a phi cell holds for the integer v)."""
    z = scale * v
    return np.array([z, 1.0, -z, -1.0]) / math.sqrt(2.0 * z * z + 2.0)


def read_hash(block: np.ndarray, scale: float = POSITION_SCALE) -> np.ndarray:
    """The numbers v hashed in phi/psi blocks [positions, 4] (a / b / scale)."""
    a = (block[:, 0] - block[:, 2]) / 2
    b = (block[:, 1] - block[:, 3]) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b != 0, a / np.where(b != 0, b, 1) / scale, np.nan)


# ---------------------------------------------------------------------------------------------
# Uniform averages and psi writes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Average:
    """avg_{j <= i} f(h_j) for a linear functional f of unit cells: `of` maps cell -> row."""

    name: str
    of: Mapping[Cell, np.ndarray]


def average_of(name: str, cell: Cell, row: Sequence[float]) -> Average:
    return Average(name, {cell: np.asarray(row, dtype=float)})


@dataclass(frozen=True)
class PsiTerm:
    """psi(a, b) written into (sign +1) or removed from (sign -1) a psi cell, where a and b are
    linear combinations of named averages: a = sum_k a[k] * avg_k."""

    cell: Cell
    a: Mapping[str, float]
    b: Mapping[str, float]
    sign: float = 1.0

    def negated(self) -> PsiTerm:
        """The term with the opposite sign: written by a later uniform head whose averages are
        unchanged, it removes the psi (Lemma 4's recompute-and-subtract clear). A whole head's
        counterpart is `rows.reset_head`."""
        return PsiTerm(self.cell, self.a, self.b, -self.sign)


@dataclass
class UniformHead:
    """The averages one uniform causal head computes and the psi terms its output writes."""

    averages: list[Average] = field(default_factory=list)
    terms: list[PsiTerm] = field(default_factory=list)
    note: str = ""

    def need(self, *averages: Average) -> None:
        for avg in averages:
            if not any(a.name == avg.name for a in self.averages):
                self.averages.append(avg)

    def write(self, term: PsiTerm, *averages: Average) -> None:
        self.need(*averages)
        self.terms.append(term)

    def head(self) -> Head:
        return uniform_head(self.averages, self.terms, self.note)


def uniform_head(averages: Sequence[Average], terms: Sequence[PsiTerm], note: str = "") -> Head:
    """One causal head with zero query: every key scores exactly 0, so the head averages its
    value (one row per `Average`) over j <= i; its output writes each psi term (Lemma 7's heads,
    Lemma 4's recompute-and-subtract clear)."""
    if not averages:
        raise CompileError("a uniform head needs at least one average")
    names = [a.name for a in averages]
    if len(set(names)) != len(names):
        raise CompileError(f"duplicate averages in a uniform head: {names}")
    index = {name: k for k, name in enumerate(names)}
    value: dict[Cell, np.ndarray] = {}
    for k, avg in enumerate(averages):
        for cell, row in avg.of.items():
            block = value.setdefault(cell, np.zeros((len(averages), cell.size)))
            block[k] += np.asarray(row, dtype=float)
    out: dict[Cell, np.ndarray] = {}
    for term in terms:
        coef = np.zeros((2, len(averages)))
        for part, combo in enumerate((term.a, term.b)):
            for name, c in combo.items():
                if name not in index:
                    raise CompileError(
                        f"psi term for {term.cell.name!r} uses unknown average {name!r}"
                    )
                coef[part, index[name]] += c
        block = out.setdefault(term.cell, np.zeros((term.cell.size, len(averages))))
        block += term.sign * (PSI_ROWS @ coef)
    first = next(iter(value))
    zero = {first: np.zeros((1, first.size))}
    return Head(query=dict(zero), key=dict(zero), value=value, out=out, causal=True, note=note)


# ---------------------------------------------------------------------------------------------
# Conversions and copies (Lemmas 2, 4, 5)
# ---------------------------------------------------------------------------------------------


def psi_to_phi_ff(psi: Cell, phi: Cell) -> FeedForward:
    """Lemma 2 / Lemma 4 (first half): read the psi cell alone (masked pre-norm gives phi(a/b))
    and copy that unit vector into an empty phi cell."""
    return linear_ff([({psi: IDENTITY4}, {phi: IDENTITY4})], f"{phi.name} = read({psi.name})")


def psi_to_phi_head(psi: Cell, phi: Cell) -> Head:
    """Lemma 4 by attention: a sublayer that reads the psi cell alone, with query = key =
    phi(z_i), attends to the keys with the same hash (itself, for a value injective in the
    position) and copies phi(z) into an empty phi cell."""
    return Head(
        query={psi: IDENTITY4},
        key={psi: IDENTITY4},
        value={psi: IDENTITY4},
        out={phi: IDENTITY4},
        causal=True,
        note=f"{phi.name} = read({psi.name}) (self-match)",
    )


def first_coordinate(cell: Cell) -> np.ndarray:
    """The row reading a of psi(a, b) / phi: (a - (-a)) / 2, exact under the +- doubling."""
    if cell.size != 4:
        raise CompileError(f"cell {cell.name!r} is not a phi/psi block")
    return PICK_A.copy()


# ---------------------------------------------------------------------------------------------
# Score geometry (the frontier is derived from these)
# ---------------------------------------------------------------------------------------------


def one_minus_cos(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """1 - phi(x).phi(y) without cancellation: 2 sin^2(d/2), d = atan(y) - atan(x)."""
    d = np.arctan(np.asarray(y, dtype=float)) - np.arctan(np.asarray(x, dtype=float))
    return 2.0 * np.sin(d / 2.0) ** 2


def neighbour_gap(
    v: np.ndarray | float, spacing: float, scale: float = POSITION_SCALE
) -> np.ndarray:
    """Score gap between the exact match phi(scale v) and its neighbour phi(scale (v+spacing))."""
    v = np.asarray(v, dtype=float)
    return one_minus_cos(scale * v, scale * (v + spacing))


def phi_first(v: np.ndarray | float, scale: float = POSITION_SCALE) -> np.ndarray:
    """[phi(scale v)]_0 = scale v / sqrt(2 (scale v)^2 + 2): the increasing tie-breaker."""
    z = scale * np.asarray(v, dtype=float)
    return z / np.sqrt(2.0 * z * z + 2.0)


def floor_margin(j: np.ndarray, m: float, scale: float = POSITION_SCALE) -> np.ndarray:
    """Score margin of the floor retrieval at positions j: the query phi(scale (j - c)/m),
    c = (m - 1)/2, against keys phi(scale k); the best key must be q = floor(j/m). Returns
    score(q) - max(score(q - 1), score(q + 1)) (negative where the retrieval would be wrong)."""
    j = np.asarray(j, dtype=float)
    x = scale * (j - (m - 1) / 2.0) / m
    q = np.floor(j / m)
    best = -one_minus_cos(x, scale * q)
    runner = np.maximum(-one_minus_cos(x, scale * (q - 1)), -one_minus_cos(x, scale * (q + 1)))
    runner = np.where(q >= 1, runner, -one_minus_cos(x, scale * (q + 1)))
    return best - runner
