"""An example logdepth construction plug-in, defined entirely outside the logdepth package.

"uniform-maps" is Theorem 1's (0, 8, 9)-universal transformer with the monoid elements always
coded as state maps (|Q|^3 + |Q|^2 table units), where the built-in "uniform" picks the cheaper
of that and the one-hot monoid code (|M|^2). For a language whose transition monoid is much
larger than its state count cubed the two agree; forcing maps makes the table width depend on
the automaton's states alone, which a budget may need.

It re-parameterises Theorem 1's builder (the catalog entry's `options`), so its weights compute
the language exactly as Theorem 1's do; its contract is Theorem 1's, stated here as data. Once
the package is installed (`pip install examples/plugin`), every logdepth command serves it:

    logdepth constructions                      # lists uniform-maps
    logdepth compile examples/basics.ld --name parity --construction uniform-maps -o p.safetensors
    logdepth run p.safetensors 0110 ; logdepth verify p.safetensors ; logdepth inspect p.safetensors
    logdepth explain p.safetensors 0110 -o p.html ; logdepth budget --layers 40
    logdepth precision p.safetensors

Without installing, `logdepth.register(CONSTRUCTION)` adds it for the running process.
"""

from __future__ import annotations

from logdepth.catalog import REGULAR_FRONTIER, REGULAR_TOLERANCE, Construction, Contract

CONSTRUCTION = Construction(
    name="uniform-maps",
    config_name="example-uniform-maps",
    reference="Theorem 1 with the state-map code (examples/plugin)",
    title="Theorem 1 (0, 8, 9), state-map code",
    summary="(0, 8, 9)-universal: Theorem 1 with every monoid element coded as a state map",
    accepts="automaton",
    input_format="word",
    # Theorem 1's configs: (s, r, t) = (0, 8, 9), so 8 ceil(log2 n) + 9 layers; its tolerance
    # and frontier caps (the code changes the table, not the attention scores).
    contract=Contract(s_r_t=(0, 8, 9), tolerance=REGULAR_TOLERANCE, frontier=REGULAR_FRONTIER),
    build="logdepth.constructions.regular:compile_regular",
    options={"wide": False, "encoding": "maps"},
    precision="logdepth.gaps.regular:precision_model",
    verifier="logdepth.verify.regular:verify_regular",
    finish="logdepth.automata.elements:name_code_cells",
    monoid_codes=True,
)

__all__ = ["CONSTRUCTION"]
