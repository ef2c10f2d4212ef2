"""The catalog: every construction logdepth compiles, each fact about it stated once.

An entry (`Construction`, frozen) says what a construction is and what its weight files must
look like: its name and the name its files' configs record, the paper reference, what it
accepts and its input format, and its `Contract` (s, r, t or its level layout, tie tolerance,
frontier caps, capacity; outputs and depth-rule root come with the input format). Its layer
formula, slope * ceil(log2 n) + offset, is derived from the contract (slope r, offset s + t;
a fixed-depth build: slope per level, offset the layers outside the levels), never restated.
Where its parts live -- builder, precision model, verifier -- is named "module:attribute" and
imported only when used, so importing the catalog imports no construction module, and
`logdepth.model` reads the contracts from it without importing the compiler.

Every reader takes these facts from here: `logdepth.build` (the one compile driver), the CLI,
`model/validate.py` (load contracts), `verify`, `explain`, `plot` and `budget`.

Plug-ins: `register(entry)` adds a construction at run time, and an installed package adds one
through the entry-point group `logdepth.constructions` (an entry point naming a `Construction`,
or a callable returning one or several), loaded lazily, once (docs/architecture.md, "Adding a
construction"; examples/plugin/).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from logdepth.errors import CompileError, PluginError
from logdepth.model.config import DepthRule

ENTRY_POINT_GROUP = "logdepth.constructions"
# What `compile` builds when no construction is named.
DEFAULT = "uniform"


# ---- input formats ----------------------------------------------------------------------------
@dataclass(frozen=True)
class InputFormat:
    """How a model's inputs look: the unit of n, the sizes `precision` sweeps by default, the
    fixed case set of that size (`cases`: "module:function(model, n, k, seed)"), whether a
    counterexample is shown quoted (a word may be empty), the outputs in logit order and the
    depth rule's root (a graph's n^2 adjacency tokens: root 2)."""

    name: str
    unit: str
    default_max_n: int
    cases: str
    quoted: bool
    outputs: tuple[str, ...]
    root: int

    def case_set(self, model: Any, n: int, k: int, seed: int) -> list[Any]:
        return resolve(self.cases)(model, n, k, seed)


INPUTS: dict[str, InputFormat] = {
    "word": InputFormat(
        "word", "symbols", 1024, "logdepth.verify.precision:word_case_set", True,
        ("reject", "accept"), 1,
    ),
    "graph": InputFormat(
        "graph", "vertices", 8, "logdepth.verify.precision:graph_case_set", False,
        ("disconnected", "connected"), 2,
    ),
}  # fmt: skip


def input_of(model: Any) -> InputFormat:
    """The input format of a loaded model (its config's input_format)."""
    return INPUTS[model.config.input_format]


# ---- contracts --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Contract:
    """What every weight file of a construction looks like; `model/validate.py` checks a loaded
    config against it, so an edited file cannot claim more than the construction builds.

    s_r_t: the (s, r, t) of its configs (None: set by the build).
    level_layers: a fixed-depth build's (first, per, after): the layers up to level 0's end,
        per further level, and after the last level; L levels serve inputs up to 2^(L - 1).
    tolerance: (exclusive lower, inclusive upper) bound of the stored tie tolerance (None:
        the file is checked only generically, like a hand-built program's).
    frontier: the most each dtype's stored frontier may claim (the precision model's).
    capacity: the largest input its position code holds (None: unbounded).
    """

    s_r_t: tuple[int, int, int] | None = None
    level_layers: tuple[int, int, int] | None = None
    tolerance: tuple[float, float] | None = None
    frontier: Mapping[str, int] = field(default_factory=dict)
    capacity: int | None = None

    @property
    def fixed_depth(self) -> bool:
        """Corollary 1.1 hard-codes its levels (all layers initial, depth fixed at 0)."""
        return self.level_layers is not None

    @property
    def per_level(self) -> tuple[int, int]:
        """(layers per level, the rest): a fixed-depth build of L levels has per L + rest."""
        first, per, after = self.level_layers or (0, 0, 0)
        return per, first - per + after


@dataclass(frozen=True)
class LanguageDepth:
    """A constant depth set by the language (a cascade's levels), not by n: `hook`
    "module:function(report)" gives one build's layer count; `text` says what sets it;
    slope and offset bound it for budgets (offset: the fewest layers any build has)."""

    hook: str
    text: str
    slope: int = 0
    offset: int = 1


# Tie tolerances and frontier caps, each derived in its construction's precision model (the
# tests check every number here against that model: tests/test_hardening.py,
# tests/test_catalog_build.py).
EPS64 = 2.0**-52
# Theorem 1 (constructions/regular.py): the tolerance is the float64 score noise,
# SCORE_NOISE_ULPS = 32 epsilons, and the frontier is derived for it (every gap at the frontier
# exceeds twice that noise). A larger tolerance could merge keys the frontier counts on being
# apart; legitimate ties are bitwise, so any positive tolerance up to it is safe.
REGULAR_TOLERANCE = (0.0, 32 * EPS64)
# Theorem 1's frontiers, regular.frontier_for_bits(52 / 23).
REGULAR_FRONTIER = {"float64": 19483, "float32": 110}
# The wide position code (constructions/wide.py) holds m < 2^K, K = 20 bits; its float32
# frontier is wide.frontier_for_bits(23), its float64 one the capacity.
WIDE_CAPACITY = 2**20 - 1
WIDE_FRONTIER = {"float64": WIDE_CAPACITY, "float32": 30838}
# Theorem 2 (gaps/connectivity.py): TAU = 2^-40; ties are not bitwise there, so the
# tolerance must also exceed twice the float64 rounding bound of a score, 7 k / (1 - k) with
# k = (2 (d_model // 2 + 8) + d_head) u, u = 2^-53 (gaps.connectivity.rounding_bound), for the
# program's d_model and widest head (constructions.connectivity.program_shape()).
GRAPH_SHAPE = (135, 10)
_K64 = (2 * (GRAPH_SHAPE[0] // 2 + 8) + GRAPH_SHAPE[1]) * 2.0**-53
GRAPH_TOLERANCE = (2 * 7.0 * _K64 / (1.0 - _K64), 2.0**-40)
GRAPH_FRONTIER = {"float64": 41, "float32": 0}  # gaps.connectivity.frontier()
# The wide Theorem 2 (constructions/graph_wide.py): 7-bit coordinates, n <= 2^7. Its ties are
# not bitwise (the snapped bits keep a trace of the raw steps' errors), so the tolerance must
# exceed the key deviation plus the score noise at the capacity, 1.3e-14
# (graph_wide.key_deviation(128, 52) + 32 eps); it is graph_wide.tie_tolerance() = 2^-44.
# Frontiers: graph_wide.frontier_for_bits(52 / 23), float64 the capacity.
GRAPH_WIDE_CAPACITY = 2**7
GRAPH_WIDE_TOLERANCE = (2.0**-46, 2.0**-44)
GRAPH_WIDE_FRONTIER = {"float64": GRAPH_WIDE_CAPACITY, "float32": 31}
# Star-free cascades: the most any cascade derives, a one-level one's
# (starfree.frontier_for_bits(52 / 23, 1); two or more levels derive Theorem 1's).
STARFREE_FRONTIER = {"float64": 586747, "float32": 720}


# ---- constructions ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Construction:
    """One compilable construction (see the module docstring).

    name: what users pass (`compile(obj, construction=name)`, `--construction name`).
    config_name: what its weight files' configs record (the build driver writes it).
    accepts: "automaton" (a DFA or NFA) or "graph" (nothing: one file serves every graph).
    input_format: "word" or "graph" (`INPUTS`).
    contract: its configs' shape, tolerance, frontier caps and capacity (`Contract`).
    depth: for a depth set by the language rather than n (`LanguageDepth`).
    needs_max_length: a non-uniform build for inputs up to N = max_length.
    build: "module:function" called as function(obj, **options, max_length=.., source=..)
        returning a CompiledModel; a function with an `entry` parameter also gets this entry.
    program, report: instead of `build`, "module:function(obj, **options[, max_length,
        entry]) -> Program" (its `facts` carry what the report needs) and
        "module:function(program[, network, obj, entry]) -> dict": `logdepth.build` checks,
        assembles and reports (the bracketed arguments go to a function that names them).
    precision: "module:function(report)" returning (tie tolerance, n(p) function) for the
        file's precision record (`verify.precision.rederive_record`).
    verifier: "module:function" with verify's keyword arguments (`verify.run`).
    title: what a build's report calls it ("theorem").
    aliases: other names a caller may use for it, per family, e.g. {"connectivity": "wide"}
        (`compile_connectivity("wide")`, `--connectivity wide`).
    finish: "module:function" applied to the built model (word models: element names).
    monoid_codes: its cells carry Theorem 1's monoid elements (a codebook; explain needs it).
    unexplained: why `explain` does not draw its runs yet (empty: it does).
    chooser: builds with another entry, chosen per language and named in the report's
        "chosen" record (auto); its files name that entry's config, never its own.
    serves: the language classes (`logdepth.classify`'s) a chooser may build this entry for,
        each with why; auto tries the entries serving a class in catalog order (`serving`),
        then its option `fallback`.
    """

    name: str
    config_name: str
    reference: str
    accepts: str
    input_format: str
    contract: Contract
    precision: str
    verifier: str
    build: str | None = None
    program: str | None = None
    report: str | None = None
    summary: str = ""
    title: str = ""
    needs_max_length: bool = False
    depth: LanguageDepth | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)
    finish: str | None = None
    monoid_codes: bool = False
    unexplained: str = ""
    chooser: bool = False
    serves: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.input_format not in INPUTS:
            raise CompileError(f"construction {self.name!r}: unknown input format")
        if (self.build is None) == (self.program is None):
            raise CompileError(f"construction {self.name!r} needs one of build and program")
        srt, levels = self.contract.s_r_t, self.contract.level_layers
        if self.depth is None and srt is None and levels is None:
            raise CompileError(
                f"construction {self.name!r} states no depth: its contract's s_r_t or "
                "level_layers, or a LanguageDepth"
            )

    # -- the layer formula, derived from the contract ----------------------------------------
    @property
    def slope(self) -> int:
        """Layers per doubling of n: r of (s, r, t), a fixed-depth build's layers per level."""
        if self.contract.level_layers is not None:
            return self.contract.level_layers[1]
        if self.contract.s_r_t is not None:
            return self.contract.s_r_t[1]
        return self.depth.slope if self.depth else 0

    @property
    def offset(self) -> int:
        """Layers outside the unrolled ones: s + t, or a fixed-depth build's first + after."""
        if self.contract.level_layers is not None:
            first, _, after = self.contract.level_layers
            return first + after
        if self.contract.s_r_t is not None:
            s, _, t = self.contract.s_r_t
            return s + t
        return self.depth.offset if self.depth else 0

    @property
    def capacity(self) -> int | None:
        return self.contract.capacity

    @property
    def level_layers(self) -> tuple[int, int, int] | None:
        return self.contract.level_layers

    @property
    def outputs(self) -> tuple[str, ...]:
        return INPUTS[self.input_format].outputs

    def layers(
        self, n: int, max_length: int | None = None, report: Mapping[str, Any] | None = None
    ) -> int:
        """The layer count the formula promises for input size n (or the build's N); for a
        construction whose depth is the language's, the build's (from its `report`)."""
        if self.depth is not None and report is not None:
            return int(resolve(self.depth.hook)(report))
        size = max(max_length, 1) if self.needs_max_length and max_length is not None else n
        return self.slope * DepthRule.ceil_log2(size) + self.offset

    def formula_at(self, n: int) -> str:
        """The formula evaluated: "2 ceil(log2 5) + 18 = 2 * 3 + 18"."""
        var = self.formula.replace("ceil(log2 N)", f"ceil(log2 {n})")
        var = var.replace("ceil(log2 n)", f"ceil(log2 {n})")
        return f"{var} = {self.slope} * {DepthRule.ceil_log2(n)} + {self.offset}"

    @property
    def formula(self) -> str:
        var = "N" if self.needs_max_length else "n"
        if self.depth is not None:
            return f"{self.depth.text} (every {var})"
        if self.slope == 0:
            return f"{self.offset} (every {var})"
        lead = "" if self.slope == 1 else f"{self.slope} "
        return f"{lead}ceil(log2 {var}) + {self.offset}"

    @property
    def unit(self) -> str:
        return INPUTS[self.input_format].unit

    # -- the parts, imported on use ---------------------------------------------------------
    def builder(self) -> Callable[..., Any]:
        return resolve(self.build or self.program or "")

    def precision_model(self, report: Any = None) -> tuple[float, Callable[[int], int]]:
        """(tie tolerance, n(p)) from the construction's gap model; `report` is the file's
        report, for models whose frontier depends on the build (counting: its modulus)."""
        return resolve(self.precision)(report or {})

    def verify_function(self) -> Callable[..., Any]:
        return resolve(self.verifier)



def resolve(path: str) -> Any:
    """The object a "module:attribute" string names, imported now."""
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


# ---- the built-in entries ---------------------------------------------------------------------
# Theorem 1 and Corollary 1.1, faithful or wide: one program builder and its report.
_REGULAR = "logdepth.constructions.regular:build_program"
_REGULAR_REPORT = "logdepth.constructions.regular:report"
_VERIFY_WORDS = "logdepth.verify.regular:verify_regular"
_VERIFY_GRAPHS = "logdepth.verify.connectivity:verify_connectivity"
# Word models label their monoid-code cells with the spec's element names.
_NAME_ELEMENTS = "logdepth.automata.elements:name_code_cells"
_PRECISION_REGULAR = "logdepth.gaps.regular:precision_model"
_PRECISION_WIDE = "logdepth.gaps.wide:precision_model"

CONSTRUCTIONS: tuple[Construction, ...] = (
    Construction(
        name="uniform",
        config_name="theorem1-uniform",
        reference="Theorem 1",
        title="Theorem 1 (0, 8, 9)",
        summary="(0, 8, 9)-universal: monoid products up a binary tree",
        accepts="automaton",
        input_format="word",
        contract=Contract(s_r_t=(0, 8, 9), tolerance=REGULAR_TOLERANCE, frontier=REGULAR_FRONTIER),
        program=_REGULAR,
        report=_REGULAR_REPORT,
        options={"wide": False},
        precision=_PRECISION_REGULAR,
        verifier=_VERIFY_WORDS,
        finish=_NAME_ELEMENTS,
        monoid_codes=True,
    ),
    Construction(
        name="nonuniform",
        config_name="corollary1.1-nonuniform",
        reference="Corollary 1.1",
        title="Corollary 1.1",
        summary="Theorem 1 unrolled for inputs up to N, every layer initial",
        accepts="automaton",
        input_format="word",
        contract=Contract(
            level_layers=(4, 4, 1), tolerance=REGULAR_TOLERANCE, frontier=REGULAR_FRONTIER
        ),
        needs_max_length=True,
        program=_REGULAR,
        report=_REGULAR_REPORT,
        options={"wide": False},
        precision=_PRECISION_REGULAR,
        verifier=_VERIFY_WORDS,
        finish=_NAME_ELEMENTS,
        monoid_codes=True,
    ),
    Construction(
        name="wide",
        config_name="theorem1-wide",
        reference="Theorem 1, wide position code (docs/wide.md)",
        title="Theorem 1, wide position code (6, 1, 2)",
        summary="(6, 1, 2)-universal: bit-vector positions, 1 bit per doubling of n",
        accepts="automaton",
        input_format="word",
        contract=Contract(
            s_r_t=(6, 1, 2),
            tolerance=REGULAR_TOLERANCE,
            frontier=WIDE_FRONTIER,
            capacity=WIDE_CAPACITY,
        ),
        program=_REGULAR,
        report=_REGULAR_REPORT,
        options={"wide": True},
        precision=_PRECISION_WIDE,
        verifier=_VERIFY_WORDS,
        finish=_NAME_ELEMENTS,
        monoid_codes=True,
    ),
    Construction(
        name="nonuniform-wide",
        config_name="corollary1.1-wide",
        reference="Corollary 1.1, wide position code (docs/wide.md)",
        title="Corollary 1.1, wide position code",
        summary="the wide Theorem 1 unrolled for inputs up to N",
        accepts="automaton",
        input_format="word",
        contract=Contract(
            level_layers=(7, 1, 1),
            tolerance=REGULAR_TOLERANCE,
            frontier=WIDE_FRONTIER,
            capacity=WIDE_CAPACITY,
        ),
        needs_max_length=True,
        program=_REGULAR,
        report=_REGULAR_REPORT,
        options={"wide": True},
        precision=_PRECISION_WIDE,
        verifier=_VERIFY_WORDS,
        finish=_NAME_ELEMENTS,
        monoid_codes=True,
    ),
    Construction(
        name="connectivity",
        config_name="connectivity (Theorem 2, (17, 2, 1)-universal)",
        reference="Theorem 2",
        title="Theorem 2 (graph connectivity)",
        summary="(17, 2, 1)-universal: repeated squaring of I + A over n^3 pads",
        accepts="graph",
        input_format="graph",
        contract=Contract(s_r_t=(17, 2, 1), tolerance=GRAPH_TOLERANCE, frontier=GRAPH_FRONTIER),
        aliases={"connectivity": "uniform"},
        program="logdepth.constructions.connectivity:build_program",
        report="logdepth.constructions.connectivity:report",
        precision="logdepth.gaps.connectivity:precision_model",
        verifier=_VERIFY_GRAPHS,
    ),
    Construction(
        name="connectivity-wide",
        config_name="connectivity-wide",
        reference="Theorem 2, wide position code (docs/wide.md)",
        title="Theorem 2 (graph connectivity), wide position code",
        summary="(13, 2, 1)-universal: bit-vector coordinates, float32 to 31 vertices",
        accepts="graph",
        input_format="graph",
        contract=Contract(
            s_r_t=(13, 2, 1),
            tolerance=GRAPH_WIDE_TOLERANCE,
            frontier=GRAPH_WIDE_FRONTIER,
            capacity=GRAPH_WIDE_CAPACITY,
        ),
        aliases={"connectivity": "wide"},
        program="logdepth.constructions.graph_wide:build_program",
        report="logdepth.constructions.graph_wide:report",
        precision="logdepth.gaps.graph_wide:precision_model",
        verifier=_VERIFY_GRAPHS,
    ),
    Construction(
        name="counting",
        config_name="counting-mod",
        reference="Lemma 1 with Lemma 7's averages (modular counting, constant depth)",
        summary="8 layers for every n: Lemma 1's table divides up to 3 letter counts by m",
        accepts="automaton",
        input_format="word",
        # Lemma 1's 7 layers, then the answer layer; the frontier depends on the modulus, and
        # the largest over every m is Theorem 1's (m = 2, 3 at lambda = 2^-6).
        contract=Contract(s_r_t=(7, 0, 1), tolerance=REGULAR_TOLERANCE, frontier=REGULAR_FRONTIER),
        program="logdepth.constructions.counting:build_program",
        report="logdepth.constructions.counting:report",
        serves={
            "solvable": "solvable syntactic monoid; a cyclic group is modular counting in "
            "constant depth",
        },
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
        # (2 L - 1, 0, 1) for L levels: no fixed (s, r, t).
        contract=Contract(tolerance=REGULAR_TOLERANCE, frontier=STARFREE_FRONTIER),
        depth=LanguageDepth(
            "logdepth.constructions.starfree:layers_of", "2 L, L >= 1 the cascade's levels"
        ),
        program="logdepth.constructions.starfree:build_program",
        report="logdepth.constructions.starfree:report",
        serves={
            "aperiodic": "aperiodic syntactic monoid (every maximal subgroup trivial): "
            "star-free, a cascade of reset levels in constant depth",
        },
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
        contract=Contract(),
        depth=LanguageDepth(
            "logdepth.constructions.solvable:layers_of",
            "7 + 2 per reset level + 4-5 per counter (+1), the cascade's",
        ),
        program="logdepth.constructions.solvable:build_program",
        report="logdepth.constructions.solvable:report",
        serves={
            "solvable": "solvable syntactic monoid: a cascade of reset levels and Z_p counters "
            "(Krohn-Rhodes, composition series) in constant depth",
        },
        unexplained="explain does not draw the solvable cascade's counters yet; `logdepth "
        "inspect` shows its levels and tables, `logdepth verify` decodes every level at every "
        "token",
        precision="logdepth.gaps.solvable:precision_model",
        verifier="logdepth.verify.solvable:verify_solvable",
    ),
    Construction(
        name="auto",
        config_name="auto",
        reference="chosen by the language's class (logdepth.classify)",
        summary="counting for a cyclic group, starfree for an aperiodic monoid, else wide",
        accepts="automaton",
        input_format="word",
        contract=Contract(),
        depth=LanguageDepth(
            "logdepth.constructions.auto:layers_of", "the chosen construction's", slope=1
        ),
        chooser=True,
        build="logdepth.constructions.auto:compile_auto",
        # Every regular language, log depth, the widest frontier of the log-depth ones.
        options={"fallback": "wide"},
        precision="logdepth.gaps.auto:precision_model",
        verifier="logdepth.constructions.auto:verify_auto",
    ),
)


# ---- lookup, registration and plug-ins --------------------------------------------------------
_BY_NAME: dict[str, Construction] = {}
_BY_CONFIG: dict[str, Construction] = {}
_plugins_loaded = False
_plugin_error: PluginError | None = None


def register(entry: Construction) -> Construction:
    """Add a construction at run time (`logdepth.register`); every command then serves it.
    Registering the same entry again is a no-op; another entry under a taken name or config
    name is refused."""
    if not isinstance(entry, Construction):
        raise CompileError(
            f"register() takes a logdepth.catalog.Construction, not {type(entry).__name__}"
        )
    keys = ((_BY_NAME, entry.name, "name"), (_BY_CONFIG, entry.config_name, "config name"))
    for table, key, what in keys:
        taken = table.get(key)
        if taken is not None and taken != entry:
            raise CompileError(
                f"cannot register construction {entry.name!r}: its {what} {key!r} is taken by "
                f"{taken.name!r}"
            )
    _BY_NAME[entry.name] = entry
    _BY_CONFIG[entry.config_name] = entry
    return entry


for _entry in CONSTRUCTIONS:
    register(_entry)


def load_plugins() -> None:
    """Register the constructions installed packages declare in the entry-point group
    `logdepth.constructions`, once. An entry point names a `Construction`, an iterable of them,
    or a callable returning either. One that fails is a PluginError naming it, raised now and
    on every later look-up that needs the plug-ins (the built-in names still work)."""
    global _plugins_loaded, _plugin_error
    if _plugin_error is not None:
        raise _plugin_error
    if _plugins_loaded:
        return
    _plugins_loaded = True
    from importlib.metadata import entry_points

    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            _load_plugin(point)
        except PluginError as exc:
            _plugin_error = exc
            raise


def _load_plugin(point: Any) -> None:
    where = f"the plug-in {point.name!r} ({point.value}, entry point group {ENTRY_POINT_GROUP})"
    try:
        found = point.load()
        if callable(found) and not isinstance(found, Construction):
            found = found()
        found = [found] if isinstance(found, Construction) else list(found)
    except Exception as exc:  # the plug-in's own failure, reported as its, with its name
        raise PluginError(f"{where} failed to load: {type(exc).__name__}: {exc}") from None
    for entry in found:
        if not isinstance(entry, Construction):
            raise PluginError(
                f"{where} gave a {type(entry).__name__}, not a logdepth.catalog.Construction"
            )
        try:
            register(entry)
        except CompileError as exc:
            raise PluginError(f"{where}: {exc}") from None


def entries() -> tuple[Construction, ...]:
    """Every construction: the built-in ones, then the registered and installed ones."""
    load_plugins()
    return tuple(_BY_NAME.values())


def names(accepts: str | None = None) -> list[str]:
    return [c.name for c in entries() if accepts is None or c.accepts == accepts]


def get(name: str) -> Construction:
    """The construction users call `name`; CompileError listing the known ones otherwise."""
    if not isinstance(name, str):
        raise CompileError(f"a construction is named by a string, not {type(name).__name__}")
    if name not in _BY_NAME:
        load_plugins()
    if name not in _BY_NAME:
        raise CompileError(f"unknown construction {name!r} (known: {', '.join(_BY_NAME)})")
    return _BY_NAME[name]


def of_config(config_name: str) -> Construction | None:
    """The construction a weight file's config names (None: a hand-built program)."""
    if config_name not in _BY_CONFIG:
        load_plugins()
    return _BY_CONFIG.get(config_name)


def config_name(name: str) -> str:
    """The name a construction's weight files record (its builder writes it from here)."""
    return get(name).config_name


def by_alias(family: str, alias: str) -> Construction:
    """The construction a family calls `alias` (`compile_connectivity("wide")`); CompileError
    listing the family's aliases otherwise."""
    known = {e.aliases[family]: e for e in entries() if family in e.aliases}
    if alias not in known:
        raise CompileError(
            f"unknown {family} construction {alias!r} ({' or '.join(known) or 'none'})"
        )
    return known[alias]


def serving(language_class: str) -> list[tuple[Construction, str]]:
    """The entries that serve a language class (their `serves`), with why, in catalog order:
    what auto tries for it."""
    return [(e, e.serves[language_class]) for e in entries() if language_class in e.serves]


def aliases(family: str) -> list[str]:
    """A family's aliases, in catalog order (the CLI's choices)."""
    return [e.aliases[family] for e in entries() if family in e.aliases]


__all__ = [
    "CONSTRUCTIONS",
    "DEFAULT",
    "ENTRY_POINT_GROUP",
    "INPUTS",
    "Construction",
    "Contract",
    "InputFormat",
    "LanguageDepth",
    "aliases",
    "by_alias",
    "config_name",
    "entries",
    "get",
    "input_of",
    "load_plugins",
    "names",
    "of_config",
    "register",
    "resolve",
    "serving",
]
