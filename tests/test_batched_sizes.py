"""`logdepth precision --sizes`: the sizes a sweep runs, given one by one (intermediate sizes
between powers of two, for three sizes past the flat floor), and its refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from logdepth.cli import main
from logdepth.verify import precision as vprecision

BASICS = Path(__file__).resolve().parents[1] / "examples" / "basics.ld"


@pytest.fixture(scope="module")
def parity_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sizes") / "parity.safetensors"
    assert main(["compile", str(BASICS), "--name", "parity", "-o", str(path)]) == 0
    return path


def test_sizes_are_the_sizes_swept(parity_file, monkeypatch, capsys):
    """The sweep runs exactly the sizes given, in order, and fits over them (least_bits from a
    table: no forward pass)."""
    bits = {3: 21, 5: 21, 12: 22, 20: 24, 48: 27}
    seen: list[int] = []
    # A sweep's unit (one size, or one group of a large size's inputs) answers from the table.
    monkeypatch.setattr(
        vprecision, "size_bits", lambda model, unit: seen.append(unit.n) or bits[unit.n]
    )
    code = main(["precision", str(parity_file), "--sizes", "3,5,12,20,48"])
    text = capsys.readouterr().out
    assert code == 0, text
    assert list(dict.fromkeys(seen)) == [3, 5, 12, 20, 48]
    assert "fit over n = 12..48" in text  # 3 and 5 are the flat floor


@pytest.mark.parametrize(
    ("argv", "why"),
    [
        (["--sizes", "2,8,4"], "must increase"),
        (["--sizes", "2,4,4"], "must increase"),
        (["--sizes", "1,4"], "at least 2"),
        (["--sizes", "2,x"], "comma-separated integers"),
        (["--sizes", "2,4", "--max-n", "8"], "not both"),
    ],
)
def test_bad_sizes_are_refused(parity_file, capsys, argv, why):
    code = main(["precision", str(parity_file), *argv])
    _, err = capsys.readouterr()
    assert code != 0 and why in err and "Traceback" not in err
