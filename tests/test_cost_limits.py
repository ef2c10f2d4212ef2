"""Cost before work (logdepth/limits.py): compile, trace, explain and a Theorem 2 query estimate
what they need from their input's shapes and refuse past LOGDEPTH_MAX_MEMORY or
LOGDEPTH_MAX_SECONDS before the big allocation, with the estimate and the way to raise it.

Each refusal test also proves that the refusal came first: the step that would allocate (a
monoid table, a forward pass, the n^3 graph tokens) is replaced by one that fails the test.
"""

from __future__ import annotations

import itertools
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import logdepth
from logdepth import cli, limits
from logdepth.automata.monoid import TransitionMonoid
from logdepth.automata.nfa import NFA
from logdepth.errors import CompileError, InputError
from logdepth.explain import explain_word, png
from logdepth.graphs import Graph
from logdepth.kit import monoid_codes
from logdepth.model import compiled

ROOT = Path(__file__).resolve().parents[1]
S6 = "group g {\n    symmetric 6\n    alphabet: generators\n}\n"


def _never(what: str):
    def fail(*args, **kwargs):
        raise AssertionError(f"{what} ran: the refusal should have come first")

    return fail


@pytest.fixture(autouse=True)
def default_limits(monkeypatch):
    """Every test starts from the default limits, whatever the shell says."""
    monkeypatch.delenv(limits.MEMORY_ENV, raising=False)
    monkeypatch.delenv(limits.SECONDS_ENV, raising=False)


# ---- the limits themselves ------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, expected",
    [
        ("4G", 4 << 30),
        ("4GiB", 4 << 30),
        ("512m", 512 << 20),
        ("1.5K", 1536),
        ("1000", 1000),
    ],
)
def test_memory_limit_reads_sizes(monkeypatch, text, expected):
    monkeypatch.setenv(limits.MEMORY_ENV, text)
    assert limits.max_memory() == expected


def test_an_empty_memory_limit_is_the_default(monkeypatch):
    monkeypatch.setenv(limits.MEMORY_ENV, "")
    assert limits.max_memory() == 4 << 30
    # bad values are errors naming the variable: tests/test_settings.py


def test_seconds_limit(monkeypatch):
    assert limits.max_seconds() == 600
    monkeypatch.setenv(limits.SECONDS_ENV, "30")
    assert limits.max_seconds() == 30


# ---- compile ----------------------------------------------------------------------------------
def test_symmetric_6_on_generators_is_refused_before_any_table_is_built(monkeypatch):
    """The audit's case: 517,680 table steps over a 720-dimensional code (grew past 6 GB).
    Only the trivial monoid's table (code dimension 1, which the estimate reads shapes from)
    may be built."""
    original = monoid_codes.Encoding.table_ff

    def table_ff(self, *args, **kwargs):
        assert self.dim == 1, "the monoid table was built: the refusal should have come first"
        return original(self, *args, **kwargs)

    monkeypatch.setattr(monoid_codes.Encoding, "table_ff", table_ff)
    automaton = logdepth.parse(S6)["g"]
    with pytest.raises(CompileError) as err:
        logdepth.compile(automaton)
    text = str(err.value)
    assert "LOGDEPTH_MAX_MEMORY" in text and "GiB" in text and "1,035,360 hidden units" in text


