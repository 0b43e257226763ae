"""Every snapshot on disk as it arrives: the full record of a run, and what survives a crash.

A :class:`SnapshotRecorder` appends batches to a CSV file (the format of
:func:`~odeprop.core.snapshot.snapshots_to_csv`) beside a small JSON description, flushing each
batch and syncing to disk at most once a second: a crash of the window loses at most the last
second. The lab keeps only decimated columns in memory and exports from this file, so memory stays
bounded however long a run streams. :func:`read_recording` loads a record back; the lab offers
unfinished ones (:func:`unfinished_recordings`) on its next start.
"""

from __future__ import annotations

import csv
import json
import os
import time
import typing
from dataclasses import fields
from pathlib import Path

from .snapshot import Snapshot

SYNC_SECONDS = 1.0
_MARKER = ".meta.json"


def recovery_dir() -> Path:
    """Where the lab records runs: $ODEPROP_RECOVERY_DIR, else the user's data folder."""
    env = os.environ.get("ODEPROP_RECOVERY_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                           "share")
    return Path(base) / "odeprop" / "recovery"


class SnapshotRecorder:
    """Appends snapshots to ``<folder>/<name>.csv``; ``close(finished=True)`` marks it complete."""

    def __init__(self, folder: Path, name: str, experiment_toml: str, label: str = ""):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / f"{name}.csv"
        self.meta_path = self.folder / f"{name}{_MARKER}"
        self._file = open(self.path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        self._writer = csv.writer(self._file, lineterminator="\n")
        self._writer.writerow(Snapshot.field_names())
        self._last_sync = time.monotonic()
        self.count = 0
        self._meta = {"label": label, "started": time.time(), "finished": False,
                      "experiment": experiment_toml}
        self._write_meta()

    def _write_meta(self) -> None:
        from .io import write_text_atomic

        write_text_atomic(self.meta_path, json.dumps(self._meta))

    def append(self, snapshots) -> None:
        for snap in snapshots:
            self._writer.writerow(snap.as_row())
        self.count += len(snapshots)
        self._file.flush()
        now = time.monotonic()
        if now - self._last_sync >= SYNC_SECONDS:
            os.fsync(self._file.fileno())
            self._last_sync = now

    def close(self, finished: bool = True) -> None:
        """Sync and close; a finished record is no longer offered for recovery."""
        if self._file.closed:
            return
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._meta["finished"] = finished
        self._write_meta()

    def discard(self) -> None:
        """Close and delete the record (a run the user reset before it produced anything)."""
        self.close(finished=True)
        for path in (self.path, self.meta_path):
            path.unlink(missing_ok=True)


def _parser(tp):
    options = [a for a in typing.get_args(tp) if a is not type(None)] or [tp]
    base = options[0]
    if base is int:
        return int
    if base is float:
        return float
    return str


_PARSERS = {f.name: _parser(typing.get_type_hints(Snapshot)[f.name]) for f in fields(Snapshot)}


def read_recording(path: Path) -> list[Snapshot]:
    """The snapshots of a recorded CSV; a torn last line (a crash mid-write) is dropped."""
    snapshots = []
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header != Snapshot.field_names():
            raise ValueError(f"{path}: not an odeprop snapshot record (unexpected header)")
        for row in reader:
            if len(row) != len(header):
                break  # the last line was being written when the program died
            try:
                values = {name: (None if cell == "" and name != "message" else
                                 _PARSERS[name](cell)) for name, cell in zip(header, row,
                                                                            strict=True)}
            except ValueError:
                break
            snapshots.append(Snapshot(**values))
    return snapshots


def unfinished_recordings(folder: Path | None = None) -> list[tuple[Path, dict]]:
    """Records whose run never closed them (the window crashed), newest first."""
    folder = folder or recovery_dir()
    found = []
    for meta_path in Path(folder).glob(f"*{_MARKER}"):
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        csv_path = meta_path.with_name(meta_path.name[:-len(_MARKER)] + ".csv")
        if not meta.get("finished") and csv_path.exists():
            found.append((csv_path, meta))
    return sorted(found, key=lambda item: item[1].get("started", 0), reverse=True)


def forget(csv_path: Path) -> None:
    """Remove a record and its description (after the user declined or reopened it)."""
    csv_path = Path(csv_path)
    csv_path.unlink(missing_ok=True)
    csv_path.with_name(csv_path.stem + _MARKER).unlink(missing_ok=True)
