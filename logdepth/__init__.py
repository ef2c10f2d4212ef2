"""logdepth: compile automata and graphs into the weights of Merrill & Sabharwal's log-depth
transformers, run those weights, and verify them against ground truth.

    import logdepth
    spec = logdepth.parse_file("examples/basics.ld")
    m = logdepth.compile(spec["parity"])
    m.accepts("0110")

The torch-backed names (compile, compile_connectivity, load, CompiledModel) and `classify` (which
needs sympy) are imported on first use, so the DSL (`parse`, `logdepth fmt`) starts without
loading torch.
"""

from typing import Any

from logdepth.dsl import format, parse, parse_file
from logdepth.errors import (
    CompileError,
    DSLError,
    InputError,
    LogdepthError,
    SpecError,
    WeightFileError,
)

__version__ = "0.1.0"

_LAZY = {
    "classify": "logdepth.automata.classes",
    "compile": "logdepth.api",
    "compile_connectivity": "logdepth.api",
    "load": "logdepth.api",
    "register": "logdepth.api",
    "verify": "logdepth.verify",  # the package is callable: logdepth.api.verify
    "CompiledModel": "logdepth.model.compiled",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name])
        return module if module.__name__ == f"logdepth.{name}" else getattr(module, name)
    raise AttributeError(f"module 'logdepth' has no attribute {name!r}")


__all__ = [
    "CompileError",
    "CompiledModel",
    "DSLError",
    "InputError",
    "LogdepthError",
    "SpecError",
    "WeightFileError",
    "classify",
    "compile",
    "compile_connectivity",
    "format",
    "load",
    "parse",
    "parse_file",
    "register",
    "verify",
]
