"""The dataset section: which data, how many, how split, and a CSV file's column and preview.

The greyed "Classes" and "Inputs" fields still show the chosen data's own counts; a CSV file is
checked when it is chosen (a large one by the window, in the background).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from odeprop.core.config import DATASET_KINDS, TASKS, DatasetConfig
from odeprop.core.dataset_kinds import class_count, input_dimension
from odeprop.core.datasets import Dataset, DatasetError, csv_columns, csv_preview, load_dataset

from ..config_widgets import NumberEdit, flag
from ..tooltips import tip
from .section import ConfigSection, FieldReader

FIXED_DATA = ("xor", "encoder", "iris", "digits", "csv")
SETTABLE_CLASSES = ("blobs", "clusters")  # the kinds whose number of classes is a setting
NO_CLASSES = "—"  # the greyed "Classes" field of regression data (see _show_classes)
#: A CSV file up to this size is read whole when it is chosen (a bad row refuses it at once:
#: about a third of a second); a larger one is read by the window's background build.
PICK_CHECK_BYTES = 2_000_000


class DatasetSection(ConfigSection):
    """Edits a :class:`~odeprop.core.config.DatasetConfig`."""

    def __init__(self):
        super().__init__("Dataset", DatasetConfig())
        self.kind = QComboBox()
        self.kind.addItems(DATASET_KINDS)
        self.add("dataset.kind", "Data", self.kind, "kind")
        self.n_samples = QSpinBox()
        self.n_samples.setRange(4, 100_000)
        self.add("dataset.n_samples", "Samples", self.n_samples, "n_samples")
        self.noise = NumberEdit()
        self.add("dataset.noise", "Noise", self.noise, "noise")
        self.test_fraction = QDoubleSpinBox()
        self.test_fraction.setRange(0.0, 0.9)
        self.test_fraction.setSingleStep(0.05)
        self.add("dataset.test_fraction", "Test split", self.test_fraction, "test_fraction")
        self.data_seed = QSpinBox()
        self.data_seed.setRange(0, 2**31 - 1)
        self.add("dataset.seed", "Seed", self.data_seed, "seed")
        self.n_classes = QSpinBox()
        self.n_classes.setRange(2, 20)
        #: the blobs' and clusters' number of classes, kept while the field shows another kind's
        self._set_classes = self.base.n_classes
        #: a CSV file's classes (None: a regression target) once the window has read it, by
        #: (path, target column, task): what they were read for
        self._csv_classes: dict[tuple[str, str, str], int | None] = {}
        self.n_classes.valueChanged.connect(self._classes_edited)  # before edited() sees it
        self.add("dataset.n_classes", "Classes", self.n_classes, "n_classes")
        self.n_features = QSpinBox()
        self.n_features.setRange(1, 10_000)
        self.n_features.setSpecialValueText("?")  # shown at 0: a CSV file's count not known yet
        #: the clusters' input dimension, kept while the field shows another kind's own count
        self._clusters_features = self.base.n_features
        self._csv_columns: list[str] | None = None  # the chosen CSV file's, once read
        self.n_features.valueChanged.connect(self._features_edited)  # before edited() sees it
        self.add("dataset.n_features", "Inputs", self.n_features, "n_features")
        csv_row = QWidget()
        row = QHBoxLayout(csv_row)
        row.setContentsMargins(0, 0, 0, 0)
        self.csv_path = QLineEdit()
        self.csv_path.setReadOnly(True)
        self.csv_path.setPlaceholderText("no file chosen")
        self.csv_button = QPushButton("Open CSV…")
        self.csv_button.setToolTip(tip("csv"))
        self.csv_button.clicked.connect(self._choose_csv)
        row.addWidget(self.csv_path, 1)
        row.addWidget(self.csv_button)
        self.add("dataset.csv_path", "CSV file", csv_row, "csv")
        self.target_column = QComboBox()
        self.add("dataset.target_column", "Target column", self.target_column, "target_column")
        self.task = QComboBox()
        self.task.addItems(TASKS)
        self.add("dataset.task", "Task", self.task, "task")
        self.preview = QTableWidget(0, 0)
        self.preview.setMaximumHeight(130)
        self.preview.setToolTip("The first rows of the CSV file, as they are in the file.")
        self.form.addRow(self.preview)
        self.preview.hide()
        self.csv_error: str | None = None  # the CSV file cannot be read
        #: (name, message) of a target column the file lacks (an experiment asked for it)
        self.column_error: tuple[str, str] | None = None

    # -- value in and out --------------------------------------------------------------------
    def fill(self, d: DatasetConfig) -> None:
        self.kind.setCurrentText(d.kind)
        self.n_samples.setValue(d.n_samples)
        self.noise.set_value(d.noise)
        self.test_fraction.setValue(d.test_fraction)
        self.data_seed.setValue(d.seed)
        self._set_classes = d.n_classes
        self.n_classes.setValue(d.n_classes)
        self._clusters_features = d.n_features
        self.n_features.setValue(d.n_features)
        self.csv_path.setText(d.csv_path)
        self._load_columns(d.csv_path, d.target_column)
        self.task.setCurrentText(d.task)

    def build(self, reader: FieldReader) -> DatasetConfig | None:
        kind = self.kind.currentText()
        return reader.build(
            self.base, kind=kind, n_samples=self.n_samples.value(),
            noise=reader.number("dataset.noise", self.noise, self.base.noise),
            seed=self.data_seed.value(), test_fraction=round(self.test_fraction.value(), 4),
            n_classes=self.n_classes.value() if kind in SETTABLE_CLASSES else self._set_classes,
            n_features=self.n_features.value() if kind == "clusters" else self._clusters_features,
            csv_path=self.csv_path.text(), target_column=self.target_column.currentText(),
            task=self.task.currentText())

    def notices(self) -> dict[str, str]:
        """What is wrong with the CSV file: shown, not blocking (Start gives the reason)."""
        found = {}
        if self.kind.currentText() == "csv":
            if self.csv_error:
                found["dataset.csv_path"] = self.csv_error
            missing = self.column_error
            if missing and self.target_column.currentText() == missing[0]:
                found["dataset.target_column"] = missing[1]
        return found

    # -- what applies to the chosen data -----------------------------------------------------
    def refresh(self) -> None:
        """Grey what the chosen data do not use, saying why, and show their own counts."""
        kind = self.kind.currentText()
        inputs = self._show_inputs(kind)
        classes = self._show_classes(kind)
        csv = None if kind == "csv" else "Choose the 'csv' data kind first."
        self.grey({
            "dataset.n_samples": None if kind not in FIXED_DATA else
            f"'{kind}' is a fixed data set; its size is given.",
            "dataset.noise": None if kind not in FIXED_DATA else
            f"'{kind}' is a fixed data set; no noise is added.",
            "dataset.test_fraction": None if kind not in ("xor", "encoder") else
            f"'{kind}' has four patterns, all used for training.",
            "dataset.n_classes": None if kind in SETTABLE_CLASSES else
            _classes_reason(kind, classes)
            + "; only the 'blobs' and 'clusters' problems have a settable number of classes.",
            "dataset.n_features": None if kind == "clusters" else (
                f"'{kind}' data have {inputs} inputs" if inputs else
                "A CSV file has an input per column besides the target (choose the file "
                "first)") + "; only the 'clusters' problem has a settable input dimension.",
            "dataset.csv_path": csv, "dataset.target_column": csv, "dataset.task": csv,
        })
        self.preview.setVisible(kind == "csv" and self.preview.rowCount() > 0)

    def classes(self) -> int | str:
        """The chosen data's classes as far as the form knows: a count, "regression" or
        "unknown" (a CSV file not read yet)."""
        kind = self.kind.currentText()
        if kind in SETTABLE_CLASSES:
            return self._set_classes
        if kind == "csv":
            read = self._csv_classes.get(self._csv_key(), "unknown")
            return "regression" if read is None else read
        known = class_count(kind, self._set_classes)
        return "regression" if known is None else known

    def data_name(self) -> str:
        """The chosen data as a note names them: the CSV file's name, or the quoted kind."""
        kind = self.kind.currentText()
        return Path(self.csv_path.text()).name if kind == "csv" else f"'{kind}'"

    def learn_classes(self, cfg: DatasetConfig, data: Dataset | None) -> bool:
        """Keep the classes of the CSV data ``cfg`` describes, now that the window has read
        them (``data``; None: they could not be read); True when the form shows a CSV file, so
        they may change what applies. Other kinds' classes are known without the data."""
        if cfg.kind != "csv":
            return False
        key = (cfg.csv_path, cfg.target_column, cfg.task)
        if data is None:
            self._csv_classes.pop(key, None)
        else:
            self._csv_classes = {key: data.n_classes}  # only the latest file's: it may change
        return self.kind.currentText() == "csv"

    def _features_edited(self, value: int) -> None:
        if self.kind.currentText() == "clusters":  # the field is the clusters' setting then
            self._clusters_features = value

    def _classes_edited(self, value: int) -> None:
        if self.kind.currentText() in SETTABLE_CLASSES:  # the field is their setting then
            self._set_classes = value

    def _show_inputs(self, kind: str) -> int | None:
        """Show the data's own input count in the greyed "Inputs" field (or the clusters' setting
        when it is editable) and return it. A greyed field still tells the truth: a user reads
        it as "this data has N inputs", the width of the network's first layer, so it must not
        show the clusters' 784 for the two moons; it is shown rather than hidden so the form
        does not change shape with the kind. The clusters' value is kept apart and is what the
        experiment saves, so it comes back when the kind does."""
        if kind == "clusters":
            count = self._clusters_features
        else:
            columns = self._csv_columns
            target = self.target_column.currentText()
            count = input_dimension(kind, self._clusters_features,
                                    columns if columns and target in columns else None)
        self.n_features.blockSignals(True)
        self.n_features.setMinimum(1 if kind == "clusters" else 0)  # 0 shows as "?"
        self.n_features.setValue(count or 0)
        self.n_features.blockSignals(False)
        return count

    def _show_classes(self, kind: str) -> int | str:
        """Show the data's own number of classes in the greyed "Classes" field (or the blobs'
        and clusters' setting when it is editable) and return it: a count, "regression" or
        "unknown". As with "Inputs" (:meth:`_show_inputs`), a greyed field still tells the
        truth: two moons have 2 classes, not the blobs' 3. Regression data (sin, the encoder,
        a CSV file with a numeric target) have no classes at all, and a number there would
        read as one, so the field shows "—"; a CSV file not read yet shows "?" (its classes
        are the values in its target column, known once the window has loaded it)."""
        count = self.classes()
        box = self.n_classes
        box.blockSignals(True)
        if isinstance(count, int):
            box.setSpecialValueText("")
            box.setRange(2 if kind in SETTABLE_CLASSES else 0, max(20, count))
            box.setValue(count)
        else:
            box.setSpecialValueText(NO_CLASSES if count == "regression" else "?")
            box.setRange(0, 20)
            box.setValue(0)  # the minimum: shown as the special text
        box.blockSignals(False)
        return count

    # -- CSV ---------------------------------------------------------------------------------
    def _choose_csv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a CSV data file", "",
                                              "CSV files (*.csv *.txt);;All files (*)")
        if path:
            self.load_csv(path)

    def load_csv(self, path: str) -> str | None:
        """Use the CSV file at ``path``: fill the column picker and the preview.

        A file that cannot be read, or whose rows are bad (a cell that is not a number, a
        ragged row, one class only…), changes nothing (the value stays as it was); its
        message, naming the first bad row, is returned and shown under the CSV field. A file
        over :data:`PICK_CHECK_BYTES` is read whole in the background by the window instead
        (whose :attr:`csv_error` then says what is wrong with it).
        """
        try:
            columns = csv_columns(path)
            csv_preview(path, 1)
            if Path(path).expanduser().stat().st_size <= PICK_CHECK_BYTES:
                load_dataset(replace(self.base, kind="csv", csv_path=str(path),
                                     target_column=columns[-1], task=self.task.currentText(),
                                     test_fraction=round(self.test_fraction.value(), 4)))
        except ValueError as exc:  # DatasetError above all: the file and the row
            return self._refuse_csv(str(exc))
        except (OSError, MemoryError) as exc:
            why = "out of memory" if isinstance(exc, MemoryError) else exc.strerror or exc
            return self._refuse_csv(f"{Path(path).name}: cannot be read ({why})")
        self.kind.setCurrentText("csv")
        self.csv_path.setText(str(path))
        message = self._load_columns(str(path), None)
        self.edited()
        return message

    def _refuse_csv(self, message: str) -> str:
        flag(self.fields["dataset.csv_path"], message, tip("csv"))
        self.show_message("dataset.csv_path", message)
        return message

    def _load_columns(self, path: str, selected: str | None) -> str | None:
        self.target_column.blockSignals(True)
        self.column_error = None
        self.target_column.clear()
        self._csv_columns = None
        self.preview.clear()
        self.preview.setRowCount(0)
        message = None
        if path:
            try:
                columns = csv_columns(path)
                header, rows = csv_preview(path, 8)
            except DatasetError as exc:
                message = str(exc)
                if selected:  # kept: the value stays whole while its file is unreadable
                    self.target_column.addItem(selected)
            else:
                self.target_column.addItems(columns)
                self._csv_columns = columns
                if selected and selected not in columns:  # kept as asked, and said so
                    shown = ", ".join(columns[:20]) + (", …" if len(columns) > 20 else "")
                    self.column_error = (selected, f"{Path(path).name}: column {selected!r} "
                                                   f"not found; columns are: {shown}")
                    self.target_column.addItem(selected)
                self.target_column.setCurrentText(selected or columns[-1])
                self._show_preview(header, rows)
        self.target_column.blockSignals(False)
        self.csv_error = message
        return message

    def _show_preview(self, header: list[str], rows: list[list[str]]) -> None:
        self.preview.setColumnCount(len(header))
        self.preview.setHorizontalHeaderLabels(header)
        self.preview.setRowCount(len(rows))
        for i, cells in enumerate(rows):
            for j, cell in enumerate(cells[: len(header)]):
                self.preview.setItem(i, j, QTableWidgetItem(cell))
        self.preview.resizeColumnsToContents()

    def _csv_key(self) -> tuple[str, str, str]:
        return (self.csv_path.text(), self.target_column.currentText(), self.task.currentText())


def _classes_reason(kind: str, classes: int | str) -> str:
    """Why "Classes" is greyed, and what it shows (before "; only the 'blobs' …")."""
    if kind == "csv":
        if classes == "unknown":
            return ("A CSV file has a class per value in its target column (known once the "
                    "file is read)")
        if classes == "regression":
            return "This CSV file's target is a regression target: it has no classes"
        return f"This CSV file's target column holds {classes} classes"
    if classes == "regression":
        return f"'{kind}' is a regression problem: it has no classes"
    return f"'{kind}' data have {classes} classes"
