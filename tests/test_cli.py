"""The CLI on bad input: one clear message, exit 1, no traceback, nothing of the user's lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from logdepth.cli import main
from logdepth.compiler.assemble import assemble
from logdepth.model.compiled import CompiledModel
from tests.compiler.programs import counter_program

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def demo(tmp_path) -> Path:
    path = tmp_path / "demo.safetensors"
    CompiledModel(assemble(counter_program()), {"report": {"what": "demo"}}).save(path)
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_inspect_shows_cells_and_layer_texts(capsys, demo):
    code, out, _ = run(capsys, "inspect", str(demo))
    assert code == 0
    assert "pos (psi): pos:a pos:b pos:-a pos:-b" in out
    assert "tmp := 0 and count += 1" in out
    code, out, _ = run(capsys, "inspect", str(demo), "--json")
    info = json.loads(out)
    assert (info["config"]["s"], info["config"]["r"], info["config"]["t"]) == (1, 2, 0)
    assert [c["name"] for c in info["cells"]] == ["one", "bos", "pos", "tmp", "count"]


def test_unknown_symbol_is_a_clear_error(capsys, demo):
    code, out, err = run(capsys, "run", str(demo), "xq")
    assert code == 1 and out == "xq\terror\n"  # the bad word keeps its line
    assert "word 'xq': symbol 'q' at position 2 of word 'xq' is not in the alphabet" in err


def test_input_past_the_frontier_is_refused(capsys, demo):
    code, _, err = run(capsys, "run", str(demo), "x" * 1001)
    assert code == 1 and "beyond the derived frontier" in err


def test_corrupt_weight_file(capsys, tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 3)
    for verb in ("inspect", "run", "verify"):
        code, _, err = run(capsys, verb, str(bad), *(["x"] if verb == "run" else []))
        assert code == 1 and "not a safetensors file" in err


def test_malformed_spec_is_located_and_nothing_is_overwritten(capsys, tmp_path):
    spec = tmp_path / "bad.ld"
    spec.write_text("dfa p {\n    alphabet: 0, 1\n    start even\n}\n")
    out = tmp_path / "keep.safetensors"
    out.write_bytes(b"the user's precious file")
    code, _, err = run(capsys, "compile", str(spec), "-o", str(out))
    assert code == 1
    assert err.startswith(f"{spec}:3:")
    assert "^" in err
    assert out.read_bytes() == b"the user's precious file"


def test_no_traceback_from_the_installed_entry_point(tmp_path):
    spec = tmp_path / "bad.ld"
    spec.write_text("dfa p { alphabet: 0\n start: a\n accept: a\n a 0 -> b }\n")
    result = subprocess.run(
        [sys.executable, "-m", "logdepth", "compile", str(spec), "-o", str(tmp_path / "x")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "error:" in result.stderr and "'b'" in result.stderr
    assert not (tmp_path / "x").exists()


BASICS = ROOT / "examples" / "basics.ld"


def test_compile_run_verify_inspect_a_bundled_automaton(capsys, tmp_path):
    out = tmp_path / "parity.safetensors"
    code, text, _ = run(capsys, "compile", str(BASICS), "--name", "parity", "-o", str(out))
    assert code == 0 and "(0, 8, 9)-universal" in text
    code, text, _ = run(capsys, "run", str(out), "0110", "010", "")
    assert (code, text) == (0, "0110\taccept\n010\treject\n\taccept\n")
    code, text, _ = run(
        capsys,
        "verify",
        str(out),
        "--exhaustive",
        "4",
        "--samples",
        "10",
        "--max-length",
        "20",
        "--budget",
        "0",
        "--json",
    )
    report = json.loads(text)
    assert code == 0 and report["ok"] and report["checks"] > 31
    code, text, _ = run(capsys, "inspect", str(out))
    assert code == 0 and "repeated.7" in text and "final.8" in text


def test_verify_against_another_spec_fails_with_a_shortest_counterexample(capsys, tmp_path):
    out = tmp_path / "parity.safetensors"
    run(capsys, "compile", str(BASICS), "--name", "parity", "-o", str(out))
    other = tmp_path / "odd.ld"
    other.write_text(
        "dfa odd {\n alphabet: 0, 1\n start: e\n accept: o\n"
        " e 0 -> e\n e 1 -> o\n o 0 -> o\n o 1 -> e\n}\n"
    )
    code, text, _ = run(
        capsys,
        "verify",
        str(out),
        "--spec",
        f"{other}:odd",
        "--exhaustive",
        "3",
        "--samples",
        "5",
        "--max-length",
        "8",
    )
    assert code == 1
    assert "shortest counterexample: ''" in text or 'shortest counterexample: ""' in text


def test_compile_needs_a_name_when_the_spec_has_several_automata(capsys, tmp_path):
    code, _, err = run(capsys, "compile", str(BASICS), "-o", str(tmp_path / "x.safetensors"))
    assert code == 1 and "choose one with --name" in err
    assert not (tmp_path / "x.safetensors").exists()


def test_connectivity_compile_and_run_on_a_spec_graph(capsys, tmp_path):
    out = tmp_path / "conn.safetensors"
    code, text, _ = run(capsys, "compile", "--connectivity", "-o", str(out))
    assert code == 0 and "(17, 2, 1)-universal" in text
    answers = []
    for source, target in [("a", "d"), ("d", "a"), ("a", "e")]:
        code, text, _ = run(
            capsys,
            "run",
            str(out),
            "--graph",
            f"{BASICS}:diamond",
            "--source",
            source,
            "--target",
            target,
        )
        assert code == 0
        answers.append(text.strip().split("\t"))
    assert [a[-1] for a in answers] == ["connected", "disconnected", "disconnected"]
    assert answers[0] == [f"{BASICS}:diamond", "a", "d", "connected"]
    edges = tmp_path / "edges.txt"
    edges.write_text("n 3\n1 2\n# a comment\n2 3\n")
    code, text, _ = run(
        capsys, "run", str(out), "--graph", str(edges), "--source", "1", "--target", "3"
    )
    assert (code, text.strip()) == (0, f"{edges}\t1\t3\tconnected")
    code, _, err = run(
        capsys, "run", str(out), "--graph", str(edges), "--source", "1", "--target", "9"
    )
    assert code == 1 and "'9' is not a node" in err


def test_check_decides_through_compiled_weights(capsys, monkeypatch):
    """Swap the compiled model's outputs: if `check` ran the oracle it would still pass."""
    import logdepth.api

    real = logdepth.api.compile

    def flipped(*args, **kwargs):
        model = real(*args, **kwargs)
        model.network.tensors["unembed"] = model.network.tensors["unembed"].flip(0)
        return model

    code, text, _ = run(capsys, "check", str(BASICS), "--name", "parity")
    assert code == 0 and "0 failed" in text
    monkeypatch.setattr(logdepth.api, "compile", flipped)
    code, text, _ = run(capsys, "check", str(BASICS), "--name", "parity")
    assert code == 1 and "FAIL" in text


