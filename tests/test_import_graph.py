"""The import graph of `logdepth/`, read from the sources with ast, function-level imports
included (an import inside a function is an edge too: it hides a cycle, it does not remove it).

- no cycle;
- no module imports another module's private names (`from x import _name`, `x._name`);
- nothing the compile path reaches (the builders, the kit, the gap models, the compiler, and
  `api.compile`) imports `logdepth.verify` or `logdepth.explain`;
- `model` imports nothing from `dsl`, `constructions` or `compiler`;
- the gap models import no torch and no builder.

The package is located through `logdepth.__file__`, so the same checks run against another
checkout with `PYTHONPATH=<checkout> pytest tests/test_import_graph.py`.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

import logdepth

PACKAGE = Path(logdepth.__file__).resolve().parent


def _name_of(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _modules() -> dict[str, tuple[Path, ast.Module]]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        out[_name_of(path)] = (path, ast.parse(path.read_text(), str(path)))
    return out


def _absolute(module: str, node: ast.ImportFrom) -> str:
    """The module an ImportFrom names, relative imports resolved."""
    if not node.level:
        return node.module or ""
    path, _ = _modules()[module]
    base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _edges_of(module: str, nodes: list[ast.AST]) -> set[str]:
    """The logdepth modules that the import statements among `nodes` load."""
    known = _modules()
    out: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in known}
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(module, node)
            for a in node.names:
                sub = f"{target}.{a.name}"
                if sub in known:
                    out.add(sub)
                elif target in known:
                    out.add(target)
    out.discard(module)
    return out


@cache
def _graph() -> dict[str, set[str]]:
    return {m: _edges_of(m, list(ast.walk(tree))) for m, (_, tree) in _modules().items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected component with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _reachable(roots: set[str], graph: dict[str, set[str]]) -> dict[str, str]:
    """Every module reachable from `roots`, with the module that first imports it."""
    seen = {r: r for r in roots}
    todo = sorted(roots)
    while todo:
        v = todo.pop()
        for w in sorted(graph[v]):
            if w not in seen:
                seen[w] = v
                todo.append(w)
    return seen


def test_the_graph_sees_function_level_imports():
    """The walker must see an import inside a function: api imports logdepth.build only inside
    `compile`, and logdepth.verify.oracle only inside `verify`."""
    assert {"logdepth.build", "logdepth.verify.oracle"} <= set(_graph()["logdepth.api"])
    assert "logdepth.cli" in _graph() and _graph()["logdepth.cli"]


def test_no_import_cycles():
    cycles = _cycles(_graph())
    assert not cycles, "import cycles (function-level imports included): " + "; ".join(
        " <-> ".join(c) for c in cycles
    )


def test_no_module_imports_another_modules_private_names():
    known = _modules()
    problems = []
    for module, (_, tree) in known.items():
        imported: dict[str, str] = {}  # local name -> logdepth module it is bound to
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                target = _absolute(module, node)
                for a in node.names:
                    if f"{target}.{a.name}" in known:
                        imported[a.asname or a.name] = f"{target}.{a.name}"
                    elif a.name.startswith("_") and not a.name.startswith("__"):
                        if target.startswith("logdepth") and target != module:
                            problems.append(f"{module}: from {target} import {a.name}")
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name in known:
                        imported[a.asname or a.name.split(".")[0]] = a.name
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name)
                and node.value.id in imported
                and imported[node.value.id] != module
            ):
                problems.append(f"{module}: {imported[node.value.id]}.{node.attr}")
    assert not problems, "private names used across modules: " + "; ".join(sorted(problems))


def _compile_roots() -> set[str]:
    prefixes = ("logdepth.constructions", "logdepth.kit", "logdepth.gaps", "logdepth.compiler")
    return {m for m in _modules() if m.startswith(prefixes)}


def test_the_compile_path_imports_neither_verify_nor_explain():
    graph = dict(_graph())
    # api.compile: the module's top-level imports and those inside `compile` itself (api's
    # other functions, such as the weight-file loader, are not the compile path).
    _, tree = _modules()["logdepth.api"]
    nodes: list[ast.AST] = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    compile_def = next(
        n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "compile"
    )
    nodes += list(ast.walk(compile_def))
    graph["<api.compile>"] = _edges_of("logdepth.api", nodes)
    reached = _reachable(_compile_roots() | {"<api.compile>"}, graph)
    bad = {
        m: by
        for m, by in reached.items()
        if m.startswith(("logdepth.verify", "logdepth.explain"))
    }
    assert not bad, "the compile path imports " + ", ".join(
        f"{m} (from {by})" for m, by in sorted(bad.items())
    )


def test_model_imports_no_dsl_constructions_or_compiler():
    forbidden = ("logdepth.dsl", "logdepth.constructions", "logdepth.compiler", "logdepth.kit")
    reached = _reachable({m for m in _modules() if m.startswith("logdepth.model")}, _graph())
    bad = {m: by for m, by in reached.items() if m.startswith(forbidden)}
    assert not bad, "model reaches " + ", ".join(
        f"{m} (from {by})" for m, by in sorted(bad.items())
    )


def test_gap_models_import_no_torch_and_no_builder():
    gaps = {m for m in _modules() if m.startswith("logdepth.gaps")}
    assert gaps, "logdepth/gaps/ holds the precision models"
    reached = _reachable(gaps, _graph())
    bad = {m: by for m, by in reached.items() if m.startswith("logdepth.constructions")}
    assert not bad, "gap models reach builders: " + ", ".join(sorted(bad))
    for module in reached:
        _, tree = _modules()[module]
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not any(n.split(".")[0] == "torch" for n in names), (
                f"{module} (reached from the gap models) imports torch"
            )


_COMPILE_SCRIPT = """
import sys
import logdepth
from logdepth.dsl import parse_file
spec = parse_file(sys.argv[1])
for job in sys.argv[2:]:
    name, _, construction = job.partition(":")
    n = 8 if "nonuniform" in construction else None
    logdepth.compile(spec[name], construction, max_length=n)
