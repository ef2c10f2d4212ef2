"""Weight files: one `.safetensors` file per model (docs/file-format.md).

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
import os
import stat
import struct
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from logdepth.errors import NonFiniteError, WeightFileError
from logdepth.fileio import atomic_write
from logdepth.model.config import FORMAT_VERSION, ModelConfig
from logdepth.model.transformer import UniversalTransformer, tensor_schema
from logdepth.model.validate import MetadataError, check_config_json, check_contract

METADATA_KEY = "logdepth"
DTYPES = {torch.float64: "float64", torch.float32: "float32"}
# A header larger than this is not one we wrote (configs with thousands of cells stay far below).
MAX_HEADER_BYTES = 100 * 1024 * 1024
# The safetensors names of DTYPES.
HEADER_DTYPES = ("F64", "F32")
# Loading holds the file's bytes and its tensors at once (twice the file), and running a model
# needs room for activations: 1 GiB keeps a load well inside the 4 GiB a command may use. The
# largest compiled model in the tests is a few MB.
MAX_FILE_BYTES = 1 << 30


def _digest(
    config_json: dict[str, Any], extra: dict[str, Any], tensors: dict[str, torch.Tensor]
) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"config": config_json, "extra": extra}, sort_keys=True).encode())
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def to_bytes(model: UniversalTransformer, extra: dict[str, Any]) -> bytes:
    """Serialize deterministically: the same model and extras give the same bytes.

    A tensor holding NaN or infinity (an edited weight) is refused, naming it: `load` would
    refuse the file, so writing it could only replace a good file with one nobody can read."""
    config_json = model.config.to_json()
    # The buffers by weight-file name, on the CPU (a model may run on another device).
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.tensors.items()}
    for name, tensor in tensors.items():
        if not torch.isfinite(tensor).all():
            raise NonFiniteError(
                f"cannot save: tensor {name} holds NaN or infinity (a weight file holds finite "
                "weights only)"
            )
    meta = {
        "format_version": FORMAT_VERSION,
        "config": config_json,
        "extra": extra,
        "sha256": _digest(config_json, extra, tensors),
    }
    text = json.dumps(meta, sort_keys=True, separators=(",", ":"))
    return save_safetensors(tensors, metadata={METADATA_KEY: text})


def save(model: UniversalTransformer, path: str | Path, extra: dict[str, Any]) -> None:
    """Write atomically: a failure (non-finite weights included) leaves whatever was at `path`
    untouched."""
    try:
        data = to_bytes(model, extra)
    except NonFiniteError as err:
        raise NonFiniteError(f"{path}: {err}; the file was not written") from None
    atomic_write(path, data, error=WeightFileError)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a weight file may hold")


def _json(text: bytes | str, where: str, what: str) -> Any:
    """Parse JSON that may hold no NaN or Infinity and may not nest past Python's stack."""
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise WeightFileError(f"{where}: {what} is nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as err:  # JSONDecodeError is a ValueError
        raise WeightFileError(f"{where}: {what} is not valid JSON ({err})") from None


def _looks_like_text(head: bytes) -> bool:
    """A safetensors file starts with a little-endian u64 header length below 2^32, so its
    bytes 4..7 are zero; a spec or any other text file has only printable characters there."""
    if any(b < 0x20 and b not in b"\t\n\r" for b in head):
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _header_size(head: bytes, file_size: int, where: str) -> int:
    """The header length from the first 8 bytes, checked against the file's size."""
    if _looks_like_text(head[:8]) and len(head) >= 8:
        raise WeightFileError(
            f"{where}: not a safetensors file but text; if this is a spec, compile it first: "
            f"logdepth compile {where} -o MODEL.safetensors"
        )
    if len(head) < 8:
        raise WeightFileError(f"{where}: not a safetensors file (only {len(head)} bytes)")
    (size,) = struct.unpack("<Q", head[:8])
    if size > MAX_HEADER_BYTES or 8 + size > file_size:
        raise WeightFileError(
            f"{where}: not a safetensors file, or truncated (header claims {size} bytes, "
            f"file has {file_size})"
        )
    return size


def _header(data: bytes, where: str) -> dict[str, Any]:
    size = _header_size(data[:8], len(data), where)
    header = _json(data[8 : 8 + size], where, "the safetensors header")
    if not isinstance(header, dict):
        raise WeightFileError(f"{where}: the safetensors header is not a JSON object")
    return header


def _metadata(header: dict[str, Any], where: str) -> tuple[dict[str, Any], ModelConfig]:
    """The logdepth metadata and the config it holds, every field validated (validate.py)."""
    raw_meta = header.get("__metadata__", {}) or {}
    if not isinstance(raw_meta, dict):
        raise WeightFileError(f"{where}: the safetensors __metadata__ is not a JSON object")
    if METADATA_KEY not in raw_meta:
        raise WeightFileError(f"{where}: no logdepth metadata (not a logdepth weight file)")
    if not isinstance(raw_meta[METADATA_KEY], str):
        raise WeightFileError(f"{where}: the logdepth metadata is not a JSON string")
    meta = _json(raw_meta[METADATA_KEY], where, "the logdepth metadata")
    if not isinstance(meta, dict):
        raise WeightFileError(f"{where}: the logdepth metadata is not a JSON object")
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise WeightFileError(f"{where}: the metadata has no integer format_version")
    if version > FORMAT_VERSION:
        raise WeightFileError(
            f"{where}: written in weight-file format {version}, newer than this logdepth reads "
            f"(up to {FORMAT_VERSION}); upgrade logdepth"
        )
    for key in ("config", "extra", "sha256"):
        if key not in meta:
            raise WeightFileError(f"{where}: the metadata lacks {key!r}")
    if not isinstance(meta["extra"], dict) or not isinstance(meta["sha256"], str):
        raise WeightFileError(f"{where}: the metadata's extra or sha256 is malformed")
    try:
        check_config_json(meta["config"])
        config = ModelConfig.from_json(meta["config"])
        check_contract(config, meta["extra"])
    except MetadataError as err:
        raise WeightFileError(f"{where}: the stored config is malformed: {err}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise WeightFileError(f"{where}: the stored config is malformed ({err!r})") from None
    return meta, config


def _body_size(header: dict[str, Any], config: ModelConfig, where: str) -> int:
    """Bytes the tensors take, from the header entries checked against the config's schema
    (so that a body is read only when the file is exactly as large as the config needs)."""
    schema = tensor_schema(config)
    names = set(header) - {"__metadata__"}
    missing = sorted(set(schema) - names)
    unexpected = sorted(names - set(schema))
    if missing:
        raise WeightFileError(f"{where}: missing tensor(s) {', '.join(missing[:5])}")
    if unexpected:
        raise WeightFileError(f"{where}: unexpected tensor(s) {', '.join(unexpected[:5])}")
    end = 0
    for name, shape in schema.items():
        entry = header[name]
        ok = (
            isinstance(entry, dict)
            and entry.get("dtype") in HEADER_DTYPES
            and isinstance(entry.get("data_offsets"), list)
            and len(entry["data_offsets"]) == 2
            and all(isinstance(x, int) and x >= 0 for x in entry["data_offsets"])
        )
        if not ok:
            raise WeightFileError(f"{where}: tensor {name} has a malformed header entry")
        if entry.get("shape") != list(shape):
            raise WeightFileError(
                f"{where}: tensor {name} has shape {entry.get('shape')}, the config needs {shape}"
            )
        end = max(end, entry["data_offsets"][1])
    return end


def from_bytes(data: bytes, where: str = "<bytes>") -> tuple[UniversalTransformer, dict[str, Any]]:
    """Parse and validate a weight file's bytes; raise WeightFileError with the reason."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise WeightFileError(f"{where}: expected bytes, not {type(data).__name__}")
    data = bytes(data)
    header = _header(data, where)
    meta, config = _metadata(header, where)
    _body_size(header, config, where)
    try:
        tensors = load_safetensors(data)
    except Exception as err:  # safetensors raises its own error types for corrupt bodies
        raise WeightFileError(f"{where}: the tensors cannot be read ({err})") from None
    schema = tensor_schema(config)
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
            f"{where}: checksum mismatch: the tensors or metadata were changed after compiling "
            "(by accident: the checksum has no key, so it does not prove who wrote the file)"
        )
    return UniversalTransformer(config, tensors), meta["extra"]


def _read_checked(path: Path) -> bytes:
    """A weight file's bytes, refusing before the body is read: anything but a regular file
    (a FIFO would block, /dev/zero never ends), a header length past the file's end, a header
    that does not validate, a body size that is not what the header and config say, and a file
    over MAX_FILE_BYTES."""
    where = str(path)
    try:
        st = os.stat(path)
    except OSError as err:
        raise WeightFileError(f"{where}: cannot read the weight file ({err.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise WeightFileError(f"{where}: is a directory, not a weight file")
    if not stat.S_ISREG(st.st_mode):
        raise WeightFileError(f"{where}: not a regular file (a weight file is a .safetensors file)")
    if st.st_size > MAX_FILE_BYTES:
        raise WeightFileError(
            f"{where}: {st.st_size:,} bytes is larger than any weight file logdepth loads "
            f"({MAX_FILE_BYTES:,}: loading holds the file and its tensors in memory)"
        )
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            size = _header_size(head, st.st_size, where)
            header_bytes = f.read(size)
            header = _json(header_bytes, where, "the safetensors header")
            if not isinstance(header, dict):
                raise WeightFileError(f"{where}: the safetensors header is not a JSON object")
            _, config = _metadata(header, where)
            body = _body_size(header, config, where)
            if 8 + size + body != st.st_size:
                raise WeightFileError(
                    f"{where}: the file has {st.st_size:,} bytes; its header and config say "
                    f"{8 + size + body:,} (truncated, or something appended)"
                )
            return head + header_bytes + f.read(body)
    except OSError as err:
        raise WeightFileError(f"{where}: cannot read the weight file ({err.strerror})") from None


def load(path: str | Path) -> tuple[UniversalTransformer, dict[str, Any]]:
    """Read, validate and build the network of a weight file, with its extras."""
    if not isinstance(path, str | os.PathLike):
        raise WeightFileError(f"a weight-file path must be a string or a path, not {path!r}")
    path = Path(path)
    return from_bytes(_read_checked(path), str(path))
