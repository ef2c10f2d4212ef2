"""The commands README.md and docs/*.md show must run as shown (issue 11).

Every line of a fenced block that starts with `logdepth ` (or `.venv/bin/logdepth`, split at
`&&`) and names no placeholder (`MODEL`, `SPEC:NAME`, `[...]`, `a|b`) runs in a directory that
holds the examples and the weight files the docs name, and must exit 0. The Python blocks run
too. A command that stops working, or an option renamed in the code but not in the docs, fails
here.
"""

from __future__ import annotations

import ast
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


# `verify` runs hundreds of forward passes and spends up to --budget seconds (default 30) near the
# frontier: the command exactly as shown runs in the slow set; the default run checks the same
# command (its options still parse, it still passes) with these options added, which bound it.
QUICK_VERIFY = ["--max-length", "8", "--samples", "10", "--budget", "0"]
QUICK_EXHAUSTIVE = 3


def quick(command: str) -> str | None:
    """The bounded twin of a `logdepth verify` command (None for any other command)."""
    argv = shlex.split(command)
    if argv[1] != "verify":
        return None
    if "--exhaustive" in argv:
        k = argv.index("--exhaustive") + 1
        argv[k] = str(min(int(argv[k]), QUICK_EXHAUSTIVE))
    return shlex.join(argv + QUICK_VERIFY)


def runs() -> list:
    """test_command_runs' parameters: every doc command, a verify command as shown marked slow
    and its bounded twin in the default run."""
    out = []
    for doc, command in commands():
        twin = quick(command)
        if twin is None:
            out.append(pytest.param(doc, command, id=f"{doc}-{command}"))
        else:
            out.append(pytest.param(doc, command, id=f"{doc}-{command}", marks=pytest.mark.slow))
            out.append(pytest.param(doc, twin, id=f"{doc}-{twin}"))
    return out


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


def test_the_quick_verify_twin_is_the_shown_command_with_bounds_added():
    shown = "logdepth verify parity.safetensors --exhaustive 8"
    assert (shown in {c for _, c in commands()}) and quick(shown) == (
        "logdepth verify parity.safetensors --exhaustive 3 " + " ".join(QUICK_VERIFY)
    )


@pytest.mark.parametrize(("doc", "command"), runs())
def test_command_runs(doc, command, workdir, monkeypatch, capsys):
    monkeypatch.chdir(workdir)
    try:
        code = main(shlex.split(command)[1:])
    except SystemExit as done:  # --version
        code = done.code
    _, err = capsys.readouterr()
    assert code == 0, f"{doc}: {command}: {err}"


def shown_values(code: str) -> list[tuple[str, object]]:
    """(expression, value) for every line `expression  # value` of a block whose comment is a
    Python literal: the value the doc says the expression has."""
    found = []
    for line in code.splitlines():
        expression, sep, comment = line.partition("#")
        if not sep or not expression.strip():
            continue
        try:
            value = ast.literal_eval(comment.strip())
            ast.parse(expression.strip(), mode="eval")
        except (ValueError, SyntaxError):
            continue
        found.append((expression.strip(), value))
    return found


# What the blocks without asserts of their own claim, checked on the names they leave behind
# (keyed by doc and a line of the block). Values come from the docs' prose, not from the code.
CLAIMS = {
    # README: parity accepts 0110 (two 1s); Theorem 1 runs 8 ceil(log2 4) + 9 = 25 layers at
    # n = 4; m.to("float32") is a float32 model.
    ("README.md", 'm.accepts("0110"); m.num_layers(4); m.trace("0110")'): lambda ns: (
        ns["m"].accepts("0110") is True
        and ns["m"].num_layers(4) == 8 * 2 + 9
        and ns["m32"].dtype_name == "float32"
    ),
    # architecture.md: n = 7 gives d = ceil(log2 7) = 3 iterations, one entry each, numbered
    # 0, 1, 2; the residual stream has a row per token (BoS, 7 symbols, $).
    ("architecture.md", "hook.remove()"): lambda ns: (
        [iteration for iteration, _ in ns["seen"]] == [0, 1, 2]
        and all(out.shape[0] == 7 + 2 for _, out in ns["seen"])
    ),
}


def claims_for(doc: str, code: str) -> list:
    return [check for (where, line), check in CLAIMS.items() if where == doc and line in code]


def test_every_python_block_states_what_it_shows():
    """A block that only runs proves little: each asserts, shows a value or has a claim."""
    for doc, code in python_blocks():
        assert "assert " in code or shown_values(code) or claims_for(doc, code), (doc, code)


@pytest.mark.parametrize(("doc", "code"), python_blocks(), ids=lambda x: x[:40])
def test_python_block_runs(doc, code, workdir, monkeypatch):
    monkeypatch.chdir(workdir)
    names: dict = {}
    exec(compile(code, doc, "exec"), names)
    for expression, value in shown_values(code):
        assert eval(expression, names) == value, f"{doc}: {expression} is not {value!r}"
    for check in claims_for(doc, code):
        assert check(names), f"{doc}: the block does not do what the doc says"
