"""Writing user files so that a failed command never loses what was there."""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Callable, Sequence
from pathlib import Path

from logdepth.errors import LogdepthError

# Bits of a new file's mode before the umask, as `open()` and most tools create files.
NEW_FILE_MODE = 0o666


def _same_file(a: Path, b: str | Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # either side missing: they cannot be the same file
        return False


def _target(path: Path) -> Path:
    """Where a write to `path` lands: a symlink (or a chain, or a dangling one) is written
    through to its target, so the link and whatever shares the target keep seeing the file."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def refuse_inputs(
    path: str | Path,
    inputs: Sequence[str | Path],
    error: Callable[[str], LogdepthError] = LogdepthError,
) -> None:
    """Refuse an output `path` that is (or links to) one of the command's `inputs`: call it
    before the work, so that `compile spec.ld -o spec.ld` fails at once and keeps the spec."""
    target = _target(Path(path))
    for other in inputs:
        if _same_file(target, other):
            raise error(f"{path}: refusing to overwrite the input file {other}")


def atomic_write(
    path: str | Path,
    data: bytes,
    *,
    error: Callable[[str], LogdepthError] = LogdepthError,
) -> None:
    """Write `data` to a temporary file beside `path`, then rename it over `path`.

    The rename is atomic on POSIX: `path` holds either its old content or all of the new, and a
    failure (full disk, interrupt, SIGTERM once the CLI turns it into SystemExit) removes the
    temporary file and leaves `path` untouched. A symlink is written through; an existing file
    keeps its mode, a new one gets 0o666 less the umask. Errors are `error(message)` naming
    `path`, never the temporary file.
    """
    if not isinstance(path, str | os.PathLike):
        raise error(f"an output path must be a string or a path, not {path!r}")
    path = Path(path)
    target = _target(path)
    try:
        existing = os.stat(target)
    except FileNotFoundError:
        existing = None
    except NotADirectoryError as err:  # a file where the path needs a directory
        raise error(f"{path}: cannot write: {_why_no_new_file(target.parent, err)}") from None
    except OSError as err:
        raise error(f"{path}: cannot write: {err.strerror or err}") from None
    if existing is not None and stat.S_ISDIR(existing.st_mode):
        raise error(f"{path}: cannot write: it is a directory (give a file name)")
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        # Renaming over a device or FIFO would replace it, not write into it.
        raise error(f"{path}: cannot write: not a regular file")
    tmp = target.parent / f".{target.name}.{secrets.token_hex(4)}.logdepth.tmp"
    try:
        # os.open applies the umask to NEW_FILE_MODE (mkstemp would force 0o600).
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, NEW_FILE_MODE)
    except OSError as err:
        raise error(f"{path}: cannot write: {_why_no_new_file(target.parent, err)}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            if existing is not None:
                os.fchmod(f.fileno(), stat.S_IMODE(existing.st_mode))
            f.write(data)
        os.replace(tmp, target)
    except OSError as err:
        raise error(f"{path}: cannot write: {err.strerror or err}") from None
    finally:
        tmp.unlink(missing_ok=True)


def _why_no_new_file(directory: Path, err: OSError) -> str:
    """Why a file cannot be created in `directory`, said of the directory: the write goes to a
    new file beside the target, so the error is about the directory, not the target (creating
    in /proc says "No such file or directory" of a file that exists)."""
    where = str(directory) or "."
    if not os.path.lexists(directory):
        return f"the directory {where} does not exist"
    if not os.path.isdir(directory):
        return f"{where} is not a directory"
    if err.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied: no new files may be created in the directory {where}"
    if err.errno == errno.EROFS:
        return f"the directory {where} is on a read-only file system"
    if err.errno == errno.ENOSPC:
        return f"no space left on the device of {where}"
    if err.errno == errno.ENOENT:
        # ENOENT in a directory that exists: a pseudo file system (/proc, /sys) makes no files.
        return f"the directory {where} does not allow new files; write somewhere else"
    return f"cannot create a file in the directory {where} ({err.strerror or err})"


def read_user_text(path: Path, what: str, limit: int, error: Callable[[str], LogdepthError]) -> str:
    """The UTF-8 text of a user's input file, refusing before reading: a missing file, a
    directory, a FIFO or device (/dev/zero never ends, a FIFO blocks), a file over `limit`
    bytes, and bytes that are not UTF-8 (no content is quoted: it may not be ours to show)."""
    try:
        st = os.stat(path)
    except OSError as err:
        raise error(f"cannot read {what}: {err.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise error(f"cannot read {what}: it is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise error(f"cannot read {what}: not a regular file")
    if st.st_size > limit:
        raise error(f"cannot read {what}: {st.st_size:,} bytes is over the limit of {limit:,}")
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as err:
        raise error(f"cannot read {what}: {err.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise error(f"cannot read {what}: not UTF-8 text (byte {err.start})") from None
    return text.removeprefix("\ufeff")  # a UTF-8 byte-order mark is not part of the text
