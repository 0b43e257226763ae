"""Paths that are not regular files, and a guard for code that might block on them."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def fifo(folder: Path, name: str) -> Path:
    """A named pipe with no writer: opening it to read blocks until one comes."""
    path = Path(folder) / name
    os.mkfifo(path)
    return path


def not_regular(folder: Path, kind: str, suffix: str) -> tuple[Path, str]:
    """A FIFO (``kind = "fifo"``) or ``/dev/zero`` (endless), and the words for it."""
    if kind == "fifo":
        return fifo(folder, f"pipe{suffix}"), "a named pipe (FIFO)"
    return Path("/dev/zero"), "a device"


def refusal_within(call, seconds: float = 10.0) -> str:
    """The message of the ``ValueError`` that ``call()`` raises, asserting it comes within
    ``seconds`` (a FIFO blocked forever; ``/dev/zero`` filled the memory)."""
    result = {}

    def attempt():
        try:
            call()
        except ValueError as exc:
            result["message"] = str(exc)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), "it blocks"
    return result["message"]
