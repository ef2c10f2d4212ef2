"""The construction registry drives compile, the CLI and verify (issue 9)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import logdepth
from logdepth import catalog
from logdepth.errors import CompileError

ROOT = Path(__file__).resolve().parents[1]
SPEC = logdepth.parse_file(ROOT / "examples" / "basics.ld")
PARITY = SPEC["parity"]
# The starfree construction takes star-free languages only (parity is a group).
EXAMPLE = {"starfree": SPEC["ends_ab"]}


@pytest.mark.parametrize("entry", catalog.CONSTRUCTIONS, ids=lambda e: e.name)
def test_every_entry_builds_and_its_file_names_it(entry):
    """compile(obj, construction=name) builds it; the file's config names the entry; the
    entry's precision model and verifier resolve; the formula is the built layer count."""
    obj = EXAMPLE.get(entry.name, PARITY) if entry.accepts == "automaton" else None
    big_n = 37 if entry.needs_max_length else None
    model = logdepth.compile(obj, construction=entry.name, max_length=big_n)
    report = model.extra.get("report")
    built = catalog.get(report["chosen"]["construction"]) if entry.chooser else entry
    assert catalog.of_config(model.config.construction) is built
    tolerance, n_of_bits = entry.precision_model(report)
    assert tolerance == model.config.tie_tolerance
    assert max(n_of_bits(52), 0) >= model.config.frontier["float64"]
    assert callable(entry.verify_function())
    sizes = [1, 2, 3, 8, 9, 100] if entry.accepts == "automaton" else [1, 2, 3, 5, 8]
    for n in sizes:
        if big_n is not None and n > big_n:
            continue
        assert model.num_layers(n) == entry.layers(n, big_n, report), n


def test_unknown_names_and_misused_options_say_what_is_known():
    with pytest.raises(CompileError, match="known: uniform, nonuniform"):
        logdepth.compile(PARITY, construction="nope")
    with pytest.raises(CompileError, match="needs max_length"):
        logdepth.compile(PARITY, construction="nonuniform")
    with pytest.raises(CompileError, match="takes no automaton"):
        logdepth.compile(PARITY, construction="connectivity")
    with pytest.raises(CompileError, match="regular language"):
        logdepth.compile(None, construction="wide")


def test_the_cli_lists_every_construction(capsys):
    from logdepth.cli import main

    assert main(["constructions", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == catalog.names()
    assert all(r["layers"] and r["reference"] for r in rows)
    assert main(["constructions"]) == 0
    text = capsys.readouterr().out
    for entry in catalog.CONSTRUCTIONS:
        assert entry.name in text and entry.formula in text


def _sources(*parts: str) -> list[Path]:
    out: list[Path] = []
    for part in parts:
        path = ROOT / "logdepth" / part
        out += sorted(path.glob("*.py")) if path.is_dir() else [path]
    return out


def test_verify_imports_nothing_from_the_constructions():
    for path in _sources("verify"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("logdepth.constructions"), path.name
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("logdepth.constructions") for a in node.names)


def test_no_dispatch_on_construction_names_outside_the_registry():
    """api, cli, verify, explain and budget branch on no construction's name: no comparison
    with a config name, no startswith on one, no config-name literal at all."""
    # (a config name that is also the user-facing name, such as "connectivity-wide", may appear)
    config_names = {e.config_name for e in catalog.CONSTRUCTIONS if e.config_name != e.name}
    for path in _sources("api.py", "cli.py", "budget.py", "verify", "explain"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert node.value not in config_names, f"{path.name}: {node.value!r}"
                assert not node.value.startswith(("theorem1-", "corollary1")), path.name
            if isinstance(node, ast.Compare):
                text = ast.unparse(node)
                assert "construction ==" not in text and "input_format ==" not in text, (
                    f"{path.name}: {text}"
                )
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith(
                "construction.startswith"
            ):
                raise AssertionError(f"{path.name}: {ast.unparse(node)}")


def test_explain_refuses_a_model_without_monoid_codes_with_a_reason():
    from logdepth.errors import InputError
    from logdepth.explain.run import explain_word

    model = logdepth.compile(PARITY, construction="counting")
    with pytest.raises(InputError, match="counting model"):
        explain_word(model, "0110")
