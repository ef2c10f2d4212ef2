"""The network as an ordinary torch module (issue 11): buffers, state_dict, .to, hooks, labels.

The forward pass must compute what the documented forward pass computes: every residual,
attention pattern, decoded cell and answer is checked, in the same process, against an
independent plain-numpy reference (tests/model/reference.py), up to rounding bounds derived
from the dtype and the magnitudes. The p-bit emulated runs round every operation, so their bytes
are machine-independent and still checked against digests recorded before the module tree.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

import logdepth
from logdepth.errors import InputError
from logdepth.model.compiled import decode_names, residual_labels
from logdepth.model.config import CellInfo
from logdepth.model.transformer import UniversalTransformer, tensor_schema
from tests.model import reference

BASICS = reference.BASICS


@pytest.fixture(scope="module")
def parity():
    return logdepth.compile(logdepth.parse_file(BASICS)["parity"])


@pytest.fixture(scope="module")
def stored():
    return json.loads(reference.DATA.read_text())


@pytest.fixture(scope="module")
def built():
    """Compiled models by (name, how), shared by the cases."""
    cache: dict = {}

    def get(name: str, how: str):
        if (name, how) not in cache:
            cache[(name, how)] = reference.build(name, how)
        return cache[(name, how)]

    return get


def _case(built, case):
    name, how, dtype, bits, word = case
    model, graph = built(name, how)
    model = reference.prepare(model, dtype, bits)
    return model, reference.tokens_of(model, graph, word)


@pytest.mark.parametrize("case", reference.CASES, ids=reference.key)
def test_runs_compute_the_documented_forward_pass(case, built):
    model, tokens = _case(built, case)
    assert reference.problems(model, tokens) == []


EMULATED = [case for case in reference.CASES if case[3] is not None]


@pytest.mark.parametrize("case", EMULATED, ids=reference.key)
def test_emulated_runs_are_bit_identical_to_the_forward_pass_before_the_module_tree(
    case, built, stored
):
    """p-bit emulation rounds every operation to p < 52 bits, so its bytes do not depend on
    summation order: the digests recorded before the module tree still hold on any machine."""
    assert set(stored) == {reference.key(c) for c in EMULATED}
    model, tokens = _case(built, case)
    assert reference.run_digests(model, tokens) == stored[reference.key(case)]


def test_the_comparison_catches_a_changed_weight_or_mask(built):
    """The regression can fail: one weight off by 2^-30 relative, or a causal head read as
    unmasked, is caught."""
    model, tokens = _case(built, reference.CASES[0])
    ref = reference.Reference(model)
    ref.w["repeated.3.mlp.W_out"] = ref.w["repeated.3.mlp.W_out"] * (1 + 2.0**-30)
    found = reference.problems(model, tokens, ref)
    assert any("repeated.3.mlp" in p for p in found)
    # repeated.0 averages over the prefix j <= i (psi(lambda j)): unmasked, it sees every key.
    ref = reference.Reference(model)
    layer = model.config.repeated[0]
    assert layer.causal == (True,)
    unmasked = dataclasses.replace(layer, causal=(False,))
    config_shape = ref.shape
    ref.shape = lambda part, k: unmasked if (part, k) == ("repeated", 0) else config_shape(part, k)
    assert any("repeated.0.attn" in p for p in reference.problems(model, tokens, ref))


def test_weights_are_buffers_named_as_in_the_weight_file(parity):
    net = parity.network
    state = net.state_dict()
    assert list(state) == list(tensor_schema(parity.config))
    assert dict(net.named_buffers()).keys() == state.keys()
    assert "initial.0.attn.W_Q" not in state and "repeated.7.attn.W_O" in state
    w_o = net.get_submodule("repeated.7.attn").W_O
    assert w_o.data_ptr() == state["repeated.7.attn.W_O"].data_ptr()


def test_state_dict_round_trips_into_a_fresh_model(parity, tmp_path):
    fresh = UniversalTransformer(parity.config)  # zeros
    word = ["0", "1", "1", "0"]
    assert logdepth.CompiledModel(fresh, parity.extra).accepts(word) != parity.accepts(word)
    fresh.load_state_dict(parity.network.state_dict())
    model = logdepth.CompiledModel(fresh, parity.extra)
    words = ["", "1", "0110", "0111", "1" * 33]
    assert model.accepts_batch(words) == [True, False, True, False, False]
    tokens = torch.tensor([[0, 1, 2, 2, 1, 3]])
    a = parity.network(tokens, torch.tensor([6]), 2)
    b = fresh(tokens, torch.tensor([6]), 2)
    assert torch.equal(a, b)
    torch.save(parity.network.state_dict(), tmp_path / "sd.pt")
    again = UniversalTransformer(parity.config)
    again.load_state_dict(torch.load(tmp_path / "sd.pt"))
    assert torch.equal(again(tokens, torch.tensor([6]), 2), a)


def test_module_to_converts_every_buffer_in_place(parity):
    net = UniversalTransformer(parity.config, parity.network.tensors)
    assert net.to(torch.float32) is net
    assert {t.dtype for t in net.buffers()} == {torch.float32}
    assert net.dtype == torch.float32 and net.mantissa_bits == 23
    assert parity.network.dtype == torch.float64  # the source is untouched


@pytest.mark.parametrize("how", ["float32", torch.float32])
def test_compiled_model_to_takes_names_and_torch_dtypes(parity, how):
    m32 = parity.to(how)
    assert m32.dtype_name == "float32" and parity.dtype_name == "float64"
    assert m32.frontier == parity.config.frontier["float32"]
    assert m32.accepts_batch(["0110", "010"]) == [True, False]
    assert parity.to(dtype=how, device="cpu").dtype_name == "float32"
    assert parity.to(torch.device("cpu"), "float64").dtype_name == "float64"


@pytest.mark.parametrize("bad", ["float16", torch.float16, torch.bfloat16, "int8"])
def test_unsupported_dtypes_are_clear_errors(parity, bad):
    with pytest.raises(InputError, match="not supported: use float64 or float32"):
        parity.to(bad)


def test_a_bad_device_is_a_clear_error(parity):
    with pytest.raises(InputError, match="not a device"):
        parity.to("warp-drive")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_runs_on_cuda_like_on_the_cpu(parity):
    gpu = parity.to("cuda")
    assert gpu.device.type == "cuda" and all(t.is_cuda for t in gpu.network.buffers())
    words = ["", "1", "0110", "0111", "01" * 40]
    assert gpu.accepts_batch(words) == parity.accepts_batch(words)
    cpu_trace, gpu_trace = parity.trace("01101"), gpu.trace("01101")
    assert cpu_trace.sublayers == gpu_trace.sublayers
    assert gpu_trace.decode("delta", -1).tolist() == cpu_trace.decode("delta", -1).tolist()
    assert gpu.to("float32").accepts_batch(words) == parity.accepts_batch(words)


def test_a_forward_hook_on_a_sublayer_sees_the_traced_residual(parity):
    """Hooks on the repeated layers fire once per unrolled copy, in order; `iteration` says
    which copy is running."""
    net = parity.network
    seen: list[tuple[int | None, torch.Tensor]] = []

    def grab(module, args, output):
        seen.append((net.iteration, output.clone()))

    handles = [net.get_submodule("repeated.3").hook_resid_mid.register_forward_hook(grab)]
    try:
        trace = parity.trace("0110100")  # n = 7: depth 3
    finally:
        for h in handles:
            h.remove()
    steps = [k for k, name in enumerate(trace.sublayers) if name == "repeated.3.attn"]
    assert [it for it, _ in seen] == [0, 1, 2] and len(steps) == 3
    for (_, residual), step in zip(seen, steps, strict=True):
        assert np.array_equal(residual[0].numpy(), trace.residuals[step])


def test_hooks_on_layers_and_attention_patterns_match_the_trace(parity):
    net = parity.network
    outputs, patterns = [], []
    h1 = net.final[8].register_forward_hook(lambda m, a, out: outputs.append(out.clone()))
    h2 = net.repeated[5].attn.hook_pattern.register_forward_hook(
        lambda m, a, out: patterns.append(out.clone())
    )
    try:
        trace = parity.trace("0110")
    finally:
        h1.remove()
        h2.remove()
    assert np.array_equal(outputs[0][0].numpy(), trace.residuals[-1])
    steps = [k for k, name in enumerate(trace.sublayers) if name == "repeated.5.attn"]
    assert len(patterns) == len(steps) == 2
    for pattern, step in zip(patterns, steps, strict=True):
        assert np.array_equal(pattern[0].numpy(), trace.attention_of(step))


def test_a_hook_that_returns_a_tensor_patches_the_activation(parity):
    """Activation patching: zeroing the answer cell flips accept to reject."""
    answer = parity.config.cell("answer")

    def patch(module, args, output):
        out = output.clone()
        out[..., answer.offset : answer.stop] = torch.tensor([0.0, 1.0], dtype=out.dtype)
        return out

    assert parity.accepts("0110")
    handle = parity.network.final[8].hook_resid_post.register_forward_hook(patch)
    try:
        assert not parity.accepts("0110")
    finally:
        handle.remove()
    assert parity.accepts("0110")


def test_patterns_are_not_computed_without_a_trace_or_a_hook(parity, monkeypatch):
    """The [batch, heads, n, n] pattern costs O(n^2) memory: only built when looked at."""
    real, shapes = torch.zeros, []

    def spy(*args, **kwargs):
        shapes.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(torch, "zeros", spy)
    parity.accepts("0110")
    assert not [s for s in shapes if len(s) == 4]
    parity.trace("0110")
    assert [s for s in shapes if len(s) == 4]


def test_tensors_is_a_live_assignable_view(parity):
    model = parity.to("float64")  # a copy to edit
    view = model.network.tensors
    assert list(view) == list(tensor_schema(model.config)) and len(view) == len(list(view))
    view["unembed"] = view["unembed"].flip(0)
    assert model.network.unembed is view["unembed"]
    assert not model.accepts("0110")
    with pytest.raises(ValueError, match="shape"):
        view["embed"] = torch.zeros(1, 1, dtype=torch.float64)
    with pytest.raises(TypeError):
        del view["embed"]


# ---- labels --------------------------------------------------------------------------------------
def test_residual_labels_name_every_dimension(parity):
    labels = parity.residual_labels
    assert len(labels) == parity.config.d_model == len(set(labels))
    delta = parity.config.cell("delta")
    assert labels[delta.offset : delta.stop] == ["delta=e", "delta=(odd even)"]
    assert labels[:3] == ["one", "bos", "not bos"]
    count = parity.config.cell("count")
    assert labels[count.offset] == "phi(count):z"
    for cell in parity.config.cells:
        if cell.kind == "code":
            assert not any("[" in x for x in labels[cell.offset : cell.stop])


def test_group_elements_are_named_in_one_line_notation():
    m = logdepth.compile(logdepth.parse_file(BASICS)["rot"])
    delta = m.config.cell("delta")
    assert set(delta.labels) == {f"delta={x}" for x in ("e", "231", "312", "213", "132", "321")}
    trace = m.trace(["231", "213"])
    # the product (1 2 3) then (1 2): 1 -> 2 -> 1, 2 -> 3 -> 3, 3 -> 1 -> 2, one-line 132
    assert trace.decode("delta")[-1] == "132"


def test_state_map_codes_decode_to_state_maps():
    from logdepth.automata.elements import name_code_cells
    from logdepth.constructions.regular import compile_regular

    mod3 = logdepth.parse_file(BASICS)["mod3"]
    m = name_code_cells(compile_regular(mod3, encoding="maps"))
    delta = m.config.cell("delta")
    assert delta.labels[:3] == ("delta:r0->r0", "delta:r0->r1", "delta:r0->r2")
    trace = m.trace("aab")
    assert trace.decode("delta")[-1] == "(r2 r0 r1)"  # two a's: r0 -> r2, r1 -> r0, r2 -> r1
    assert m.accepts("aaa") and not m.accepts("aab")


def test_decode_names_reads_old_index_labels_and_empty_cells():
    info = CellInfo("delta", "code", 0, ("delta[0]", "delta[1]"))
    block = np.array([[0.0, 1.0], [0.0, 0.0]])
    assert decode_names(info, block) == ["delta[1]", None]
    assert residual_labels_of([info]) == ["delta[0]", "delta[1]"]


def residual_labels_of(cells):
    from logdepth.model.config import DepthRule, ModelConfig

    config = ModelConfig(2, ("<bos>",), ("a",), (), (), (), DepthRule(), 0.0, tuple(cells))
    return residual_labels(config)


def test_trace_table_has_a_row_per_layer(parity):
    trace = parity.trace("0110")
    table = trace.table(cells=["delta", "answer"]).splitlines()
    assert table[0] == "cells at token 5 of 0..5 ('<$>', where the answer is read)"
    assert table[1].split() == ["step", "after", "delta", "answer"]
    assert len(table) == 2 + 1 + parity.num_layers(4)
    assert table[-1].split()[1:] == ["final.8", "e", "1"]  # "0110" has product e, accepted


def test_heads_say_what_each_head_reads_and_writes(parity):
    heads = parity.heads()
    assert len(heads) == sum(s.n_heads for s in parity.config.repeated + parity.config.final)
    floor = next(h for h in heads if h.layer == "repeated.3")
    assert (floor.query, floor.key, floor.writes) == (("act.query",), ("act.pos",), ("act.floor",))
    assert floor.causal and "floor(j/m)" in floor.note
    assert all(h.note for h in heads)  # every head's note survived assembly