@pytest.mark.slow
def test_cli_compile_of_symmetric_6_fails_cleanly_in_a_small_address_space(tmp_path):
    """Under RLIMIT_AS of 1.5 GiB the old compile died in numpy with a MemoryError traceback;
    the refusal needs none of that memory."""
    spec = tmp_path / "s6.ld"
    spec.write_text(S6)
    out = tmp_path / "s6.safetensors"
    cap = 3 << 29

    def small() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    result = subprocess.run(
        [sys.executable, "-m", "logdepth", "compile", str(spec), "-o", str(out)],
        preexec_fn=small,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "LOGDEPTH_MAX_MEMORY" in result.stderr and "nothing was started" in result.stderr
    assert not out.exists()


def test_the_limit_is_what_refuses_and_raising_it_lets_compile_through(monkeypatch):
    automaton = logdepth.parse("group g {\n    symmetric 4\n    alphabet: generators\n}\n")["g"]
    monkeypatch.setenv(limits.MEMORY_ENV, "1M")
    with pytest.raises(CompileError, match="over the limit of 1.0 MiB.*LOGDEPTH_MAX_MEMORY"):
        logdepth.compile(automaton)
    monkeypatch.setenv(limits.MEMORY_ENV, "1G")
    model = logdepth.compile(automaton)
    assert model.accepts("") and not model.accepts([model.alphabet[0]])


@pytest.mark.parametrize(
    "source, construction, max_length",
    [
        ("group g {\n    symmetric 4\n    alphabet: generators\n}\n", "uniform", None),
        ("group g {\n    alternating 4\n}\n", "wide", None),
        ("group g {\n    symmetric 4\n    alphabet: generators\n}\n", "nonuniform", 100),
    ],
)
def test_the_compile_estimate_covers_the_weights_it_builds(source, construction, max_length):
    """The estimate (from the trivial monoid's program) against the tensors actually built."""
    from logdepth import catalog
    from logdepth.constructions import regular

    automaton = logdepth.parse(source)["g"]
    enc = monoid_codes.choose_encoding(automaton)
    wide = catalog.get(construction).options["wide"]
    shape = regular.program_shape(enc.kind, tuple(automaton.alphabet), wide, max_length)
    estimate = monoid_codes.table_cost(enc, shape, "test")
    model = logdepth.compile(automaton, construction=construction, max_length=max_length)
    built = sum(t.numel() * t.element_size() for t in model.network.tensors.values())
    assert model.config.d_model == shape.width + shape.code_cells * (enc.dim - 1)
    # The peak holds the weights twice (assembly, then saving) and the program's tables.
    assert 2 * built <= estimate.bytes <= 4 * built


def test_the_monoid_enumeration_stops_where_memory_runs_out(monkeypatch):
    """A 300-state NFA: each relation is 90,000 bools (kept twice), so 1 MiB holds a handful;
    its monoid has far more (a shift on a cycle of 300 states and a reset)."""
    states = [f"q{i}" for i in range(300)]
    delta = {(q, "a"): frozenset([states[(i + 1) % 300]]) for i, q in enumerate(states)}
    delta.update({(q, "b"): frozenset([states[0]]) for q in states})
    nfa = NFA("cycle", states, ("a", "b"), frozenset(["q0"]), frozenset(["q0"]), delta)
    monkeypatch.setenv(limits.MEMORY_ENV, "1M")
    with pytest.raises(CompileError, match="memory limit of 1.0 MiB.*LOGDEPTH_MAX_MEMORY"):
        TransitionMonoid.of(nfa)


def test_determinizing_stops_where_memory_runs_out(monkeypatch):
    """The k-th symbol from the end is s0, over 40 letters: 2^11 subsets, each with 40
    transitions (about 20 MB traced); 1 MiB stops it well before the state budget."""
    letters = [f"s{i}" for i in range(40)]
    states = [f"q{i}" for i in range(12)]
    delta = {("q0", x): frozenset(["q0"]) for x in letters}
    delta["q0", "s0"] = frozenset(["q0", "q1"])
    for i in range(1, 11):
        delta.update({(f"q{i}", x): frozenset([f"q{i + 1}"]) for x in letters})
    nfa = NFA("kth", states, letters, frozenset(["q0"]), frozenset(["q11"]), delta)
    monkeypatch.setenv(limits.MEMORY_ENV, "1M")
    with pytest.raises(CompileError, match="determinizing.*memory limit of 1.0 MiB"):
        nfa.determinize()
    monkeypatch.delenv(limits.MEMORY_ENV)
    dfa = nfa.determinize()
    word = ["s3"] * 5 + ["s0"] + ["s7"] * 10
    assert dfa.accepts(word) and not dfa.accepts(word[1:] + ["s1"])


# ---- trace and explain -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def parity():
    return logdepth.compile(logdepth.parse_file(ROOT / "examples" / "basics.ld")["parity"])


def _word(n: int) -> str:
    rng = np.random.default_rng(0)
    return "".join(rng.choice(["0", "1"], size=n))


def test_trace_with_every_attention_map_is_refused_before_running(parity, monkeypatch):
    """At n = 4,000 the maps alone are 130 runs of [heads, n, n] float64 (about 16 GB)."""
    monkeypatch.setattr(parity.network, "forward", _never("the forward pass"))
    with pytest.raises(InputError) as err:
        parity.trace(_word(4000))
    text = str(err.value)
    assert "attention=False" in text and "LOGDEPTH_MAX_MEMORY" in text and "GiB" in text


def test_explain_keeps_pooled_maps_not_every_attention_matrix(parity, monkeypatch):
    """A limit between what a trace with every map needs and what explain's pooled maps need
    (both estimated from the config): trace refuses, explain runs, keeps no [heads, n, n]
    map, and draws the same pixels as the full maps give."""
    word = _word(100)
    tokens, depth = 102, parity.config.depth_rule.depth(100)
    full_cost = parity.trace_cost(tokens, depth, attention=True).bytes
    pooled_cost = parity.trace_cost(tokens, depth, attention=False, sink=png.PooledMaps()).bytes
    assert pooled_cost < full_cost
    traces = []
    original = compiled.CompiledModel.trace_tokens

    def keep(self, *args, **kwargs):
        traces.append(original(self, *args, **kwargs))
        return traces[-1]

    monkeypatch.setattr(compiled.CompiledModel, "trace_tokens", keep)
    monkeypatch.setenv(limits.MEMORY_ENV, str((full_cost + pooled_cost) // 2))
    with pytest.raises(InputError, match="LOGDEPTH_MAX_MEMORY"):
        parity.trace(word)
    data = explain_word(parity, word)
    assert traces and traces[-1].attention_runs == []
    assert data["answer"] == ("accept" if word.count("1") % 2 == 0 else "reject")
    monkeypatch.delenv(limits.MEMORY_ENV)
    full = parity.trace(word)
    drawn = [head["png"] for layer in data["layers"] for head in layer["heads"]]
    expected = [png.attention_png(heads)[0] for run in full.attention_runs for heads in run]
    assert drawn == expected


def test_pooled_maps_match_the_full_map_at_any_chunking():
    """PooledMaps against `intensities` on one random map, fed in uneven chunks (the forward
    pass cuts rows anywhere)."""
    import torch

    rng = np.random.default_rng(1)
    n = 1300
    weights = rng.random((1, 2, n, n)) * (rng.random((1, 2, n, n)) < 0.3)
    totals = np.ones((1, 2, n, 1))
    sink = png.PooledMaps()
    sink.begin("x", 1, 2, n)
    full = np.zeros((2, n, n))
    for a, b in itertools.pairwise([0, 1, 7, 300, 301, 999, n]):
        # A chunk of rows a..b scores the keys before b (a causal layer's chunks do).
        sink.chunk(a, torch.from_numpy(weights[:, :, a:b, :b]), torch.from_numpy(totals[:, :, a:b]))
        full[:, a:b, :b] = weights[0, :, a:b, :b]
    sink.end()
    pixels, step = sink.runs[0]
    assert step == 3
    for head in range(2):
        want, want_step = png.intensities(full[head])
        assert step == want_step and np.array_equal(pixels[0, head], want)


# ---- Theorem 2 queries ------------------------------------------------------------------------
def _path(n: int) -> Graph:
    nodes = tuple(f"v{i}" for i in range(n))
    return Graph("path", nodes, True, frozenset(itertools.pairwise(nodes)))


@pytest.fixture(scope="module")
def connectivity():
    return logdepth.compile(construction="connectivity")


def _half_the_floor(model, n: int) -> float:
    """Half the time floor of a query on a path of n vertices from its first to its last."""
    length = 1 + n * n + n**3 + 1 + n
    return model.run_cost(length, model.config.depth_rule.depth(n)).seconds / 2


def test_a_query_over_the_time_limit_is_refused_before_its_tokens_exist(connectivity, monkeypatch):
    """41 vertices: 70,645 tokens, ~2e11 attention scores; a limit under the compact plan's
    floor for them (seconds, fewer on more threads) refuses it before a token is built."""
    n = connectivity.frontier
    monkeypatch.setattr(compiled.inputs, "encode_graph", _never("building the tokens"))
    monkeypatch.setenv(limits.SECONDS_ENV, str(_half_the_floor(connectivity, n)))
    with pytest.raises(InputError) as err:
        connectivity.connected(_path(n), "v0", f"v{n - 1}")
    text = str(err.value)
    assert "LOGDEPTH_MAX_SECONDS" in text and f"{n} vertices" in text
    # Raising the limit is what lets it through (to the tokens, which the test stops).
    monkeypatch.setenv(limits.SECONDS_ENV, "1000000")
    with pytest.raises(AssertionError, match="building the tokens"):
        connectivity.connected(_path(n), "v0", f"v{n - 1}")
    monkeypatch.undo()
    assert connectivity.connected(_path(4), "v0", "v3")
    assert not connectivity.connected(_path(4), "v3", "v0")


def test_cli_run_reports_the_refused_query_and_exits_1(connectivity, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(
        limits.SECONDS_ENV, str(_half_the_floor(connectivity, connectivity.frontier))
    )
    model = tmp_path / "conn.safetensors"
    connectivity.save(model)
    n = connectivity.frontier
    edges = tmp_path / "path.txt"
    edges.write_text(f"n {n}\n" + "".join(f"{i} {i + 1}\n" for i in range(1, n)))
    small = tmp_path / "small.txt"
    small.write_text("n 3\n1 2\n2 3\n")
    code = cli.main(
        ["run", str(model), "--graph", str(edges), "--graph", str(small), "--pair", "1", "3"]
    )
    out, err = capsys.readouterr()
    assert code == 1
    assert out.splitlines() == [f"{edges}\t1\t3\terror", f"{small}\t1\t3\tconnected"]
    assert "LOGDEPTH_MAX_SECONDS" in err and "Traceback" not in err


def test_a_plain_runs_time_floor_counts_the_heads_the_compact_plan_scores(connectivity):
    """A plain run takes the compact plan, which scores fewer heads than the weights store,
    each pair at the arithmetic floor: its estimate is below the full pass's. A model whose
    only head has constant scores (averaged by a prefix sum, no query-key pair) has none."""
    tokens = 4_000
    depth = connectivity.config.depth_rule.depth(16)
    plain = connectivity.run_cost(tokens, depth).seconds
    connectivity.network.compact = False
    try:
        full = connectivity.run_cost(tokens, depth).seconds
    finally:
        connectivity.network.compact = True
    assert 0 < plain < full
    from tests.model.test_floor_compact import _uniform_model

    averaging = compiled.CompiledModel(_uniform_model(causal=True))
    assert averaging.run_cost(tokens, 0).seconds == 0
    averaging.network.compact = False
    assert averaging.run_cost(tokens, 0).seconds > 0
