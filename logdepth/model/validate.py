"""Weight-file metadata is validated, not trusted.

The SHA-256 in a weight file has no key: anyone who edits the metadata can recompute it. So
`load` checks every field of the stored config for type, range and consistency before any
tensor is read, and refuses a file whose metadata could make the weights answer wrongly without
a warning (a tolerance that merges keys, swapped outputs, a depth rule the construction does
not have, ...).

Two layers of checks:
- `check_config_json`: the raw JSON, field by field (types, ranges, no NaN), so that
  `ModelConfig.from_json` never coerces a bad value (``int(3.7)``, ``float("nan")``).
- `check_contract`: the parsed config against the contract of the construction it names
  (`CONTRACTS`), and generic consistency for any config (vocabulary, outputs, depth rule).

`model` imports nothing from `constructions`: the contracts are the catalog's
(logdepth.catalog, which imports no construction module), stated there once as data;
tests/test_hardening.py checks them against the constructions.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from logdepth import catalog
from logdepth.model.config import BOS, ModelConfig
from logdepth.model.inputs import END, GRAPH_VOCAB

DTYPE_NAMES = ("float64", "float32")
CELL_KINDS = ("const", "bool", "phi", "psi", "scalar", "code", "onehot")
INPUT_FORMATS = tuple(catalog.INPUTS)
WORD_OUTPUTS = catalog.INPUTS["word"].outputs
GRAPH_OUTPUTS = catalog.INPUTS["graph"].outputs


@dataclass(frozen=True)
class Contract:
    """A catalog entry's contract (logdepth.catalog) as `load` checks it, read from the entry,
    not copied: its (s, r, t) or level layout, tolerance and frontier caps, with what its input
    format fixes (the outputs in logit order, the depth rule's root)."""

    entry: catalog.Construction

    @classmethod
    def of(cls, entry: catalog.Construction) -> Contract | None:
        """The load contract of a catalog entry (None: it states no tolerance, so its files
        are checked like a hand-built program's)."""
        return cls(entry) if entry.contract.tolerance is not None else None

    @property
    def input_format(self) -> str:
        return self.entry.input_format

    @property
    def outputs(self) -> tuple[str, ...]:
        return self.entry.outputs

    @property
    def root(self) -> int:
        return catalog.INPUTS[self.entry.input_format].root

    @property
    def s_r_t(self) -> tuple[int, int, int] | None:
        """None: set by the build (a non-uniform or cascade construction)."""
        return self.entry.contract.s_r_t

    @property
    def fixed_depth(self) -> bool:
        """All layers initial, depth fixed at 0 (Corollary 1.1); the uniform ones must not."""
        return self.entry.contract.fixed_depth

    @property
    def tolerance(self) -> tuple[float, float]:
        """(exclusive lower bound, inclusive upper bound) of the stored tie tolerance."""
        assert self.entry.contract.tolerance is not None  # `of` admits no entry without one
        return self.entry.contract.tolerance

    @property
    def frontier(self) -> Mapping[str, int]:
        """The most each dtype's stored frontier may claim."""
        return self.entry.contract.frontier

    @property
    def level_layers(self) -> tuple[int, int] | None:
        """A fixed-depth construction's (layers per level, the rest); None for a uniform one."""
        return self.entry.contract.per_level if self.fixed_depth else None


class _Contracts(Mapping[str, Contract]):
    """The load contracts by config name, read from the catalog on every look-up (so a
    registered or installed construction's files are checked too)."""

    def __getitem__(self, config_name: str) -> Contract:
        entry = catalog.of_config(config_name)
        contract = Contract.of(entry) if entry is not None else None
        if contract is None:
            raise KeyError(config_name)
        return contract

    def _names(self) -> list[str]:
        return [e.config_name for e in catalog.entries() if Contract.of(e) is not None]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


CONTRACTS: Mapping[str, Contract] = _Contracts()


def max_tie_tolerance() -> float:
    """A config that names no known construction (a hand-built program) may not use a
    tolerance larger than any construction does: none derives a frontier for more."""
    return max(c.tolerance[1] for c in CONTRACTS.values())


# The unrolling is d(n) = ceil(log2 n), at most 64 for any input a machine can hold (n < 2^64);
# a fixed depth past it would unroll the repeated block for ever.
MAX_DEPTH = 64


class MetadataError(ValueError):
    """A metadata field out of range or inconsistent (weights.py adds the file name)."""


# ---- raw JSON ---------------------------------------------------------------------------------
def _int(value: Any, what: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MetadataError(f"{what} must be an integer, not {type(value).__name__}")
    if value < low:
        raise MetadataError(f"{what} is {value}, must be at least {low}")
    return value


def _strings(value: Any, what: str, *, nonempty: bool = True) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise MetadataError(f"{what} must be a list of strings")
    if nonempty and not value:
        raise MetadataError(f"{what} is empty")
    if len(set(value)) != len(value):
        raise MetadataError(f"{what} has duplicate entries")
    return value


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MetadataError(f"{what} must be a JSON object")
    return value


def _layers(value: Any, part: str) -> None:
    if not isinstance(value, list):
        raise MetadataError(f"config {part} must be a list of layers")
    for k, raw in enumerate(value):
        layer = _object(raw, f"{part} layer {k}")
        heads = _int(layer.get("n_heads"), f"{part} layer {k} n_heads")
        for key in ("d_head", "d_value", "d_ff"):
            _int(layer.get(key), f"{part} layer {k} {key}")
        causal = layer.get("causal")
        if not isinstance(causal, list) or not all(isinstance(c, bool) for c in causal):
            raise MetadataError(f"{part} layer {k} causal must be a list of true/false")
        if len(causal) != heads:
            raise MetadataError(f"{part} layer {k} has {heads} heads but {len(causal)} flags")
        if not isinstance(layer.get("text", ""), str):
            raise MetadataError(f"{part} layer {k} text must be a string")
        notes = layer.get("head_notes", [])
        if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
            raise MetadataError(f"{part} layer {k} head_notes must be a list of strings")
        if notes and len(notes) != heads:
            raise MetadataError(f"{part} layer {k} has {heads} heads but {len(notes)} notes")
        if not isinstance(layer.get("ff_note", ""), str):
            raise MetadataError(f"{part} layer {k} ff_note must be a string")


def check_config_json(raw: Any) -> None:
    """Types and ranges of every config field; `MetadataError` names the first bad one."""
    d = _object(raw, "config")
    d_model = _int(d.get("d_model"), "config d_model", 1)
    _strings(d.get("vocab"), "config vocab")
    _strings(d.get("outputs"), "config outputs")
    for part in ("initial", "repeated", "final"):
        _layers(d.get(part), part)
    rule = _object(d.get("depth_rule"), "config depth_rule")
    _strings(rule.get("count_tokens"), "depth_rule count_tokens")
    root = _int(rule.get("root"), "depth_rule root", 1)
    if root not in (1, 2):
        raise MetadataError(f"depth_rule root is {root}; the depth rules take root 1 or 2")
    if rule.get("fixed") is not None and _int(rule["fixed"], "depth_rule fixed") > MAX_DEPTH:
        raise MetadataError(f"depth_rule fixed is {rule['fixed']}, more than {MAX_DEPTH}")
    tol = d.get("tie_tolerance")
    if isinstance(tol, bool) or not isinstance(tol, int | float) or not math.isfinite(tol):
        raise MetadataError(f"tie_tolerance must be a finite number, not {tol!r}")
    cells = d.get("cells", [])
    if not isinstance(cells, list):
        raise MetadataError("config cells must be a list")
    for k, raw_cell in enumerate(cells):
        cell = _object(raw_cell, f"cell {k}")
        if not isinstance(cell.get("name"), str) or cell.get("kind") not in CELL_KINDS:
            raise MetadataError(f"cell {k} needs a string name and a kind in {CELL_KINDS}")
        offset = _int(cell.get("offset"), f"cell {cell['name']!r} offset")
        labels = _strings(cell.get("labels"), f"cell {cell['name']!r} labels", nonempty=False)
        if offset + len(labels) > d_model:
            raise MetadataError(f"cell {cell['name']!r} ends past d_model {d_model}")
    if d.get("input_format", "word") not in INPUT_FORMATS:
        raise MetadataError(f"input_format must be one of {INPUT_FORMATS}")
    frontier = _object(d.get("frontier", {}), "config frontier")
    for dtype, n in frontier.items():
        if dtype not in DTYPE_NAMES:
            raise MetadataError(f"frontier names an unknown dtype {dtype!r}")
        _int(n, f"frontier[{dtype!r}]")
    if not isinstance(d.get("construction", ""), str):
        raise MetadataError("config construction must be a string")


# ---- meaning ----------------------------------------------------------------------------------
def _check_tolerance(config: ModelConfig, contract: Contract | None) -> None:
    tol = config.tie_tolerance
    low, high = (-math.inf, max_tie_tolerance()) if contract is None else contract.tolerance
    if contract is None and tol < 0:
        raise MetadataError(f"tie_tolerance {tol!r} is negative")
    if not low < tol <= high:
        what = config.construction or "a hand-built program"
        lower = f"above {low:.3g} and " if low > -math.inf else ""
        raise MetadataError(
            f"tie_tolerance {tol!r} is out of range for {what}: it must be {lower}at most "
            f"{high:.3g}, the tolerance its frontier is derived for (a larger one merges "
            "attention keys the construction keeps apart)"
        )


def _check_vocab(config: ModelConfig, extra: Mapping[str, Any]) -> None:
    vocab, rule = config.vocab, config.depth_rule
    if vocab[0] != BOS:
        raise MetadataError(f"the vocabulary must start with the BoS token {BOS!r}")
    if not set(rule.count_tokens) <= set(vocab):
        raise MetadataError("depth_rule counts tokens that are not in the vocabulary")
    if config.input_format == "graph":
        if tuple(vocab) != GRAPH_VOCAB:
            raise MetadataError(f"a graph model's vocabulary is {list(GRAPH_VOCAB)}")
        if set(config.outputs) != set(GRAPH_OUTPUTS):
            raise MetadataError(f"a graph model's outputs are {list(GRAPH_OUTPUTS)}")
        return
    if END not in vocab:
        raise MetadataError(f"a word model's vocabulary must contain the end token {END!r}")
    if set(config.outputs) != set(WORD_OUTPUTS):
        raise MetadataError(f"a word model's outputs are {list(WORD_OUTPUTS)}")


def _check_known(config: ModelConfig, contract: Contract, extra: Mapping[str, Any]) -> None:
    name = config.construction
    if config.input_format != contract.input_format:
        raise MetadataError(f"{name!r} takes {contract.input_format} inputs")
    if config.outputs != contract.outputs:
        raise MetadataError(f"{name!r} has outputs {list(contract.outputs)} in that order")
    if contract.s_r_t is not None and config.s_r_t != contract.s_r_t:
        raise MetadataError(f"{name!r} is {contract.s_r_t}-universal, not {config.s_r_t}")
    for dtype, claimed in config.frontier.items():
        derived = contract.frontier.get(dtype, -1)
        if claimed > derived:
            raise MetadataError(
                f"the stored {dtype} frontier {claimed} exceeds the {derived} that the precision "
                f"model derives for {name!r} (docs/precision.md)"
            )
    rule = config.depth_rule
    if rule.root != contract.root:
        raise MetadataError(f"{name!r} has depth_rule root {contract.root}")
    if contract.level_layers is not None:
        _check_nonuniform(config, *contract.level_layers)
    elif rule.fixed is not None:
        raise MetadataError(f"{name!r} is uniform: its depth_rule has no fixed depth")
    if contract.input_format == "word":
        alphabet = list(config.vocab[1:-1])
        if config.vocab[-1] != END or not alphabet or list(rule.count_tokens) != alphabet:
            raise MetadataError(
                f"{name!r} has vocabulary [BoS, alphabet..., {END}] and counts the alphabet"
            )
        spec = extra.get("spec")
        if isinstance(spec, Mapping) and spec.get("alphabet") != alphabet:
            raise MetadataError("the vocabulary does not match the stored spec's alphabet")
    elif tuple(rule.count_tokens) != ("0", "1"):
        raise MetadataError(f"{name!r} counts the adjacency tokens '0' and '1'")


def _check_nonuniform(config: ModelConfig, per: int, rest: int) -> None:
    """A fixed-depth build (Corollary 1.1): all layers initial, depth fixed at 0, per L + rest
    layers for L levels (the contract's level layout), and L levels serve words up to
    2^(L - 1) (L = ceil(log2 N) + 1)."""
    layers = len(config.initial)
    levels, left = divmod(layers - rest, per)
    if config.repeated or config.final or config.depth_rule.fixed != 0 or left or levels < 1:
        raise MetadataError(
            f"a non-uniform model has {per} L + {rest} initial layers and fixed depth 0"
        )
    capacity = 2 ** (levels - 1)
    for dtype, n in config.frontier.items():
        if n > capacity:
            raise MetadataError(
                f"frontier[{dtype!r}] = {n} is more than these {layers} layers serve ({capacity})"
            )


def check_contract(config: ModelConfig, extra: Mapping[str, Any]) -> None:
    """The parsed config is consistent in itself and with the construction it names."""
    for key, kinds in (("report", dict), ("spec", dict), ("source", str)):
        if extra.get(key) is not None and not isinstance(extra[key], kinds):
            raise MetadataError(f"extra[{key!r}] must be a JSON {kinds.__name__}")
    if extra.get("spec_type", "dfa") not in ("dfa", "nfa"):
        raise MetadataError("extra['spec_type'] must be 'dfa' or 'nfa'")
    contract = CONTRACTS.get(config.construction) if config.construction else None
    _check_tolerance(config, contract)
    _check_vocab(config, extra)
    if contract is not None:
        _check_known(config, contract, extra)
