"""Writing user files so that a failed command never loses what was there."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path: str | Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, then rename it over `path`.

    The rename is atomic on POSIX: `path` holds either its old content or all of the new, and a
    failure (full disk, interrupt) removes the temporary file and leaves `path` untouched.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".logdepth-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
