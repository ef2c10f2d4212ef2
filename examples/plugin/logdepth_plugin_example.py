"""An example logdepth construction plug-in, defined entirely outside the logdepth package.

"uniform-verdict" is a construction of its own: this module builds its `Program` (named cells
and layers) and describes the build (`report`), and logdepth's build driver does the rest
(hygiene check, assembly, the weight file, its name). The program is Theorem 1's
(0, 8, 9)-universal transformer over the state-map monoid code (logdepth's public
`uniform_program`, with the code this plug-in forces: |Q|^3 + |Q|^2 table units, set by the
automaton's states alone) plus one layer of its own, built from the kit's public gadgets: a
feed-forward that copies the answer into a `verdict` cell, which its readout reads. So its
layers are 8 ceil(log2 n) + 10, (s, r, t) = (0, 8, 10), stated in its contract, and its score
gaps are Theorem 1's (the added layer has no attention), so it keeps Theorem 1's tolerance,
frontier caps, precision model and verifier.

Once the package is installed (`pip install examples/plugin`), every logdepth command serves
it:

    logdepth constructions                      # lists uniform-verdict
    logdepth compile examples/basics.ld --name parity --construction uniform-verdict -o p.st
    logdepth run p.st 0110 ; logdepth verify p.st ; logdepth inspect p.st
    logdepth explain p.st 0110 -o p.html ; logdepth budget --layers 40
    logdepth precision p.st

Without installing, `logdepth.register(CONSTRUCTION)` adds it for the running process.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from logdepth.automata.dfa import DFA
from logdepth.automata.nfa import NFA
from logdepth.catalog import REGULAR_FRONTIER, REGULAR_TOLERANCE, Construction, Contract
from logdepth.compiler.program import Layer, Program
from logdepth.constructions.regular import frontier_record, uniform_program
from logdepth.gaps.regular import FRONTIER_METHOD, frontier_for_bits
from logdepth.kit.feedforward import linear_ff
from logdepth.kit.monoid_codes import choose_encoding
from logdepth.kit.words import word_readout


def build_program(automaton: DFA | NFA) -> Program:
    """Theorem 1's program over the state-map code, then this plug-in's verdict layer: a
    linear feed-forward (kit) copying the bool `answer` <b, 1 - b> into `verdict`, which the
    readout reads. The encoding is the program's fact, for `report`."""
    enc = choose_encoding(automaton, "maps")
    program = uniform_program(enc, list(automaton.alphabet))
    answer = next(c for c in program.layout.cells if c.name == "answer")
    verdict = program.layout.bool("verdict")
    copy = linear_ff([({answer: np.eye(2)}, {verdict: np.eye(2)})], note="verdict := answer")
    program.final.append(Layer("plug-in: verdict := answer (kit.linear_ff)", ff=copy))
    program.readout = word_readout(verdict)
    program.facts = {"encoding": enc}
    return program


def report(program: Program, entry: Construction) -> dict[str, Any]:
    """What the build's report states: the construction, its layer formula, the encoding and
    its codebook (verify decodes the code cells with it), and the frontier record."""
    enc = program.facts["encoding"]
    return {
        "theorem": entry.title,
        "construction": entry.name,
        "layers": entry.formula,
        "d_model": program.layout.d_model,
        **enc.describe(),
        **frontier_record(program, FRONTIER_METHOD, frontier_for_bits),
        "codebook": enc.codebook(),
    }


CONSTRUCTION = Construction(
    name="uniform-verdict",
    config_name="example-uniform-verdict",
    reference="Theorem 1 with the state-map code and a verdict layer (examples/plugin)",
    title="Theorem 1 (0, 8, 9) + a verdict layer, state-map code",
    summary="(0, 8, 10)-universal: Theorem 1 over state maps, then a verdict cell",
    accepts="automaton",
    input_format="word",
    # (s, r, t) = (0, 8, 10): 8 ceil(log2 n) + 10 layers; Theorem 1's tolerance and frontier
    # caps (the verdict layer adds no attention score).
    contract=Contract(s_r_t=(0, 8, 10), tolerance=REGULAR_TOLERANCE, frontier=REGULAR_FRONTIER),
    program="logdepth_plugin_example:build_program",
    report="logdepth_plugin_example:report",
    precision="logdepth.gaps.regular:precision_model",
    verifier="logdepth.verify.regular:verify_regular",
    finish="logdepth.automata.elements:name_code_cells",
    monoid_codes=True,
)

__all__ = ["CONSTRUCTION", "build_program", "report"]
