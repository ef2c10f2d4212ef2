"""The commands README.md and docs/*.md show must run as shown (issue 11).

Every line of a fenced block that starts with `logdepth ` (or `.venv/bin/logdepth`, split at
`&&`) and names no placeholder (`MODEL`, `SPEC:NAME`, `[...]`, `a|b`) runs in a directory that
holds the examples and the weight files the docs name, and must exit 0. The Python blocks run
too. A command that stops working, or an option renamed in the code but not in the docs, fails
here.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from logdepth.cli import main

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PLACEHOLDER = re.compile(r"\b[A-Z][A-Z0-9_]*\b|[\[\]|<>]|\.\.\.")


def _blocks(path: Path) -> list[tuple[str, str]]:
    """(language, text) of every fenced block."""
    return re.findall(r"^```(\w*)\n(.*?)^```", path.read_text(), flags=re.S | re.M)


def commands() -> list[tuple[str, str]]:
    """(doc, command) for every runnable logdepth command line of the docs."""
    found = []
    for path in DOCS:
        for lang, text in _blocks(path):
            if lang:
                continue
            for line in text.splitlines():
                for part in line.split("&&"):
                    part = part.strip()
                    if part.startswith(".venv/bin/logdepth "):
                        part = part[len(".venv/bin/") :]
                    if not part.startswith("logdepth "):
                        continue
                    argv = shlex.split(part, comments=True)
                    if not any(PLACEHOLDER.search(a) for a in argv[1:]):
                        found.append((path.name, shlex.join(argv)))
    return found


def python_blocks() -> list[tuple[str, str]]:
    return [(p.name, text) for p in DOCS for lang, text in _blocks(p) if lang == "python"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A directory with examples/, the weight files the docs use, and input files."""
    import logdepth

    where = tmp_path_factory.mktemp("docs")
    (where / "examples").symlink_to(ROOT / "examples")
    spec = logdepth.parse_file(ROOT / "examples" / "basics.ld")
    logdepth.compile(spec["parity"]).save(where / "parity.safetensors")
    logdepth.compile(spec["a5"]).save(where / "a5.safetensors")
    logdepth.compile_connectivity().save(where / "conn.safetensors")
    (where / "words.txt").write_text("0110\n010\n\n")
    (where / "queries.txt").write_text("examples/basics.ld:diamond a d\n")
    return where


def test_the_docs_show_runnable_commands():
    shown = {c for _, c in commands()}
    assert "logdepth compile --connectivity -o conn.safetensors" in shown
    assert any(c.startswith("logdepth run parity.safetensors") for c in shown)
    assert len(python_blocks()) >= 2


@pytest.mark.parametrize(("doc", "command"), commands(), ids=lambda x: x)
def test_command_runs(doc, command, workdir, monkeypatch, capsys):
    monkeypatch.chdir(workdir)
    try:
        code = main(shlex.split(command)[1:])
    except SystemExit as done:  # --version
        code = done.code
    _, err = capsys.readouterr()
    assert code == 0, f"{doc}: {command}: {err}"


@pytest.mark.parametrize(("doc", "code"), python_blocks(), ids=lambda x: x[:40])
def test_python_block_runs(doc, code, workdir, monkeypatch):
    monkeypatch.chdir(workdir)
    exec(compile(code, doc, "exec"), {})
