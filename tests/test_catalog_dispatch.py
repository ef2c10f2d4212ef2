"""No module outside the catalog dispatches on a construction's name (AST check).

A construction's name or config name may be passed to the catalog (`catalog.get("wide")`),
but no code outside logdepth/catalog.py compares with one (`==`, `!=`, `in`), keys a dict by
one, indexes with one or tests a prefix of one: such code is a second home for a fact the
catalog holds, and silently misses a construction added later (a plug-in).
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from logdepth import catalog

ROOT = Path(__file__).resolve().parents[1]
# Another checkout to scan (to show the check fails on code that dispatches); default this one.
PACKAGE = Path(os.environ.get("LOGDEPTH_DISPATCH_ROOT", ROOT)) / "logdepth"
NAMES = {e.name for e in catalog.CONSTRUCTIONS} | {e.config_name for e in catalog.CONSTRUCTIONS}
# The same words in another sense: Lemma 1's block has a "uniform" slot kind (averages over
# all positions); "solvable" is also a language class (auto chooses by it) and a monoid
# property in the regular report.
OTHER_SENSE = {
    ("kit/division.py", "uniform"),
    ("constructions/auto.py", "solvable"),
    ("constructions/regular.py", "solvable"),
}


def _literals(node: ast.AST) -> list[str]:
    """The construction names a node states: a string constant, or one inside a tuple, list or
    set display."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value] if node.value in NAMES else []
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [name for element in node.elts for name in _literals(element)]
    return []


def dispatch_sites(path: Path, package: Path = PACKAGE) -> list[str]:
    """Every place in `path` that branches or looks up by a construction name."""
    rel = path.relative_to(package).as_posix()
    found: list[str] = []

    def hit(node: ast.AST, names: list[str], what: str) -> None:
        names = [n for n in names if (rel, n) not in OTHER_SENSE]
        if names:
            found.append(f"{rel}:{node.lineno}: {what} {ast.unparse(node)[:80]}")

    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Compare):
            names = _literals(node.left) + [n for c in node.comparators for n in _literals(c)]
            hit(node, names, "compares with")
        elif isinstance(node, ast.Dict):
            hit(node, [n for key in node.keys if key is not None for n in _literals(key)], "keys")
        elif isinstance(node, ast.Subscript):
            hit(node, _literals(node.slice), "indexes by")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("startswith", "endswith")
        ):
            prefixes = [a.value for a in node.args if isinstance(a, ast.Constant)]
            for arg in node.args:
                if isinstance(arg, ast.Tuple):
                    prefixes += [e.value for e in arg.elts if isinstance(e, ast.Constant)]
            names = [n for n in NAMES for p in prefixes if isinstance(p, str) and n.startswith(p)]
            hit(node, names[:1], "tests a prefix of")
    return found


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "catalog.py")


def test_every_module_is_scanned():
    scanned = {p.relative_to(PACKAGE).as_posix() for p in modules()}
    for part in ("cli.py", "api.py", "plot.py", "budget.py", "constructions/regular.py",
                 "model/validate.py", "explain/run.py", "verify/regular.py"):  # fmt: skip
        assert part in scanned


def test_the_check_sees_each_kind_of_dispatch(tmp_path):
    """Each pattern is caught (so a pass means something); a catalog look-up is not."""
    code = (
        "if construction == 'wide': pass\n"
        "if name in ('uniform', 'nonuniform'): pass\n"
        "names = {'uniform': 'connectivity'}\n"
        "x = table['counting-mod']\n"
        "if c.startswith('theorem1-'): pass\n"
        "catalog.get('wide')\n"
    )
    module = tmp_path / "m.py"
    module.write_text(code)
    sites = dispatch_sites(module, tmp_path)
    assert [s.split(":")[1] for s in sites] == ["1", "2", "3", "4", "5"], sites


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_dispatch_on_construction_names_outside_the_catalog(path):
    assert dispatch_sites(path) == []


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring constants (documentation may name a formula; code may not)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def restated_facts(path: Path) -> list[str]:
    """String constants in code (not docstrings) that restate a construction's config name
    (one that differs from its user-facing name) or its depth formula."""
    facts = {e.config_name for e in catalog.CONSTRUCTIONS if e.config_name != e.name}
    facts |= {e.formula for e in catalog.CONSTRUCTIONS if e.depth is None}
    tree = ast.parse(path.read_text(), str(path))
    skip = _docstrings(tree)
    return [
        f"{path.name}:{node.lineno}: {fact!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
        for fact in facts
        if fact in node.value
    ]


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_config_names_and_depth_formulas_live_in_the_catalog(path):
    assert restated_facts(path) == []
