"""Constructions as plug-ins: `logdepth.register` and the entry-point group
`logdepth.constructions`, with the installable example under examples/plugin/."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import logdepth
from logdepth import catalog
from logdepth.cli import main
from logdepth.errors import CompileError, PluginError

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "examples" / "plugin"
SPEC = ROOT / "examples" / "basics.ld"
NAME = "uniform-verdict"
CONFIG = "example-uniform-verdict"
# The plug-in's depth, stated here from its docstring (not read from its entry): Theorem 1's
# 8 ceil(log2 n) + 9 layers and its own verdict layer.
LAYERS = "8 ceil(log2 n) + 10"


@pytest.fixture
def fresh_catalog(monkeypatch):
    """The catalog as it was before the test: registrations and plug-in state undone."""
    monkeypatch.setattr(catalog, "_BY_NAME", dict(catalog._BY_NAME))
    monkeypatch.setattr(catalog, "_BY_CONFIG", dict(catalog._BY_CONFIG))
    monkeypatch.setattr(catalog, "_plugins_loaded", False)
    monkeypatch.setattr(catalog, "_plugin_error", None)
    monkeypatch.syspath_prepend(str(PLUGIN))
    return monkeypatch


def _entry_points(*points: importlib.metadata.EntryPoint):
    """importlib.metadata.entry_points as an installed package with `points` would give it."""

    def entry_points(**select):
        group = select.get("group")
        return [p for p in points if group is None or p.group == group]

    return entry_points


def _point(name: str, value: str) -> importlib.metadata.EntryPoint:
    return importlib.metadata.EntryPoint(name, value, catalog.ENTRY_POINT_GROUP)


def _installed(monkeypatch, *points) -> None:
    monkeypatch.setattr(importlib.metadata, "entry_points", _entry_points(*points))


def _every_command(fresh_catalog, tmp_path, capsys, verify: bool) -> None:
    """compile, run, verify, inspect, explain, budget, constructions, precision."""
    _installed(fresh_catalog, _point(NAME, "logdepth_plugin_example:CONSTRUCTION"))
    assert main(["constructions", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows[NAME]["layers"] == LAYERS
    out = tmp_path / "p.safetensors"
    compile_args = ["--name", "parity", "--construction", NAME, "-o", str(out)]
    assert main(["compile", str(SPEC), *compile_args]) == 0
    capsys.readouterr()
    model = logdepth.load(out)  # validated against the plug-in's contract
    assert model.config.construction == CONFIG
    assert model.extra["report"]["encoding"] == "maps"
    assert model.num_layers(33) == 8 * 6 + 10  # ceil(log2 33) = 6
    # Parity: the answers are the parity of the 1s, which the test states independently.
    words = ["", "1", "0110", "0111", "1" * 33]
    assert main(["run", str(out), *words]) == 0
    answers = [line.split("\t")[-1] for line in capsys.readouterr().out.splitlines()]
    assert answers == ["accept" if w.count("1") % 2 == 0 else "reject" for w in words]
    if verify:  # minutes under load: the slow set runs it (below)
        assert main(["verify", str(out), "--max-length", "12", "--budget", "2"]) == 0
        assert capsys.readouterr().out.rstrip().splitlines()[-1].startswith("OK: ")
    assert main(["inspect", str(out)]) == 0
    text = capsys.readouterr().out
    assert CONFIG in text and "verdict := answer" in text  # its own layer, and its note
    page = tmp_path / "p.html"
    assert main(["explain", str(out), "0110", "-o", str(page)]) == 0
    assert "a verdict layer (examples/plugin)" in page.read_text()  # its reference, its page
    capsys.readouterr()
    # 41 layers: 8 * 3 + 10 = 34 fit and 8 * 4 + 10 = 42 do not, so n <= 2^3 = 8 symbols.
    assert main(["budget", "--layers", "41"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if NAME in x)
    assert line.split()[-2:] == ["8", "symbols"]
    # Four sizes sit on the flat floor, so precision prints its table and refuses to fit a line
    # (exit 1, said); the table's rows are the plug-in's emulated runs at every size.
    assert main(["precision", str(out), "--max-n", "16", "--inputs", "4"]) == 1
    text = capsys.readouterr().out
    rows = [m.groups() for m in re.finditer(r"^\s*(\d+)\s+(\d+)\s+\S+\s*$", text, re.M)]
    assert [int(row[0]) for row in rows] == [2, 4, 8, 16]
    assert all(0 < int(row[1]) <= 51 for row in rows) and "no fit:" in text


@pytest.mark.slow
def test_an_entry_point_plugin_serves_every_command(fresh_catalog, tmp_path, capsys):
    _every_command(fresh_catalog, tmp_path, capsys, verify=False)


@pytest.mark.slow
def test_an_entry_point_plugin_verifies(fresh_catalog, tmp_path, capsys):
    _every_command(fresh_catalog, tmp_path, capsys, verify=True)


def test_register_adds_one_for_the_running_process(fresh_catalog):
    import logdepth_plugin_example as plugin

    assert logdepth.register(plugin.CONSTRUCTION) is plugin.CONSTRUCTION
    assert logdepth.register(plugin.CONSTRUCTION) is plugin.CONSTRUCTION  # again: a no-op
    assert catalog.of_config(CONFIG) is plugin.CONSTRUCTION
    parity = logdepth.parse_file(SPEC)["parity"]
    model = logdepth.compile(parity, construction=NAME)
    assert [model.accepts(w) for w in ("", "1", "11", "10110")] == [True, False, True, False]
    from dataclasses import replace

    with pytest.raises(CompileError, match="name 'uniform' is taken by 'uniform'"):
        logdepth.register(replace(plugin.CONSTRUCTION, name="uniform"))
    with pytest.raises(CompileError, match="config name 'theorem1-uniform' is taken"):
        logdepth.register(replace(plugin.CONSTRUCTION, name="x", config_name="theorem1-uniform"))
    with pytest.raises(CompileError, match="takes a logdepth.catalog.Construction"):
        logdepth.register(NAME)


def test_the_plugin_builds_its_own_program(fresh_catalog):
    """The plug-in's program is its own (its module's `program` and `report`, through the
    driver): its verdict layer runs last, with no attention, and the logits read its cell."""
    import logdepth_plugin_example as plugin

    entry = logdepth.register(plugin.CONSTRUCTION)
    assert entry.program == "logdepth_plugin_example:build_program" and entry.build is None
    model = logdepth.compile(logdepth.parse_file(SPEC)["parity"], construction=NAME)
    last = model.config.final[-1]
    assert last.n_heads == 0 and last.d_ff > 0 and "verdict" in last.text
    verdict = model.config.cell("verdict")
    assert verdict.kind == "bool"
    unembed = model.network.state_dict()["unembed"].numpy()
    columns = list(range(verdict.offset, verdict.offset + len(verdict.labels)))
    assert np.count_nonzero(np.delete(unembed, columns, axis=1)) == 0  # only the verdict
    assert model.extra["report"]["construction"] == NAME and "codebook" in model.extra["report"]


def test_an_entry_point_plugin_is_listed_compiled_and_loaded(fresh_catalog, tmp_path, capsys):
    """The quick part of every command (the slow set runs them all, and a real install)."""
    _installed(fresh_catalog, _point(NAME, "logdepth_plugin_example:CONSTRUCTION"))
    assert main(["constructions"]) == 0
    assert NAME in capsys.readouterr().out
    out = tmp_path / "p.safetensors"
    parity = logdepth.parse_file(SPEC)["parity"]
    logdepth.compile(parity, construction=NAME).save(out)
    assert main(["inspect", str(out)]) == 0
    assert CONFIG in capsys.readouterr().out
    assert main(["run", str(out), "011", "0110"]) == 0
    assert capsys.readouterr().out.split() == ["011", "accept", "0110", "accept"]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("no_such_module_xyz:CONSTRUCTION", "failed to load: ModuleNotFoundError"),
        ("logdepth_plugin_example:MISSING", "failed to load: AttributeError"),
        ("logdepth.catalog:ENTRY_POINT_GROUP", "gave a str, not a logdepth.catalog.Construction"),
    ],
)
def test_a_broken_plugin_is_named_without_a_traceback(fresh_catalog, capsys, value, says):
    _installed(fresh_catalog, _point("broken", value))
    with pytest.raises(PluginError, match=f"plug-in 'broken'.*{says}"):
        catalog.entries()
    with pytest.raises(PluginError):  # and on every later look-up that needs the plug-ins
        catalog.get("not-built-in")
    assert catalog.get("uniform").name == "uniform"  # the built-in ones still work
    assert main(["constructions"]) == 1
    err = capsys.readouterr().err
    assert "logdepth: error: the plug-in 'broken'" in err and "Traceback" not in err


def test_a_plugin_clashing_with_a_built_in_is_refused(fresh_catalog):
    _installed(fresh_catalog, _point("clash", "logdepth.catalog:CONSTRUCTIONS"))
    # The built-in entries themselves: registering the same entries is a no-op.
    assert [e.name for e in catalog.entries()] == [e.name for e in catalog.CONSTRUCTIONS]


@pytest.mark.slow
def test_the_example_installs_with_pip_and_serves_the_cli(tmp_path):
    """A real install (pip, into a target folder on PYTHONPATH): the entry point is found by
    importlib.metadata in a fresh process, and compile, run, verify, inspect, explain and
    budget work through the CLI."""
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(PLUGIN)],
        check=True, capture_output=True, cwd=tmp_path,
    )  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = tmp_path / "p.safetensors"

    def cli(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "logdepth", *args],
            capture_output=True, text=True, env=env, cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert NAME in cli("constructions")
    cli("compile", str(SPEC), "--name", "parity", "--construction", NAME, "-o", str(out))
    assert cli("run", str(out), "0110", "0111").split() == ["0110", "accept", "0111", "reject"]
    assert "OK: " in cli("verify", str(out), "--max-length", "10", "--budget", "2")
    assert CONFIG in cli("inspect", str(out))
    cli("explain", str(out), "0110", "-o", str(tmp_path / "p.html"))
    assert NAME in cli("budget", "--layers", "41")
