"""The fmt and check subcommands, driven through argparse as the main CLI does."""

import argparse
from pathlib import Path

import pytest

from logdepth.dsl import commands, format, parse_file
from logdepth.errors import DSLError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "basics.ld"


def run(argv, **hooks):
    ap = argparse.ArgumentParser(prog="logdepth")
    commands.register(ap.add_subparsers(dest="command"), **hooks)
    args = ap.parse_args(argv)
    return args.func(args)


def test_fmt_prints_canonical_form(capsys):
    assert run(["fmt", str(EXAMPLE)]) == 0
    assert capsys.readouterr().out == format(parse_file(EXAMPLE))


def test_fmt_write(tmp_path, capsys):
    p = tmp_path / "s.ld"
    p.write_text("group c {cyclic 3}   # tiny\n")
    assert run(["fmt", "-w", str(p)]) == 0
    assert p.read_text() == "group c {\n    cyclic 3\n}  # tiny\n"  # comments are kept


def test_check_passes_on_oracles(capsys):
    assert run(["check", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 14 and out[-1] == "13 passed, 0 failed"
    assert all(" PASS " in line for line in out[:-1])
    assert f"{EXAMPLE}:57:31: PASS a5 accepts '23145 31245'" in out[8]


def test_check_hook_supplies_deciders_and_failures_exit_1(capsys):
    def hook(spec, args):
        return {"accepts": lambda name, word: False}

    assert run(["check", str(EXAMPLE)], check_hook=hook) == 1
    out = capsys.readouterr().out
    assert "FAIL parity accepts '0110' (expected accept, got reject)" in out
    assert "PASS parity rejects '1'" in out
    assert out.splitlines()[-1] == "6 passed, 7 failed"


def test_check_name_filter(capsys):
    assert run(["check", str(EXAMPLE), "--name", "diamond"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "4 passed, 0 failed"


def test_errors_are_raised_for_the_main_cli(tmp_path):
    p = tmp_path / "bad.ld"
    p.write_text("dfa x {\n  a 0 ->\n}\n")
    with pytest.raises(DSLError) as info:
        run(["check", str(p)])
    assert str(info.value).startswith(f"{p}:2:9: error: unexpected end of line")