def test_nonuniform_weights_refuse_words_longer_than_they_were_built_for(capsys, tmp_path):
    out = tmp_path / "p8.safetensors"
    code, _, _ = run(
        capsys,
        "compile",
        str(BASICS),
        "--name",
        "parity",
        "--construction",
        "nonuniform",
        "--max-length",
        "8",
        "-o",
        str(out),
    )
    assert code == 0
    code, text, _ = run(capsys, "run", str(out), "01101110", "0")
    assert (code, text.split()) == (0, ["01101110", "reject", "0", "accept"])  # five 1s; no 1s
    code, _, err = run(capsys, "run", str(out), "011011101")
    assert code == 1 and "non-uniform weights were built and verified for (8)" in err


def test_an_impossible_exhaustive_request_is_refused_up_front(capsys, tmp_path):
    out = tmp_path / "a5.safetensors"
    assert run(capsys, "compile", str(BASICS), "--name", "a5", "-o", str(out))[0] == 0
    code, text, err = run(capsys, "verify", str(out), "--exhaustive", "8")
    assert code == 1 and text == ""
    assert "every word up to length 8 over 60 symbols" in err and "1.71e+14 inputs" in err


def test_whitespace_in_words_means_the_same_everywhere(capsys, tmp_path):
    """One word codec (model.inputs.parse_word): "0 1 1 0" is the word 0110 in a spec's check,
    in `run`, in `accepts` and in the counterexamples verify prints."""
    spec = tmp_path / "p.ld"
    spec.write_text(
        BASICS.read_text() + '\ncheck parity accepts "0 1 1 0"\ncheck parity rejects " 0 1 0"\n'
    )
    code, text, err = run(capsys, "check", str(spec))
    assert code == 0, err
    out = tmp_path / "parity.safetensors"
    run(capsys, "compile", str(BASICS), "--name", "parity", "-o", str(out))
    code, text, _ = run(capsys, "run", str(out), "0 1 1 0", "0110", " 0 1 0")
    answers = [line.split()[-1] for line in text.strip().splitlines()]
    assert code == 0 and answers == ["accept", "accept", "reject"]
    from logdepth.model.compiled import load

    model = load(out)
    assert model.accepts("0 1 1 0") is True and model.accepts(" 0 1 0 ") is False


