"""README's two commands are the ones CI and users run: keep them honest."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> list[str]:
    lines = (ROOT / "README.md").read_text().splitlines()
    return [line for line in lines if line.startswith("python3 -m venv .venv")]


def test_readme_has_exactly_two_fresh_machine_commands():
    assert len(_commands()) == 2


def test_ci_runs_the_readme_test_command_verbatim():
    test_command = next(c for c in _commands() if "pytest" in c)
    assert test_command in (ROOT / ".ci" / "run").read_text().splitlines()


def test_main_command_names_only_bundled_files():
    main = next(c for c in _commands() if "pytest" not in c)
    assert "examples/basics.ld" in main and (ROOT / "examples" / "basics.ld").is_file()
    for verb in ("compile", "run", "verify"):
        assert f"logdepth {verb}" in main


def test_ci_fails_on_any_error_and_reruns_the_suite_on_one_thread():
    """`set -e` makes any non-zero exit (pytest's 5, "no tests collected", included) fail CI;
    after README's run, the same suite runs again with every thread pool at one thread."""
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert "set -euo pipefail" in lines
    readme = lines.index(next(c for c in _commands() if "pytest" in c))
    suite = ".venv/bin/python -m pytest -q"
    again = [k for k, line in enumerate(lines) if line.endswith(suite) and k != readme]
    assert len(again) == 1 and again[0] > readme
    single = lines[again[0]].removesuffix(suite).split()
    assert single == ["OMP_NUM_THREADS=1", "MKL_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1"]
