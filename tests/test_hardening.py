"""Issue 10's hostile cases, one regression test each: no hangs, no memory blow-ups, no
tracebacks, nothing of the user's lost, no silently trusted metadata."""

from __future__ import annotations

import json
import math
import os
import signal
import stat
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import load as raw_load

import logdepth
from logdepth import fileio
from logdepth.automata.dfa import DFA, hopcroft, random_dfa
from logdepth.automata.nfa import NFA
from logdepth.cli import main
from logdepth.errors import CompileError, InputError, LogdepthError, SpecError, WeightFileError
from logdepth.graphs import Graph
from logdepth.model import validate, weights
from logdepth.model.config import DepthRule
from logdepth.precision import bits_of

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


def rewrite_metadata(path: Path, change) -> None:
    """Apply `change(meta)` to a weight file's logdepth metadata and recompute the SHA-256, as
    anyone can: the checksum has no key."""
    data = path.read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + size])
    meta = json.loads(header["__metadata__"]["logdepth"])
    change(meta)
    tensors = raw_load(data)
    meta["sha256"] = weights._digest(meta["config"], meta["extra"], tensors)
    header["__metadata__"]["logdepth"] = json.dumps(meta, sort_keys=True)
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data[8 + size :])


# ---- 1. metadata is validated, not trusted ----------------------------------------------------
def _set(*keys, value):
    def change(meta):
        d = meta["config"]
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value

    return change


@pytest.mark.parametrize(
    "change, reason",
    [
        (_set("tie_tolerance", value=0.5), "tie_tolerance 0.5 is out of range"),
        (_set("tie_tolerance", value=float("nan")), "not valid JSON"),
        (_set("tie_tolerance", value=-1e-15), "out of range"),
        (_set("outputs", value=["accept", "reject"]), "outputs"),
        (_set("vocab", value=["<bos>", "1", "0", "<$>"]), "alphabet"),
        (_set("vocab", value=["0", "<bos>", "1", "<$>"]), "BoS"),
        (_set("vocab", value=["<bos>", "0", "1", "end"]), "end token"),
        (_set("depth_rule", "fixed", value=0), "uniform"),
        (_set("depth_rule", "root", value=0), "root"),
        (_set("depth_rule", "root", value=3), "root"),
        (_set("frontier", value={"float32": -5}), "at least 0"),
        (_set("frontier", value={"float32": 1.5}), "integer"),
        (_set("frontier", value={"float16": 10}), "unknown dtype"),
        (_set("d_model", value=True), "integer"),
        (_set("input_format", value="graph"), "graph model"),
    ],
)
def test_edited_metadata_with_a_recomputed_checksum_is_refused(parity_file, change, reason):
    rewrite_metadata(parity_file, change)
    with pytest.raises(WeightFileError, match=reason):
        logdepth.load(parity_file)


def test_the_checksum_message_says_it_catches_accidents(parity_file):
    data = bytearray(parity_file.read_bytes())
    data[-1] ^= 1
    parity_file.write_bytes(bytes(data))
    with pytest.raises(WeightFileError, match="no key"):
        logdepth.load(parity_file)


def test_a_nonuniform_frontier_past_what_its_layers_serve_is_refused(tmp_path):
    m = logdepth.compile(logdepth.parse(PARITY)["parity"], "nonuniform", max_length=10)
    path = tmp_path / "n.safetensors"
    m.save(path)
    assert logdepth.load(path).frontier == 10
    rewrite_metadata(path, _set("frontier", value={"float64": 1000, "float32": 10}))
    with pytest.raises(WeightFileError, match="more than these 21 layers serve"):
        logdepth.load(path)


