"""Named cells: the residual stream as a list of labelled blocks (tracr-style named bases).

A construction never indexes the residual stream by number. It allocates cells from a `Layout`
and writes layers in terms of them; assembly (compiler/assemble.py) turns that into offsets.

Every cell records the norm its contents have whenever a sublayer reads it. Masked pre-norm
divides the concatenation of the cells a sublayer reads by its norm; when each read cell has a
fixed norm, that norm is a constant which assembly folds into the next matrix (the paper's Lemma 3).
A cell of variable norm (psi, raw scalar) must be read alone: it then reads back as phi(a/b)
or as sgn(z) (Lemma 2; Appendix A.1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from logdepth.errors import CompileError

# Kinds whose norm varies with the value: a sublayer must read such a cell alone.
VARIABLE_NORM_KINDS = ("psi", "scalar")


@dataclass(frozen=True, eq=False)
class Cell:
    """A named block of residual dimensions with a label per dimension.

    `persistent` cells hold state across loop iterations (changed only by declared deltas);
    all others are temporaries that every repeated block must clear (a looped layer sees its
    own output).
    Cells compare by identity: two allocations are two cells even with the same name.
    """

    name: str
    kind: str
    labels: tuple[str, ...]
    persistent: bool = False
    value: float = 1.0  # a "const" cell's content at every token (its read norm)

    @property
    def size(self) -> int:
        return len(self.labels)

    @property
    def norm(self) -> float | None:
        """The norm of this cell whenever it is read, or None if it varies with the value."""
        if self.kind in VARIABLE_NORM_KINDS:
            return None
        return self.value if self.kind == "const" else 1.0

    def __repr__(self) -> str:
        return f"Cell({self.name!r}, {self.kind})"


@dataclass
class Layout:
    """Allocates cells; offsets follow allocation order, so the same program gives the same file.

    The constant-one cell `one` is always allocated first (there are no biases).
    """

    cells: list[Cell] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.cells:
            self.one = self.add("one", "const", ["1"], persistent=True)

    def add(
        self,
        name: str,
        kind: str,
        labels: list[str] | tuple[str, ...],
        persistent: bool = False,
        value: float = 1.0,
    ) -> Cell:
        if any(c.name == name for c in self.cells):
            raise CompileError(f"cell name {name!r} allocated twice")
        if kind not in ("const", "bool", "phi", "psi", "scalar", "code", "onehot"):
            raise CompileError(f"cell {name!r}: unknown kind {kind!r}")
        cell = Cell(name, kind, tuple(labels), persistent, value)
        self.cells.append(cell)
        return cell

    # Typed allocators: the label conventions `inspect` shows.
    def ballast(self, name: str, value: float) -> Cell:
        """A constant cell holding `value` at every token (the embedding writes it). Read with
        cells whose contents carry rounding errors, it pins the masked pre-norm: the read norm
        is sqrt(value^2 + k), so an error e in a read cell moves it by ~e / value^2 instead of
        ~e / k, and the sublayer's outputs inherit that much less."""
        return self.add(name, "const", [name], persistent=True, value=value)

    def phi(self, name: str, persistent: bool = False) -> Cell:
        """A layer-norm hash phi(z) = <z, 1, -z, -1>/sqrt(2z^2 + 2): unit norm, zero mean."""
        return self.add(
            name, "phi", [f"{name}:z", f"{name}:1", f"{name}:-z", f"{name}:-1"], persistent
        )

    def psi(self, name: str, persistent: bool = False) -> Cell:
        """An unnormalized psi(a, b) = <a, b, -a, -b>, read (alone) as phi(a/b)."""
        return self.add(
            name, "psi", [f"{name}:a", f"{name}:b", f"{name}:-a", f"{name}:-b"], persistent
        )

    def bool(self, name: str, persistent: bool = False) -> Cell:
        """A boolean b stored as the unit one-hot pair <b, 1 - b>, so its read norm is fixed."""
        return self.add(name, "bool", [f"{name}=1", f"{name}=0"], persistent)

    def scalar(self, name: str, persistent: bool = False) -> Cell:
        """A raw scalar; read alone it gives its sign (Appendix A.1, Lemma 8)."""
        return self.add(name, "scalar", [name], persistent)

    def code(self, name: str, labels: list[str], persistent: bool = False) -> Cell:
        """A unit vector naming one of finitely many values (e.g. a monoid element)."""
        return self.add(name, "code", labels, persistent)

    @property
    def d_model(self) -> int:
        return sum(c.size for c in self.cells)

    def offset(self, cell: Cell) -> int:
        at = 0
        for c in self.cells:
            if c is cell:
                return at
            at += c.size
        raise CompileError(f"cell {cell.name!r} is not in this layout")

    def slice(self, cell: Cell) -> slice:
        start = self.offset(cell)
        return slice(start, start + cell.size)


# Values of the typed cells, as numpy vectors (used by embeddings, tests and decoders).
def phi(z: float) -> np.ndarray:
    """phi(z) = <z, 1, -z, -1> / sqrt(2 z^2 + 2)."""
    return np.array([z, 1.0, -z, -1.0]) / math.sqrt(2.0 * z * z + 2.0)


def psi(a: float, b: float = 1.0) -> np.ndarray:
    """psi(a, b) = <a, b, -a, -b>."""
    return np.array([a, b, -a, -b], dtype=float)


def boolean(b: bool | int) -> np.ndarray:
    """<b, 1 - b>."""
    return np.array([float(b), 1.0 - float(b)])


# Linear maps that read or write the typed cells.
# A phi/psi cell holds <a, b, -a, -b>; these pick out a and b with zero-mean weights so the
# reading stays exact under either half of the +- doubling.
PICK_A = np.array([0.5, 0.0, -0.5, 0.0])
PICK_B = np.array([0.0, 0.5, 0.0, -0.5])
PICK_TRUE = np.array([1.0, 0.0])
