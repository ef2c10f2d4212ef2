"""The gap model of construction="auto": the chosen construction's own (constructions/auto.py
records its choice in the report's "chosen" record), reached through its catalog entry."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from logdepth import catalog
from logdepth.errors import CompileError


def chosen_entry(report: Mapping[str, Any]) -> catalog.Construction:
    """The catalog entry auto chose, from the report's "chosen" record."""
    chosen = report.get("chosen")
    if not isinstance(chosen, Mapping) or not isinstance(chosen.get("construction"), str):
        raise CompileError("this report records no construction chosen by auto")
    return catalog.get(chosen["construction"])


def precision_model(report: Mapping[str, Any] | None = None) -> tuple[float, Callable[[int], int]]:
    """The chosen construction's precision model."""
    return chosen_entry(report or {}).precision_model(dict(report or {}))


__all__ = ["chosen_entry", "precision_model"]