def test_the_contracts_restate_what_the_constructions_build():
    """model/validate.py may not import the constructions, so its table is checked here."""
    from logdepth.constructions import connectivity, regular
    from logdepth.constructions.connectivity import program_shape
    from logdepth.gaps import connectivity as graph_precision
    from logdepth.gaps import regular as regular_gaps

    shape = program_shape()
    regular_contract = validate.CONTRACTS["theorem1-uniform"]
    assert regular_contract.tolerance[1] == regular.tie_tolerance()
    assert regular_contract.outputs == tuple(regular.OUTPUTS)
    graph = validate.CONTRACTS[connectivity.CONSTRUCTION]
    bound = graph_precision.rounding_bound("float64", shape)
    assert graph.tolerance == (2 * bound, graph_precision.TAU)
    assert graph.outputs == connectivity.OUTPUTS
    config = connectivity.compile_connectivity().config
    assert config.s_r_t == graph.s_r_t and config.tie_tolerance == graph.tolerance[1]
    assert dict(regular_contract.frontier) == {
        "float64": regular.frontier("float64"),
        "float32": regular.frontier("float32"),
    }
    assert dict(graph.frontier) == graph_precision.frontier(shape)
    from logdepth.constructions import wide

    wide_contract = validate.CONTRACTS[wide.CONSTRUCTION]
    wide_config = regular.compile_regular(random_dfa(3, 2, seed=1), construction="wide").config
    assert wide_config.s_r_t == wide_contract.s_r_t
    assert wide_contract.tolerance[1] == wide_config.tie_tolerance == regular.tie_tolerance()
    assert (
        dict(wide_contract.frontier)
        == wide_config.frontier
        == {
            "float64": wide.frontier("float64"),
            "float32": wide.frontier("float32"),
        }
    )
    assert wide_contract.outputs == tuple(regular.OUTPUTS)
    cor_wide = validate.CONTRACTS[wide.NONUNIFORM_CONSTRUCTION]
    for big_n in (1, 8, 100):
        config = regular.compile_regular(
            random_dfa(3, 2, seed=1), construction="nonuniform-wide", max_length=big_n
        ).config
        per, rest = cor_wide.level_layers
        assert len(config.initial) == per * (DepthRule.ceil_log2(big_n) + 1) + rest
        assert config.construction == wide.NONUNIFORM_CONSTRUCTION and cor_wide.fixed_depth
    assert dict(cor_wide.frontier) == dict(wide_contract.frontier)
    # The tolerance each construction stores is below the smallest gap at its frontier.
    assert regular.tie_tolerance() < regular_gaps.smallest_gap(regular.frontier("float64"))
    graph_n64 = graph_precision.frontier(shape)["float64"]
    assert graph_precision.TAU < graph_precision.smallest_gap(graph_n64)


def test_the_counting_and_wide_graph_contracts_restate_their_constructions():
    from logdepth.constructions import counting, graph_wide
    from logdepth.gaps import graph_wide as graph_wide_gaps

    contract = validate.CONTRACTS[counting.CONSTRUCTION]
    config = counting.compile_counting(random_dfa(1, 2, seed=0)).config
    assert config.s_r_t == contract.s_r_t and not contract.fixed_depth
    assert contract.tolerance[0] < config.tie_tolerance <= contract.tolerance[1]
    # The contract's frontier is what the smallest modulus derives (the most any derives: every
    # modulus, sampled, in the slow test below).
    for dtype in ("float64", "float32"):
        assert contract.frontier[dtype] == counting.frontier_for_bits(bits_of(dtype), 2)
    wide_graph = validate.CONTRACTS[graph_wide.CONSTRUCTION]
    assert wide_graph.tolerance[1] == graph_wide.tie_tolerance()
    assert wide_graph.tolerance[0] > graph_wide_gaps.key_deviation(graph_wide_gaps.CAPACITY, 52)
    assert dict(wide_graph.frontier) == {
        "float64": graph_wide.frontier("float64"),
        "float32": graph_wide.frontier("float32"),
    }


@pytest.mark.slow
def test_the_counting_contract_frontier_is_the_most_any_modulus_derives():
    from logdepth.constructions import counting

    contract = validate.CONTRACTS[counting.CONSTRUCTION]
    for dtype in ("float64", "float32"):
        best = max(counting.frontier_for_bits(bits_of(dtype), m) for m in range(2, 256, 7))
        assert contract.frontier[dtype] == best


@pytest.mark.parametrize(
    "frontier", [{"float64": 19483, "float32": 100_000}, {"float64": 1_000_000, "float32": 110}]
)
def test_a_frontier_past_the_derived_one_is_refused(parity_file, frontier):
    """The issue's case: a float32 frontier raised from 110 to 100,000, checksum recomputed."""
    rewrite_metadata(parity_file, _set("frontier", value=frontier))
    with pytest.raises(WeightFileError, match="exceeds the .* precision model derives"):
        logdepth.load(parity_file)


WORDS = ["".join(w) for n in range(6) for w in __import__("itertools").product("01", repeat=n)]

