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
import torch
from torch.nn import functional

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


def pixels_png(pixels: np.ndarray) -> str:
    """A [m, m] uint8 map as a base64 PNG."""
    return base64.b64encode(encode_png(pixels)).decode("ascii")


def attention_png(weights: np.ndarray, max_side: int = MAX_SIDE) -> tuple[str, int]:
    """(base64 PNG of one head's map, tokens per pixel)."""
    pixels, step = intensities(weights, max_side)
    return pixels_png(pixels), step


# Values pooled at once by `PooledMaps` (2^22 float64 values: 32 MiB a copy).
SLICE_ELEMENTS = 1 << 22


class PooledMaps:
    """An attention sink (`model.transformer.AttentionSink`) that keeps every attention run as
    `intensities` draws it, computed chunk by chunk as the forward pass scores the queries: the
    rows scaled to their maximum (a row is whole in every chunk), max-pooled to at most
    `max_side` pixels a side. It holds one run's [batch, heads, m, m] float64 pooling at a time
    and keeps uint8 pixels, so a run at n tokens costs heads * m^2 bytes, not 8 heads n^2.

    The arithmetic is `intensities`', in float64 (division and max are exact or correctly
    rounded in both numpy and torch), so the pixels are the same bytes.
    """

    def __init__(self, max_side: int = MAX_SIDE) -> None:
        self.max_side = max_side
        self.runs: list[tuple[np.ndarray, int]] = []  # ([batch, heads, m, m] uint8, step)
        self._pooled: torch.Tensor | None = None
        self._step = 1

    @staticmethod
    def side(n: int, max_side: int = MAX_SIDE) -> tuple[int, int]:
        """(pixels a side, tokens per pixel) of an n-token map."""
        step = max(1, -(-n // max_side))
        return -(-n // step), step

    def peak_bytes(self, n: int, runs: int, widest: int) -> int:
        """What this sink holds over a trace of `runs` head runs on n tokens (`trace_cost`):
        a byte per pixel kept, one float64 pooling of the widest layer, and a slice's
        transients (the division, nan_to_num, the scaled copy and its pooling: 4 copies)."""
        m, _ = self.side(n, self.max_side)
        slice_bytes = 4 * min(SLICE_ELEMENTS, widest * n * n) * 8
        return runs * m * m + widest * m * m * 8 + slice_bytes

    def begin(self, name: str, batch: int, heads: int, n: int) -> None:
        m, self._step = self.side(n, self.max_side)
        self._pooled = torch.zeros(batch, heads, m, m, dtype=torch.float64)

    def chunk(self, start: int, weights: torch.Tensor, totals: torch.Tensor) -> None:
        """Pool rows start.. of weights / totals into the run's map, a slice of whole pixel
        rows at a time (at most SLICE_ELEMENTS values: the forward pass's chunk is already
        hundreds of MB, and each step here would copy it)."""
        assert self._pooled is not None
        step = self._step
        batch, heads, rows, keys = weights.shape
        per_row = max(1, batch * heads * keys)
        span = max(step, SLICE_ELEMENTS // per_row // step * step)
        at = start
        while at < start + rows:
            # Slices end on pixel rows: the first one may start inside one.
            stop = min(start + rows, (at // step) * step + span)
            rows_now = slice(at - start, stop - start)
            self._pool(at, weights[:, :, rows_now], totals[:, :, rows_now])
            at = stop

    def _pool(self, start: int, weights: torch.Tensor, totals: torch.Tensor) -> None:
        step, pooled = self._step, self._pooled
        assert pooled is not None
        w = torch.nan_to_num((weights / totals).detach().to(device="cpu", dtype=torch.float64))
        peak = w.amax(dim=-1, keepdim=True)
        positive = peak > 0
        scaled = torch.where(positive, w / torch.where(positive, peak, 1.0), 0.0)
        batch, heads, rows, keys = scaled.shape
        if step > 1:
            offset = start % step
            if offset:  # a slice starting inside a pixel row: zeros pool as nothing (>= 0)
                scaled = functional.pad(scaled, (0, 0, offset, 0))
            flat = scaled.reshape(batch * heads, 1, offset + rows, keys)
            scaled = functional.max_pool2d(flat, step, step, ceil_mode=True)
            scaled = scaled.reshape(batch, heads, scaled.shape[-2], scaled.shape[-1])
        first = start // step
        block = pooled[:, :, first : first + scaled.shape[-2], : scaled.shape[-1]]
        torch.maximum(block, scaled, out=block)

    def end(self) -> None:
        assert self._pooled is not None
        pixels = np.round(self._pooled.numpy() * 255).astype(np.uint8)
        self.runs.append((pixels, self._step))
        self._pooled = None
