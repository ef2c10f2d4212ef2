"""Attention maps as small palette PNGs (no imaging library needed: zlib and struct suffice).

A map is drawn row-normalized: pixel (i, j) is 255 * a_ij / max_j a_ij, so the keys an
averaging-hard head attends to (all with the same weight 1/k) are all full intensity, however
long the prefix. The page recovers the weights as a_ij = p_ij / sum_j p_ij. Maps wider than
`MAX_SIDE` tokens are max-pooled down to at most that many pixels a side.
"""

from __future__ import annotations

import base64
import struct
import zlib

import numpy as np

MAX_SIDE = 512
# White to a deep blue, 256 steps: the palette every map is drawn with.
_LOW, _HIGH = np.array([255, 255, 255]), np.array([8, 48, 107])
PALETTE = np.round(_LOW + (_HIGH - _LOW) * np.linspace(0, 1, 256)[:, None]).astype(np.uint8)


def intensities(weights: np.ndarray, max_side: int = MAX_SIDE) -> tuple[np.ndarray, int]:
    """[n, n] attention weights -> ([m, m] uint8 row-normalized pixels, tokens per pixel)."""
    w = np.nan_to_num(np.asarray(weights, dtype=np.float64))
    peak = w.max(axis=1, keepdims=True)
    scaled = np.where(peak > 0, w / np.where(peak > 0, peak, 1.0), 0.0)
    n = len(scaled)
    step = max(1, -(-n // max_side))
    if step > 1:
        m = -(-n // step)
        padded = np.zeros((m * step, m * step))
        padded[:n, :n] = scaled
        scaled = padded.reshape(m, step, m, step).max(axis=(1, 3))
    return np.round(scaled * 255).astype(np.uint8), step


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def encode_png(pixels: np.ndarray, palette: np.ndarray = PALETTE) -> bytes:
    """An 8-bit palette PNG of a [height, width] uint8 array."""
    height, width = pixels.shape
    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)
    rows = np.concatenate([np.zeros((height, 1), np.uint8), pixels.astype(np.uint8)], axis=1)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"PLTE", palette.astype(np.uint8).tobytes())
        + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 9))
        + _chunk(b"IEND", b"")
    )


def attention_png(weights: np.ndarray, max_side: int = MAX_SIDE) -> tuple[str, int]:
    """(base64 PNG of one head's map, tokens per pixel)."""
    pixels, step = intensities(weights, max_side)
    return base64.b64encode(encode_png(pixels)).decode("ascii"), step