# Metadata fields an attacker (or an accident) may change, with the checksum recomputed.
mutations = st.one_of(
    st.tuples(
        st.just(("tie_tolerance",)),
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False),
            st.sampled_from([0.0, 1e-15, 7.1e-15, 1e-14, 0.5, 1.0, -0.0]),
        ),
    ),
    st.tuples(st.just(("outputs",)), st.permutations(["reject", "accept"])),
    st.tuples(st.just(("vocab",)), st.permutations(["<bos>", "0", "1", "<$>"])),
    st.tuples(st.just(("depth_rule", "fixed")), st.one_of(st.none(), st.integers(0, 5))),
    st.tuples(st.just(("depth_rule", "root")), st.integers(-1, 3)),
    st.tuples(st.just(("depth_rule", "count_tokens")), st.permutations(["0", "1"])),
    st.tuples(st.just(("input_format",)), st.sampled_from(["word", "graph"])),
    st.tuples(
        st.just(("frontier",)),
        st.fixed_dictionaries({"float64": st.integers(0, 10**7), "float32": st.integers(0, 10**6)}),
    ),
    st.tuples(
        st.just(("construction",)),
        st.sampled_from(["", "theorem1-uniform", "corollary1.1-nonuniform", "x"]),
    ),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(mutation=mutations)
def test_mutated_metadata_never_gives_a_confident_wrong_answer(parity_model, tmp_path, mutation):
    """Either load refuses the file, or running refuses the input, or every answer is right.
    (verify would catch wrong answers too, comparing with the stored spec; this asks more: that
    load itself refuses any metadata that changes an answer.)"""
    keys, value = mutation
    path = tmp_path / "m.safetensors"
    parity_model.save(path)
    rewrite_metadata(path, _set(*keys, value=value))
    try:
        model = logdepth.load(path)
    except WeightFileError:
        return
    try:
        answers = model.accepts_batch(WORDS)
    except LogdepthError:
        return
    truth = [w.count("1") % 2 == 0 for w in WORDS]
    if answers != truth:
        from logdepth.verify.regular import verify_regular

        report = verify_regular(model, max_length=5, samples=5, exhaustive=5)
        assert not report.ok, f"{keys} = {value!r}: wrong answers, yet verify says OK"
        pytest.fail(f"load accepted {keys} = {value!r}, which changes answers")


# ---- 2. size budgets checked before the work --------------------------------------------------
def ends_with_a_then(k: int) -> NFA:
    """(a|b)* a (a|b){k}: k + 2 states, 2^(k+1) subsets."""
    states = [f"s{i}" for i in range(k + 2)]
    delta = {("s0", "a"): {"s0", "s1"}, ("s0", "b"): {"s0"}}
    for i in range(1, k + 1):
        delta[(f"s{i}", "a")] = delta[(f"s{i}", "b")] = {f"s{i + 1}"}
    return NFA(f"n{k}", states, ["a", "b"], {"s0"}, {f"s{k + 1}"}, delta)


# the 21- and 25-state NFAs (the larger in the slow run)
@pytest.mark.parametrize("k", [19, pytest.param(23, marks=pytest.mark.slow)])
def test_subset_construction_stops_at_the_state_budget(k, monkeypatch):
    """It stops at the budget, not after the 2^(k+1) subsets: no subset past budget + 1 is ever
    counted (a structural check, not a wall-clock one)."""
    from logdepth.automata import dfa as dfa_module
    from logdepth.automata import nfa as nfa_module

    counted: list[int] = []

    def counting(states: int, max_states: int | None, what: str) -> None:
        counted.append(states)
        dfa_module.check_budget(states, max_states, what)

    monkeypatch.setattr(nfa_module, "check_budget", counting)
    with pytest.raises(CompileError, match="state budget.*LOGDEPTH_MAX_STATES"):
        logdepth.compile(ends_with_a_then(k))
    budget = dfa_module.state_budget()
    assert budget < 2 ** (k + 1) and counted and max(counted) == budget + 1


def test_the_state_budget_is_named_and_can_be_raised(monkeypatch):
    with pytest.raises(CompileError, match="more than 50 states"):
        ends_with_a_then(8).determinize(max_states=50)
    monkeypatch.setenv("LOGDEPTH_MAX_STATES", "50")
    with pytest.raises(CompileError, match="more than 50 states"):
        ends_with_a_then(8).determinize()
    monkeypatch.setenv("LOGDEPTH_MAX_STATES", "1000")
    assert len(ends_with_a_then(8).determinize().states) == 2**9


