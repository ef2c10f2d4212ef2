"""The construction registry: every construction logdepth compiles, in one table.

An entry says what a construction is (its name, the paper reference, what it accepts, its layer
formula) and where its parts live: the builder, the precision model (tie tolerance and frontier
n(p)) and the verifier, each named "module:attribute" and imported only when used. So `compile`,
the CLI (compile, verify, inspect, constructions, budget) and `verify` dispatch through this
table alone, and importing it imports no construction module: `logdepth.verify` reaches a
construction's gap model only through an entry, when it re-derives a file's precision record.

Adding a construction: write its module (a `Program` builder returning a `CompiledModel`), its
precision model and, if its invariants are new, a verifier; then add one `Construction` here
(docs/architecture.md, "Adding a construction").
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from logdepth.errors import CompileError
from logdepth.model.config import DepthRule


@dataclass(frozen=True)
class Construction:
    """One compilable construction.

    name: what users pass (`compile(obj, construction=name)`, `--construction name`).
    config_name: what a weight file's config records as its construction.
    accepts: "automaton" (a DFA or NFA) or "graph" (nothing: one file serves every graph).
    input_format: the token format of its inputs, "word" or "graph" (model.inputs).
    slope, offset: its layer count, slope * ceil(log2 n) + offset, with n the input size (or N,
        the build's max_length, for a non-uniform construction). slope 0: constant depth.
    needs_max_length: a non-uniform build for inputs up to N = max_length.
    level_layers: for a fixed-depth build, (first, per, after): the layers up to level 0's
        end, the layers per level and the layers after the last level (None: the config's s
        and r, a uniform construction's loop).
    build: "module:function" called as function(obj, **options, max_length=.., source=..).
    precision: "module:function(report)" returning (tie tolerance, n(p) function) for the
        file's precision record (`verify.precision.rederive_record`).
    verifier: "module:function" with verify's keyword arguments (`verify.run`).
    capacity: the largest input its position code holds (None: unbounded).
    depth: "module:function(report)" giving one build's layer count, for a constant-depth
        construction whose constant is the language's (starfree: 2 per cascade level); `offset`
        is then the fewest layers any build has, and `depth_text` says what sets it.
    chooser: builds with another entry, chosen per language and named in the report's
        "chosen" record (auto); its files name that entry's config, never its own.
    """

    name: str
    config_name: str
    reference: str
    accepts: str
    input_format: str
    slope: int
    offset: int
    build: str
    precision: str
    verifier: str
    summary: str = ""
    needs_max_length: bool = False
    level_layers: tuple[int, int, int] | None = None
    capacity: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    finish: str | None = None  # "module:function" applied to the built model (e.g. names)
    monoid_codes: bool = False  # its cells carry Theorem 1's monoid elements (a codebook)
    depth: str | None = None
    depth_text: str = ""
    chooser: bool = False

    # -- layer counts ------------------------------------------------------------------------
    def layers(
        self, n: int, max_length: int | None = None, report: dict[str, Any] | None = None
    ) -> int:
        """The layer count the formula promises for input size n (or the build's N); for a
        construction whose depth is the language's, the build's (from its `report`)."""
        if self.depth is not None and report is not None:
            return int(_resolve(self.depth)(report))
        size = max(max_length, 1) if self.needs_max_length and max_length is not None else n
        return self.slope * DepthRule.ceil_log2(size) + self.offset

    @property
    def formula(self) -> str:
        var = "N" if self.needs_max_length else "n"
        if self.depth_text:
            return f"{self.depth_text} (every {var})"
        if self.slope == 0:
            return f"{self.offset} (every {var})"
        lead = "" if self.slope == 1 else f"{self.slope} "
        return f"{lead}ceil(log2 {var}) + {self.offset}"

    @property
    def unit(self) -> str:
        return INPUTS[self.input_format].unit

    # -- the parts, imported on use ---------------------------------------------------------
    def builder(self) -> Callable[..., Any]:
        return _resolve(self.build)

    def precision_model(self, report: Any = None) -> tuple[float, Callable[[int], int]]:
        """(tie tolerance, n(p)) from the construction's gap model; `report` is the file's
        report, for models whose frontier depends on the build (counting: its modulus)."""
        return _resolve(self.precision)(report or {})

    def verify_function(self) -> Callable[..., Any]:
        return _resolve(self.verifier)

    def compile(self, obj: Any = None, *, max_length: int | None = None, source: Any = None):
        """Build this construction's weights for `obj` (see `logdepth.compile`)."""
        if self.needs_max_length and max_length is None:
            raise CompileError(
                f"the {self.name} construction ({self.reference}) needs max_length: it is built "
                "for inputs up to that length"
            )
        if not self.needs_max_length and max_length is not None:
            raise CompileError(
                f"max_length is for a non-uniform construction; {self.name} serves every input "
                "size up to its frontier"
            )
        if self.accepts == "graph":
            if obj is not None:
                raise CompileError(
                    f"the {self.name} construction takes no automaton or graph: one set of "
                    "weights serves every graph"
                )
            model = self.builder()(**self.options)
        else:
            kwargs: dict[str, Any] = dict(self.options)
            if max_length is not None:
                kwargs["max_length"] = max_length
            if source is not None:
                kwargs["source"] = source
            model = self.builder()(obj, **kwargs)
        return _resolve(self.finish)(model) if self.finish else model


def _resolve(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class InputFormat:
    """How a model's inputs look to users: the unit of n, the sizes `precision` sweeps by
    default, the fixed case set of that size (`cases`: "module:function(model, n, k, seed)"),
    and whether a counterexample is shown quoted (a word may be empty)."""

    name: str
    unit: str
    default_max_n: int
    cases: str
    quoted: bool

    def case_set(self, model: Any, n: int, k: int, seed: int) -> list[Any]:
        return _resolve(self.cases)(model, n, k, seed)


INPUTS: dict[str, InputFormat] = {
    "word": InputFormat("word", "symbols", 1024, "logdepth.verify.precision:word_case_set", True),
    "graph": InputFormat("graph", "vertices", 8, "logdepth.verify.precision:graph_case_set", False),
}


def input_of(model: Any) -> InputFormat:
    """The input format of a loaded model (its config's input_format)."""
    return INPUTS[model.config.input_format]


_REGULAR = "logdepth.constructions.regular:compile_regular"
_VERIFY_WORDS = "logdepth.verify.regular:verify_regular"
_VERIFY_GRAPHS = "logdepth.verify.connectivity:verify_connectivity"
# Word models label their monoid-code cells with the spec's element names.
_NAME_ELEMENTS = "logdepth.automata.elements:name_code_cells"

CONSTRUCTIONS: tuple[Construction, ...] = (
    Construction(
        name="uniform",
        config_name="theorem1-uniform",
        reference="Theorem 1",
        summary="(0, 8, 9)-universal: monoid products up a binary tree",
        accepts="automaton",
        input_format="word",
        slope=8,
        offset=9,
        build=_REGULAR,
        options={"construction": "uniform"},
        precision="logdepth.gaps.regular:precision_model",
        verifier=_VERIFY_WORDS,
        finish=_NAME_ELEMENTS,
        monoid_codes=True,
    ),
    Construction(
        name="nonuniform",
        config_name="corollary1.1-nonuniform",
        reference="Corollary 1.1",
        summary="Theorem 1 unrolled for inputs up to N, every layer initial",
        accepts="automaton",
        input_format="word",
        slope=4,
        offset=5,
        needs_max_length=True,
        level_layers=(4, 4, 1),
        build=_REGULAR,
        options={"construction": "nonuniform"},
        precision="logdepth.gaps.regular:precision_model",
        verifier=_VERIFY_WORDS,
        finish=_NAME_ELEMENTS,
        monoid_codes=True,
    ),
    Construction(
        name="wide",
        config_name="theorem1-wide",
        reference="Theorem 1, wide position code (docs/wide.md)",
        summary="(6, 1, 2)-universal: bit-vector positions, 1 bit per doubling of n",
        accepts="automaton",
        input_format="word",
        slope=1,
        offset=8,
        capacity=2**20 - 1,
        build=_REGULAR,
        options={"construction": "wide"},
        precision="logdepth.gaps.wide:precision_model",
        verifier=_VERIFY_WORDS,
        finish=_NAME_ELEMENTS,
        monoid_codes=True,
    ),
    Construction(
        name="nonuniform-wide",
        config_name="corollary1.1-wide",
        reference="Corollary 1.1, wide position code (docs/wide.md)",
        summary="the wide Theorem 1 unrolled for inputs up to N",
        accepts="automaton",
        input_format="word",
        slope=1,
        offset=8,
        needs_max_length=True,
        level_layers=(7, 1, 1),
        capacity=2**20 - 1,
        build=_REGULAR,
        options={"construction": "nonuniform-wide"},
        precision="logdepth.gaps.wide:precision_model",
        verifier=_VERIFY_WORDS,
        finish=_NAME_ELEMENTS,
        monoid_codes=True,
    ),
    Construction(
        name="connectivity",
        config_name="connectivity (Theorem 2, (17, 2, 1)-universal)",
        reference="Theorem 2",
        summary="(17, 2, 1)-universal: repeated squaring of I + A over n^3 pads",
        accepts="graph",
        input_format="graph",
        slope=2,
        offset=18,
        build="logdepth.constructions.connectivity:compile_connectivity",
        precision="logdepth.constructions.connectivity:precision_model",
        verifier=_VERIFY_GRAPHS,
    ),
    Construction(
        name="connectivity-wide",
        config_name="connectivity-wide",
        reference="Theorem 2, wide position code (docs/wide.md)",
        summary="(13, 2, 1)-universal: bit-vector coordinates, float32 to 31 vertices",
        accepts="graph",
        input_format="graph",
        slope=2,
        offset=14,
        capacity=128,
        build="logdepth.constructions.graph_wide:compile_connectivity_wide",
        precision="logdepth.gaps.graph_wide:precision_model",
        verifier=_VERIFY_GRAPHS,
    ),
)

CONSTRUCTIONS += (
    Construction(
        name="counting",
        config_name="counting-mod",
        reference="Lemma 1 with Lemma 7's averages (modular counting, constant depth)",
        summary="8 layers for every n: Lemma 1's table divides up to 3 letter counts by m",
        accepts="automaton",
        input_format="word",
        slope=0,
        offset=8,
        build="logdepth.constructions.counting:compile_counting",
        precision="logdepth.gaps.counting:precision_model",
        verifier="logdepth.verify.counting:verify_counting",
    ),
    Construction(
        name="starfree",
        config_name="starfree-cascade",
        reference="holonomy cascade of reset levels (star-free languages, constant depth)",
        summary="2 layers per cascade level for every n (the levels are the language's)",
        accepts="automaton",
        input_format="word",
        slope=0,
        offset=1,
        depth="logdepth.constructions.starfree:layers_of",
        depth_text="2 L, L >= 1 the cascade's levels",
        build="logdepth.constructions.starfree:compile_starfree",
        precision="logdepth.gaps.starfree:precision_model",
        verifier="logdepth.verify.starfree:verify_starfree",
    ),
    Construction(
        name="solvable",
        config_name="solvable-cascade",
        reference="holonomy cascade with solvable groups split into Z_p counters (constant depth)",
        summary="constant depth set by the decomposition: reset levels and modular counters",
        accepts="automaton",
        input_format="word",
        slope=0,
        offset=1,
        depth="logdepth.constructions.solvable:layers_of",
        depth_text="7 + 2 per reset level + 4-5 per counter (+1), the cascade's",
        build="logdepth.constructions.solvable:compile_solvable",
        precision="logdepth.gaps.solvable:precision_model",
        verifier="logdepth.verify.solvable:verify_solvable",
    ),
)

CONSTRUCTIONS += (
    Construction(
        name="auto",
        config_name="auto",
        reference="chosen by the language's class (logdepth.classify)",
        summary="counting for a cyclic group, starfree for an aperiodic monoid, else wide",
        accepts="automaton",
        input_format="word",
        slope=1,
        offset=1,
        depth="logdepth.constructions.auto:layers_of",
        depth_text="the chosen construction's",
        chooser=True,
        build="logdepth.constructions.auto:compile_auto",
        precision="logdepth.gaps.auto:precision_model",
        verifier="logdepth.constructions.auto:verify_auto",
    ),
)

_BY_NAME = {c.name: c for c in CONSTRUCTIONS}
_BY_CONFIG = {c.config_name: c for c in CONSTRUCTIONS}


def names(accepts: str | None = None) -> list[str]:
    return [c.name for c in CONSTRUCTIONS if accepts is None or c.accepts == accepts]


def get(name: str) -> Construction:
    """The construction users call `name`; CompileError listing the known ones otherwise."""
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise CompileError(
            f"unknown construction {name!r} (known: {', '.join(_BY_NAME)})"
        ) from None


def of_config(config_name: str) -> Construction | None:
    """The construction a weight file's config names (None: a hand-built program)."""
    return _BY_CONFIG.get(config_name)


__all__ = [
    "CONSTRUCTIONS",
    "INPUTS",
    "Construction",
    "InputFormat",
    "get",
    "input_of",
    "names",
    "of_config",
]