bad = sorted(m for m in sys.modules if m.startswith(("logdepth.verify", "logdepth.explain")))
print(" ".join(bad) or "clean")
"""


def _compile_loads(*jobs: str) -> str:
    """The verify/explain modules a fresh interpreter has loaded after compiling (what the
    registry's "module:function" strings reach at run time, which the static graph cannot)."""
    examples = PACKAGE.parent / "examples" / "basics.ld"
    env = {**os.environ, "PYTHONPATH": str(PACKAGE.parent)}
    done = subprocess.run(
        [sys.executable, "-c", _COMPILE_SCRIPT, str(examples), *jobs],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


@pytest.mark.slow
def test_compiling_loads_neither_verify_nor_explain():
    """Theorem 1's compile (its `finish` names the code cells) and the other word builds."""
    jobs = ("parity:uniform", "parity:wide", "parity:counting", "ends_ab:starfree")
    assert _compile_loads(*jobs) == "clean"


def test_the_constant_depth_verifiers_load_no_construction():
    """verify.counting, verify.starfree and verify.solvable check a weight file from the file
    alone: a fresh interpreter that imports all three has loaded no `logdepth.constructions`
    module (one interpreter for the three: any one that loaded a builder shows)."""
    code = (
        "import sys, logdepth.verify.counting, logdepth.verify.starfree, "
        "logdepth.verify.solvable; "
        "print([m for m in sys.modules if m.startswith('logdepth.constructions')])"
    )
    env = {**os.environ, "PYTHONPATH": str(PACKAGE.parent)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_every_gap_model_has_the_interface():
    """Each construction's gap module gives its score gaps, n(p) and the registry's pair
    (`gaps.GapModel`); auto's only delegates to the chosen construction's."""
    import importlib

    names = sorted(m for m in _modules() if m.startswith("logdepth.gaps."))
    assert {"logdepth.gaps.regular", "logdepth.gaps.connectivity"} <= set(names)
    for name in names:
        module = importlib.import_module(name)
        parts = ("precision_model",) if name.endswith(".auto") else (
            "score_gaps", "frontier_for_bits", "precision_model"
        )
        for part in parts:
            assert callable(getattr(module, part, None)), f"{name} has no {part}"
