"""Lemma 1 (division) through the forward pass: for every i <= 300, m in 2..9 and a random
a_i <= i per position, the outputs read back as phi(lambda floor(a_i/m)) and
phi(lambda (a_i mod m)). Both modulus forms: an int, and a phi(mu m) cell at every token."""

from __future__ import annotations

import numpy as np
import pytest

from logdepth.compiler.cells import Layout, phi
from logdepth.constructions.division import LAYERS, DivisionBuilder, max_modulus
from logdepth.constructions.hashing import POSITION_SCALE, hashed, read_hash
from logdepth.errors import CompileError
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
