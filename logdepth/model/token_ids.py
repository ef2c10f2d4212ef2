"""Token strings to vocabulary ids for a forward pass (`CompiledModel.run_tokens`).

A batch of 16 words of 256 symbols is 4,128 tokens, and a dict lookup per token, with the
conversion of each id to an int64, cost about a fifth of star-free's whole forward pass at
that size. Most tokens are one character (a word's symbols, a graph's adjacency bits), so the
run of one-character tokens between a sequence's first and last longer ones (its BoS and end
tokens) is joined into one string and looked up by code point in one array operation; any
other token, and every sequence the fast path cannot take (a longer or empty token inside the
run, a character not in the vocabulary, a token that is not a string), goes through the dict
one token at a time, which names the first unknown token.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


class TokenIds:
    """The ids of a vocabulary's tokens, and which of them count toward the input size."""

    def __init__(self, vocab: Sequence[str], counted: Iterable[str]) -> None:
        self.index = {token: k for k, token in enumerate(vocab)}
        self.counted = np.zeros(len(vocab), dtype=bool)
        for token in counted:
            if token in self.index:
                self.counted[self.index[token]] = True
        single = {ord(t): k for t, k in self.index.items() if isinstance(t, str) and len(t) == 1}
        # by_code[c]: the id of the one-character token chr(c), -1 where there is none.
        self.by_code = np.full(max(single, default=-1) + 1, -1, dtype=np.int64)
        self.by_code[list(single)] = list(single.values())

    def ids(self, tokens: Sequence[str]) -> np.ndarray:
        """The ids of `tokens` (int64); KeyError(token) for the first token not in the
        vocabulary."""
        out = np.empty(len(tokens), dtype=np.int64)
        start, stop = self._one_character_run(tokens)
        if stop - start > 1:
            found = self._by_code(tokens[start:stop])
            if found is not None:
                out[start:stop] = found
                out[:start] = [self.index[t] for t in tokens[:start]]
                out[stop:] = [self.index[t] for t in tokens[stop:]]
                return out
        out[:] = list(map(self.index.__getitem__, tokens))
        return out

    def count(self, ids: np.ndarray) -> int:
        """How many of the ids count toward the input size (`DepthRule.count_tokens`)."""
        return int(np.count_nonzero(self.counted[ids]))

    @staticmethod
    def _one_character_run(tokens: Sequence[str]) -> tuple[int, int]:
        """[start, stop): tokens without the longer tokens at either end (all of them where
        an end token is not a string: the dict path takes it)."""
        start, stop = 0, len(tokens)
        try:
            while start < stop and len(tokens[start]) != 1:
                start += 1
            while stop > start and len(tokens[stop - 1]) != 1:
                stop -= 1
        except TypeError:
            return 0, 0
        return start, stop

    def _by_code(self, run: Sequence[str]) -> np.ndarray | None:
        """The ids of a run of tokens looked up by code point, or None where the run is not
        all one-character tokens of the vocabulary."""
        try:
            joined = "".join(run)
            # Every token is one character iff the run is the joined string's characters (the
            # lengths alone could add up with an empty token beside a two-character one).
            if len(joined) != len(run) or list(joined) != (run if type(run) is list else list(run)):
                return None
            codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
        except (TypeError, UnicodeEncodeError):  # a token that is not a string; a surrogate
            return None
        if int(codes.max()) >= len(self.by_code):
            return None
        found = self.by_code[codes]
        return found if int(found.min()) >= 0 else None
