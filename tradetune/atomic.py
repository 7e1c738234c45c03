"""Write files and directories so that a reader never sees half of one.

Everything goes to a temporary sibling first and is renamed into place: an interrupted run
(a killed pod, a full disk) leaves the old file or nothing, never a truncated one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def make_readable(path: Path) -> None:
    """Give a path the permissions a normal create would (mkstemp/mkdtemp make them private)."""
    os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~_umask())


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same directory and a rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        make_readable(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def temp_dir_for(dst: Path) -> Path:
    """A fresh private directory next to `dst`, to be filled and then passed to `replace_dir`."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", dir=dst.parent))
    make_readable(tmp)
    return tmp


def replace_dir(tmp: Path, dst: Path) -> None:
    """Move a filled temporary directory to `dst`, replacing what was there."""
    for child in tmp.rglob("*"):
        make_readable(child)
    if dst.exists():
        old = dst.with_name(f".{dst.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(dst, old)
        os.replace(tmp, dst)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, dst)