def _moore_blocks(dfa: DFA) -> int:
    """The number of Moore-refinement classes (the old algorithm, as the reference)."""
    states = list(dfa.reachable())
    index = {q: i for i, q in enumerate(states)}
    succ = [[index[dfa.delta[(q, a)]] for a in dfa.alphabet] for q in states]
    block = [int(q in dfa.accept) for q in states]
    count = len(set(block))
    while True:
        sigs: dict = {}
        block = [
            sigs.setdefault((block[i], *(block[j] for j in succ[i])), len(sigs))
            for i in range(len(states))
        ]
        if len(sigs) == count:
            return count
        count = len(sigs)


@pytest.mark.parametrize("seed", range(60))
def test_hopcroft_agrees_with_moore(seed):
    dfa = random_dfa(1 + seed % 25, 1 + seed % 3, seed)
    minimal = dfa.minimize()
    assert len(minimal.states) == _moore_blocks(dfa)
    assert minimal.minimize() == minimal
    words = [w for n in range(5) for w in __import__("itertools").product(dfa.alphabet, repeat=n)]
    assert all(minimal.accepts(w) == dfa.accepts(w) for w in words)


def test_hopcroft_on_an_empty_accepting_set_is_one_block():
    assert hopcroft([[0], [0]], 1, [False, False]) == [0, 0]


def counter_dfa(n: int) -> DFA:
    names = [f"q{i}" for i in range(n)]
    delta = {(q, "a"): names[(i + 1) % n] for i, q in enumerate(names)}
    delta.update({(q, "b"): q for q in names})
    return DFA(f"count{n}", names, ["a", "b"], names[0], {names[0]}, delta)


def _forbid_tables(monkeypatch) -> None:
    """Building a monoid or a state-map table fails the test: a refusal must come first."""
    from logdepth.kit import monoid_codes

    def built(*args, **kwargs):
        raise AssertionError("a table was built before the size was refused")

    monkeypatch.setattr(monoid_codes.TransitionMonoid, "of", built)
    monkeypatch.setattr(monoid_codes, "maps_encoding", built)


def test_a_10000_state_dfa_minimizes_and_its_compile_is_refused_before_tables(monkeypatch):
    dfa = counter_dfa(10_000)
    assert len(dfa.minimize().states) == 10_000
    _forbid_tables(monkeypatch)
    with pytest.raises(CompileError, match="10,000 states.*feed-forward units"):
        logdepth.compile(dfa)


@pytest.mark.slow
def test_a_100000_state_dfa_is_refused_before_tables(monkeypatch):
    dfa = counter_dfa(100_000)
    _forbid_tables(monkeypatch)
    with pytest.raises(CompileError, match="100,000 states"):
        logdepth.compile(dfa)


def test_a_large_graph_is_refused_before_any_token_is_built(monkeypatch):
    from logdepth.model import compiled

    model = logdepth.compile_connectivity()
    graph = Graph("big", tuple(str(i) for i in range(20_000)), True, frozenset())

    def built(*args, **kwargs):
        raise AssertionError("the n^2 adjacency or the tokens were built before the refusal")

    monkeypatch.setattr(Graph, "adjacency", built)
    monkeypatch.setattr(compiled.inputs, "encode_graph", built)
    with pytest.raises(InputError, match="beyond the derived frontier"):
        model.connected(graph, "0", "1")


@pytest.mark.parametrize(
    "text", ["n 1000000000\n", "p edge 1000000000 0\n", "n ²\n", "p edge ² 0\n"]
)
def test_graph_file_headers_are_bounded(tmp_path, capsys, text):
    (tmp_path / "g.txt").write_text(text)
    spec = tmp_path / "s.ld"
    spec.write_text('graph g from "g.txt"\n')
    code, _, err = run(capsys, "fmt", str(spec))
    assert code == 1 and "Traceback" not in err and err.count("\n") <= 3
    # Refused by the header check itself, before a node is made (not after a billion).
    assert ("over the limit of" if "1000000000" in text else "expected") in err


def test_load_refuses_a_fifo_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    with pytest.raises(WeightFileError, match="not a regular file"):
        logdepth.load(fifo)


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/null"])
def test_load_refuses_devices(path):
    with pytest.raises(WeightFileError, match="not a regular file"):
        logdepth.load(path)


