"""The gadget kit every construction builds from (Appendix A and Lemma 1 of Merrill & Sabharwal).

- `hashing`: numbers stored as psi/phi hashes (Lemmas 2-4), uniform averages, psi terms, clears;
- `feedforward`: generic feed-forward blocks (identity copies, clears from linear forms);
- `rows`: heads and feed-forwards written as linear forms over cells (hand-written heads);
- `gadgets`: Appendix A's gadgets (lookups, offsets, equality flags, saturating steps);
- `division`: Lemma 1 as a 7-layer block with named free slots;
- `monoid_codes`: transition-monoid element codes and their tables;
- `words`: the word constructions' shared cells, embedding, answer layer and readout;
- `bits`: the wide constructions' threshold steps, bit columns and snaps.

The kit declares weights only through `logdepth.compiler.program`; it imports no construction,
no gap model (`logdepth.gaps` reads the kit's score geometry, not the reverse), no verifier
and no explainer.
"""
