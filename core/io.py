"""Files written so that a crash or a full disk never leaves a half-written file looking whole."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

COPY_CHUNK = 1 << 20


class NotARegularFile(OSError):
    """A path that names a folder, a named pipe (FIFO), a device or a socket, not a file; the
    text says which ("a named pipe (FIFO)")."""


def open_regular_file(path: Path):
    """``path`` opened for reading in binary, if it is a regular file; else
    :class:`NotARegularFile` (a FIFO would block until a writer comes, ``/dev/zero`` never
    ends). Opened without blocking and checked on the open descriptor, so nothing can swap the
    file in between."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotARegularFile("a folder" if stat.S_ISDIR(mode) else
                                  "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else
                                  "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else
                                  "a socket" if stat.S_ISSOCK(mode) else "no regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def write_text_atomic(path: Path, text: str, private: bool = False) -> None:
    """Write text to a temporary file beside ``path``, flush it to disk, then rename it over;
    ``private``: readable by its owner only (0600)."""
    with _atomic_file(Path(path), "w", private) as fh:
        fh.write(text)


def open_atomic(path: Path, mode: str = "w"):
    """``with open_atomic(path) as fh``: write through a temporary file beside ``path`` that
    replaces it, synced, only when the block ends without an error (and is deleted otherwise)."""
    return _atomic_file(Path(path), mode)


def copy_file_atomic(source: Path, path: Path, length: int | None = None,
                     tail: str = "") -> int:
    """Copy ``source`` (its first ``length`` bytes, if given; then ``tail``) to ``path`` through
    a temporary file beside it, synced and then renamed over: ``path`` is whole or untouched.

    Returns the number of bytes written.
    """
    written = 0
    with _atomic_file(Path(path), "wb") as out, open(source, "rb") as src:
        left = length
        while left is None or left > 0:
            block = src.read(COPY_CHUNK if left is None else min(COPY_CHUNK, left))
            if not block:
                break
            out.write(block)
            written += len(block)
            if left is not None:
                left -= len(block)
        if tail:
            data = tail.encode("utf-8")
            out.write(data)
            written += len(data)
    return written


class _atomic_file:  # noqa: N801 (used as a context manager, like open())
    """``with _atomic_file(path, mode) as fh``: a temporary file that replaces ``path`` only
    when the block ends without an error (and is deleted otherwise)."""

    def __init__(self, path: Path, mode: str, private: bool = False):
        self.path, self.mode, self.private = path, mode, private

    def __enter__(self):
        fd, self.tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp",
                                        dir=self.path.parent or ".")
        try:
            if "b" in self.mode:
                self.fh = os.fdopen(fd, self.mode)
            else:
                self.fh = os.fdopen(fd, self.mode, encoding="utf-8", newline="")
        except BaseException:
            os.close(fd)
            _unlink(self.tmp)
            raise
        return self.fh

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.fh.flush()
                os.fsync(self.fh.fileno())
            self.fh.close()
            if exc_type is None:
                if not self.private:  # mkstemp's 0600 would surprise a user
                    umask = os.umask(0)
                    os.umask(umask)
                    os.chmod(self.tmp, 0o666 & ~umask)
                os.replace(self.tmp, self.path)
        except BaseException:
            _unlink(self.tmp)
            raise
        if exc_type is not None:
            _unlink(self.tmp)
        return False


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


__all__ = ["NotARegularFile", "copy_file_atomic", "open_atomic", "open_regular_file",
           "write_text_atomic"]
