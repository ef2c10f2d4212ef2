"""logdepth: compile automata and graphs into the weights of Merrill & Sabharwal's log-depth
transformers, run those weights, and verify them against ground truth.

    import logdepth
    spec = logdepth.parse_file("examples/basics.ld")
    m = logdepth.compile(spec["parity"])
    m.accepts("0110")
"""

from logdepth.api import compile, compile_connectivity, load
from logdepth.dsl import format, parse, parse_file
from logdepth.errors import (
    CompileError,
    DSLError,
    InputError,
    LogdepthError,
    SpecError,
    WeightFileError,
)
from logdepth.model.compiled import CompiledModel

__version__ = "0.1.0"

__all__ = [
    "CompileError",
    "CompiledModel",
    "DSLError",
    "InputError",
    "LogdepthError",
    "SpecError",
    "WeightFileError",
    "compile",
    "compile_connectivity",
    "format",
    "load",
    "parse",
    "parse_file",
]
