"""Headless chromium for the browser tests and benchmarks/explain.py (no playwright, no
downloads): find it, install Debian's package with ensure_chromium.sh where missing, and run
--dump-dom / --screenshot with a throwaway profile."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
]


def find_chromium(install: bool = True) -> tuple[str | None, str]:
    """(path, "") or (None, why not): the installed browser, else ensure_chromium.sh's."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path, ""
    if not install:
        return None, "chromium is not installed"
    result = subprocess.run(
        ["bash", str(HERE / "ensure_chromium.sh")], capture_output=True, text=True, timeout=900
    )
    path = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    if result.returncode == 0 and path and Path(path).exists():
        return path, ""
    return None, f"chromium could not be installed: {result.stderr.strip()[-400:]}"


@dataclass
class Page:
    dom: str
    console: list[str]  # the browser's console lines (errors, warnings, logs)
    seconds: float  # wall-clock time of the whole browser run


def run_chromium(
    browser: str,
    url: str,
    *,
    screenshot: Path | None = None,
    window: tuple[int, int] = (1280, 2000),
    budget_ms: int | None = 5000,
    timeout: float = 60,
) -> Page:
    """One headless run: the DOM after load and scripts (within the virtual-time budget), and a
    screenshot too when `screenshot` is given."""
    with tempfile.TemporaryDirectory(prefix="logdepth-chromium-") as profile:
        args = [
            browser,
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={window[0]},{window[1]}",
        ]
        if budget_ms is not None:
            args.append(f"--virtual-time-budget={budget_ms}")
        args += [f"--screenshot={screenshot}"] if screenshot else []
        args.append("--dump-dom")
        start = time.perf_counter()
        result = subprocess.run(args + [url], capture_output=True, text=True, timeout=timeout)
        seconds = time.perf_counter() - start
    console = [line for line in result.stderr.splitlines() if "CONSOLE" in line]
    if result.returncode != 0:
        raise RuntimeError(f"chromium exited {result.returncode}: {result.stderr[-800:]}")
    return Page(result.stdout, console, seconds)
