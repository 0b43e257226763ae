"""A sweep's results folder: rows written as they arrive, read back for ``--resume`` and the
summary.

While a sweep runs, each row is appended to ``results.csv`` (flushed) and rows are written in
small Parquet files under ``results.parts/`` (each through a temporary file and a rename, so a
killed client leaves only whole files). The Parquet parts are the truth ``--resume`` trusts; at the
end :meth:`ResultsStore.finish` writes the whole table, with each run's final-weights cluster, as
``results.parquet`` and ``results.csv``. Needs pyarrow (the ``sweep`` extra).
"""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .sweep import Sweep, axis_value_text
from .sweep_cell import RUN_COLUMNS, TARGET_COSTS, target_key

#: A part is written after this many rows or seconds, whichever comes first.
PART_ROWS = 200
PART_SECONDS = 2.0

_RUN_TYPES = {"status": pa.string(), "message": pa.string(), "indefinite": pa.bool_(),
              **{name: pa.int64() for name in ("n_params", "steps", "grads", "hvp", "hess",
                                                 "jac_evals", "lu_decomps", "rejected",
                                                 "newton_failures")}}


def table_schema(sweep: Sweep) -> pa.Schema:
    """The results table's columns and types, fixed by the sweep (every part has them)."""
    columns = [("cell", pa.int64()), ("configuration", pa.string()),
               ("method_label", pa.string()), ("method", pa.string()), ("repeat", pa.int64())]
    for axis in sweep.axes:
        columns.append((axis.name, _axis_type([axis_value_text(v) for v in axis.values])))
    columns += [(name, _RUN_TYPES.get(name, pa.float64())) for name in RUN_COLUMNS]
    for target in sweep.targets:
        key = target_key(target)
        columns.append((f"{key}_reached", pa.bool_()))
        columns += [(f"{key}_{c}", pa.float64() if c == "wall" else pa.int64())
                    for c in TARGET_COSTS]
    columns += [("theta", pa.list_(pa.float64())), ("cluster", pa.int64())]
    return pa.schema(columns)


def _axis_type(values) -> pa.DataType:
    if all(isinstance(v, bool) for v in values):
        return pa.bool_()
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return pa.int64()
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return pa.float64()
    return pa.string()


