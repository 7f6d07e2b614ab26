"""Writing files safely: writable places checked up front, and atomic writes (beside the target, then renamed)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from fst.errors import FstError


def check_writable(path: str | Path, option: str) -> None:
    """One-line error, before any work, when ``path`` could not be written: no folder can be made for it, or the
    nearest existing folder is not writable."""
    path = Path(path).expanduser()
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise FstError(f"{option}: cannot write {path}: {folder} is a file, not a folder; choose another {option}=")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise FstError(f"{option}: cannot write {path}: {folder} is not writable; choose another {option}=")


@contextlib.contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path in the target's folder; on success rename it to ``path``.

    The rename is atomic on POSIX, so readers see the old file or the complete new one, never half.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:  # a read-only disk or folder, a file where a folder should be, a full disk
        raise FstError(f"cannot write {path}: {exc.strerror or exc}") from None
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
