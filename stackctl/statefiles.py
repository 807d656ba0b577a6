"""Files under `.stackctl/`: written owner-only (0600, folders 0700), created without following a
link planted in their place, replaced atomically. They can hold release records, audit entries,
incidents and caches: nobody else on the host needs to read them."""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    if path.is_symlink():
        raise OSError(f"{path} is a link: refusing to write state through it")
    os.chmod(path, DIR_MODE)


def write_private(path: Path, text: str) -> None:
    """Replace `path` with `text` atomically: a new temporary file (O_EXCL, O_NOFOLLOW), renamed."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def append_private(path: Path, text: str) -> None:
    """Append to `path`, creating it owner-only; never through a link."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, FILE_MODE)
    with os.fdopen(fd, "a") as f:
        f.write(text)
