"""benchmarks/results.py regenerates docs/results.md: the hand-written sections it keeps, and the
fit cells it writes where a sweep made no fit."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from results import KEPT_HEADINGS, _fit_cells, kept_sections  # noqa: E402


def test_kept_sections_survive_a_new_heading_tail(tmp_path):
    """A kept section whose heading's numbers changed is still kept, whole, up to the next
    section; generated sections are not."""
    page = tmp_path / "results.md"
    page.write_text(
        "# Results\n\n## Measured\n\ngenerated\n\n"
        f"{KEPT_HEADINGS[1]}: Theorem 2 to 99 vertices\n\nkept body\n\n## Next\n\ngenerated\n"
    )
    kept = kept_sections(page)
    assert f"{KEPT_HEADINGS[1]}: Theorem 2 to 99 vertices" in kept
    assert "kept body" in kept
    assert "generated" not in kept
    assert kept[-1] == "kept body"  # no trailing blank lines to pile up, page after page


def test_the_real_page_keeps_every_hand_written_section():
    """docs/results.md holds every kept heading, so regenerating it drops none."""
    text = (ROOT / "docs" / "results.md").read_text().split("\n")
    for heading in KEPT_HEADINGS:
        assert any(line.startswith(heading) for line in text), heading


def test_no_fit_is_a_dash_not_nan():
    fitted = SimpleNamespace(fitted=[8, 16, 32], c=2.0, b=40.0)
    unfitted = SimpleNamespace(fitted=[], c=math.nan, b=math.nan)
    assert _fit_cells(fitted) == "2.00 | 40.0"
    assert _fit_cells(unfitted) == "- | -"
