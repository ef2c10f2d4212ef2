"""Token strings to vocabulary ids for a forward pass (`CompiledModel.run_tokens`).

A batch of 16 words of 256 symbols is 4,128 tokens, and a dict lookup per token, with the
conversion of each id to an int64, cost about a fifth of star-free's whole forward pass at
that size. Most tokens are one character (a word's symbols, a graph's adjacency bits), so the
run of one-character tokens between a sequence's first and last longer ones (its BoS and end
tokens) is joined into one string; the runs of a whole batch are then looked up by code point
in a few array operations. Any other token, and every sequence the fast path cannot take (a
longer or empty token inside the run, a character not in the vocabulary, a token that is not
a string), goes through the dict one token at a time, which names the first unknown token.
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
        self.is_counted = self.counted.tolist()  # the same, read one id at a time
        single = {ord(t): k for t, k in self.index.items() if isinstance(t, str) and len(t) == 1}
        # by_code[c]: the id of the one-character token chr(c), -1 where there is none.
        self.by_code = np.full(max(single, default=-1) + 1, -1, dtype=np.int64)
        self.by_code[list(single)] = list(single.values())

    def rows(self, sequences: Sequence[Sequence[str]]) -> list[tuple[np.ndarray, int] | KeyError]:
        """Per sequence: its ids (int64) and how many of them count toward the input size
        (`DepthRule.count_tokens`), or the KeyError of its first token not in the vocabulary."""
        runs = [self._run(tokens) for tokens in sequences]
        text = "".join(chars for _, _, chars in runs if chars is not None)
        found = self._by_code(text)
        if found is None:  # a character that cannot be encoded: every row by the dict
            runs = [(0, 0, None)] * len(runs)
        else:
            unknown = None  # every character known (the common case): no count needed
            if len(found) and found.min() < 0:
                unknown = np.concatenate(([0], np.cumsum(found < 0)))
            counted = np.concatenate(([0], np.cumsum(self.counted[np.maximum(found, 0)])))
        out: list[tuple[np.ndarray, int] | KeyError] = []
        offset = 0
        for tokens, (start, stop, chars) in zip(sequences, runs, strict=True):
            if chars is not None:
                end = offset + len(chars)
                known = unknown is None or unknown[end] == unknown[offset]
                span, count, offset = slice(offset, end), int(counted[end] - counted[offset]), end
                if known:
                    out.append(self._around(tokens, start, stop, found[span], count))
                    continue
            out.append(self._one_by_one(tokens))
        return out

    def _around(self, tokens, start: int, stop: int, run: np.ndarray, count: int):
        """The ids of tokens whose [start, stop) are `run` (with `count` counted among them):
        the tokens before and after it by the dict."""
        try:
            head = [self.index[t] for t in tokens[:start]]
            tail = [self.index[t] for t in tokens[stop:]]
        except KeyError as missing:
            return missing
        ids = np.concatenate((head, run, tail)).astype(np.int64, copy=False)
        return ids, count + sum(self.is_counted[k] for k in (*head, *tail))

    def _one_by_one(self, tokens: Sequence[str]) -> tuple[np.ndarray, int] | KeyError:
        """The dict path, token by token."""
        try:
            ids = np.fromiter(map(self.index.__getitem__, tokens), np.int64, len(tokens))
        except KeyError as missing:
            return missing
        return ids, int(np.count_nonzero(self.counted[ids]))

    @staticmethod
    def _run(tokens: Sequence[str]) -> tuple[int, int, str | None]:
        """(start, stop, characters): the tokens without the longer ones at either end, and
        their characters where every one of them is one character (None: the dict path)."""
        start, stop = 0, len(tokens)
        try:
            while start < stop and len(tokens[start]) != 1:
                start += 1
            while stop > start and len(tokens[stop - 1]) != 1:
                stop -= 1
            run = tokens[start:stop]
            chars = "".join(run)
        except TypeError:  # a token that is not a string
            return 0, 0, None
        # Every token is one character iff as many characters as tokens were joined and none
        # of them is empty (the lengths alone could add up with an empty token beside a
        # two-character one); `in` runs in C, 2.6x faster than comparing with list(chars).
        if stop - start < 2 or len(chars) != len(run) or "" in run:
            return start, stop, None
        return start, stop, chars

    def _by_code(self, text: str) -> np.ndarray | None:
        """The id of each character of text (-1: none), None where text cannot be encoded
        (a lone surrogate)."""
        try:
            codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        except UnicodeEncodeError:
            return None
        inside = codes < len(self.by_code)
        if inside.all():
            return self.by_code[codes]
        found = np.full(len(codes), -1, dtype=np.int64)
        found[inside] = self.by_code[codes[inside]]
        return found
