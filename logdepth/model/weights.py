"""Weight files: one `.safetensors` file per model (DESIGN.md, "Weight files").

Layout: the tensors of `model.transformer.tensor_schema`, and one metadata key, `logdepth`,
holding canonical JSON (sorted keys): format version, config (cell labels and layer texts
inside), the construction's extras (source text, lowered spec, report, frontier), and a SHA-256
over all of it and every tensor's bytes. One key, not several, because safetensors writes a
metadata map in hash order, which would make two saves of the same model differ in bytes.

Loading parses the header itself, validates everything against the schema, and never unpickles.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from logdepth.errors import WeightFileError
from logdepth.fileio import atomic_write
from logdepth.model.config import FORMAT_VERSION, ModelConfig
from logdepth.model.transformer import UniversalTransformer, tensor_schema

METADATA_KEY = "logdepth"
DTYPES = {torch.float64: "float64", torch.float32: "float32"}
# A header larger than this is not one we wrote (configs with thousands of cells stay far below).
MAX_HEADER_BYTES = 100 * 1024 * 1024


def _digest(
    config_json: dict[str, Any], extra: dict[str, Any], tensors: dict[str, torch.Tensor]
) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"config": config_json, "extra": extra}, sort_keys=True).encode())
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def to_bytes(model: UniversalTransformer, extra: dict[str, Any]) -> bytes:
    """Serialize deterministically: the same model and extras give the same bytes."""
    config_json = model.config.to_json()
    tensors = {k: v.contiguous() for k, v in model.tensors.items()}
    meta = {
        "format_version": FORMAT_VERSION,
        "config": config_json,
        "extra": extra,
        "sha256": _digest(config_json, extra, tensors),
    }
    text = json.dumps(meta, sort_keys=True, separators=(",", ":"))
    return save_safetensors(tensors, metadata={METADATA_KEY: text})


def save(model: UniversalTransformer, path: str | Path, extra: dict[str, Any]) -> None:
    """Write atomically: a failure leaves whatever was at `path` untouched."""
    atomic_write(path, to_bytes(model, extra))


def _header(data: bytes, where: str) -> dict[str, Any]:
    if len(data) < 8:
        raise WeightFileError(f"{where}: not a safetensors file (only {len(data)} bytes)")
    (size,) = struct.unpack("<Q", data[:8])
    if size > MAX_HEADER_BYTES or 8 + size > len(data):
        raise WeightFileError(
            f"{where}: not a safetensors file, or truncated (header claims {size} bytes, "
            f"file has {len(data)})"
        )
    try:
        header = json.loads(data[8 : 8 + size])
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise WeightFileError(
            f"{where}: the safetensors header is not valid JSON ({err})"
        ) from None
    if not isinstance(header, dict):
        raise WeightFileError(f"{where}: the safetensors header is not a JSON object")
    return header


def from_bytes(data: bytes, where: str = "<bytes>") -> tuple[UniversalTransformer, dict[str, Any]]:
    """Parse and validate a weight file's bytes; raise WeightFileError with the reason."""
    header = _header(data, where)
    raw_meta = header.get("__metadata__", {}) or {}
    if METADATA_KEY not in raw_meta:
        raise WeightFileError(f"{where}: no logdepth metadata (not a logdepth weight file)")
    try:
        meta = json.loads(raw_meta[METADATA_KEY])
    except (TypeError, json.JSONDecodeError) as err:
        raise WeightFileError(f"{where}: the logdepth metadata is not valid JSON ({err})") from None
    if not isinstance(meta, dict):
        raise WeightFileError(f"{where}: the logdepth metadata is not a JSON object")
    version = meta.get("format_version")
    if not isinstance(version, int):
        raise WeightFileError(f"{where}: the metadata has no integer format_version")
    if version > FORMAT_VERSION:
        raise WeightFileError(
            f"{where}: written in weight-file format {version}, newer than this logdepth reads "
            f"(up to {FORMAT_VERSION}); upgrade logdepth"
        )
    for key in ("config", "extra", "sha256"):
        if key not in meta:
            raise WeightFileError(f"{where}: the metadata lacks {key!r}")
    try:
        config = ModelConfig.from_json(meta["config"])
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise WeightFileError(f"{where}: the stored config is malformed ({err!r})") from None
    try:
        tensors = load_safetensors(data)
    except Exception as err:  # safetensors raises its own error types for corrupt bodies
        raise WeightFileError(f"{where}: the tensors cannot be read ({err})") from None
    schema = tensor_schema(config)
    missing = sorted(set(schema) - set(tensors))
    unexpected = sorted(set(tensors) - set(schema))
    if missing:
        raise WeightFileError(f"{where}: missing tensor(s) {', '.join(missing[:5])}")
    if unexpected:
        raise WeightFileError(f"{where}: unexpected tensor(s) {', '.join(unexpected[:5])}")
    dtypes = {t.dtype for t in tensors.values()}
    if len(dtypes) != 1 or next(iter(dtypes)) not in DTYPES:
        raise WeightFileError(
            f"{where}: tensors must all be float64 or all float32, found {dtypes}"
        )
    for name, shape in schema.items():
        if tuple(tensors[name].shape) != shape:
            raise WeightFileError(
                f"{where}: tensor {name} has shape {tuple(tensors[name].shape)}, "
                f"the config needs {shape}"
            )
        if not torch.isfinite(tensors[name]).all():
            raise WeightFileError(f"{where}: tensor {name} holds NaN or infinity")
    if _digest(meta["config"], meta["extra"], tensors) != meta["sha256"]:
        raise WeightFileError(
            f"{where}: checksum mismatch: the tensors or metadata were changed after compiling"
        )
    return UniversalTransformer(config, tensors), meta["extra"]


def load(path: str | Path) -> tuple[UniversalTransformer, dict[str, Any]]:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise WeightFileError(f"{path}: cannot read the weight file ({err.strerror})") from None
    return from_bytes(data, str(path))
