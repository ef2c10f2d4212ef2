"""Token strings to ids (logdepth/model/token_ids.py) against a dict lookup one token at a time:
the same ids, the same count of counted tokens, and a KeyError for the same first unknown token,
whatever mix of one-character, longer, empty, unknown and non-string tokens a sequence holds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logdepth.model.token_ids import TokenIds

# Characters from several planes (a code-point table must span them), with a lone surrogate
# (not encodable) among them.
CHARACTERS = st.sampled_from(["0", "1", "a", "b", "\u00e9", "\u4e00", "\U0001f600", "\ud800"])
TOKENS = st.text(alphabet=CHARACTERS, min_size=0, max_size=3)


def expected(vocab: list[str], tokens: list) -> list[int] | KeyError:
    index = {t: k for k, t in enumerate(vocab)}
    for token in tokens:
        if token not in index:
            return KeyError(token)
    return [index[t] for t in tokens]


@settings(max_examples=300, deadline=None)
@given(data=st.data(), vocab=st.lists(TOKENS, min_size=1, max_size=8, unique=True))
def test_ids_are_the_dict_lookups(data, vocab):
    counted = data.draw(st.lists(st.sampled_from(vocab), max_size=4))
    pick = st.one_of(st.sampled_from(vocab), TOKENS, st.integers(0, 3))
    middle = data.draw(st.lists(st.sampled_from(vocab) | pick, max_size=40))
    ends = data.draw(st.lists(pick, max_size=2)), data.draw(st.lists(pick, max_size=2))
    tokens = [*ends[0], *middle, *ends[1]]
    codec = TokenIds(vocab, counted)
    want = expected(vocab, tokens)
    if isinstance(want, KeyError):
        with pytest.raises(KeyError) as raised:
            codec.ids(tokens)
        assert raised.value.args == want.args
        return
    ids = codec.ids(tokens)
    assert ids.tolist() == want
    assert codec.count(ids) == sum(t in set(counted) for t in tokens)


def test_a_word_takes_the_code_point_path():
    """BoS, 256 one-character symbols, the end token: the symbols are looked up as one run."""
    vocab = ["<bos>", "a", "b", "<$>"]
    codec = TokenIds(vocab, ["a", "b"])
    tokens = ["<bos>", *("ab" * 128), "<$>"]
    seen = []
    original = codec._by_code
    codec._by_code = lambda run: seen.append(len(run)) or original(run)
    ids = codec.ids(tokens)
    assert seen == [256]
    assert ids.tolist() == [0, *[1, 2] * 128, 3] and codec.count(ids) == 256


@pytest.mark.parametrize(
    "run",
    [["a", "", "bb", "a"], ["a", "c", "b"], ["a", 1, "b"], ["a", "\ud800", "b"]],
    ids=["empty-beside-long", "unknown", "not-a-string", "surrogate"],
)
def test_runs_the_code_points_cannot_take_fall_back(run):
    """An empty token beside a two-character one (their lengths add up as two single ones),
    an unknown character, a non-string and an unencodable character: the dict path decides."""
    vocab = ["a", "b", "bb", ""]
    codec = TokenIds(vocab, ["a"])
    assert codec._by_code(run) is None
    want = expected(vocab, run)
    if isinstance(want, KeyError):
        with pytest.raises(KeyError):
            codec.ids(run)
    else:
        assert codec.ids(run).tolist() == want