def test_load_refuses_a_directory(tmp_path):
    with pytest.raises(WeightFileError, match="directory"):
        logdepth.load(tmp_path)


def test_load_refuses_a_sparse_huge_file_without_reading_it(tmp_path, monkeypatch):
    path = tmp_path / "huge.safetensors"
    with open(path, "wb") as f:
        f.truncate(20 * 2**30)  # sparse: 20 GB of zeros, no disk used
    def opened(*args, **kwargs):
        raise AssertionError("the file was opened before its size was refused")

    monkeypatch.setattr(weights, "open", opened, raising=False)
    with pytest.raises(WeightFileError, match="larger than any weight file"):
        logdepth.load(path)


def test_load_checks_the_header_length_and_body_size_against_the_file(parity_file):
    data = parity_file.read_bytes()
    parity_file.write_bytes(data + b"\0" * 16)
    with pytest.raises(WeightFileError, match="something appended"):
        logdepth.load(parity_file)
    parity_file.write_bytes(struct.pack("<Q", 10**6) + data[8:100])
    with pytest.raises(WeightFileError, match="header claims 1000000 bytes"):
        logdepth.load(parity_file)


# ---- 3. nothing lost --------------------------------------------------------------------------
def test_compile_refuses_to_overwrite_its_own_spec(capsys, tmp_path):
    spec = tmp_path / "spec.ld"
    spec.write_text(PARITY)
    link = tmp_path / "link.ld"
    link.symlink_to(spec)
    for out in (spec, link):
        code, _, err = run(capsys, "compile", str(spec), "-o", str(out))
        assert code == 1 and "refusing to overwrite the input file" in err
    assert spec.read_text() == PARITY and link.is_symlink()


