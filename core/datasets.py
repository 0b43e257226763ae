"""Datasets: toy problems drawn from a seed, two classics shipped with the package, and user CSVs.

:func:`load_dataset` turns a :class:`~odeprop.core.config.DatasetConfig` into a :class:`Dataset`
split into train and test (stratified by class, every class kept in train) and standardised with
the training split's statistics only. Bad user data raises :class:`DatasetError`, a ``ValueError``
whose one-line message names the file and the row and/or column at fault.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TextIO

import numpy as np

from .budget import MAX_CLASSES
from .config import DatasetConfig
from .dataset_kinds import input_dimension
from .io import NotARegularFile, open_regular_file

MAX_CSV_BYTES = 200_000_000  # 200 MB
MAX_CSV_ROWS = 1_000_000
MAX_LINE_CHARS = 4_000_000  # a line (the header too) longer than this is refused, unread
AUTO_MAX_CLASSES = 20  # "auto": an integer target with at most this many values is a class label
_CHUNK_ROWS = 10_000  # CSV rows converted to numbers at a time
_SHIPPED = {  # kind: (file in odeprop.resources.datasets, target column, label)
    "iris": ("iris.csv", "species", "iris (150 flowers, 4 measurements, 3 species)"),
    "digits": ("digits.csv.gz", "digit", "digits (1797 8×8 images, 10 classes)"),
}


class DatasetError(ValueError):
    """Bad user data (a CSV file); the message names the file and the row and/or column."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """Train and test arrays in model space (standardised), with the names that go with them.

    Classification targets are ``int64`` labels ``0..C-1`` of shape ``(n,)``; regression targets
    are ``float64`` of shape ``(n, k)``. The arrays are read-only copies (an array given already
    read-only and owning its memory is kept without a copy: :func:`load_dataset` hands over its
    own).
    """

    name: str
    task: str  # "classification" or "regression"
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int | None  # None for regression
    feature_names: tuple[str, ...]
    target_names: tuple[str, ...]  # class names (C) or output names (k)
    mean: np.ndarray  # (d,) offset subtracted from raw inputs
    scale: np.ndarray  # (d,) divisor applied after the offset; 1 for constant columns

    def __post_init__(self):
        if self.task not in ("classification", "regression"):
            raise ValueError(f"task must be 'classification' or 'regression', got {self.task!r}")
        classify = self.task == "classification"
        y_dtype = np.int64 if classify else np.float64
        arrays = {
            "X_train": _frozen(self.X_train, np.float64, ndmin=2),
            "X_test": _frozen(self.X_test, np.float64),
            "y_train": _frozen(self.y_train, y_dtype),
            "y_test": _frozen(self.y_test, y_dtype),
            "mean": _frozen(self.mean, np.float64),
            "scale": _frozen(self.scale, np.float64),
        }
        d = arrays["X_train"].shape[1]
        arrays["X_test"] = arrays["X_test"].reshape(-1, d)
        if not classify:
            for key in ("y_train", "y_test"):
                if arrays[key].ndim == 1:
                    arrays[key] = arrays[key].reshape(-1, 1)
            arrays["y_test"] = arrays["y_test"].reshape(-1, arrays["y_train"].shape[1])
        for key, value in arrays.items():
            value.setflags(write=False)
            object.__setattr__(self, key, value)
        object.__setattr__(self, "feature_names", tuple(self.feature_names))
        object.__setattr__(self, "target_names", tuple(self.target_names))
        for split in ("train", "test"):
            n_x, n_y = len(arrays[f"X_{split}"]), len(arrays[f"y_{split}"])
            if n_x != n_y:
                raise ValueError(f"X_{split} has {n_x} rows but y_{split} has {n_y}")
        if arrays["mean"].shape != (d,) or arrays["scale"].shape != (d,):
            raise ValueError(f"mean and scale must have shape ({d},)")
        if len(self.feature_names) != d:
            raise ValueError(f"{len(self.feature_names)} feature names for {d} features")
        if classify:
            if not isinstance(self.n_classes, int) or self.n_classes < 1:
                raise ValueError(f"classification needs n_classes, got {self.n_classes!r}")
            for split in ("train", "test"):
                y = arrays[f"y_{split}"]
                if y.ndim != 1 or (y.size and (y.min() < 0 or y.max() >= self.n_classes)):
                    raise ValueError(f"y_{split} must hold labels 0..{self.n_classes - 1}")
        elif self.n_classes is not None:
            raise ValueError("a regression dataset has n_classes None")
        if len(self.target_names) != self.n_outputs:
            raise ValueError(f"{len(self.target_names)} target names for {self.n_outputs} outputs")

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    @property
    def n_outputs(self) -> int:
        """Classes for classification (C), output columns for regression (k)."""
        return self.n_classes if self.task == "classification" else self.y_train.shape[1]

    @property
    def n_train(self) -> int:
        return self.X_train.shape[0]

    @property
    def n_test(self) -> int:
        return self.X_test.shape[0]

    @property
    def bounds(self) -> np.ndarray:
        """``(d, 2)`` minimum and maximum of each feature over train and test, in model space."""
        both = np.concatenate([self.X_train, self.X_test])
        return np.column_stack([both.min(axis=0), both.max(axis=0)])

    def transform(self, X_raw) -> np.ndarray:
        """Raw inputs ``(..., d)`` standardised as the training data was: ``(X - mean) / scale``."""
        X = np.asarray(X_raw, dtype=np.float64)
        if X.ndim == 0 or X.shape[-1] != self.n_features:
            raise ValueError(f"expected inputs with {self.n_features} features in the last axis, "
                             f"got shape {X.shape}")
        return (X - self.mean) / self.scale


def _frozen(value, dtype, ndmin: int = 0) -> np.ndarray:
    """``value`` as an array nobody else can write: kept as it is when it already is one (read-only
    and owning its memory, as :func:`_assemble` makes them), else copied."""
    if (isinstance(value, np.ndarray) and value.dtype == dtype and value.ndim >= ndmin
            and value.base is None and not value.flags.writeable):
        return value
    return np.array(value, dtype=dtype, ndmin=ndmin)


def load_dataset(cfg: DatasetConfig) -> Dataset:
    """Build the dataset ``cfg`` describes, the same for the same ``cfg.seed``.

    Toy problems draw ``n_samples`` points with Gaussian noise of standard deviation ``noise``;
    ``xor`` and ``encoder`` are fixed four-pattern problems, all training data (``n_samples``,
    ``noise`` and ``test_fraction`` ignored). ``iris`` (150 × 4, 3 classes) and ``digits``
    (1797 × 64, 10 classes) are read from files shipped in ``odeprop.resources.datasets`` and
    ignore ``n_samples`` and ``noise``. Everything else is split by ``test_fraction`` with a
    seeded shuffle (per class for classification, keeping every class in train) and, when
    ``standardize``, standardised with the training split's mean and standard deviation.

    ``csv`` reads ``csv_path``, a UTF-8 CSV file with a header row. Every column but
    ``target_column`` is a numeric feature. ``task`` is ``"classification"``, ``"regression"``
    or ``"auto"``: a target that is not numeric, or holds at most :data:`AUTO_MAX_CLASSES`
    distinct integers, is a class label; otherwise it is regressed on. Labels may be text; the
    sorted distinct labels (numerically when all are numbers) become classes ``0..C-1`` and keep
    their text as class names. Cells are stripped of spaces and blank rows skipped; a header with
    no comma but a ``;`` or a tab sets that separator.

    Raises
    ------
    DatasetError
        For bad CSV data, naming the file and the row and/or column. Rows are numbered as in a
        spreadsheet: the header is row 1, the first data row is row 2. Refused: a missing,
        unreadable, empty or non-UTF-8 file; no data rows; a missing target column; a ragged
        row; an empty, non-numeric, NaN or infinite cell; a single class; fewer than 4 rows; a
        class with fewer than 2 rows when ``test_fraction`` > 0; no feature columns; a file over
        200 MB or 1,000,000 rows. Also for ``blobs`` with fewer than 2 samples per blob.
    """
    try:
        return _load(cfg)
    except MemoryError:  # past the budget's estimate (other processes took the memory)
        if cfg.kind == "csv":
            raise DatasetError(f"dataset.csv_path: this machine ran out of memory reading "
                               f"{Path(cfg.csv_path).name}; use a smaller file") from None
        d = input_dimension(cfg.kind, cfg.n_features)
        raise DatasetError(f"dataset.n_samples: this machine ran out of memory building "
                           f"{cfg.kind} data of {cfg.n_samples:,} samples × {d:,} features; "
                           "use fewer samples or features") from None


def _load(cfg: DatasetConfig) -> Dataset:
    rng = np.random.default_rng(cfg.seed)
    if cfg.kind in ("xor", "encoder"):
        return _assemble(_FIXED[cfg.kind](), cfg, rng, test_fraction=0.0)
    # The unsplit data go straight into _assemble, which then holds their only reference and
    # lets them go once split (784-D clusters: 25 MB that need not outlive the split).
    if cfg.kind in _SHIPPED:
        return _assemble(_load_shipped(cfg.kind), cfg, rng, test_fraction=cfg.test_fraction)
    if cfg.kind == "csv":
        return _assemble(_read_csv(cfg.csv_path, cfg.target_column, cfg.task, cfg.test_fraction),
                         cfg, rng, test_fraction=cfg.test_fraction)
    return _assemble(_GENERATORS[cfg.kind](cfg, rng), cfg, rng, test_fraction=cfg.test_fraction)


# -- assembling: split and standardise -----------------------------------------------------------
@dataclass(frozen=True)
class _Raw:
    """Unsplit, unstandardised data as a generator or reader makes it."""

    name: str
    task: str
    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    target_names: tuple[str, ...]
    source: str = ""  # the file, for messages about its columns (else the name)


def _assemble(raw: _Raw, cfg: DatasetConfig, rng: np.random.Generator,
              test_fraction: float) -> Dataset:
    """Split and standardise ``raw`` with one copy of the data: the split's (fancy indexing
    copies), standardised in place and handed to :class:`Dataset` read-only, which keeps them
    as they are. ``raw`` is let go once split (callers pass it without keeping a reference)."""
    classify = raw.task == "classification"
    n_classes = len(raw.target_names) if classify else None
    train, test = _split(raw.y if classify else None, len(raw.X), test_fraction, rng, n_classes)
    X = np.asarray(raw.X, dtype=np.float64)  # no copy: the readers and generators make float64
    X_train, X_test = X[train], X[test]
    y_train, y_test = raw.y[train], raw.y[test]
    d = X.shape[1]
    name, task, features, targets = raw.name, raw.task, raw.feature_names, raw.target_names
    source = raw.source or name
    del X, raw  # the unsplit data go now, before std() takes its temporary copy of X_train
    if cfg.standardize:
        with np.errstate(over="ignore", invalid="ignore"):
            mean = X_train.mean(axis=0)
            # A constant column (exactly, not up to rounding in the mean) keeps scale 1.
            scale = np.where(np.ptp(X_train, axis=0) > 0, X_train.std(axis=0), 1.0)
    else:
        mean, scale = np.zeros(d), np.ones(d)
    bad = np.flatnonzero(~(np.isfinite(mean) & np.isfinite(scale) & (scale > 0)))
    if bad.size:  # |x| beyond ~1e154 overflows the spread: every feature would become NaN
        j = int(bad[0])
        biggest = float(np.abs(X_train[:, j]).max())
        raise DatasetError(f"{source}: column {features[j]!r} holds values as large as "
                           f"{biggest:.3g}, too large to standardise (its mean or spread "
                           "overflows); rescale the column, e.g. into other units")
    with np.errstate(over="ignore", invalid="ignore"):
        for split in (X_train, X_test):  # the same operations as (X - mean) / scale, in place
            split -= mean
            split /= scale
    for split, part in ((X_train, "training"), (X_test, "test")):
        columns = np.flatnonzero(~np.isfinite(split).all(axis=0)) if split.size else ()
        if len(columns):  # a test row far outside the training rows' spread overflows
            j = int(columns[0])
            raise DatasetError(f"{source}: column {features[j]!r} holds a value in the {part} "
                               "rows too far from the training rows' spread to standardise "
                               "(it would become infinite); rescale the column or remove the "
                               "outlier")
    for array in (X_train, X_test, y_train, y_test, mean, scale):
        array.setflags(write=False)
    return Dataset(
        name=name, task=task, X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test,
        n_classes=n_classes, feature_names=features, target_names=targets,
        mean=mean, scale=scale,
    )


def _split(labels: np.ndarray | None, n: int, fraction: float, rng: np.random.Generator,
           n_classes: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled train and test indices; with labels, per class, and never a class's last row."""
    if labels is None:
        order = rng.permutation(n)
        k = min(_round(fraction * n), n - 1)
        return order[k:], order[:k]
    train, test = [], []
    for c in range(n_classes):
        members = rng.permutation(np.flatnonzero(labels == c))
        k = min(_round(fraction * members.size), max(members.size - 1, 0))
        test.append(members[:k])
        train.append(members[k:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def _round(x: float) -> int:
    return int(math.floor(x + 0.5))


# -- toy problems --------------------------------------------------------------------------------
_XY = ("x1", "x2")


def _noisy(X: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    return X + noise * rng.standard_normal(X.shape)


def _about(cfg: DatasetConfig) -> str:
    return f"{cfg.n_samples} points, noise {cfg.noise:g}"


def _moons(cfg, rng) -> _Raw:
    """Two interleaving half circles, as scikit-learn's ``make_moons``."""
    n_upper = cfg.n_samples // 2
    a = np.linspace(0, np.pi, n_upper)
    b = np.linspace(0, np.pi, cfg.n_samples - n_upper)
    X = np.concatenate([np.column_stack([np.cos(a), np.sin(a)]),
                        np.column_stack([1 - np.cos(b), 0.5 - np.sin(b)])])
    y = np.repeat([0, 1], [a.size, b.size])
    return _Raw(f"two moons ({_about(cfg)})", "classification", _noisy(X, cfg.noise, rng), y,
                _XY, ("upper moon", "lower moon"))


def _circles(cfg, rng) -> _Raw:
    """A circle of radius 1 around one of radius 0.5, as scikit-learn's ``make_circles``."""
    n_outer = cfg.n_samples // 2
    a = np.linspace(0, 2 * np.pi, n_outer, endpoint=False)
    b = np.linspace(0, 2 * np.pi, cfg.n_samples - n_outer, endpoint=False)
    X = np.concatenate([np.column_stack([np.cos(a), np.sin(a)]),
                        0.5 * np.column_stack([np.cos(b), np.sin(b)])])
    y = np.repeat([0, 1], [a.size, b.size])
    return _Raw(f"circles ({_about(cfg)})", "classification", _noisy(X, cfg.noise, rng), y,
                _XY, ("outer circle", "inner circle"))


def _xor_quadrants(cfg, rng) -> _Raw:
    """Uniform points in [-1, 1]², label 1 where x·y < 0 (before the jitter); classes balanced."""
    n = cfg.n_samples
    y = rng.permutation(np.arange(n) % 2)
    X = rng.uniform(-1, 1, (n, 2))
    wrong = (X[:, 0] * X[:, 1] < 0) != (y == 1)
    X[wrong, 0] *= -1  # mirror into a quadrant of the drawn label: still uniform there
    return _Raw(f"XOR quadrants ({_about(cfg)})", "classification", _noisy(X, cfg.noise, rng),
                y, _XY, ("same signs", "opposite signs"))


def _blobs(cfg, rng) -> _Raw:
    """``n_classes`` Gaussian blobs (sd 0.5 + noise) centred evenly on a circle of radius 3."""
    C, n = cfg.n_classes, cfg.n_samples
    if n < 2 * C:
        raise DatasetError(f"dataset.n_samples: {C} blobs need at least {2 * C} samples, got {n}")
    angles = 2 * np.pi * np.arange(C) / C
    centres = 3 * np.column_stack([np.cos(angles), np.sin(angles)])
    y = np.arange(n) % C
    X = centres[y] + (0.5 + cfg.noise) * rng.standard_normal((n, 2))
    return _Raw(f"{C} blobs ({_about(cfg)})", "classification", X, y, _XY,
                tuple(f"blob {c}" for c in range(C)))


def _spirals(cfg, rng) -> _Raw:
    """The two-spirals benchmark (Lang & Witbrock 1988): three turns each, radius 6.5 to 0.5."""
    n_first = cfg.n_samples // 2
    i = np.linspace(0, 96, n_first)
    j = np.linspace(0, 96, cfg.n_samples - n_first)
    first = 6.5 * (104 - i)[:, None] / 104 * np.column_stack([np.cos(i * np.pi / 16),
                                                               np.sin(i * np.pi / 16)])
    second = -6.5 * (104 - j)[:, None] / 104 * np.column_stack([np.cos(j * np.pi / 16),
                                                                np.sin(j * np.pi / 16)])
    X = np.concatenate([first, second])
    y = np.repeat([0, 1], [i.size, j.size])
    return _Raw(f"two spirals ({_about(cfg)})", "classification", _noisy(X, cfg.noise, rng),
                y, _XY, ("spiral A", "spiral B"))


def _sin(cfg, rng) -> _Raw:
    """Regression: x uniform in [0, 1], y = sin(2πx) + noise·N(0, 1)."""
    x = rng.uniform(0, 1, cfg.n_samples)
    y = np.sin(2 * np.pi * x) + cfg.noise * rng.standard_normal(x.size)
    return _Raw(f"sin(2πx) ({_about(cfg)})", "regression", x[:, None], y[:, None],
                ("x",), ("sin(2πx)",))


def _xor() -> _Raw:
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    return _Raw("XOR (4 points)", "classification", X, np.array([0, 1, 1, 0]), _XY, ("0", "1"))


def _encoder() -> _Raw:
    """The 4-2-4 encoder: reproduce each one-hot input at the output."""
    eye = np.eye(4)
    return _Raw("4-2-4 encoder (4 patterns)", "regression", eye, eye.copy(),
                tuple(f"in{i}" for i in range(1, 5)), tuple(f"out{i}" for i in range(1, 5)))


def _clusters(cfg, rng) -> _Raw:
    """Gaussian clusters in ``n_features`` dimensions (784 by default, an MNIST-sized input):
    ``n_classes`` centres about 11 apart, unit noise plus ``noise``; for training big networks."""
    C, d, n = cfg.n_classes, cfg.n_features, cfg.n_samples
    centres = rng.standard_normal((C, d)) * (8.0 / np.sqrt(d))
    y = np.arange(n) % C
    # centres[y] + (1 + noise)·N(0, 1), built in the one (n, d) array the draw makes: the rows
    # of class c are every C-th from row c, a strided view (no (n, d) temporaries).
    X = rng.standard_normal((n, d))
    X *= 1.0 + cfg.noise
    for c in range(C):
        X[c::C] += centres[c]
    return _Raw(f"{C} clusters in {d} dimensions ({_about(cfg)})", "classification", X, y,
                tuple(f"x{i + 1}" for i in range(d)), tuple(f"cluster {c}" for c in range(C)))


_GENERATORS = {"moons": _moons, "circles": _circles, "xor_quadrants": _xor_quadrants,
               "blobs": _blobs, "spirals": _spirals, "sin": _sin, "clusters": _clusters}
_FIXED = {"xor": _xor, "encoder": _encoder}


@cache
def _load_shipped(kind: str) -> _Raw:
    """A shipped classic, parsed once per process (callers only read it)."""
    filename, target, label = _SHIPPED[kind]
    with resources.files("odeprop.resources.datasets").joinpath(filename).open("rb") as binary:
        stream = gzip.GzipFile(fileobj=binary) if filename.endswith(".gz") else binary
        with io.TextIOWrapper(stream, encoding="utf-8", newline="") as text:
            raw = _read_table(text, filename, target, "classification", 0.0)
    raw.X.setflags(write=False)
    raw.y.setflags(write=False)
    return _Raw(label, raw.task, raw.X, raw.y, raw.feature_names, raw.target_names)


# -- CSV files -----------------------------------------------------------------------------------
def _read_csv(path: str | Path, target_column: str, task: str, test_fraction: float) -> _Raw:
    """A user's CSV file as unsplit data (rules in :func:`load_dataset`)."""
    path = Path(path).expanduser()
    with _open_csv(path) as stream:
        raw = _read_table(stream, path.name, target_column.strip(), task, test_fraction)
    n = len(raw.X)
    return _Raw(f"{path.name} ({n} rows, target '{target_column.strip()}')", raw.task, raw.X,
                raw.y, raw.feature_names, raw.target_names, path.name)


def csv_columns(path: str | Path) -> list[str]:
    """The header's column names (blank names read as ``column N``), for a column picker."""
    path = Path(path).expanduser()
    with _open_csv(path) as stream:
        return _header(_records(stream, path.name), path.name)


def csv_preview(path: str | Path, n_rows: int = 10) -> tuple[list[str], list[list[str]]]:
    """The header and the first ``n_rows`` non-blank rows as (stripped) text, as they are."""
    path = Path(path).expanduser()
    with _open_csv(path) as stream:
        records = _records(stream, path.name)
        header = _header(records, path.name)
        rows = [cells for _, cells in itertools.islice(records, max(n_rows, 0))]
    return header, rows


def _open_csv(path: Path) -> TextIO:
    """The file as text, if it is a regular file of at most :data:`MAX_CSV_BYTES` (a FIFO
    would block, ``/dev/zero`` never end)."""
    try:
        binary = open_regular_file(path)
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except NotARegularFile as exc:
        raise DatasetError(f"{path}: is {exc}, not a CSV file") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    size = os.fstat(binary.fileno()).st_size
    if size > MAX_CSV_BYTES:
        binary.close()
        raise DatasetError(f"{path.name}: the file is {size / 1e6:.1f} MB; "
                           f"files over {MAX_CSV_BYTES / 1e6:g} MB are refused")
    return io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")


def _lines(stream: TextIO, label: str, nul: list) -> Iterator[str]:
    """The stream's lines, each read at most :data:`MAX_LINE_CHARS` at a time (a file with no
    line break is refused, not read whole); ``nul[0]`` turns true at a line holding a NUL."""
    number = 0
    while line := stream.readline(MAX_LINE_CHARS):
        number += 1
        if len(line) == MAX_LINE_CHARS and not line.endswith(("\n", "\r")):
            raise DatasetError(f"{label}: line {number} is longer than "
                               f"{MAX_LINE_CHARS / 1e6:g} million characters; is it a CSV file?")
        if "\0" in line:
            nul[0] = True
        yield line


def _records(stream: TextIO, label: str) -> Iterator[tuple[int, list[str]]]:
    """Yield (spreadsheet row number, stripped cells) for each non-blank row, header first."""
    number, nul, names = 0, [False], None
    try:
        lines = _lines(stream, label, nul)
        head = []  # lines up to the header, which tells the separator
        for line in lines:
            head.append(line)
            if line.strip():
                break
        header = head[-1] if head else ""
        delimiter = next((sep for sep in ",;\t" if sep in header), ",")
        reader = csv.reader(itertools.chain(head, lines), delimiter=delimiter)
        for number, cells in enumerate(reader, start=1):
            cells = [cell.strip() for cell in cells]
            if nul[0]:  # numpy's text arrays would drop it silently
                j = next((j for j, cell in enumerate(cells) if "\0" in cell), None)
                if j is not None:
                    name = repr(names[j]) if names and j < len(names) else str(j + 1)
                    raise DatasetError(f"{label}: row {number}, column {name}: a NUL character "
                                       "(\\0) in the cell; is it a binary file?")
            if any(cells):
                names = names or cells
                yield number, cells
    except UnicodeDecodeError:
        raise DatasetError(f"{label}: not UTF-8 text; save it as a UTF-8 CSV file") from None
    except csv.Error as exc:
        raise DatasetError(f"{label}: row {number + 1}: not valid CSV ({exc})") from None


def _header(records: Iterator[tuple[int, list[str]]], label: str) -> list[str]:
    first = next(records, None)
    if first is None:
        raise DatasetError(f"{label}: the file is empty")
    names = [name or f"column {j}" for j, name in enumerate(first[1], start=1)]
    seen = {}
    for j, name in enumerate(names, start=1):
        if name in seen:
            raise DatasetError(f"{label}: column {name!r} appears twice in the header "
                               f"(columns {seen[name]} and {j})")
        seen[name] = j
    return names


def _read_table(stream: TextIO, label: str, target: str, task: str,
                test_fraction: float) -> _Raw:
    records = _records(stream, label)
    header = _header(records, label)
    if target not in header:
        more = f", … ({len(header)} columns)" if len(header) > 20 else ""
        shown = ", ".join(header[:20]) + more
        raise DatasetError(f"{label}: column {target!r} not found; columns are: {shown}")
    t = header.index(target)
    feature_cols = [j for j in range(len(header)) if j != t]
    if not feature_cols:
        raise DatasetError(f"{label}: no feature columns; the file has only the target column "
                           f"{target!r}")
    features, targets, numbers = [], [], []
    for chunk in _chunks(records, len(header), label):
        rows = np.array([number for number, _ in chunk])
        cells = np.array([row for _, row in chunk], dtype=str)
        values, bad = _parse(cells[:, feature_cols], rows, [header[j] for j in feature_cols],
                             feature_cols, label)
        # the first bad row of the chunk, be it in a feature or in the target
        bad = min(filter(None, (bad, _bad_target(cells[:, t], rows, target, t, task, label))),
                  key=lambda found: found[0], default=None)
        if bad is not None:
            raise bad[1]
        features.append(values)
        targets.append(cells[:, t])
        numbers.append(rows)
    if not numbers:
        raise DatasetError(f"{label}: no data rows, only a header")
    X, numbers, target_cells = map(np.concatenate, (features, numbers, targets))
    if len(X) < 4:
        raise DatasetError(f"{label}: {len(X)} data rows; at least 4 are needed")
    y, task, class_names = _target(target_cells, numbers, target, task, label)
    if task == "classification":
        counts = np.bincount(y, minlength=len(class_names))
        if len(class_names) < 2:
            raise DatasetError(f"{label}: column {target!r} has a single class "
                               f"{class_names[0]!r}; classification needs at least 2")
        if test_fraction > 0 and counts.min() < 2:
            c = int(np.argmin(counts))
            raise DatasetError(f"{label}: class {class_names[c]!r} of column {target!r} has only "
                               f"{counts[c]} row; each class needs at least 2 to split into "
                               "train and test (or set the test fraction to 0)")
    return _Raw(label, task, X, y, tuple(header[j] for j in feature_cols),
                class_names if task == "classification" else (target,))


def _chunks(records, width: int, label: str) -> Iterator[list[tuple[int, list[str]]]]:
    """Data rows in lists of at most ``_CHUNK_ROWS``, refusing ragged rows and too many rows."""
    chunk, count = [], 0
    for number, cells in records:
        if len(cells) != width:
            if chunk:  # the rows before it are checked first: the message names the first
                yield chunk
            raise DatasetError(f"{label}: row {number} has {len(cells)} cells, "
                               f"the header has {width}")
        count += 1
        if count > MAX_CSV_ROWS:
            raise DatasetError(f"{label}: more than {MAX_CSV_ROWS:,} data rows; "
                               "larger files are refused")
        chunk.append((number, cells))
        if len(chunk) == _CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _numbers(cells: np.ndarray, rows: np.ndarray, names: list[str], label: str,
             what: str = "") -> np.ndarray:
    """Cells as finite floats, or a DatasetError for the first bad cell in reading order."""
    values, bad = _parse(cells, rows, names, range(len(names)), label, what)
    if bad is not None:
        raise bad[1]
    return values


def _parse(cells: np.ndarray, rows: np.ndarray, names: list[str], positions, label: str,
           what: str = "") -> tuple[np.ndarray | None, tuple | None]:
    """(cells as finite floats, None), or (None, ((row, column position), DatasetError)) for
    the first bad cell in reading order (``positions``: the columns' places in the file)."""
    try:
        values = cells.astype(np.float64)
        if np.isfinite(values).all():
            return values, None
    except ValueError:
        pass
    for (i, j), cell in np.ndenumerate(cells):
        text = str(cell)
        where = f"{label}: row {rows[i]}, column {names[j]!r}"
        if not text:
            error = DatasetError(f"{where}: empty cell")
        else:
            try:
                value = float(text)
            except ValueError:
                error = DatasetError(f"{where}: {text!r} is not a number{what}")
            else:
                if math.isfinite(value):
                    continue
                error = DatasetError(f"{where}: {text!r} is not a finite number{what}")
        return None, ((int(rows[i]), positions[j]), error)
    raise AssertionError("unreachable: a cell failed to convert but none is bad")


def _bad_target(cells: np.ndarray, rows: np.ndarray, name: str, position: int, task: str,
                label: str) -> tuple | None:
    """The first target cell that is bad whatever the other rows hold (empty; not a finite
    number for a regression), as :func:`_parse` gives it, or None."""
    if task == "regression":
        hint = " (a regression target must be numeric)"
        return _parse(cells[:, None], rows, [name], [position], label, hint)[1]
    empty = np.flatnonzero(cells == "")
    if not empty.size:
        return None
    row = int(rows[empty[0]])
    return (row, position), DatasetError(f"{label}: row {row}, column {name!r}: empty cell")


def _few_classes(count: int, name: str, label: str) -> None:
    if count > MAX_CLASSES:
        raise DatasetError(f"dataset.target_column: column {name!r} of {label} holds {count:,} "
                           f"distinct labels; classification is limited to {MAX_CLASSES:,} "
                           "classes. Is it an identifier? Choose the label column (or task = "
                           "\"regression\" for a numeric target)")


def _target(cells: np.ndarray, rows: np.ndarray, name: str, task: str,
            label: str) -> tuple[np.ndarray, str, tuple[str, ...]]:
    """Labels 0..C-1 with class names, or a (n, 1) regression target; resolves task "auto"."""
    try:
        values = cells.astype(np.float64)
    except ValueError:
        values = None
    if task == "auto":
        if values is None:
            task = "classification"
        else:
            values = _numbers(cells[:, None], rows, [name], label)[:, 0]
            distinct = np.unique(values)
            integral = bool(np.all(distinct == np.round(distinct)))
            small = distinct.size <= AUTO_MAX_CLASSES
            task = "classification" if integral and small else "regression"
    if task == "regression":
        hint = " (a regression target must be numeric)"
        return _numbers(cells[:, None], rows, [name], label, hint), task, (name,)
    if values is None:
        names, y = np.unique(cells, return_inverse=True)
        _few_classes(len(names), name, label)
        return y.astype(np.int64), task, tuple(str(s) for s in names)
    values = _numbers(cells[:, None], rows, [name], label)[:, 0]
    distinct, y = np.unique(values, return_inverse=True)
    _few_classes(len(distinct), name, label)
    names = tuple(str(int(v)) if v == round(v) else repr(float(v)) for v in distinct)
    return y.astype(np.int64), task, names
