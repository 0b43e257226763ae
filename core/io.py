"""Files written so that a crash or a full disk never leaves a half-written file looking whole."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

COPY_CHUNK = 1 << 20


def write_text_atomic(path: Path, text: str) -> None:
    """Write text to a temporary file beside ``path``, flush it to disk, then rename it over."""
    with _atomic_file(Path(path), "w") as fh:
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

    def __init__(self, path: Path, mode: str):
        self.path, self.mode = path, mode

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
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(self.tmp, 0o666 & ~umask)  # mkstemp's 0600 would surprise a user
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


__all__ = ["copy_file_atomic", "open_atomic", "write_text_atomic"]
