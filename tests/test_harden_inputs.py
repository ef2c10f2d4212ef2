"""An outside audit's hostile inputs, one regression test each: non-finite activations are an
error (never "reject") and never saved; `run` on empty, malformed, option-mixed, control-character
and huge inputs; clear errors (no traceback, no silent default) for bad numbers, devices, cell
names, environment variables and output paths."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
import torch

import logdepth
from logdepth import cli
from logdepth.automata.dfa import STATE_BUDGET_ENV, state_budget
from logdepth.budget import budgets, max_layers
from logdepth.cli import ANSWER_ECHO_LIMIT, main
from logdepth.errors import InputError, LogdepthError, NonFiniteError, SettingError
from logdepth.model.inputs import ECHO_LIMIT

ROOT = Path(__file__).resolve().parents[1]
BASICS = ROOT / "examples" / "basics.ld"
PARITY = (
    "dfa parity {\n    alphabet: 0, 1\n    start: e\n    accept: e\n    e 0 -> e\n"
    "    e 1 -> o\n    o 0 -> o\n    o 1 -> e\n}\n"
)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def parity_model() -> logdepth.CompiledModel:
    return logdepth.compile(logdepth.parse(PARITY)["parity"])


@pytest.fixture
def parity_file(parity_model, tmp_path) -> Path:
    path = tmp_path / "parity.safetensors"
    parity_model.save(path)
    return path


def fresh(model: logdepth.CompiledModel) -> logdepth.CompiledModel:
    """A copy with its own network, so hooks and edits stay off the shared fixture."""
    return model.to("float64")


def poison_row(model: logdepth.CompiledModel, row: int | None, value: float):
    """A forward hook on the embedding that writes `value` into one batch row (None: all)."""

    def hook(module, args, output):
        output = output.clone()
        if row is None:
            output[:] = value
        else:
            output[row] = value
        return output

    return model.network.hook_embed.register_forward_hook(hook)


def test_run_tokens_names_a_token_outside_the_vocabulary(parity_model):
    """An unknown token in any row of a batch is an InputError naming it, not a wrong id; rows
    of different lengths (padded in one tensor) each answer as parity says."""
    from logdepth.model.inputs import encode_word

    good = encode_word(list("01"))
    with pytest.raises(InputError, match="token '2' is not in the model's vocabulary"):
        parity_model.run_tokens([good, encode_word(list("02"))])
    words = ["1", "11011", "", "0110"]
    answers = parity_model.run_tokens([encode_word(list(w)) for w in words])
    assert answers == ["accept" if w.count("1") % 2 == 0 else "reject" for w in words]
    bos = good[0]  # a one-token row (the lookup of one key is its own case)
    assert parity_model.run_tokens([[bos]]) == parity_model.run_tokens([[bos], good])[:1]


def test_an_empty_token_sequence_is_an_input_error(parity_model):
    """No tokens at all (not even BoS): a clear error naming the input, not a reshape error."""
    from logdepth.model.inputs import encode_word

    with pytest.raises(InputError, match="input 2 of 2 is an empty token sequence"):
        parity_model.run_tokens([encode_word(list("01")), []])


def test_an_unknown_token_past_the_frontier_names_the_frontier(parity_model):
    """A row too long for the weights and an unknown token in another: the frontier is
    checked for every row first, as before the ids were read first."""
    from logdepth.model.inputs import encode_word

    too_long = encode_word(["0"] * (parity_model.frontier + 1))
    with pytest.raises(InputError, match="frontier"):
        parity_model.run_tokens([encode_word(list("02")), too_long])


# ---- A: non-finite values ----------------------------------------------------------------------
@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_logits_are_an_error_not_reject(parity_model, value):
    model = fresh(parity_model)
    poison_row(model, None, value)
    with pytest.raises(NonFiniteError, match="non-finite logits"):
        model.accepts("0110")
    with pytest.raises(NonFiniteError, match="non-finite logits"):
        model.accepts_batch(["0110", "1"])


def test_an_edited_embedding_with_nan_is_an_error(parity_model):
    model = fresh(parity_model)
    embed = model.network.tensors["embed"].clone()
    embed[:] = float("nan")
    model.network.tensors["embed"] = embed
    with pytest.raises(NonFiniteError):
        model.accepts("")


def test_accepts_each_reports_non_finite_per_word(parity_model):
    """Two words of one length run in one batch; only the poisoned row is an error, the other
    keeps its answer (0110 has two 1s: parity accepts it)."""
    model = fresh(parity_model)
    poison_row(model, 1, float("nan"))
    good, bad = model.accepts_each(["0110", "0111"])
    assert good is True
    assert isinstance(bad, NonFiniteError) and "non-finite" in str(bad)


def test_run_and_verify_print_error_for_non_finite_logits(capsys, monkeypatch, parity_model):
    model = fresh(parity_model)
    poison_row(model, None, float("nan"))
    monkeypatch.setattr(logdepth, "load", lambda path: model)
    code, out, err = run(capsys, "run", "x.safetensors", "0110", "1")
    assert code == 1
    assert out == "0110\terror\n1\terror\n"  # never "reject"
    assert "non-finite logits" in err and "Traceback" not in err
    code, out, err = run(capsys, "verify", "x.safetensors", "--exhaustive", "2", "--budget", "0")
    assert code == 1 and "OK:" not in out
    assert "non-finite" in out + err


def test_save_refuses_non_finite_weights_and_keeps_the_good_file(parity_model, tmp_path):
    path = tmp_path / "m.safetensors"
    parity_model.save(path)
    before = path.read_bytes()
    model = fresh(parity_model)
    name = "unembed"
    tensor = model.network.tensors[name].clone()
    tensor.view(-1)[0] = float("nan")
    model.network.tensors[name] = tensor
    with pytest.raises(NonFiniteError, match=f"tensor {name} holds NaN or infinity"):
        model.save(path)
    assert path.read_bytes() == before
    assert logdepth.load(path).accepts("0110") is True
    assert sorted(os.listdir(tmp_path)) == ["m.safetensors"]  # no temporary file left
    with pytest.raises(NonFiniteError):
        model.to_bytes()


# ---- B: `logdepth run` input handling ----------------------------------------------------------
@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_empty_stdin_prints_nothing(capsys, monkeypatch, parity_file, json_flag):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert run(capsys, "run", str(parity_file), "-", *json_flag) == (0, "", "")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    monkeypatch.setattr(cli, "_stdin_is_piped", lambda: True)
    assert run(capsys, "run", str(parity_file), *json_flag) == (0, "", "")


def test_empty_file_prints_nothing(capsys, parity_file, tmp_path):
    empty = tmp_path / "words.txt"
    empty.write_text("")
    assert run(capsys, "run", str(parity_file), "--file", str(empty)) == (0, "", "")
    # One empty line is one empty word (accepted: no 1s).
    empty.write_text("\n")
    assert run(capsys, "run", str(parity_file), "--file", str(empty)) == (0, "\taccept\n", "")


def test_no_words_on_a_terminal_is_still_an_error(capsys, monkeypatch, parity_file):
    monkeypatch.setattr(cli, "_stdin_is_piped", lambda: False)
    code, out, err = run(capsys, "run", str(parity_file))
    assert code == 1 and out == "" and "give at least one word" in err


def test_graph_queries_keep_a_malformed_line_in_its_place(tmp_path):
    queries = tmp_path / "q.txt"
    queries.write_text("G a b\nbad line\n\n# comment\nG b a\n")
    args = cli.build_parser().parse_args(["run", "m", "--queries", str(queries)])
    got = cli._graph_queries(args)
    assert got[0] == ("G", "a", "b") and got[2] == ("G", "b", "a") and len(got) == 3
    assert isinstance(got[1], cli._BadLine) and got[1].where == f"{queries}:2"
    assert got[1].line == "bad line"
    queries.write_text("")
    assert cli._graph_queries(args) == []


@pytest.mark.slow
def test_run_answers_the_other_queries_past_a_malformed_line(capsys, tmp_path):
    conn = tmp_path / "conn.safetensors"
    logdepth.compile_connectivity().save(conn)
    queries = tmp_path / "q.txt"
    graph = f"{BASICS}:diamond"
    queries.write_text(f"{graph} a d\nbad line\n{graph} d a\n")
    code, out, err = run(capsys, "run", str(conn), "--queries", str(queries))
    assert code == 1
    assert out.splitlines() == [
        f"{graph}\ta\td\tconnected",
        "bad line\t\t\terror",
        f"{graph}\td\ta\tdisconnected",
    ]
    assert f"{queries}:2: expected GRAPH SOURCE TARGET" in err
    queries.write_text("")
    assert run(capsys, "run", str(conn), "--queries", str(queries)) == (0, "", "")


@pytest.mark.parametrize(
    "argv",
    [
        ["--dtype", "float32", "0110", "1"],
        ["0110", "--dtype", "float32", "1"],
        ["0110", "1", "--dtype", "float32"],
        ["--json", "0110", "--device", "cpu", "1"],
    ],
)
def test_run_takes_options_anywhere(capsys, parity_file, argv):
    code, out, err = run(capsys, "run", str(parity_file), *argv)
    assert code == 0, err
    lines = out.splitlines()
    if "--json" in argv:
        lines = ["\t".join(json.loads(line).values()) for line in lines]
    assert lines == ["0110\taccept", "1\treject"]


def test_other_subcommands_still_parse(capsys, parity_file):
    code, out, _ = run(capsys, "inspect", str(parity_file), "--json")
    assert code == 0 and json.loads(out)["config"]["s"] == 0
    code, out, _ = run(capsys, "fmt", str(BASICS))
    assert code == 0 and "dfa parity" in out
    with pytest.raises(SystemExit):  # an unknown option is still refused
        main(["run", str(parity_file), "--bogus", "01"])


def test_control_characters_are_escaped_in_the_echo(capsys, parity_file):
    """Whitespace between symbols is ignored (the word rule), so "0<TAB>1" is the word 01 and
    is answered; its echo must not split the TSV line, nor a newline add one."""
    code, out, _ = run(capsys, "run", str(parity_file), "0\t1", "1\n1", "0\\1")
    assert code == 1
    assert out.splitlines() == ["0\\t1\treject", "1\\n1\taccept", "0\\\\1\terror"]
    code, out, _ = run(capsys, "run", str(parity_file), "--json", "1\n1", "1\u20281")
    assert len(out.splitlines()) == 2 and "\u2028" not in out
    assert [json.loads(line)["word"] for line in out.splitlines()] == ["1\n1", "1\u20281"]


def test_a_huge_bad_word_is_shortened_in_every_echo(capsys, parity_file):
    word = "0" * 1_000_000 + "2"
    code, out, err = run(capsys, "run", str(parity_file), word)
    assert code == 1
    assert out == "0" * ANSWER_ECHO_LIMIT + "... (1,000,001 characters)\terror\n"
    assert "(1,000,001 characters)" in err and len(err) < 4 * ECHO_LIMIT + 200
    code, out, err = run(capsys, "run", str(parity_file), "--json", word)
    assert len(out) < 2 * ANSWER_ECHO_LIMIT and "error" in json.loads(out)


def test_readme_states_the_echo_cap():
    text = (ROOT / "README.md").read_text()
    assert f"first {ANSWER_ECHO_LIMIT:,} characters ({ECHO_LIMIT} in stderr" in text


# ---- C: clear errors instead of tracebacks or silent defaults ------------------------------
def test_budget_refuses_layers_past_any_input(capsys):
    code, out, err = run(capsys, "budget", "--layers", "5000")
    assert code == 1 and out == "" and f"at most {max_layers()}" in err
    assert run(capsys, "budget", "--layers", str(max_layers()))[0] == 0
    with pytest.raises(ValueError, match="at most"):
        budgets(10**9)


@pytest.mark.parametrize("verb", ["run", "verify"])
def test_meta_device_is_refused(capsys, parity_file, verb):
    words = ["01"] if verb == "run" else []
    code, _, err = run(capsys, verb, str(parity_file), "--device", "meta", *words)
    assert code == 1 and "meta device" in err and "Traceback" not in err


def test_meta_device_is_refused_by_to(parity_model):
    with pytest.raises(InputError, match="meta"):
        parity_model.to("meta")
    with pytest.raises(InputError, match="meta"):
        parity_model.to(device=torch.device("meta"))


@pytest.mark.parametrize("n", [2.5, -3, True, "4", None])
def test_num_layers_refuses_what_is_not_a_size(parity_model, n):
    with pytest.raises(InputError):
        parity_model.num_layers(n)


def test_num_layers_takes_sizes_from_zero(parity_model):
    # Theorem 1: 8 ceil(log2 n) + 9; ceil(log2 n) is 0 for n <= 1.
    assert [parity_model.num_layers(n) for n in (0, 1, 2, 4, 5)] == [9, 9, 17, 25, 33]


def test_decode_of_an_unknown_cell_lists_the_cells(parity_model):
    trace = parity_model.trace("01", attention=False)
    with pytest.raises(LogdepthError, match="no cell named 'nosuch'; the cells are one, bos"):
        trace.decode("nosuch")
    with pytest.raises(KeyError):  # still a KeyError for code that looked names up
        trace.cell("nosuch")


@pytest.mark.parametrize("value", ["abc", "-1", "0", "1.5", "10k"])
def test_state_budget_variable_must_be_a_positive_number(capsys, monkeypatch, tmp_path, value):
    monkeypatch.setenv(STATE_BUDGET_ENV, value)
    with pytest.raises(SettingError, match=STATE_BUDGET_ENV):
        state_budget()
    out = tmp_path / "m.safetensors"
    code, _, err = run(capsys, "compile", str(BASICS), "--name", "parity", "-o", str(out))
    assert code == 1 and STATE_BUDGET_ENV in err and "whole number" in err
    assert not out.exists()


def test_state_budget_variable_read_when_valid(monkeypatch):
    monkeypatch.setenv(STATE_BUDGET_ENV, "1234")
    assert state_budget() == 1234
    monkeypatch.setenv(STATE_BUDGET_ENV, "")
    assert state_budget() > 0  # empty: the default


@pytest.mark.skipif(not Path("/proc/version").is_file(), reason="needs Linux /proc")
def test_output_in_proc_says_what_is_true(capsys):
    code, _, err = run(capsys, "compile", str(BASICS), "--name", "parity", "-o", "/proc/version")
    assert code == 1 and "/proc/version" in err
    assert "No such file or directory" not in err and "does not allow new files" in err


def test_output_under_a_file_says_it_is_not_a_directory(capsys, parity_file):
    target = str(parity_file / "x.safetensors")
    code, _, err = run(capsys, "compile", str(BASICS), "--name", "parity", "-o", target)
    assert code == 1 and f"{parity_file} is not a directory" in err


def test_precision_needs_at_least_one_input(capsys, parity_file):
    code, out, err = run(capsys, "precision", str(parity_file), "--inputs", "0", "--max-n", "4")
    assert code == 1 and "--inputs must be 1 or more" in err and "fit" not in out


@pytest.mark.parametrize("max_n", ["-5", "0", str(10**20)])
def test_depth_plot_refuses_sizes_out_of_range(capsys, tmp_path, max_n):
    pytest.importorskip("matplotlib")
    out = tmp_path / "d.png"
    code, _, err = run(capsys, "plot", "--depth", "--max-n", max_n, "-o", str(out))
    assert code == 1 and "--max-n" in err and not out.exists()


@pytest.mark.slow
def test_connected_reports_non_finite_logits_per_query():
    from logdepth.graphs import Graph

    model = logdepth.compile_connectivity()
    graph = Graph("g", ("a", "b", "c"), True, frozenset({("a", "b")}))
    poison_row(model, 1, float("nan"))
    good, bad = model.connected_each([(graph, "a", "b"), (graph, "b", "a")])
    assert good is True and isinstance(bad, NonFiniteError)
    with pytest.raises(NonFiniteError, match="non-finite logits"):
        model.connected_batch([(graph, "a", "b"), (graph, "b", "a")])


def test_nonuniform_past_its_precision_frontier_says_precision(capsys, tmp_path):
    """Built for N past the float64 frontier: compile says so, and a word between the frontier
    and N is refused for precision (a larger --max-length would not help)."""
    big = 2**20
    out = tmp_path / "n.safetensors"
    argv = ["compile", str(BASICS), "--name", "parity", "--construction", "nonuniform"]
    code, _, err = run(capsys, *argv, "--max-length", str(big), "-o", str(out))
    model = logdepth.load(out)
    assert code == 0 and model.frontier < big
    assert f"--max-length {big:,} is past these weights' float64 frontier" in err
    with pytest.raises(InputError, match="derived frontier") as caught:
        model.accepts("0" * (model.frontier + 1))
    assert "larger --max-length" not in str(caught.value)
    with pytest.raises(InputError, match="larger --max-length"):
        model.accepts("0" * (big + 1))


def test_a_words_file_that_is_not_utf8_is_a_clear_error(capsys, parity_file, tmp_path):
    words = tmp_path / "words.txt"
    words.write_bytes(b"01\n\xff10\n")
    code, out, err = run(capsys, "run", str(parity_file), "--file", str(words))
    assert code == 1 and out == "" and "not UTF-8 text (byte 3)" in err
    words.write_bytes("\ufeff0110\n".encode())  # a byte-order mark is not part of the word
    assert run(capsys, "run", str(parity_file), "--file", str(words)) == (0, "0110\taccept\n", "")


@pytest.mark.parametrize("device", ["hpu", "lazy"])
def test_a_device_torch_cannot_use_is_one_clear_line(capsys, parity_file, device):
    """Neither backend is in a stock torch build: a missing module (hpu) or torch's whole
    dispatcher table (lazy) must come out as one line."""
    code, out, err = run(capsys, "run", str(parity_file), "01", "--device", device)
    assert code == 1 and out == ""
    assert err.startswith(f"logdepth: error: cannot move the weights to {device}")
    assert err.count("\n") == 1


def test_stdin_that_is_not_utf8_names_its_line(capsys, monkeypatch, parity_file):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"01\n\xff01\n")))
    code, out, err = run(capsys, "run", str(parity_file), "-")
    assert code == 1 and out == "" and "stdin:2: cannot read: not UTF-8 text (byte 3)" in err


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_a_word_of_undecodable_bytes_is_echoed_encodably(capsys, parity_file, json_flag):
    """Command-line bytes that are not UTF-8 reach Python as lone surrogates, which a strict
    stdout cannot write: the echo escapes them."""
    code, out, _ = run(capsys, "run", str(parity_file), "\udcff1", "01", *json_flag)
    assert code == 1
    out.encode("utf-8")  # no lone surrogate left
    lines = out.splitlines()
    assert len(lines) == 2 and lines[1] in ("01\treject", '{"word": "01", "answer": "reject"}')
    if json_flag:
        assert json.loads(lines[0])["word"] == "\udcff1"
    else:
        assert lines[0] == "\\udcff1\terror"