def test_save_writes_through_a_symlink(parity_model, tmp_path):
    target = tmp_path / "real.safetensors"
    target.write_bytes(b"old")
    link = tmp_path / "link.safetensors"
    link.symlink_to(target)
    parity_model.save(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert logdepth.load(target).config == parity_model.config


def test_new_files_honour_the_umask_and_rewrites_keep_the_mode(parity_model, tmp_path):
    old = os.umask(0o022)
    try:
        new = tmp_path / "new.safetensors"
        parity_model.save(new)
        assert stat.S_IMODE(new.stat().st_mode) == 0o644
        new.chmod(0o640)
        parity_model.save(new)
        assert stat.S_IMODE(new.stat().st_mode) == 0o640
    finally:
        os.umask(old)


def test_fmt_write_keeps_comments_and_mode(capsys, tmp_path):
    spec = tmp_path / "s.ld"
    spec.write_text(
        "# top\ndfa p {  # head\n  alphabet: 0\n  # inside\n  start: a\n"
        "  accept: a\n  a 0 -> a  # loop\n}\n# end\n"
    )
    spec.chmod(0o640)
    assert run(capsys, "fmt", "-w", str(spec))[0] == 0
    text = spec.read_text()
    for comment in ("# top", "# head", "# inside", "# loop", "# end"):
        assert comment in text
    assert text.index("# inside") < text.index("start: a")
    assert stat.S_IMODE(spec.stat().st_mode) == 0o640
    assert logdepth.format(logdepth.parse(text)) == text  # and it is a fixed point


@pytest.mark.parametrize("exc", [KeyboardInterrupt, OSError])
def test_a_failed_write_leaves_no_temporary_file(tmp_path, monkeypatch, exc):
    path = tmp_path / "out.bin"
    path.write_bytes(b"keep")

    def boom(*args):
        raise exc("interrupted")

    monkeypatch.setattr(fileio.os, "replace", boom)
    with pytest.raises((exc, LogdepthError)):
        fileio.atomic_write(path, b"new")
    assert path.read_bytes() == b"keep"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_sigterm_during_a_save_removes_the_temporary_file(capsys, tmp_path, monkeypatch):
    spec = tmp_path / "s.ld"
    spec.write_text(PARITY)

    def killed(*args):
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(fileio.os, "replace", killed)
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as info:
        main(["compile", str(spec), "-o", str(tmp_path / "m.safetensors")])
    assert info.value.code == 128 + signal.SIGTERM
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.ld"]
    assert signal.getsignal(signal.SIGTERM) == before


def test_save_errors_name_the_users_path(parity_model, tmp_path):
    missing = tmp_path / "no" / "such" / "m.safetensors"
    with pytest.raises(WeightFileError, match=f"{missing}: cannot write"):
        parity_model.save(missing)


# ---- 4. every error is a LogdepthError --------------------------------------------------------
def test_deep_regex_and_superscript_counts_are_located_errors():
    deep = "(" * 300 + "a" + ")" * 300
    for pattern in (deep, "a{²}", "a{1,²}"):
        text = f'regex r {{\n    alphabet: a\n    pattern: "{pattern}"\n}}\n'
        with pytest.raises(SpecError) as info:
            logdepth.parse(text)
        assert info.value.line == 3 and info.value.column is not None


def _header_file(path: Path, header: bytes) -> None:
    path.write_bytes(struct.pack("<Q", len(header)) + header)


def test_deeply_nested_json_header_is_a_weight_file_error(tmp_path):
    path = tmp_path / "deep.safetensors"
    _header_file(path, b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(WeightFileError, match="nested too deeply"):
        logdepth.load(path)


def test_metadata_that_is_not_an_object_is_a_weight_file_error(tmp_path):
    path = tmp_path / "m.safetensors"
    _header_file(path, b'{"__metadata__": 5}')
    with pytest.raises(WeightFileError, match="__metadata__ is not a JSON object"):
        logdepth.load(path)
    _header_file(path, b'{"__metadata__": {"logdepth": 5}}')
    with pytest.raises(WeightFileError, match="not a JSON string"):
        logdepth.load(path)


@pytest.mark.parametrize(
    "call",
    [
        lambda: logdepth.parse(None),
        lambda: logdepth.parse(b"group c { cyclic 3 }"),
        lambda: logdepth.parse_file(None),
        lambda: logdepth.load(None),
        lambda: logdepth.load(3),
        lambda: logdepth.parse(PARITY)["missing"],
        lambda: logdepth.parse(PARITY)[["unhashable"]],
    ],
)
def test_public_functions_raise_logdepth_errors_on_wrong_arguments(call):
    with pytest.raises(LogdepthError):
        call()


def test_model_methods_raise_logdepth_errors_on_wrong_arguments(parity_model):
    for call in (
        lambda: parity_model.accepts(None),
        lambda: parity_model.accepts(5),
        lambda: parity_model.accepts_batch("01"),
        lambda: parity_model.accepts_batch(None),
        lambda: parity_model.to("float16"),
        lambda: parity_model.connected(None, "a", "b"),
    ):
        with pytest.raises(LogdepthError):
            call()


def test_verify_a_file_without_a_stored_spec(capsys, tmp_path):
    m = logdepth.compile(logdepth.parse(PARITY)["parity"])
    m.extra.pop("spec")
    path = tmp_path / "m.safetensors"
    m.save(path)
    code, _, err = run(capsys, "verify", str(path))
    assert code == 1 and "carries no spec" in err and "--spec SPEC[:NAME]" in err


def test_run_graph_naming_an_automaton(capsys, tmp_path):
    conn = tmp_path / "conn.safetensors"
    logdepth.compile_connectivity().save(conn)
    code, _, err = run(
        capsys, "run", str(conn), "--graph", f"{BASICS}:parity", "--source", "a", "--target", "b"
    )
    assert code == 1 and "'parity' is an automaton; this needs a graph" in err


# ---- unclear errors ---------------------------------------------------------------------------
def test_a_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.ld"
    path.write_bytes(b"\xef\xbb\xbf" + PARITY.encode())
    assert logdepth.parse_file(path).names == ["parity"]
    assert logdepth.parse("\ufeff" + PARITY).names == ["parity"]


def test_the_caret_is_aligned_under_tabs():
    with pytest.raises(SpecError) as info:
        logdepth.parse("dfa p {\n\talphabet: 0\n\tstart: a\n\taccept: b\n\ta 0 -> a\n}\n")
    source, caret = str(info.value).splitlines()[1:3]
    assert caret.index("^") == len("    \taccept: ")
    assert caret.startswith("    \t")


def test_graph_from_a_device_or_a_foreign_file(tmp_path, capsys):
    secret = tmp_path / "secret.txt"
    secret.write_text("root password hunter2\n")
    for source, message in (("/dev/zero", "not a regular file"), (str(secret), "edge-list")):
        spec = tmp_path / "s.ld"
        spec.write_text(f'graph g from "{source}"\n')
        code, _, err = run(capsys, "fmt", str(spec))
        assert code == 1 and message in err
        assert "hunter2" not in err and "no such file" not in err


def test_run_on_a_spec_says_compile_it_first(capsys, tmp_path):
    spec = tmp_path / "spec.ld"
    spec.write_text(PARITY)
    code, _, err = run(capsys, "run", str(spec), "101")
    assert code == 1 and "compile it first" in err and "header claims" not in err


def test_one_bad_word_does_not_abort_the_batch(capsys, parity_file):
    code, out, err = run(capsys, "run", str(parity_file), "11", "1x1", "1")
    assert code == 1
    assert out == "11\taccept\n1x1\terror\n1\treject\n"  # each word echoed with its answer
    assert "word '1x1'" in err and err.count("\n") == 1


def test_inspect_into_a_closed_pipe_is_quiet(parity_file):
    result = subprocess.run(
        f"{sys.executable} -m logdepth inspect {parity_file} | head -1",
        shell=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.stdout.startswith(str(parity_file)) and result.stderr == ""


def test_verify_spec_suggests_spec_name_not_a_missing_option(capsys, parity_file):
    code, _, err = run(capsys, "verify", str(parity_file), "--spec", str(BASICS))
    assert code == 1 and "--spec SPEC:NAME" in err and "--name" not in err


def test_check_with_an_unknown_name_is_an_error(capsys):
    code, out, err = run(capsys, "check", str(BASICS), "--name", "nope")
    assert code == 1 and "no spec named 'nope'" in err and "passed" not in out


def test_max_length_on_a_uniform_build_is_an_error(capsys, tmp_path):
    out = tmp_path / "m.safetensors"
    code, _, err = run(
        capsys, "compile", str(BASICS), "--name", "parity", "--max-length", "9", "-o", str(out)
    )
    assert code == 1 and "--construction nonuniform" in err and not out.exists()


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"logdepth {logdepth.__version__}"


def test_tolerance_bounds_are_finite_and_ordered():
    for contract in validate.CONTRACTS.values():
        low, high = contract.tolerance
        assert 0 <= low < high < 1e-11 and math.isfinite(high)


def test_a_fixed_depth_past_any_input_is_refused(tmp_path):
    from logdepth.compiler.assemble import assemble
    from logdepth.model.compiled import CompiledModel
    from tests.compiler.programs import counter_program

    path = tmp_path / "c.safetensors"
    CompiledModel(assemble(counter_program())).save(path)
    rewrite_metadata(path, _set("depth_rule", "fixed", value=10**9))
    with pytest.raises(WeightFileError, match="more than 64"):
        logdepth.load(path)


@pytest.mark.parametrize(
    "option", [["--samples", "-1"], ["--samples", "10000000000"], ["--max-length", "-3"]]
)
def test_verify_refuses_impossible_counts_before_loading(capsys, parity_file, option):
    code, _, err = run(capsys, "verify", str(parity_file), *option)
    assert code == 1 and option[0] in err


def test_run_graph_from_a_device_says_why(capsys, tmp_path):
    conn = tmp_path / "conn.safetensors"
    logdepth.compile_connectivity().save(conn)
    code, _, err = run(
        capsys, "run", str(conn), "--graph", "/dev/zero", "--source", "1", "--target", "1"
    )
    assert code == 1 and "not a regular file" in err


@pytest.mark.parametrize(
    "kwargs",
    [
        {"construction": "nonuniform", "max_length": "10"},
        {"construction": "nonuniform", "max_length": 0},
        {"construction": "nonuniform", "max_length": True},
        {"construction": "uniform", "max_length": 10},
        {"construction": 5},
        {"source": b"bytes"},
    ],
)
def test_compile_checks_its_arguments(kwargs):
    with pytest.raises(CompileError):
        logdepth.compile(logdepth.parse(PARITY)["parity"], **kwargs)


@pytest.mark.parametrize(
    "target, message", [("/dev/null", "not a regular file"), ("", "directory")]
)
def test_compile_refuses_a_device_or_directory_output(capsys, tmp_path, target, message):
    out = target or str(tmp_path)
    code, _, err = run(capsys, "compile", str(BASICS), "--name", "parity", "-o", out)
    assert code == 1 and message in err
    assert os.path.exists("/dev/null") and stat.S_ISCHR(os.stat("/dev/null").st_mode)
