"""Lemma 1 (division) through the forward pass: for every i <= 300, m in 2..9 and a random
a_i <= i per position, the outputs read back as phi(lambda floor(a_i/m)) and
phi(lambda (a_i mod m)). Both modulus forms: an int, and a phi(mu m) cell at every token. And
the block's named slots: a host writes only into the free ones."""

from __future__ import annotations

import numpy as np
import pytest

from logdepth.compiler.cells import Layout, phi
from logdepth.compiler.program import FeedForward, Head
from logdepth.errors import CompileError
from logdepth.kit.division import LAYERS, SLOTS, DivisionBuilder, max_modulus
from logdepth.kit.hashing import (
    POSITION_SCALE,
    PsiTerm,
    average_of,
    hashed,
    psi_to_phi_ff,
    read_hash,
)
from tests.constructions.harness import run

N = 300


def _divide(m: int, dividends: list[int], *, cell: bool, mu: float = 1.0, dividend=True):
    L = Layout()
    bos = L.bool("bos", persistent=True)
    d = L.phi("dividend", persistent=True)
    mod = L.phi("modulus", persistent=True) if cell else None
    block = DivisionBuilder(
        L,
        one=L.one,
        bos=bos,
        modulus=mod if cell else m,
        modulus_scale=mu,
        dividend=d if dividend else None,
    ).block()
    assert len(block.layers) == LAYERS == 7
    assert all(h.causal for layer in block.layers for h in layer.heads)
    values = []
    for a in dividends:
        row = {d: hashed(a)}
        if cell:
            row[mod] = phi(mu * m)
        values.append(row)
    trace = run(L, bos, block.layers, values)
    q = read_hash(trace.cell(block.quotient.name))
    r = read_hash(trace.cell(block.remainder.name))
    return q, r


@pytest.mark.parametrize("cell", [False, True], ids=["int", "cell"])
@pytest.mark.parametrize("m", range(2, 10))
def test_division_of_random_dividends(m, cell):
    rng = np.random.default_rng(100 + m)
    a = np.array([0] + [int(rng.integers(0, i + 1)) for i in range(1, N + 1)])
    q, r = _divide(m, list(a), cell=cell)
    assert np.abs(q - a // m).max() < 1e-9
    assert np.abs(r - a % m).max() < 1e-9
    # Hashes read back as the unit vectors themselves:
    assert np.array_equal(np.rint(q).astype(int), a // m)
    assert np.array_equal(np.rint(r).astype(int), a % m)


def test_division_of_the_position_itself_and_a_scaled_modulus_cell():
    """dividend=None divides i itself (Theorem 2's first division); mu != 1 is accepted."""
    i = np.arange(N + 1)
    q, r = _divide(7, [0] * (N + 1), cell=True, mu=POSITION_SCALE, dividend=False)
    assert np.array_equal(np.rint(q).astype(int), i // 7)
    assert np.array_equal(np.rint(r).astype(int), i % 7)


def test_extreme_dividends_zero_and_i():
    for m in (2, 5, 9):
        a = list(range(N + 1))  # a_i = i, the largest allowed
        q, r = _divide(m, a, cell=False)
        assert np.array_equal(np.rint(q).astype(int), np.array(a) // m)
        q, r = _divide(m, [0] * (N + 1), cell=False)
        assert not np.rint(q).any() and not np.rint(r).any()


def test_modulus_outside_the_floor_margin_is_refused():
    L = Layout()
    bos = L.bool("bos")
    with pytest.raises(CompileError):
        DivisionBuilder(L, one=L.one, bos=bos, modulus=1)
    with pytest.raises(CompileError):
        DivisionBuilder(L, one=L.one, bos=bos, modulus=int(max_modulus()) + 1)


# ---- the host's slots ---------------------------------------------------------------------------
def _builder(m: int | None):
    """A block dividing by the int m, or (m None) by a modulus cell."""
    L = Layout()
    bos = L.bool("bos", persistent=True)
    mod = L.phi("modulus", persistent=True) if m is None else None
    div = DivisionBuilder(L, one=L.one, bos=bos, modulus=m if m is not None else mod)
    return L, div


def _unit_part(L, kind: str):
    """A part of the slot kind `kind` that reads only the constant cell."""
    out = L.bool(f"out{len(L.cells)}")
    if kind == "ff":
        return FeedForward(w_in={L.one: np.ones((1, 1))}, w_out={out: np.ones((2, 1))})
    if kind == "attn":
        one = np.ones((1, 1))
        return Head(query={L.one: one}, key={L.one: one}, value={L.one: one}, out={out: one.T})
    return PsiTerm(L.psi(f"psi{len(L.cells)}"), a={"one": 1.0}, b={"one": 1.0})


# The slots whose sublayer Lemma 1 reads a psi or scalar alone in (module docstring).
TAKEN = {
    "queries.ff",
    "query_hashes.uniform",
    "query_hashes.attn",
    "query_hashes.ff",
    "multiple.uniform",
    "multiple.attn",
    "remainder.ff",
}


@pytest.mark.parametrize("m", [3, 2, None], ids=["int", "two", "cell"])
def test_a_host_may_write_only_into_free_slots(m):
    """Every slot takes a part reading unit cells, except those where the block reads a psi or
    scalar alone; with m = 2 the probe is the floor query, so query_hashes.ff is empty."""
    taken = TAKEN - {"query_hashes.ff"} if m == 2 else TAKEN
    for slot in SLOTS:
        L, div = _builder(m)
        part = _unit_part(L, slot.split(".")[1])
        averages = [average_of("one", L.one, [1.0])] if isinstance(part, PsiTerm) else []
        if slot in taken:
            with pytest.raises(CompileError, match=f"slot '{slot}' is not free"):
                div.add(slot, part, *averages)
        else:
            div.add(slot, part, *averages)
            assert len(div.layers()) == LAYERS


def test_a_psi_is_read_alone_or_refused():
    """With an int modulus positions.ff is empty, so a host may read a psi alone there (Theorem
    1's count); a psi beside the block's unit cells (lookup.ff) is refused."""
    L, div = _builder(3)
    psi, phi_cell = L.psi("count.psi"), L.phi("count")
    div.add("positions.ff", psi_to_phi_ff(psi, phi_cell))
    with pytest.raises(CompileError, match="must be read alone"):
        div.add("positions.ff", _unit_part(L, "ff"))
    with pytest.raises(CompileError, match="'count.psi' must be read alone"):
        div.add("lookup.ff", psi_to_phi_ff(psi, phi_cell))


def test_slot_names_and_part_kinds_are_checked():
    L, div = _builder(3)
    with pytest.raises(CompileError, match="no slot 'floor.mlp'"):
        div.add("floor.mlp", _unit_part(L, "ff"))
    with pytest.raises(CompileError, match="takes a Head, not a FeedForward"):
        div.add("floor.attn", _unit_part(L, "ff"))
    with pytest.raises(CompileError, match="no step 'divide'"):
        div.describe("divide", "text")
