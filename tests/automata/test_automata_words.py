import pytest

from logdepth.automata.words import format_word, parse_word
from logdepth.errors import InputError


def test_single_char_alphabet_is_plain_string():
    assert parse_word("0110", ("0", "1")) == ("0", "1", "1", "0")
    assert parse_word("", ("0", "1")) == ()
    assert format_word(("0", "1"), ("0", "1")) == "01"


def test_multi_char_alphabet_is_space_separated():
    alpha = ("12345", "23145", "31245")
    assert parse_word("23145 31245", alpha) == ("23145", "31245")
    assert parse_word("  23145  ", alpha) == ("23145",)
    assert parse_word("", alpha) == ()
    assert format_word(("23145", "31245"), alpha) == "23145 31245"


def test_unknown_symbol_names_symbol_and_position():
    """The message counts characters from 1; `position` is the 0-based offset for carets."""
    with pytest.raises(InputError, match=r"symbol '2' at position 3 of word '012'") as info:
        parse_word("012", ("0", "1"))
    assert info.value.position == 2
    with pytest.raises(InputError, match=r"symbol 'zz' at position 7 of word"):
        parse_word("12345 zz", ("12345",))
