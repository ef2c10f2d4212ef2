"""The hygiene ledger: which cells are live where, checked before assembly.

A looped layer sees its own output from the previous iteration, so the repeated block must
leave the residual stream exactly as live as it found it: every temporary it writes is cleared
before the block ends, and a live cell is changed only by a declared delta (`Layer.updates`) or
a declared clear (`Layer.clears`). Reading a cell that nothing has written (or that was cleared)
is refused too: masked pre-norm would then see a zero block and misread every other cell.
"""

from __future__ import annotations

from logdepth.compiler.cells import Cell
from logdepth.compiler.program import Layer, Program
from logdepth.errors import CompileError


def _names(cells: set[Cell]) -> str:
    return ", ".join(sorted(c.name for c in cells))


def _step(layer: Layer, where: str, live: set[Cell]) -> set[Cell]:
    """Apply one layer to the live set, refusing reads of dead cells and undeclared overwrites."""
    live = set(live)
    for sub, reads, writes in (
        ("attention", layer.attention_reads(), layer.attention_writes()),
        ("feed-forward", layer.feed_forward_reads(), layer.feed_forward_writes()),
    ):
        for cell in reads:
            if cell not in live:
                raise CompileError(
                    f"{where} ({layer.text!r}): the {sub} reads cell {cell.name!r}, which no "
                    "earlier layer has written or which was cleared"
                )
        for cell in writes:
            declared = cell in layer.updates or cell in layer.clears
            if cell in live and not declared:
                kind = "persistent" if cell.persistent else "temporary"
                raise CompileError(
                    f"{where} ({layer.text!r}): the {sub} overwrites live {kind} cell "
                    f"{cell.name!r} without declaring it as a delta update or a clear"
                )
        live |= set(writes)
    for cell in layer.clears:
        if cell not in live:
            raise CompileError(f"{where}: clears cell {cell.name!r}, which is not live")
        live.discard(cell)
    return live


def check_hygiene(program: Program) -> dict[str, list[str]]:
    """Raise CompileError on a leaky program; return the live cells at each part boundary."""
    live: set[Cell] = {program.layout.one}
    for writes in program.embedding.values():
        live |= set(writes)
    for k, layer in enumerate(program.initial):
        live = _step(layer, f"initial layer {k}", live)
    at_loop = set(live)
    if program.repeated:
        for k, layer in enumerate(program.repeated):
            live = _step(layer, f"repeated layer {k}", live)
        leaked = live - at_loop
        if leaked:
            raise CompileError(
                "the repeated block leaves temporary cell(s) uncleared when it loops: "
                + _names(leaked)
            )
        lost = at_loop - live
        if lost:
            raise CompileError(
                "the repeated block clears cell(s) that its next iteration reads at the start: "
                + _names(lost)
            )
    for k, layer in enumerate(program.final):
        live = _step(layer, f"final layer {k}", live)
    for name, row in program.readout.items():
        for cell in row:
            if cell not in live:
                raise CompileError(f"the readout of {name!r} reads dead cell {cell.name!r}")
    return {"loop": sorted(c.name for c in at_loop), "end": sorted(c.name for c in live)}
