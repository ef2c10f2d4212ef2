"""What `logdepth inspect` shows: config, layer counts per part, parameters, cells, layer texts,
and what every head reads and writes (`CompiledModel.heads()`)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from logdepth.model.compiled import CompiledModel
from logdepth.model.transformer import PARTS


def describe(model: CompiledModel) -> dict[str, Any]:
    """A JSON-able description of a compiled model, readable cell by cell and layer by layer."""
    cfg = model.config
    s, r, t = cfg.s_r_t
    tensors = model.network.tensors
    per_part = {part: 0 for part in ("embedding", *PARTS)}
    for name, tensor in tensors.items():
        if name.endswith(".mask"):
            continue  # masks select cells; they are not weights
        part = name.split(".")[0] if "." in name else "embedding"
        per_part[part] += tensor.numel()
    nonzero = sum(int((v != 0).sum()) for k, v in tensors.items() if not k.endswith(".mask"))
    rule = cfg.depth_rule
    if rule.fixed is not None:
        rule_text = f"fixed unrolling {rule.fixed} (non-uniform)"
    else:
        root = {1: "", 2: "sqrt "}.get(rule.root, f"{rule.root}th root of ")
        rule_text = f"d = ceil(log2 n), n = {root}#{{{', '.join(rule.count_tokens)}}} tokens"
    heads: dict[str, list[dict[str, Any]]] = {}
    for head in model.heads():
        info = asdict(head)
        del info["layer_text"]  # the layer's own entry has it
        heads.setdefault(head.layer, []).append(info)
    layers = []
    for part in PARTS:
        for k, shape in enumerate(getattr(cfg, part)):
            layers.append(
                {
                    "name": f"{part}.{k}",
                    "heads": "".join("c" if c else "u" for c in shape.causal) or "-",
                    "d_ff": shape.d_ff,
                    "text": shape.text,
                    "ff_note": shape.ff_note,
                    "head_details": heads.get(f"{part}.{k}", []),
                }
            )
    report = model.extra.get("report", {})
    return {
        "construction": cfg.construction,
        "config": {
            "s": s,
            "r": r,
            "t": t,
            "d_model": cfg.d_model,
            "vocab": list(cfg.vocab),
            "outputs": list(cfg.outputs),
            "depth_rule": rule_text,
            "tie_tolerance": cfg.tie_tolerance,
            "frontier": dict(cfg.frontier),
            "input_format": cfg.input_format,
            "dtype": model.dtype_name,
        },
        "parameters": {"total": sum(per_part.values()), "nonzero": nonzero, **per_part},
        "cells": [
            {"name": c.name, "kind": c.kind, "offset": c.offset, "labels": list(c.labels)}
            for c in cfg.cells
        ],
        "layers": layers,
        "report": {k: v for k, v in report.items()} if isinstance(report, dict) else {},
    }
