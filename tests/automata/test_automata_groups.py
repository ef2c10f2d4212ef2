"""Groups and their Cayley automata, against brute-force permutation products written here."""

import itertools
import random

import pytest

from logdepth.automata.groups import from_cycles, group_dfa


def compose_left_to_right(perms_one_line):
    """Independent oracle: apply each permutation in turn to the points 1..n."""
    n = len(perms_one_line[0]) if perms_one_line else 0
    points = list(range(1, n + 1))
    for p in perms_one_line:
        points = [int(p[x - 1]) for x in points]  # point i is now at points[i-1]; move it
    return "".join(map(str, points))


def is_even(p):
    inv = sum(1 for i, j in itertools.combinations(range(len(p)), 2) if p[i] > p[j])
    return inv % 2 == 0


def test_a5_has_60_elements_all_even():
    d = group_dfa("a5", kind="alternating", degree=5)
    assert len(d.states) == 60 and len(d.alphabet) == 60
    assert d.start == d.states[0] == "12345" and d.accept == {"12345"}
    assert set(d.states) == {"".join(p) for p in itertools.permutations("12345") if is_even(p)}


@pytest.mark.parametrize(
    "kind, n, order",
    [
        ("symmetric", 5, 120),
        ("symmetric", 1, 1),
        ("alternating", 4, 12),
        ("cyclic", 7, 7),
        ("dihedral", 5, 10),
        ("dihedral", 6, 12),
        ("symmetric", 3, 6),
        ("alternating", 3, 3),
    ],
)
def test_orders(kind, n, order):
    assert len(group_dfa("g", kind=kind, degree=n).states) == order


def test_cayley_dfa_computes_left_to_right_products():
    d = group_dfa("s4", kind="symmetric", degree=4)
    rng = random.Random(0)
    for _ in range(300):
        word = [rng.choice(d.alphabet) for _ in range(rng.randint(0, 6))]
        expected = compose_left_to_right(word) if word else "1234"
        assert d.run(word) == expected
        assert d.accepts(word) == (expected == "1234")


def test_composition_order_is_left_to_right():
    # (1 2) then (1 3): 1 -> 2 -> 2, 2 -> 1 -> 3, 3 -> 3 -> 1, i.e. one-line "231".
    d = group_dfa("s3", kind="symmetric", degree=3)
    assert d.run(["213", "321"]) == "231"
    assert d.run(["321", "213"]) == "312"  # the other order differs


def test_a5_product_from_issue_is_identity():
    d = group_dfa("a5", kind="alternating", degree=5)
    assert d.accepts(("23145", "31245"))
    assert not d.accepts(("23145",))
    assert d.accepts(("23145", "23145", "23145"))  # a 3-cycle cubed


def test_generators_alphabet():
    d = group_dfa(
        "rot",
        generators=[from_cycles([[1, 2, 3]], 3), from_cycles([[1, 2]], 3)],
        degree=3,
        alphabet="generators",
    )
    assert d.alphabet == ("231", "213")
    assert len(d.states) == 6
    assert d.run(["231"]) == "231"
