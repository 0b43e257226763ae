"""What odeprop writes stays whole and private: a label with ``|`` or a line break keeps the
Markdown summary a table, and the recovery folder and its records are the user's alone."""

from __future__ import annotations

import re
import stat

from odeprop.core.comparison import Comparison, RunSpec, Target
from odeprop.core.comparison_runner import RunResult
from odeprop.core.config import SolverConfig
from odeprop.core.recording import SnapshotRecorder, new_record_name
from odeprop.core.summary import summarize


def test_labels_with_pipes_and_line_breaks_keep_the_markdown_summary_a_table():
    labels = ["GD | fast", "two\nlines", "plain"]
    comparison = Comparison(
        name="hostile labels", targets=(Target("loss", 0.1),),
        runs=tuple(RunSpec(label, SolverConfig(method="gd")) for label in labels))
    results = [RunResult(i, label, comparison.targets) for i, label in enumerate(labels)]
    table, _, distances = summarize(comparison, results).to_markdown().split("\n\n")
    for block in (table, distances):
        lines = block.splitlines()
        cells = [len(re.findall(r"(?<!\\)\|", line)) for line in lines]
        assert len(set(cells)) == 1, lines  # every line has as many columns as the heading
    assert table.splitlines()[2].startswith(r"| GD \| fast | gd |")
    assert "| two lines | gd |" in table


def test_the_recording_folder_and_its_records_are_private(tmp_path):
    folder = tmp_path / "odeprop" / "recovery"
    recorder = SnapshotRecorder(folder, new_record_name(), "[stop]\n", "private")
    recorder.close(finished=False)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in (recorder.path, recorder.meta_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_an_existing_recording_folder_open_to_others_is_made_private(tmp_path):
    folder = tmp_path / "recovery"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    SnapshotRecorder(folder, new_record_name(), "", "").discard()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
