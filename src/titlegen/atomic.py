"""Atomic file writes: a failed or interrupted command never leaves a half-written file.

A crash, a power cut or ``kill -9`` leaves either the old file or the new one, complete: the new
one is written to a temporary file beside it, flushed to the disk, and only then renamed over it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from titlegen.errors import OutputError

TRIES = 100  # unique temporary names to try before giving up (tempfile's own limit is 10,000)
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
# Filesystems and systems on which a folder cannot be fsynced: nothing more can be done there.
_NO_FOLDER_SYNC = {errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EACCES, errno.EPERM}


@contextlib.contextmanager
def atomic_write(path: Path, mode: str = "w", **open_args: object) -> Iterator[IO]:
    """Open a temporary file beside ``path``; rename it over ``path`` only if the block succeeds.

    The temporary file is in the same folder, so the final rename is atomic on POSIX and Windows.
    It gets the permissions of any new file (0666 less the umask).
    """
    tmp, fd = _create_beside(path)
    try:
        try:
            handle = os.fdopen(fd, mode, **open_args)
        except BaseException:
            os.close(fd)
            raise
        with handle:
            yield handle
            _sync(handle, tmp)
        os.replace(tmp, path)
        _sync_folder(path.parent)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"Cannot write {path}: {error.strerror or error}.") from error
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _create_beside(path: Path) -> tuple[Path, int]:
    """A new, empty file with a unique name next to ``path``, and its descriptor.

    ``os.open`` with mode 0666 lets the kernel apply the umask, so it need not be read (reading
    it means setting it, which races with every other thread that creates files).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(TRIES):
            tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
            try:
                return tmp, os.open(tmp, _CREATE, 0o666)
            except FileExistsError:
                continue
        raise FileExistsError(errno.EEXIST, "no unused temporary file name")
    except OSError as error:
        raise OutputError(f"Cannot write {path}: {error.strerror or error}.") from error


def _sync(handle: IO, tmp: Path) -> None:
    """Flush ``handle`` to the disk, so the rename never publishes a file still in memory."""
    if handle.closed:  # the block closed it itself (some writers do): fsync by name
        fd = os.open(tmp, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return
    handle.flush()
    os.fsync(handle.fileno())


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); skipped where folders cannot be opened."""
    if os.name == "nt":
        return  # Windows cannot open a folder as a file; NTFS logs the rename itself
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as error:
        if error.errno in _NO_FOLDER_SYNC:
            return
        raise
    try:
        os.fsync(fd)
    except OSError as error:
        if error.errno not in _NO_FOLDER_SYNC:
            raise
    finally:
        os.close(fd)