class ResultsStore:
    """The results folder of one sweep: append rows, know which cells are done, finish."""

    def __init__(self, out: Path, sweep: Sweep):
        self.out = Path(out)
        self.schema = table_schema(sweep)
        self.csv_columns = [n for n in self.schema.names if n != "theta"]
        self.parts = self.out / "results.parts"
        self._pending: list[dict] = []
        self._last_flush = time.monotonic()
        self._csv = None

    # -- starting --------------------------------------------------------------------------
    def check(self, sweep: Sweep, resume: bool) -> None:
        """Refuse a folder that does not suit (before anything starts, nothing written)."""
        text = sweep.to_toml()
        saved = self.out / "sweep.toml"
        if self.out.exists() and not self.out.is_dir():
            raise ValueError(f"--out {self.out}: a file, not a folder; choose a folder")
        if resume:
            if not saved.exists():
                raise ValueError(f"--resume: {self.out} holds no sweep (no sweep.toml); "
                                 "run it without --resume first")
            if saved.read_text(encoding="utf-8") != text:
                raise ValueError(f"--resume: {saved} is a different sweep; resume with the same "
                                 "document, or choose another --out folder")
        elif saved.exists() or self.parts.exists():
            raise ValueError(f"--out {self.out}: already holds a sweep's results; add --resume "
                             "to finish it, or choose another folder")

    def start(self, sweep: Sweep, resume: bool) -> set[int]:
        """Prepare the folder; with ``resume`` keep the rows there and return their cells."""
        self.check(sweep, resume)
        self.out.mkdir(parents=True, exist_ok=True)
        self.parts.mkdir(exist_ok=True)
        from .io import write_text_atomic

        write_text_atomic(self.out / "sweep.toml", sweep.to_toml())
        rows = self.rows() if resume else []
        self._write_csv_header(rows)
        return {row["cell"] for row in rows}

    def _write_csv_header(self, rows) -> None:
        """Begin ``results.csv`` afresh from the kept rows (a killed client may have left rows
        in it that never reached a part; the parts decide)."""
        self._csv = open(self.out / "results.csv", "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._writer = csv.writer(self._csv, lineterminator="\n")
        self._writer.writerow(self.csv_columns)
        for row in rows:
            self._writer.writerow(_csv_row(row, self.csv_columns))
        self._csv.flush()

    # -- while running ---------------------------------------------------------------------
    def add(self, row: dict) -> None:
        """One finished run: a CSV line now, a Parquet part soon."""
        self._writer.writerow(_csv_row(row, self.csv_columns))
        self._csv.flush()
        self._pending.append(row)
        if (len(self._pending) >= PART_ROWS
                or time.monotonic() - self._last_flush >= PART_SECONDS):
            self.flush()

    def flush(self) -> None:
        """Write the rows not yet in a part as one more part."""
        self._last_flush = time.monotonic()
        if not self._pending:
            return
        table = pa.Table.from_pylist(self._pending, schema=self.schema)
        number = len(list(self.parts.glob("part-*.parquet")))
        path = self.parts / f"part-{number:06d}.parquet"
        tmp = path.with_suffix(".tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, path)
        self._pending = []

    def close(self) -> None:
        self.flush()
        if self._csv is not None:
            self._csv.close()
            self._csv = None

    # -- reading and finishing -------------------------------------------------------------
    def table(self, columns: list[str] | None = None) -> pa.Table:
        """Every row added so far (``columns`` only, if given), in cell order."""
        self.flush()
        files = sorted(self.parts.glob("part-*.parquet"))
        if not files:
            names = columns or self.schema.names
            return pa.schema([self.schema.field(n) for n in names]).empty_table()
        tables = [pq.read_table(f, columns=columns) for f in files]
        return pa.concat_tables(tables).sort_by("cell")

    def rows(self, with_theta: bool = False) -> list[dict]:
        """Every row so far as dicts; without the final weights unless asked."""
        names = None if with_theta else [n for n in self.schema.names if n != "theta"]
        return self.table(names).to_pylist()

    def weights(self, sweep: Sweep) -> list[dict]:
        """What clustering needs: cell, status, the dataset/network axes and θ."""
        names = ["cell", "status", "theta",
                 *(a.name for a in sweep.axes if a.section in ("dataset", "network"))]
        return self.table(names).to_pylist()

    def finish(self, clusters: dict[int, int]) -> pa.Table:
        """The whole table with each run's cluster, as results.parquet and results.csv."""
        self.close()
        table = self.table()
        cells = table.column("cell").to_pylist()
        cluster = pa.array([clusters.get(c) for c in cells], pa.int64())
        table = table.set_column(table.schema.get_field_index("cluster"), "cluster", cluster)
        tmp = self.out / "results.parquet.tmp"
        pq.write_table(table, tmp)
        os.replace(tmp, self.out / "results.parquet")
        rows = table.drop_columns(["theta"]).to_pylist()
        tmp_csv = self.out / "results.csv.tmp"
        with open(tmp_csv, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(self.csv_columns)
            for row in rows:
                writer.writerow(_csv_row(row, self.csv_columns))
        os.replace(tmp_csv, self.out / "results.csv")
        return table


def _csv_row(row: dict, columns: list[str]) -> list:
    out = []
    for name in columns:
        value = row.get(name)
        if value is None:
            out.append("")
        elif isinstance(value, float):
            out.append(repr(value))
        elif isinstance(value, list | tuple):
            out.append(json.dumps(value))
        else:
            out.append(value)
    return out


def read_results_folder(folder: str | Path):
    """A sweep's results folder as (sweep, rows without θ, cell → cluster): the finished table
    if there is one, else the rows written so far (no clusters yet)."""
    folder = Path(folder)
    saved = folder / "sweep.toml"
    if not saved.is_file():
        raise ValueError(f"{folder}: not a sweep's results folder (no sweep.toml)")
    sweep = Sweep.load(saved)
    store = ResultsStore(folder, sweep)
    names = [n for n in store.schema.names if n != "theta"]
    whole = folder / "results.parquet"
    table = pq.read_table(whole, columns=names) if whole.is_file() else store.table(names)
    rows = table.to_pylist()
    clusters = {r["cell"]: r["cluster"] for r in rows if r["cluster"] is not None}
    return sweep, rows, clusters
