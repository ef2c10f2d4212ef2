"""Weight files: round trip, determinism, and a clear WeightFileError for every corruption."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as raw_save

from logdepth import fileio
from logdepth.compiler.assemble import assemble
from logdepth.errors import WeightFileError
from logdepth.model import weights
from logdepth.model.compiled import CompiledModel, load
from tests.compiler.programs import counter_program

WORDS = ["", "x", "xy", "xyxy", "xxxxxxxxx"]


@pytest.fixture
def model() -> CompiledModel:
    return CompiledModel(assemble(counter_program()), {"source": "demo", "note": "ünïcode"})


@pytest.fixture
def saved(model, tmp_path) -> Path:
    path = tmp_path / "m.safetensors"
    model.save(path)
    return path


def _tokens(word):
    return ["<bos>", *word, "<$>"]


def test_save_load_run_gives_identical_outputs_and_bytes(model, saved, tmp_path):
    again = load(saved)
    assert again.extra == model.extra
    assert again.config == model.config
    for w in WORDS:
        a = model.trace_tokens(_tokens(w)).residuals[-1]
        b = again.trace_tokens(_tokens(w)).residuals[-1]
        assert (a == b).all()
    second = tmp_path / "again.safetensors"
    again.save(second)
    assert second.read_bytes() == saved.read_bytes()


def test_bytes_are_identical_across_processes(saved, tmp_path):
    code = (
        "from logdepth.compiler.assemble import assemble;"
        "from logdepth.model.compiled import CompiledModel;"
        "from tests.compiler.programs import counter_program;"
        "import sys;"
        "CompiledModel(assemble(counter_program()), {'source': 'demo', 'note': 'ünïcode'})"
        ".save(sys.argv[1])"
    )
    other = tmp_path / "other.safetensors"
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code, str(other)], check=True, cwd=root)
    assert other.read_bytes() == saved.read_bytes()


def _header(data: bytes) -> tuple[dict, bytes]:
    (size,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + size]), data[8 + size :]


def _with_header(header: dict, body: bytes) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + body


def _meta_edit(data: bytes, edit) -> bytes:
    header, body = _header(data)
    meta = json.loads(header["__metadata__"]["logdepth"])
    edit(meta)
    header["__metadata__"]["logdepth"] = json.dumps(meta)
    return _with_header(header, body)


def _bad(path: Path, data: bytes, match: str) -> None:
    path.write_bytes(data)
    with pytest.raises(WeightFileError, match=match):
        load(path)


def test_missing_file(tmp_path):
    with pytest.raises(WeightFileError, match="cannot read"):
        load(tmp_path / "nope.safetensors")


def test_truncated_file(saved):
    data = saved.read_bytes()
    _bad(saved, data[:5], "not a safetensors file")
    _bad(saved, data[: len(data) // 3], "truncated|cannot be read")
    _bad(saved, data[:-8], "cannot be read|truncated")


def test_not_safetensors(saved):
    _bad(saved, b"PK\x03\x04 this is a zip file, not weights" * 10, "not a safetensors|truncated")
    _bad(saved, struct.pack("<Q", 4) + b"nope", "not valid JSON")


def test_safetensors_without_our_metadata(saved):
    _bad(saved, raw_save({"embed": torch.zeros(2)}), "not a logdepth weight file")


def test_bad_metadata_json(saved):
    header, body = _header(saved.read_bytes())
    header["__metadata__"]["logdepth"] = "{not json"
    _bad(saved, _with_header(header, body), "metadata is not valid JSON")


def test_missing_metadata_field(saved):
    _bad(saved, _meta_edit(saved.read_bytes(), lambda m: m.pop("config")), "lacks 'config'")
    _bad(saved, _meta_edit(saved.read_bytes(), lambda m: m.pop("format_version")), "format_version")


def test_malformed_config(saved):
    _bad(
        saved,
        _meta_edit(saved.read_bytes(), lambda m: m["config"].pop("depth_rule")),
        "config is malformed",
    )


def test_newer_format_version(saved):
    def bump(meta):
        meta["format_version"] = weights.FORMAT_VERSION + 1

    _bad(saved, _meta_edit(saved.read_bytes(), bump), "newer than this logdepth reads")


def test_tensor_of_the_wrong_shape(model, saved):
    tensors = dict(model.network.tensors)
    tensors["embed"] = torch.zeros(3, 2, dtype=torch.float64)
    header, _ = _header(saved.read_bytes())
    data = raw_save(tensors, metadata=header["__metadata__"])
    _bad(saved, data, "embed has shape")


def test_missing_tensor(model, saved):
    tensors = {k: v for k, v in model.network.tensors.items() if k != "unembed"}
    header, _ = _header(saved.read_bytes())
    _bad(saved, raw_save(tensors, metadata=header["__metadata__"]), "missing tensor")


def test_tampered_weight_is_caught_by_the_checksum(model, saved):
    tensors = {k: v.clone() for k, v in model.network.tensors.items()}
    tensors["unembed"][1, 0] += 1e-9
    header, _ = _header(saved.read_bytes())
    _bad(saved, raw_save(tensors, metadata=header["__metadata__"]), "checksum mismatch")


def test_tampered_metadata_is_caught_by_the_checksum(saved):
    def lie(meta):
        meta["config"]["frontier"]["float64"] = 10**9

    _bad(saved, _meta_edit(saved.read_bytes(), lie), "checksum mismatch")


def test_nan_weights_are_refused(model, saved):
    tensors = {k: v.clone() for k, v in model.network.tensors.items()}
    tensors["embed"][0, 0] = float("nan")
    header, _ = _header(saved.read_bytes())
    _bad(saved, raw_save(tensors, metadata=header["__metadata__"]), "NaN")


def test_a_failed_save_keeps_the_old_file(model, saved, monkeypatch):
    before = saved.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(fileio.os, "replace", boom)
    with pytest.raises(WeightFileError, match=f"{saved}: cannot write: disk full"):
        model.save(saved)  # the user's path in the message, not the temporary file's
    assert saved.read_bytes() == before
    assert [p.name for p in saved.parent.iterdir()] == [saved.name]