# ---- run in a pipeline (issue 11) -----------------------------------------------------------
@pytest.fixture(scope="module")
def parity_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "parity.safetensors"
    assert main(["compile", str(BASICS), "--name", "parity", "-o", str(out)]) == 0
    return out


def test_run_reads_words_from_stdin_as_json_lines_with_per_word_errors(
    capsys, monkeypatch, parity_file
):
    import io
    import random

    rng = random.Random(1)
    words = ["".join(rng.choice("01") for _ in range(64)) for _ in range(40)]
    words[7], words[30] = "01x1", "2"
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(w + "\n" for w in words)))
    code, out, err = run(capsys, "run", str(parity_file), "-", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and [r["word"] for r in rows] == words
    for row in rows:
        if row["word"] in ("01x1", "2"):
            assert "error" in row and "answer" not in row
        else:
            assert row["answer"] == ("accept" if row["word"].count("1") % 2 == 0 else "reject")
    assert "word '01x1': symbol 'x' at position 3" in err and "word '2'" in err


def test_run_reads_a_word_file_and_keeps_empty_lines_as_the_empty_word(
    capsys, tmp_path, parity_file
):
    words = tmp_path / "words.txt"
    words.write_text("0110\n\n1\r\n")
    code, out, _ = run(capsys, "run", str(parity_file), "--file", str(words), "--dtype", "float32")
    assert (code, out) == (0, "0110\taccept\n\taccept\n1\treject\n")


def test_run_and_verify_take_dtype_and_device(capsys, parity_file):
    code, out, _ = run(capsys, "run", str(parity_file), "011", "--device", "cpu")
    assert (code, out) == (0, "011\taccept\n")
    code, _, err = run(capsys, "run", str(parity_file), "011", "--device", "nowhere")
    assert code == 1 and "not a device" in err
    code, out, _ = run(
        capsys, "verify", str(parity_file), "--dtype", "float32", "--exhaustive", "3",
        "--samples", "2", "--max-length", "8", "--json",
    )  # fmt: skip
    assert code == 0 and json.loads(out)["ok"]


def test_every_subcommand_has_version(capsys):
    for verb in ("run", "verify", "inspect", "check"):
        with pytest.raises(SystemExit) as done:
            main([verb, "--version"])
        assert done.value.code == 0 and capsys.readouterr().out.startswith("logdepth ")


def test_inspect_lists_every_head_with_its_note(capsys, parity_file):
    code, out, _ = run(capsys, "inspect", str(parity_file))
    assert code == 0
    assert "head 0 (c): act.query . act.pos -> act.pos => act.floor  # act: floor(j/m)" in out
    assert "[    7:9    ] delta (code): delta=e delta=(odd even)" in out
    info = json.loads(run(capsys, "inspect", str(parity_file), "--json")[1])
    layer = next(x for x in info["layers"] if x["name"] == "repeated.3")
    assert layer["head_details"][0]["writes"] == ["act.floor"]


@pytest.mark.slow
def test_run_answers_ten_thousand_words_of_length_64_in_one_process(tmp_path, parity_file):
    """The issue's pipeline: `logdepth run MODEL --json < words.txt`, bad words included."""
    import random
    import subprocess
    import sys

    rng = random.Random(0)
    words = ["".join(rng.choice("01") for _ in range(64)) for _ in range(10_000)]
    bad = {17: "0120", 5000: "x" * 64, 9999: "1 2"}
    for k, w in bad.items():
        words[k] = w
    done = subprocess.run(
        [sys.executable, "-m", "logdepth", "run", str(parity_file), "--json"],
        input="".join(w + "\n" for w in words),
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 1 and len(rows) == 10_000
    for k, (word, row) in enumerate(zip(words, rows, strict=True)):
        assert row["word"] == word
        if k in bad:
            assert "error" in row
        else:
            assert row["answer"] == ("accept" if word.count("1") % 2 == 0 else "reject")
    assert done.stderr.count("logdepth: error: word") == 3
