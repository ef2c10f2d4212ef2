"""The skeleton every word construction of Theorem 1 shares: the persistent cells the embedding
writes (BoS, end, activeness, the monoid element delta), the embedding of BoS, the letters and
the end marker, the answer layer (Acc maps the start state into F) and the accept/reject
readout. Used by the faithful (constructions/regular.py) and the wide (constructions/wide.py)
builders, and the readout by every word construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from logdepth.compiler.cells import PICK_TRUE, Cell, Layout, boolean
from logdepth.compiler.program import Layer
from logdepth.kit.monoid_codes import Encoding
from logdepth.model.config import BOS
from logdepth.model.inputs import END

OUTPUTS = ["reject", "accept"]


def word_readout(answer: Cell) -> dict[str, dict[Cell, np.ndarray]]:
    """accept/reject read off the answer bool <b, 1 - b> (every word construction)."""
    return {
        "accept": {answer: PICK_TRUE[None, :]},
        "reject": {answer: np.array([[0.0, 1.0]])},
    }


@dataclass
class Base:
    """The cells written by the embedding (persistent across the loop)."""

    layout: Layout
    one: Cell
    bos: Cell
    end: Cell
    alpha: Cell
    delta: Cell


def base_cells(enc: Encoding) -> Base:
    """The persistent cells of a word construction over the encoding's delta code."""
    layout = Layout()
    bos = layout.bool("bos", persistent=True)
    end = layout.bool("end", persistent=True)
    alpha = layout.bool("active", persistent=True)
    delta = enc.cell(layout, "delta", persistent=True)
    return Base(layout, layout.one, bos, end, alpha, delta)


def word_embedding(base: Base, enc: Encoding, alphabet: Sequence[str]) -> dict[str, dict]:
    """BoS and the end marker carry the identity, each letter its monoid element; only letters
    are active."""
    one = np.ones(1)
    emb = {
        BOS: {
            base.one: one,
            base.bos: boolean(1),
            base.end: boolean(0),
            base.alpha: boolean(0),
            base.delta: enc.code(enc.identity),
        },
        END: {
            base.one: one,
            base.bos: boolean(0),
            base.end: boolean(1),
            base.alpha: boolean(0),
            base.delta: enc.code(enc.identity),
        },
    }
    for a in alphabet:
        emb[a] = {
            base.one: one,
            base.bos: boolean(0),
            base.end: boolean(0),
            base.alpha: boolean(1),
            base.delta: enc.code(enc.letters[a]),
        }
    return emb


def answer_layer(base: Base, enc: Encoding) -> tuple[Layer, Cell]:
    """Theorem 1's final layer: the answer bool from delta by the encoding's lookup table."""
    answer = base.layout.bool("answer")
    layer = Layer(
        "Theorem 1, final layer: answer = [Acc maps the start state into F] (lookup table)",
        ff=enc.answer_ff(base.delta, answer),
    )
    return layer, answer
