"""How many words of each length an automaton accepts (and rejects), and words of one length drawn
uniformly at random from those it accepts (or rejects).

Everything runs on the DFA (an NFA is determinized first), restricted to the states reachable
from its start:

- Counting is dynamic programming over the DFA in exact Python integers: N_0 = [start], and
  N_{r+1}[q'] = sum over (q, a) with delta(q, a) = q' of N_r[q]; the accepted words of length n
  number sum_{q accepting} N_n[q], the rejected ones |Sigma|^n minus that.
- Sampling walks forward with the backward counts W_r[q] (words of length r from q that end
  accepting): from q with r symbols left it takes symbol a with probability
  W_{r-1}[delta(q, a)] / W_r[q], so every accepted word of length n comes out with probability
  exactly 1 / W_n[start]. The table holds n + 1 rows of |Q| integers of up to n log2 |Sigma| bits:
  while that is at most EXACT_TABLE_BITS the integers are exact; past it (long words) the rows are
  kept as log2 of the counts in float64, and each choice is uniform up to float64 rounding of
  those logarithms (a relative error near n log2 |Sigma| * 2^-52 in each probability).
- Whether any word of length n is accepted is exact for every n: the set of states reachable by
  words of length n is eventually periodic in n, so it is followed until it repeats.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import numpy as np

from logdepth.automata.dfa import DFA
from logdepth.automata.nfa import NFA

# Integers the exact sampling table may hold, in bits (16 MiB): |Q| (n + 1) rows whose entries
# grow to n log2 |Sigma| bits hold about |Q| n^2 log2 |Sigma| / 2 bits.
EXACT_TABLE_BITS = 1 << 27


class WordCounter:
    """Counts and uniform samples of the words of one length that `automaton` accepts or
    rejects (module docstring)."""

    def __init__(self, automaton: DFA | NFA) -> None:
        dfa = automaton.determinize() if isinstance(automaton, NFA) else automaton
        states = dfa.reachable()
        index = {q: k for k, q in enumerate(states)}
        self.alphabet: tuple[str, ...] = tuple(dfa.alphabet)
        self._succ = [[index[dfa.delta[(q, a)]] for a in self.alphabet] for q in states]
        self._accepting = [q in dfa.accept for q in states]
        self._size = len(states)
        # post[q]: bitmask of the states one symbol from q (for the reachable-set sequence).
        self._post = [sum({1 << j for j in row}) for row in self._succ]
        accept_mask = sum(1 << k for k, ok in enumerate(self._accepting) if ok)
        self._masks = {True: accept_mask, False: ((1 << self._size) - 1) & ~accept_mask}
        self._reach: list[int] = [1]  # bitmask of the states reached by words of length r
        self._seen: dict[int, int] = {1: 0}
        self._cycle: tuple[int, int] | None = None  # (first index of the cycle, its period)
        self._tables: dict[tuple[bool, bool], list] = {}  # (accepted, exact) -> rows W_0, W_1, ...

    # -- whether words exist -----------------------------------------------------------------
    def _reached(self, n: int) -> int:
        """Bitmask of the states reached by some word of length n (exact for every n)."""
        while self._cycle is None and len(self._reach) <= n:
            current, nxt = self._reach[-1], 0
            q = 0
            while current:
                if current & 1:
                    nxt |= self._post[q]
                current >>= 1
                q += 1
            if nxt in self._seen:
                first = self._seen[nxt]
                self._cycle = (first, len(self._reach) - first)
            else:
                self._seen[nxt] = len(self._reach)
                self._reach.append(nxt)
        if n < len(self._reach):
            return self._reach[n]
        assert self._cycle is not None
        first, period = self._cycle
        return self._reach[first + (n - first) % period]

    def has_words(self, n: int, accepted: bool = True) -> bool:
        """Does the automaton accept (reject, with accepted=False) some word of length n?"""
        return bool(self._reached(n) & self._masks[accepted])

    def next_length(self, start: int, stop: int, accepted: bool = True) -> int | None:
        """The least length in [start, stop] with an accepted (rejected) word, or None."""
        n = start
        while n <= stop:
            # Past the cycle's start every length repeats one of the last `period` lengths.
            if self._cycle is not None and n >= max(start, self._cycle[0]) + self._cycle[1]:
                return None
            if self.has_words(n, accepted):
                return n
            n += 1
        return None

    def is_empty(self, accepted: bool = True) -> bool:
        """No word of any length is accepted (rejected, with accepted=False)."""
        return not any(self._accepting[k] == accepted for k in range(self._size))

    # -- counting ----------------------------------------------------------------------------
    def counts(self, max_n: int, accepted: bool = True) -> list[int]:
        """The exact number of accepted (rejected) words of each length 0..max_n."""
        row = [0] * self._size
        row[0] = 1
        out = []
        sigma = len(self.alphabet)
        for n in range(max_n + 1):
            acc = sum(c for c, ok in zip(row, self._accepting, strict=True) if ok)
            out.append(acc if accepted else sigma**n - acc)
            nxt = [0] * self._size
            for q, c in enumerate(row):
                if c:
                    for j in self._succ[q]:
                        nxt[j] += c
            row = nxt
        return out

    def count(self, n: int, accepted: bool = True) -> int:
        """The exact number of accepted (rejected) words of length n."""
        return self.counts(n, accepted)[-1]

    # -- uniform sampling --------------------------------------------------------------------
    def exact_table_fits(self, n: int) -> bool:
        """Whether the exact table for length n stays within EXACT_TABLE_BITS."""
        bits = math.log2(max(len(self.alphabet), 2))
        return self._size * (n + 1) * (n * bits / 2 + 1) <= EXACT_TABLE_BITS

    def sample(
        self,
        n: int,
        k: int,
        rng: random.Random,
        accepted: bool = True,
        exact: bool | None = None,
    ) -> list[tuple[str, ...]]:
        """k words of length n, each drawn independently and uniformly from the accepted
        (rejected) words of that length; [] when there is none. `exact` forces the integer
        table (True) or the log2 table (False); by default the integers whenever they fit."""
        if k <= 0 or not self.has_words(n, accepted):
            return []
        if exact if exact is not None else self.exact_table_fits(n):
            rows = self._table(n, accepted, exact=True)
            return [self._walk_exact(rows, n, rng) for _ in range(k)]
        logs = self._table(n, accepted, exact=False)
        return [self._walk_log(logs, n, rng) for _ in range(k)]

    def _table(self, n: int, accepted: bool, exact: bool) -> list:
        """Rows 0..n (at least) of the backward counts W_r, exact integers or log2 floats; kept
        and extended between calls, since row r does not depend on the length sampled."""
        rows = self._tables.setdefault((accepted, exact), [])
        if not rows:
            flags = [ok == accepted for ok in self._accepting]
            rows.append([int(f) for f in flags] if exact else np.where(flags, 0.0, -np.inf))
        if exact:
            while len(rows) <= n:
                prev = rows[-1]
                rows.append([sum(prev[j] for j in succ) for succ in self._succ])
            return rows
        succ = np.asarray(self._succ, dtype=np.int64).reshape(self._size, len(self.alphabet))
        with np.errstate(invalid="ignore", divide="ignore"):
            while len(rows) <= n:
                rows.append(np.logaddexp2.reduce(rows[-1][succ], axis=1))
        return rows

    def _walk_exact(self, rows: list[list[int]], n: int, rng: random.Random) -> tuple[str, ...]:
        q, word = 0, []
        for r in range(n, 0, -1):
            prev = rows[r - 1]
            a = _pick([prev[j] for j in self._succ[q]], rng.randrange(rows[r][q]))
            word.append(self.alphabet[a])
            q = self._succ[q][a]
        return tuple(word)

    def _walk_log(self, rows: list[np.ndarray], n: int, rng: random.Random) -> tuple[str, ...]:
        q, word = 0, []
        for r in range(n, 0, -1):
            logs = rows[r - 1][self._succ[q]]
            weights = [float(w) for w in np.exp2(logs - logs.max())]  # -inf gives exactly 0
            a = _pick(weights, rng.random() * sum(weights))
            word.append(self.alphabet[a])
            q = self._succ[q][a]
        return tuple(word)


def _pick(weights: Sequence[float], x: float) -> int:
    """The index k with sum(weights[:k]) <= x < sum(weights[:k + 1]); the last positive weight
    if rounding ran x past the end (never one of weight 0)."""
    last = 0
    for k, w in enumerate(weights):
        if w > 0:
            if x < w:
                return k
            last = k
        x -= w
    return last
