"""File ▸ Open sweep results…: a folder written by `odeprop sweep` shows its summary and plots."""

import sys
from pathlib import Path

import pytest

pytest.importorskip("pyarrow")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "core"))

from odeprop.core.sweep import Sweep  # noqa: E402
from odeprop.core.sweep_cell import run_cell  # noqa: E402
from odeprop.core.sweep_results import ResultsStore  # noqa: E402
from odeprop.core.sweep_summary import (  # noqa: E402
    cluster_final_weights,
    summarize_sweep,
    write_plots,
)
from odeprop.gui.sweeps.results_window import SweepResultsWindow  # noqa: E402

from sweep_documents import XOR_PROBLEM, solver_method  # noqa: E402

DOCUMENT = ('name = "two seeds"\n' + XOR_PROBLEM
            + '[axes]\n"network.init_seed" = [0, 1]\n[[targets]]\nkind = "rms"\nvalue = 0.05\n'
            + solver_method("GD", "gd", learning_rate=5.0)
            + solver_method("BDF", "BDF", rtol=1e-2, atol=1e-2))


@pytest.fixture
def results(tmp_path):
    """A results folder as `odeprop sweep` leaves it, made here without Dask."""
    sweep = Sweep.from_toml(DOCUMENT)
    store = ResultsStore(tmp_path, sweep)
    store.start(sweep, resume=False)
    for cell in sweep.cells():
        store.add(run_cell(sweep, cell))
    clusters = cluster_final_weights(sweep, store.weights(sweep))
    store.finish(clusters)
    rows = store.rows()
    write_plots(summarize_sweep(sweep, rows, clusters), rows, tmp_path)
    return tmp_path


def test_the_window_shows_the_summary_and_the_plots(qtbot, results):
    window = SweepResultsWindow(results)
    qtbot.addWidget(window)
    text = window.summary.toPlainText()
    assert "two seeds" in text and "4 of 4 runs" in text
    assert "Cost to RMS error ≤ 0.05" in text
    print(window.markdown)
    assert "| GD | 2 | — | — |" in window.markdown  # two seeds: two minima (clusters read back)
    assert "| BDF | 2 | 0% | — |" in window.markdown  # the flow's minimum, not GD's at η 5
    titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert titles == ["Summary", "Cost per configuration", "Success rate"]
    window.show()
    window.grab().save(str(results / "window.png"))


def test_a_folder_that_is_not_a_sweep_says_so(qtbot, tmp_path):
    window = SweepResultsWindow(tmp_path)
    qtbot.addWidget(window)
    assert window.summary.toPlainText() == (
        f"Cannot open these results: {tmp_path}: not a sweep's results folder (no sweep.toml)")
    assert window.tabs.count() == 1


def test_the_lab_has_the_menu_entry(qtbot):
    from odeprop.gui.lab.main_window import MainWindow

    window = MainWindow(persist=False)
    qtbot.addWidget(window)
    texts = [a.text() for a in window.menuBar().actions()[0].menu().actions()]
    assert "Open s&weep results…" in texts
