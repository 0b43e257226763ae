"""Every snapshot on disk as it arrives: the full record of a run, and what survives a crash.

A :class:`SnapshotRecorder` appends batches to a CSV file (the format of
:func:`~odeprop.core.snapshot.snapshots_to_csv`) beside a small JSON description. Each batch is
handed to the operating system as it arrives (a crash of the program loses nothing written) and
synced to disk at most once a second (a crash of the machine loses at most the last second). The
lab keeps only decimated columns in memory and exports from this file, so memory stays bounded
however long a run streams. :func:`read_recording` loads a record back; the lab offers
unfinished ones (:func:`unfinished_recordings`) on its next start.

A write the disk refuses ends the record there: its description then says so (``cut_short``:
the step the record stops before, and why), written in place when the disk has no room for a
new file (the description keeps spare room for it), so a record reopened after a crash can say
it is shorter than the run was.

A record is *unfinished* until its owner closes it with ``finished=True`` (the user exported the
run or disposed of it) or deletes it (:meth:`SnapshotRecorder.discard`); a record whose run ended
but was never exported is still offered after a crash.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import time
import typing
import weakref
from dataclasses import fields
from pathlib import Path

from .snapshot import Snapshot

SYNC_SECONDS = 1.0
#: Spare room (spaces, which JSON allows) at the end of a record's description: a note that the
#: record was cut short still fits in place when the disk is full.
META_ROOM = 256
_MARKER = ".meta.json"
#: The run's θ at a cadence (:mod:`odeprop.core.theta_record`) beside its record, deleted with it.
THETA_SUFFIX = ".theta"
_NAMES = Snapshot.field_names()
_HEADER = (",".join(_NAMES) + "\n").encode("utf-8")
#: Recorders alive in this process: their records are in use, never offered for recovery.
_LIVE: weakref.WeakSet = weakref.WeakSet()
_COUNTER = itertools.count(1)


def recovery_dir() -> Path:
    """Where the lab records runs: $ODEPROP_RECOVERY_DIR, else the user's data folder."""
    env = os.environ.get("ODEPROP_RECOVERY_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                           "share")
    return Path(base) / "odeprop" / "recovery"


def private_folder(folder: Path) -> None:
    """Create ``folder`` readable by its owner only (0700), or make it so if it exists and is
    ours: records hold the user's experiments and data, not for other users of the machine."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.name == "posix":
        st = folder.stat()
        if st.st_uid == os.getuid() and st.st_mode & 0o077:
            folder.chmod(0o700)


def new_record_name(prefix: str = "run") -> str:
    """A record name unique to this process and moment: ``run-20250101-120000-<pid>-<n>``."""
    return f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{next(_COUNTER)}"


class SnapshotRecorder:
    """Appends snapshots to ``<folder>/<name>.csv``; ``close(finished=True)`` marks it complete.

    ``meta`` adds fields to the JSON description (e.g. the run's status when it ended). A write
    that fails (a full disk) is undone, so the file keeps whole rows only; :attr:`error` then
    says why and later appends are refused.
    """

    def __init__(self, folder: Path, name: str, experiment_toml: str, label: str = "",
                 **meta):
        self.folder = Path(folder)
        private_folder(self.folder)
        self.path = self.folder / f"{name}.csv"
        self.meta_path = self.folder / f"{name}{_MARKER}"
        self.count = 0
        self.error: str | None = None
        self._meta = {"label": label, "started": time.time(), "finished": False,
                      "experiment": experiment_toml, "pid": os.getpid(), **meta}
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the user's only
        self._file = os.fdopen(fd, "wb", buffering=0)  # closed by close()
        try:
            _write_all(self._file.fileno(), _HEADER)
            self._write_meta()
        except BaseException:
            self._file.close()
            self.path.unlink(missing_ok=True)
            raise
        self.size = len(_HEADER)  # bytes of whole rows in the file
        self._last_sync = time.monotonic()
        _LIVE.add(self)

    @classmethod
    def adopt(cls, csv_path: Path) -> SnapshotRecorder:
        """Take over a record a crashed process left (to reopen it without copying it): this
        process now owns it; :meth:`settle` then cuts off its torn tail."""
        self = cls.__new__(cls)
        self.path = Path(csv_path)
        self.folder = self.path.parent
        self.meta_path = self.path.with_name(self.path.stem + _MARKER)
        self._meta = dict(read_meta(self.path), pid=os.getpid(), finished=False)
        self._file = open(self.path, "r+b", buffering=0)  # noqa: SIM115 (closed by close())
        self.size = self._file.seek(0, os.SEEK_END)
        self.count = 0
        self.error = None
        self._last_sync = time.monotonic()
        try:
            self._write_meta()
        except BaseException:
            self._file.close()
            raise
        _LIVE.add(self)
        return self

    def settle(self, size: int, count: int) -> None:
        """The record's sound part is its first ``size`` bytes, ``count`` rows: cut off the
        rest (a torn last line); exports copy only that part whatever happens."""
        self.size, self.count = size, count
        if not self.closed:
            try:
                os.ftruncate(self._file.fileno(), size)
                self._file.seek(size)
            except OSError:
                pass

    @property
    def closed(self) -> bool:
        return self._file.closed

    @property
    def meta(self) -> dict:
        return dict(self._meta)

    def _write_meta(self) -> None:
        from .io import write_text_atomic

        write_text_atomic(self.meta_path, json.dumps(self._meta) + " " * META_ROOM,
                          private=True)

    def _note_cut_short(self, step: int, reason: str) -> None:
        """The record ends before ``step`` because of ``reason``: say so in the description,
        in place (in its spare room) if no new file can be written."""
        self._meta["cut_short"] = {"step": step, "reason": reason}
        try:
            self._write_meta()
            return
        except OSError:
            pass
        text = json.dumps(self._meta).encode("utf-8")
        try:
            with open(self.meta_path, "r+b") as fh:
                room = fh.seek(0, os.SEEK_END)
                if len(text) <= room:
                    fh.seek(0)
                    fh.write(text.ljust(room))
                    fh.flush()
                    os.fsync(fh.fileno())
        except OSError:
            pass  # the description keeps its last state

    def append(self, snapshots) -> None:
        """Write a batch as whole rows; ``OSError`` (and nothing written) if the disk refuses."""
        if self.closed:
            raise ValueError(f"{self.path.name}: the record is closed")
        if self.error is not None:
            raise OSError(f"{self.path.name}: recording stopped earlier: {self.error}")
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerows(["" if v is None else v for v in map(snap.__getattribute__, _NAMES)]
                         for snap in snapshots)
        data = buf.getvalue().encode("utf-8")
        fd = self._file.fileno()
        try:
            _write_all(fd, data)
        except OSError as exc:
            try:
                os.ftruncate(fd, self.size)  # no torn row left behind
            except OSError:
                pass
            self.error = exc.strerror or str(exc)
            self._note_cut_short(snapshots[0].step if snapshots else self.count, self.error)
            raise
        self.size += len(data)
        self.count += len(snapshots)
        now = time.monotonic()
        if now - self._last_sync >= SYNC_SECONDS:
            os.fsync(fd)
            self._last_sync = now

    def update(self, **meta) -> None:
        """Change fields of the description (written at once, atomically)."""
        self._meta.update(meta)
        self._write_meta()

    def close(self, finished: bool = True, **meta) -> None:
        """Sync and close the data; a finished record is no longer offered for recovery."""
        if not self.closed:
            try:
                os.fsync(self._file.fileno())
            finally:
                self._file.close()
        self._meta.update(meta, finished=finished)
        self._write_meta()

    def release(self) -> None:
        """Close the record and give it up unfinished (its owner neither exported nor
        discarded it): it is offered for recovery again."""
        self.close(finished=False)
        _LIVE.discard(self)

    def copy_to(self, path: Path, tail: str = "") -> int:
        """Every whole row recorded so far (then ``tail``, CSV rows without a header) into
        ``path``, atomically: a failure leaves no file that looks complete. Returns the bytes."""
        from .io import copy_file_atomic

        return copy_file_atomic(self.path, path, length=self.size, tail=tail)

    def discard(self) -> None:
        """Close and delete the record (the user reset the run or closed the window)."""
        if not self.closed:
            self._file.close()
        _LIVE.discard(self)
        for path in (self.path, self.meta_path, self.path.with_suffix(THETA_SUFFIX)):
            path.unlink(missing_ok=True)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def rows_csv(snapshots) -> str:
    """Snapshots as CSV rows without the header (the tail of an export)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerows(["" if v is None else v for v in map(snap.__getattribute__, _NAMES)]
                     for snap in snapshots)
    return buf.getvalue()


def _parser(tp):
    options = [a for a in typing.get_args(tp) if a is not type(None)] or [tp]
    base = options[0]
    if base is int:
        return int
    if base is float:
        return float
    return str


_PARSERS = {f.name: _parser(typing.get_type_hints(Snapshot)[f.name]) for f in fields(Snapshot)}


class RecordReader:
    """A record's snapshots in lists of up to ``chunk``, parsed column by column (a million
    rows in seconds); a torn or damaged tail (a crash mid-write) ends the record.

    ``every=k`` parses only every k-th row and the last one (the others are checked for their
    number of cells only): what a thinned plot of a long record needs, several times faster.
    While it iterates, :attr:`rows` counts the sound rows read and :attr:`size` is their length
    in bytes with the header: the part of the file that is sound.
    """

    def __init__(self, path: Path, chunk: int = 10_000, every: int = 1):
        self.path = Path(path)
        self.chunk = max(1, chunk)
        self.every = max(1, every)
        self.rows = 0
        self.size = 0

    def __iter__(self):
        with open(self.path, "rb") as fh:
            end = [0]

            def lines():
                for raw in fh:
                    end[0] += len(raw)
                    yield raw.decode("utf-8")

            reader = csv.reader(lines())
            try:
                header = next(reader, None)
            except (csv.Error, UnicodeDecodeError):
                header = None
            if header != _NAMES:
                raise ValueError(f"{self.path}: not an odeprop snapshot record (unexpected "
                                 "header)")
            self.size = end[0]
            width, every = len(_NAMES), self.every
            index, before = 0, end[0]  # rows seen; where the current row starts
            kept: list[tuple[list[str], int, int]] = []  # (cells, index, start in bytes)
            last = None  # the newest row not kept, kept at the end
            done = False
            while not done:
                try:
                    for row in reader:
                        if len(row) != width:
                            done = True
                            break
                        if index % every == 0:
                            kept.append((row, index, before))
                            last = None
                        else:
                            last = (row, index, before)
                        index, before = index + 1, end[0]
                        if len(kept) == self.chunk:
                            break
                    else:
                        done = True
                except (csv.Error, UnicodeDecodeError):  # a torn quoted field, a cut character
                    done = True
                if done and last is not None:
                    kept.append(last)
                snaps = _parse([cells for cells, _, _ in kept])
                if len(snaps) < len(kept):  # a damaged row: the record ends before it
                    _, self.rows, self.size = kept[len(snaps)]
                    done = True
                else:
                    self.rows, self.size = index, before
                kept = []
                if snaps:
                    yield snaps


def _parse(rows: list[list[str]]) -> list[Snapshot]:
    """Rows as snapshots, column by column; at a damaged row, the rows before it."""
    if not rows:
        return []
    try:
        columns = []
        for cells, name in zip(zip(*rows, strict=True), _NAMES, strict=True):
            parse = _PARSERS[name]
            if parse is str:
                columns.append(cells if name == "message" else [c or None for c in cells])
            elif "" in cells:
                columns.append([parse(c) if c else None for c in cells])
            else:
                columns.append(list(map(parse, cells)))
        return [_snapshot(values) for values in zip(*columns, strict=True)]
    except ValueError:  # find the damaged row: the ones before it are sound
        good = []
        for row in rows:
            try:
                good.extend(_parse_one(row))
            except ValueError:
                break
        return good


def _snapshot(values) -> Snapshot:
    """A Snapshot from values in field order, without the frozen dataclass's ``__init__``
    (35 guarded attribute writes: most of the time of reading a record); the same object."""
    snap = _NEW(Snapshot)
    snap.__dict__.update(zip(_NAMES, values, strict=True))
    return snap


_NEW = object.__new__


def _parse_one(row: list[str]) -> list[Snapshot]:
    values = [None if cell == "" and name != "message" else _PARSERS[name](cell)
              for cell, name in zip(row, _NAMES, strict=True)]
    return [Snapshot(*values)]


def iter_recording(path: Path):
    """The snapshots of a recorded CSV one by one (a long record need not fit in memory); a
    torn last line (a crash mid-write) is dropped."""
    for chunk in RecordReader(path):
        yield from chunk


def read_recording(path: Path) -> list[Snapshot]:
    """The snapshots of a recorded CSV; a torn last line (a crash mid-write) is dropped."""
    return list(iter_recording(path))


def read_meta(csv_path: Path) -> dict:
    """The JSON description beside a record (``ValueError`` if missing or unreadable)."""
    meta_path = Path(csv_path).with_name(Path(csv_path).stem + _MARKER)
    try:
        return json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{meta_path.name}: cannot read the record's description ({exc})") \
            from None


def unfinished_recordings(folder: Path | None = None) -> list[tuple[Path, dict]]:
    """Records whose run never closed them (the window crashed), newest first.

    Records in use are left out: those of a recorder alive in this process, and those written
    by another process that is still running (a second lab window). A crashed process's id
    that the system gave to a new process hides its records until that process ends.
    """
    folder = Path(folder or recovery_dir())
    in_use = {r.meta_path for r in list(_LIVE)}
    found = []
    for meta_path in folder.glob(f"*{_MARKER}"):
        if meta_path in in_use:
            continue
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(meta, dict) or meta.get("finished"):
            continue
        pid = meta.get("pid")
        if isinstance(pid, int) and pid != os.getpid() and _process_alive(pid):
            continue
        csv_path = meta_path.with_name(meta_path.name[:-len(_MARKER)] + ".csv")
        if csv_path.exists():
            found.append((csv_path, meta))
    return sorted(found, key=lambda item: item[1].get("started", 0), reverse=True)


def _process_alive(pid: int) -> bool:
    if os.name != "posix":
        return False  # (os.kill would end the process on Windows)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def forget(csv_path: Path) -> None:
    """Remove a record and its description (after the user declined or reopened it)."""
    csv_path = Path(csv_path)
    csv_path.unlink(missing_ok=True)
    csv_path.with_name(csv_path.stem + _MARKER).unlink(missing_ok=True)
    csv_path.with_suffix(THETA_SUFFIX).unlink(missing_ok=True)
