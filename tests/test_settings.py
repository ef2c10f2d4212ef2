"""Every environment variable logdepth reads refuses a value it cannot use, naming the variable,
instead of silently falling back to its default (a typo in a limit must not go unnoticed)."""

from __future__ import annotations

import pytest

from logdepth.automata.classes import MONOID_BUDGET_ENV, monoid_budget
from logdepth.automata.dfa import STATE_BUDGET_ENV, state_budget
from logdepth.errors import SettingError
from logdepth.limits import MEMORY_ENV, SECONDS_ENV, max_memory, max_seconds

READERS = [
    (STATE_BUDGET_ENV, state_budget, "1234", 1234),
    (MONOID_BUDGET_ENV, monoid_budget, "77", 77),
    (MEMORY_ENV, max_memory, "2G", 2 << 30),
    (SECONDS_ENV, max_seconds, "1.5", 1.5),
]


@pytest.mark.parametrize("name, read, good, value", READERS, ids=[r[0] for r in READERS])
@pytest.mark.parametrize("bad", ["abc", "-1", "0", "nan", "inf"])
def test_a_bad_value_is_an_error_naming_the_variable(monkeypatch, name, read, good, value, bad):
    monkeypatch.setenv(name, bad)
    with pytest.raises(SettingError, match=name):
        read()


@pytest.mark.parametrize("name, read, good, value", READERS, ids=[r[0] for r in READERS])
def test_a_good_value_is_read_and_empty_means_the_default(monkeypatch, name, read, good, value):
    monkeypatch.setenv(name, good)
    assert read() == value
    monkeypatch.setenv(name, "")
    default = read()
    monkeypatch.delenv(name)
    assert read() == default != value
