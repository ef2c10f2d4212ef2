"""Token strings to ids (logdepth/model/token_ids.py) against a dict lookup one token at a time:
the same ids, the same count of counted tokens, and a KeyError for the same first unknown token,
row by row of a batch, whatever mix of one-character, longer, empty, unknown and non-string
tokens the rows hold."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logdepth.model.token_ids import TokenIds

# Characters from several planes (a code-point table must span them), with a lone surrogate
# (not encodable) among them.
CHARACTERS = st.sampled_from(["0", "1", "a", "b", "\u00e9", "\u4e00", "\U0001f600", "\ud800"])
TOKENS = st.text(alphabet=CHARACTERS, min_size=0, max_size=3)


def expected(vocab: list[str], counted: list[str], tokens: list) -> tuple[list, int] | KeyError:
    index = {t: k for k, t in enumerate(vocab)}
    for token in tokens:
        if token not in index:
            return KeyError(token)
    return [index[t] for t in tokens], sum(t in set(counted) for t in tokens)


def assert_rows(codec: TokenIds, vocab: list[str], counted: list[str], rows: list) -> None:
    for tokens, got in zip(rows, codec.rows(rows), strict=True):
        want = expected(vocab, counted, tokens)
        if isinstance(want, KeyError):
            assert isinstance(got, KeyError) and got.args == want.args, (tokens, got)
        else:
            assert not isinstance(got, KeyError), (tokens, got)
            assert (got[0].tolist(), got[1]) == want, tokens


@settings(max_examples=300, deadline=None)
@given(data=st.data(), vocab=st.lists(TOKENS, min_size=1, max_size=8, unique=True))
def test_ids_are_the_dict_lookups(data, vocab):
    counted = data.draw(st.lists(st.sampled_from(vocab), max_size=4))
    pick = st.one_of(st.sampled_from(vocab), TOKENS, st.integers(0, 3))
    rows = []
    for _ in range(data.draw(st.integers(1, 4))):
        middle = data.draw(st.lists(st.sampled_from(vocab) | pick, max_size=40))
        ends = data.draw(st.lists(pick, max_size=2)), data.draw(st.lists(pick, max_size=2))
        rows.append([*ends[0], *middle, *ends[1]])
    assert_rows(TokenIds(vocab, counted), vocab, counted, rows)


def test_a_batch_of_words_takes_the_code_point_path():
    """BoS, one-character symbols, the end token: each row's symbols are one run, and the
    batch's runs one lookup."""
    vocab = ["<bos>", "a", "b", "<$>"]
    codec = TokenIds(vocab, ["a", "b"])
    rows = [["<bos>", *("ab" * 128), "<$>"], ["<bos>", *"bba", "<$>"]]
    seen = []
    original = codec._by_code
    codec._by_code = lambda text: seen.append(len(text)) or original(text)
    got = codec.rows(rows)
    assert seen == [259]
    assert got[0][0].tolist() == [0, *[1, 2] * 128, 3] and got[0][1] == 256
    assert got[1][0].tolist() == [0, 2, 2, 1, 3] and got[1][1] == 3


@pytest.mark.parametrize(
    "run",
    [["a", "", "bb", "a"], ["a", "c", "b"], ["a", 1, "b"], ["a", "\ud800", "b"]],
    ids=["empty-beside-long", "unknown", "not-a-string", "surrogate"],
)
def test_runs_the_code_points_cannot_take_fall_back(run):
    """An empty token beside a two-character one (their lengths add up as two single ones),
    an unknown character, a non-string and an unencodable character, in a batch beside a row
    the code points take: the dict path decides for that row, the other stays right."""
    vocab = ["a", "b", "bb", ""]
    codec = TokenIds(vocab, ["a"])
    assert_rows(codec, vocab, ["a"], [run, ["a", "b", "a"]])
