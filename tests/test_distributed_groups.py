"""A precision sweep's large sizes as groups of their input set (`verify.precision.sweep_cases`):
the max of the groups' least p is the whole set's least p, the split never depends on where the
units run, and the serial and the distributed sweep give the same report."""

from __future__ import annotations

import pytest

import logdepth
from logdepth import distributed
from logdepth.automata.dfa import random_dfa
from logdepth.constructions.regular import compile_regular
from logdepth.verify import precision
from logdepth.verify.precision import (
    SizeCase,
    all_right,
    cases_for,
    least_bits,
    set_group,
    size_bits,
    size_search,
    sweep,
    sweep_cases,
)
from tests.test_distributed import ThreadClient, _thread_arrivals  # noqa: F401 (autouse)


@pytest.fixture(scope="module")
def models() -> dict[str, logdepth.CompiledModel]:
    basics = logdepth.parse_file("examples/basics.ld")
    return {
        "parity": compile_regular(basics["parity"]),
        "random6": compile_regular(random_dfa(6, 2, seed=6)),
        "connectivity": logdepth.compile_connectivity(),
    }


def test_the_largest_size_is_split_and_the_small_ones_are_not(models):
    sizes = [2, 4, 8, 16, 32, 64]
    units = sweep_cases(models["parity"], sizes, k=4)
    by_size = {n: [u for u in units if u.n == n] for n in sizes}
    # A word of n symbols is n + 2 tokens, so n = 64's share of the tokens squared is
    # 66^2 / (4^2 + 6^2 + 10^2 + 18^2 + 34^2 + 66^2) = 0.73: more than 1/4 of the sweep, and
    # three groups (not four: each group pays its own search) bring each under 1/4.
    assert [u.group for u in by_size[64]] == [0, 1, 2]
    assert all(u.groups == 3 for u in by_size[64])
    total, size = sum(u.work for u in units), sum(u.work for u in by_size[64])
    assert size / 3 <= total / 4 < size / 2  # three groups average under 1/4, two would not
    assert all(len(by_size[n]) == 1 and by_size[n][0].groups == 1 for n in sizes[:-1])
    assert [u.n for u in units] == sorted(u.n for u in units)  # in the order of the sizes
    # Five sizes of nearly equal work: each is about 1/5 of the sweep, none is split.
    assert all(u.groups == 1 for u in sweep_cases(models["parity"], [30, 31, 32, 33, 34], k=4))


def test_the_groups_partition_the_set_and_mix_the_kinds(models):
    model = models["parity"]
    cases = cases_for(model, 64, k=4, seed=0)
    groups = [set_group(cases, g, 4) for g in range(4)]
    assert sorted(id(c) for group in groups for c in group) == sorted(id(c) for c in cases)
    for group in groups:  # the set's accepting words come first: one in every group
        assert group[0].want == "accept" and group[0] is cases[groups.index(group)]


@pytest.mark.parametrize(
    ("name", "n", "k", "seed"),
    [
        ("parity", 64, 4, 0),
        ("connectivity", 4, 3, 0),
        # more sizes, groups and languages of the same check: in the slow run
        pytest.param("parity", 128, 3, 5, marks=pytest.mark.slow),
        pytest.param("random6", 64, 4, 1, marks=pytest.mark.slow),
    ],
)
def test_max_over_groups_is_the_least_p_of_the_whole_set(models, name, n, k, seed):
    """The references, over the whole set: `least_bits` started where the unsplit sweep
    started it, and the definition itself (the whole set is right at p and wrong at p - 1)."""
    model = models[name]
    cases = cases_for(model, n, k, seed)
    groups = [size_bits(model, SizeCase(n, k, seed, g, k)) for g in range(k)]
    assert None not in groups
    p = max(groups)
    assert least_bits(model, cases, **size_search(model, n)) == p
    assert all_right(model, cases, p) and not all_right(model, cases, p - 1)


def test_sweep_reports_the_max_per_size_and_none_if_any_group_fails(models, monkeypatch):
    model = models["parity"]
    made = {(2, 0): 5, (4, 0): 6, (8, 0): 7, (8, 1): 9, (8, 2): 8, (8, 3): 7}

    def fake(model, case: SizeCase) -> int | None:
        return made.get((case.n, case.group))

    monkeypatch.setattr(precision, "size_bits", fake)
    seen: list[tuple[int, int | None]] = []
    result = sweep(model, [2, 4, 8], k=4, progress=lambda n, p: seen.append((n, p)))
    assert seen == [(2, 5), (4, 6), (8, 9)]  # one line per size, after its last group
    assert result.bits == [5, 6, 9]
    made[(8, 2)] = None  # one group fails even at the top: the size is a failure
    seen.clear()
    result = sweep(model, [2, 4, 8], k=4, progress=lambda n, p: seen.append((n, p)))
    assert seen == [(2, 5), (4, 6), (8, None)] and result.sizes == [2, 4]


# parity sweeps four sizes (slow run); connectivity two, in the default run
@pytest.mark.parametrize("name", [pytest.param("parity", marks=pytest.mark.slow), "connectivity"])
def test_the_backend_runs_the_same_units_and_gives_the_serial_sweep(models, name):
    model = models[name]
    sizes = [2, 4, 8, 16] if name == "parity" else [2, 4]
    calls: list[SizeCase] = []

    def record(model, case: SizeCase) -> int | None:
        calls.append(case)
        return size_bits(model, case)

    serial = sweep(model, sizes, k=2)
    units = sweep_cases(model, sizes, k=2)
    assert any(u.groups > 1 for u in units)  # the largest size does run as groups
    backend = distributed.Dask(
        ThreadClient(3), distributed.ModelSource.of_model(model), "on threads"
    )
    try:
        got = list(backend.map(record, units))
        spread = sweep(model, sizes, k=2, backend=backend)
    finally:
        backend.close()
    assert sorted(calls, key=units.index) == units  # every unit once, nothing else
    assert [p for _, p, _ in got] == [size_bits(model, u) for u in units]
    assert (spread.sizes, spread.bits) == (serial.sizes, serial.bits)
