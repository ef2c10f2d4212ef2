"""`logdepth plot`: PNGs of the expected pixel size, and a clear error without matplotlib."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from logdepth import plot
from logdepth.cli import main
from logdepth.errors import MissingExtraError
from tests.explain.models import SIX_SPEC, model


def _check_png(path) -> None:
    """A PNG of plot.SIZE pixels with something drawn on it (not a single colour)."""
    image = pytest.importorskip("matplotlib.image").imread(path)
    assert image.shape[:2] == (plot.SIZE[1], plot.SIZE[0])
    assert path.stat().st_size > 5000
    rgb = np.round(image[..., :3] * 255).astype(np.uint32)
    colours = np.unique(rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2])
    assert len(colours) > 10


def test_residual_attention_and_depth_plots(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    weights = tmp_path / "a5.safetensors"
    model("a5").save(weights)
    for what in ("residual", "attention"):
        out = tmp_path / f"{what}.png"
        word = "12345 23145 31245"
        assert main(["plot", str(weights), word, "--what", what, "-o", str(out)]) == 0
        _check_png(out)
    out = tmp_path / "layer.png"
    assert (
        main(["plot", str(weights), "12345", "--what", "attention", "--layer", "6", "-o", str(out)])
        == 0
    )
    _check_png(out)
    assert (
        main(["plot", str(weights), "12345", "--what", "attention", "--layer", "1", "-o", str(out)])
        == 1
    )
    assert "layer 1 has no attention heads" in capsys.readouterr().err
    out = tmp_path / "depth.png"
    assert main(["plot", "--depth", "--max-n", "256", "-o", str(out)]) == 0
    _check_png(out)


def test_graph_residual_plot(tmp_path):
    pytest.importorskip("matplotlib")
    conn = tmp_path / "conn.safetensors"
    model("connectivity").save(conn)
    spec = tmp_path / "six.ld"
    spec.write_text(SIX_SPEC)
    out = tmp_path / "graph.png"
    args = ["--graph", f"{spec}:six", "--source", "a", "--target", "e"]
    assert main(["plot", str(conn), *args, "--layer", "20", "-o", str(out)]) == 0
    _check_png(out)


def test_depth_series_come_from_compiled_models():
    series = plot.depth_series(max_n=64)
    for name, s in series.items():
        formula = dict(zip(s["n"], s["formula"], strict=True))
        assert s["compiled"] == [formula[n] for n in s["compiled_n"]], name


def test_missing_matplotlib_names_the_extra(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    with pytest.raises(MissingExtraError, match=r"pip install 'logdepth\[plot\]'"):
        plot.pyplot()
    assert main(["plot", "--depth", "-o", str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err
    assert "logdepth: error: plotting needs matplotlib" in err and "logdepth[plot]" in err
    assert not (tmp_path / "x.png").exists()
