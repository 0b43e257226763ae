"""The lab on data it cannot draw as points and on networks too big for a dense Hessian: the
confusion matrix drawn whole and computed off the GUI thread, the clusters settings in the
form, the big-network preset in the menus, the lens's Lanczos ends."""

import threading
from dataclasses import replace

import numpy as np

from odeprop.core import views
from odeprop.core.config import Experiment
from odeprop.core.presets import load_preset, preset_names
from odeprop.core.run import Problem

#: Ten clusters in 40 dimensions: the confusion-matrix view, a run of about a second.
CLUSTERS = Experiment().with_changes(
    name="clusters", dataset={"kind": "clusters", "n_samples": 400, "n_classes": 10,
                              "n_features": 40, "noise": 1.0},
    network={"hidden": [16], "activations": ["tanh"], "loss": "softmax_ce"},
    solver={"method": "cvode-gmres", "rtol": 1e-3, "atol": 1e-3},
    stop={"t_end": 1e6, "target_loss": 1e-3, "max_wall_time": 30.0})


def test_the_data_view_of_a_run_is_computed_off_the_gui_thread(qtbot, window, monkeypatch):
    """The receiving thread computes the confusion matrix at each θ; the window only draws it,
    and what it draws is the matrix at the run's final weights."""
    calls = []
    original = views.confusion_matrix

    def recording(problem, theta, split="test"):
        calls.append(threading.current_thread() is threading.main_thread())
        return original(problem, theta, split)

    window.set_experiment(CLUSTERS)
    assert window.data_view.mode == "confusion"
    monkeypatch.setattr(views, "confusion_matrix", recording)
    drawn = window.data_view.updates
    with qtbot.waitSignal(window.run_ended, timeout=30_000) as blocker:
        assert window.start()  # draws θ0 at once, on this thread (as a preview does)
    assert blocker.args[0] == "finished", blocker.args
    assert calls.count(True) == 1 and calls.count(False) >= 2  # θ0 at step 0 and at the end
    assert window.data_view.updates >= drawn + 2
    report = window.session.report
    expected = original(window.problem, report.theta, "test")
    np.testing.assert_array_equal(window.data_view.confusion, expected)
    assert expected.sum() == window.problem.dataset.n_test == 100


def test_a_view_computed_for_another_problem_is_not_drawn(qtbot, window):
    window.set_experiment(CLUSTERS)
    view = window.data_view
    old = view.model_view()(window.problem.theta0)
    window.set_experiment(CLUSTERS.with_changes(dataset={"seed": 1}))
    before = view.updates
    view.set_view(old)
    assert not view.refresh(force=True) and view.updates == before
    fresh = view.model_view()(2 * window.problem.theta0)
    view.set_view(fresh)
    assert view.refresh(force=True) and view.updates == before + 1
    np.testing.assert_array_equal(view.confusion, fresh.data)


def test_the_confusion_matrix_is_drawn_whole_with_short_labels(qtbot, window):
    """784 inputs cannot be drawn as points: a confusion matrix, every column inside the
    plot however narrow the cell, classes "cluster 0…9" labelled 0…9 under "predicted
    cluster", and the data named in the title."""
    window.set_experiment(load_preset("big-network").with_changes(
        dataset={"n_samples": 200}))
    view = window.data_view
    assert view.mode == "confusion"
    item = view.getPlotItem()
    assert [label for _, label in item.getAxis("bottom")._tickLevels[0]] == \
        [str(i) for i in range(10)]
    assert item.getAxis("bottom").labelText == "predicted cluster"
    assert item.getAxis("left").labelText == "true cluster"
    title = item.titleLabel.text
    assert "Confusion matrix, test data" in title and "784 dimensions" in title
    for width, height in ((260, 240), (420, 220), (200, 380)):
        view.resize(width, height)
        qtbot.wait(20)
        (x0, x1), (y0, y1) = view.getViewBox().viewRange()
        assert x0 <= 0 and x1 >= 10 and y0 <= 0 and y1 >= 10, (width, height)
    assert view.confusion.sum() == window.problem.dataset.n_test == 50


def test_the_clusters_settings_are_in_the_form(window):
    """Classes and input dimension are settable for clusters (the form used to grey out the
    number of classes for anything but blobs and had no field for the dimension)."""
    panel = window.config_panel
    window.set_experiment(CLUSTERS)
    assert panel.n_classes.isEnabled() and panel.n_features.isEnabled()
    assert panel.n_features.value() == 40
    panel.n_features.setValue(784)
    panel.n_classes.setValue(4)
    exp = panel.experiment()
    assert exp.dataset.n_features == 784 and exp.dataset.n_classes == 4
    panel.kind.setCurrentText("moons")
    assert not panel.n_features.isEnabled()
    assert "clusters" in panel.n_features.toolTip()


def test_the_greyed_inputs_field_shows_the_chosen_datas_own_input_count(window, tmp_path):
    """Greyed for every kind but clusters, the "Inputs" field shows that data's inputs (the
    network's first layer), not the clusters' setting, which comes back with clusters and is
    what the experiment keeps."""
    from odeprop.core.datasets import load_dataset

    panel = window.config_panel
    window.set_experiment(CLUSTERS.with_changes(dataset={"n_features": 784}))
    expected = {"moons": 2, "circles": 2, "xor": 2, "xor_quadrants": 2, "blobs": 2,
                "spirals": 2, "sin": 1, "encoder": 4, "iris": 4, "digits": 64}
    for kind, inputs in expected.items():
        panel.kind.setCurrentText(kind)
        assert not panel.n_features.isEnabled(), kind
        assert panel.n_features.text() == str(inputs), kind
        assert f"'{kind}' data have {inputs} inputs" in panel.n_features.toolTip()
        exp = panel.experiment()
        assert exp.dataset.n_features == 784  # the clusters' setting, kept
        assert load_dataset(exp.dataset).n_features == inputs, kind  # the network's inputs
    panel.kind.setCurrentText("csv")  # no file yet: the count is not known
    assert panel.n_features.text() == "?" and "choose the file first" in panel.n_features.toolTip()
    path = tmp_path / "three.csv"
    path.write_text("a,b,c,label\n" + "".join(f"{i},{i % 3},{i % 5},{'xy'[i % 2]}\n"
                                              for i in range(20)))
    assert panel.load_csv(str(path)) is None
    assert panel.n_features.text() == "3" and not panel.n_features.isEnabled()
    panel.kind.setCurrentText("clusters")
    assert panel.n_features.isEnabled() and panel.n_features.value() == 784
    panel.n_features.setValue(50)  # typed while editable: the clusters' setting
    panel.kind.setCurrentText("digits")
    assert panel.n_features.text() == "64"
    panel.kind.setCurrentText("clusters")
    assert panel.n_features.value() == 50 and panel.experiment().dataset.n_features == 50


def test_the_greyed_classes_field_shows_the_chosen_datas_own_classes(window, tmp_path):
    """Greyed for every kind but blobs and clusters, the "Classes" field shows that data's
    classes (the moons have 2, not the blobs' 3), "—" for regression data (no classes) and
    "?" for a CSV file until the window has read it; the blobs'/clusters' setting comes back
    with them and is what the experiment keeps."""
    from odeprop.core.datasets import load_dataset

    panel = window.config_panel
    window.set_experiment(CLUSTERS.with_changes(dataset={"n_classes": 7}))
    expected = {"moons": 2, "circles": 2, "xor": 2, "xor_quadrants": 2, "spirals": 2,
                "iris": 3, "digits": 10}
    for kind, classes in expected.items():
        panel.kind.setCurrentText(kind)
        assert not panel.n_classes.isEnabled(), kind
        assert panel.n_classes.text() == str(classes), kind
        assert f"'{kind}' data have {classes} classes" in panel.n_classes.toolTip()
        exp = panel.experiment()
        assert exp.dataset.n_classes == 7  # the clusters' setting, kept
        assert load_dataset(exp.dataset).n_classes == classes, kind  # what the data have
    for kind in ("sin", "encoder"):
        panel.kind.setCurrentText(kind)
        assert not panel.n_classes.isEnabled() and panel.n_classes.text() == "—", kind
        assert "regression problem: it has no classes" in panel.n_classes.toolTip()
        assert panel.experiment().dataset.n_classes == 7
        assert load_dataset(panel.experiment().dataset).n_classes is None
    panel.kind.setCurrentText("blobs")  # blobs share the setting with clusters
    assert panel.n_classes.isEnabled() and panel.n_classes.value() == 7
    panel.n_classes.setValue(4)  # typed while editable: the setting
    panel.kind.setCurrentText("digits")
    assert panel.n_classes.text() == "10"
    panel.kind.setCurrentText("clusters")
    assert panel.n_classes.value() == 4 and panel.experiment().dataset.n_classes == 4

    panel.kind.setCurrentText("csv")  # no file yet: the classes are not known
    assert panel.n_classes.text() == "?" and "known once the file" in panel.n_classes.toolTip()
    path = tmp_path / "five.csv"
    path.write_text("a,b,label\n" + "".join(f"{i},{i % 3},{i % 5}\n" for i in range(40)))
    assert panel.load_csv(str(path)) is None
    assert panel.n_classes.text() == "?"  # read only when the window builds the data
    window._preview_problem()
    assert panel.n_classes.text() == "5" and not panel.n_classes.isEnabled()
    assert "holds 5 classes" in panel.n_classes.toolTip()
    panel.task.setCurrentText("regression")  # the same column as a regression target
    assert panel.n_classes.text() == "?"
    panel.loss.setCurrentText("mse")  # (cross-entropy needs class labels: no network)
    window._preview_problem()
    assert panel.n_classes.text() == "—" and "regression target" in panel.n_classes.toolTip()
    # two inputs and a regression target: no decision surface (it coloured the points by
    # class and failed on the targets), the title points to the RMS plot instead
    assert window.data_view.mode == "empty" and window.problem.dataset.task == "regression"
    assert "2-D regression" in window.data_view.getPlotItem().titleLabel.text
    assert panel.experiment().dataset.n_classes == 4


def test_the_form_names_the_network_size(qtbot, window):
    panel = window.config_panel
    window.set_experiment(load_preset("big-network"))
    qtbot.waitUntil(lambda: panel.params_label.text() == "784-128-10: 101,770 parameters",
                    timeout=30_000)  # 4,000 points in 784-D: built off the GUI thread
    panel.layers.set_layers((64, 64), ("tanh", "tanh"))
    panel.layers.changed.emit()  # as an edit in the layer editor does
    qtbot.waitUntil(lambda: panel.params_label.text() == "784-64-64-10: 55,050 parameters",
                    timeout=30_000)
    panel.kind.setCurrentText("csv")  # no file yet: no network to count
    qtbot.waitUntil(lambda: panel.params_label.text() == "", timeout=30_000)


def test_presets_are_offered_in_the_lab(qtbot, window):
    """File ▸ Open preset lists every shipped experiment; choosing one shows it in the form
    and the data view, without starting it."""
    actions = {a.objectName(): a for a in window.presets_menu.actions()}
    assert set(actions) == {f"preset_{name}" for name in preset_names()}
    assert "big-network" in preset_names()
    assert actions["preset_owens-filkin-1989"].text().startswith(
        "owens-filkin-1989 — Owens && Filkin 1989")  # shown as "&", not as a shortcut key
    actions["preset_big-network"].trigger()
    assert window.experiment() == load_preset("big-network")
    assert window.state == "idle" and window.session is None
    qtbot.waitUntil(lambda: window.problem.net.n_params == 101_770, timeout=30_000)
    assert window.data_view.mode == "confusion"


def test_the_problem_is_built_once_for_a_preview_and_its_start(window, monkeypatch):
    """Building 4,000 points in 784 dimensions takes a quarter of a second on the GUI thread:
    the window builds an experiment's problem once, not for the preview and again for Start."""
    builds = []
    original = Problem.build.__func__

    def counting(cls, experiment):
        builds.append(experiment)
        return original(cls, experiment)

    monkeypatch.setattr(Problem, "build", classmethod(counting))
    window.set_experiment(CLUSTERS)
    window._preview_problem()  # the debounced preview after an edit, with nothing changed
    assert window.start()
    assert len(builds) == 1
    window.stop()
    window.reset()
    window.set_experiment(CLUSTERS.with_changes(network={"init_seed": 3}))
    assert len(builds) == 2  # another experiment: another problem


def test_a_csv_problem_is_rebuilt_each_time(window, monkeypatch, tmp_path):
    """A CSV file may change on disk between a preview and Start: it is read again."""
    path = tmp_path / "data.csv"
    rows = "\n".join(f"{i % 7},{(i * 3) % 5},{i % 2}" for i in range(40))
    path.write_text("a,b,label\n" + rows + "\n")
    exp = CLUSTERS.with_changes(dataset={"kind": "csv", "csv_path": str(path),
                                         "target_column": "label"},
                                network={"loss": "bce"})
    builds = []
    original = Problem.build.__func__
    monkeypatch.setattr(Problem, "build", classmethod(
        lambda cls, e: builds.append(e) or original(cls, e)))
    window.set_experiment(exp)
    window._preview_problem()
    assert len(builds) == 2


def test_the_status_says_when_the_worker_measures_the_end(qtbot, window):
    """After the last step a big network's report takes a second or two of Hessian-vector
    products: the status line says so rather than "running"; it names Hv products."""
    window.set_experiment(CLUSTERS)
    assert window.start(start_paused=True)
    qtbot.waitUntil(lambda: window.session.last is not None, timeout=30_000)
    last = replace(window.session.last, status="finished", n_hvp=12,
                   message="reached the target loss 0.001")
    window.session._record([last])
    window._update_status()
    text = window.status_label.text()
    assert text.endswith("finished; measuring the Hessian at the end…") and "Hv 12" in text
    window.session._record([replace(last, status="running")])
    window._update_status()
    assert window.status_label.text().endswith("paused")


def test_a_dense_jacobian_method_is_refused_for_a_big_network(qtbot, window):
    """BDF's exact Jacobian of 101,770 parameters would be 231 GiB with its factorisations:
    Start says why (core's own message, the one the run would fail with), under the method
    too, and names the matrix-free method; choosing it (or a small network) clears it."""
    from odeprop.core.dense_limits import dense_jacobian_refusal

    big = load_preset("big-network").with_changes(dataset={"n_samples": 200},
                                                  solver={"method": "BDF"})
    window.set_experiment(big)
    panel = window.config_panel
    message = panel.message("solver.method")
    assert message == dense_jacobian_refusal(big.solver, 101_770)
    assert "keeps a dense 101,770 × 101,770 Jacobian (about 231.5 GiB" in message
    assert "limited to 6,000 parameters" in message and "use cvode-gmres" in message
    assert window.controls.blocker.isVisible() and "231.5 GiB" in window.controls.blocker.text()
    assert not window.start() and window.session is None
    assert window.banner.text() == f"Cannot start: {message}"
    panel.jacobian.setCurrentIndex(panel.jacobian.findData("fd"))  # no better by differences
    assert "231.5 GiB" in panel.message("solver.method")
    panel.method.setCurrentIndex(panel.method.findData("RK45"))  # explicit: no Jacobian
    assert panel.message("solver.method") == "" and not window.controls.blocker.isVisible()
    window.set_experiment(big.with_changes(network={"hidden": [8]}))  # 6,370 parameters
    assert panel.n_params == 6370 and "6,370 × 6,370" in panel.message("solver.method")
    assert window.controls.blocker.isVisible()  # core's limit is 6,000 parameters
    window.set_experiment(big.with_changes(network={"hidden": [7]}))  # 5,575 parameters
    assert panel.n_params == 5575 and panel.message("solver.method") == ""
    assert not window.controls.blocker.isVisible()


def test_levenberg_marquardt_on_the_whole_big_set_is_refused_too(qtbot, window):
    """lm's Gauss–Newton system on 2,000 clusters samples × 10 outputs is 15,000 × 15,000
    (training values, fewer than the parameters): the same rule, before Start; ros2-gn with
    its sampled matrix runs."""
    from odeprop.core.dense_limits import dense_jacobian_refusal

    big = load_preset("big-network").with_changes(dataset={"n_samples": 2000},
                                                  solver={"method": "lm"})
    window.set_experiment(big)
    panel = window.config_panel
    message = panel.message("solver.method")
    assert message == dense_jacobian_refusal(big.solver, 101_770, 15_000)
    assert message.startswith("solver.method: lm solves a dense 15,000 × 15,000 system")
    assert not window.start() and window.session is None
    assert window.banner.text() == f"Cannot start: {message}"
    panel.method.setCurrentIndex(panel.method.findData("ros2-gn"))  # sampled by default
    assert panel.message("solver.method") == "" and not window.controls.blocker.isVisible()


def test_the_data_view_comes_back_after_data_that_failed_to_load(window, monkeypatch):
    """The problem built before is reused when the form returns to it; the data view, emptied
    by the failure in between, shows it again."""
    window.set_experiment(CLUSTERS)
    original = Problem.build.__func__

    def failing(cls, experiment):
        if experiment.dataset.seed == 1:
            raise ValueError("dataset: cannot be read")
        return original(cls, experiment)

    monkeypatch.setattr(Problem, "build", classmethod(failing))
    window.set_experiment(CLUSTERS.with_changes(dataset={"seed": 1}))
    assert window.data_view.mode == "empty" and window.config_panel.params_label.text() == ""
    window.set_experiment(CLUSTERS)
    assert window.data_view.mode == "confusion" and window.data_view.problem is window.problem
    assert window.config_panel.params_label.text() == "40-16-10: 826 parameters"


def test_the_start_of_a_big_run_says_the_first_probe_takes_seconds(qtbot, window):
    """Between Start and the first snapshot the status bar names the method, and for a big
    network the few seconds the first stiffness probe at θ0 takes; not for a small one."""
    big = load_preset("big-network").with_changes(dataset={"n_samples": 200})
    window.set_experiment(big)
    assert window.start()
    text = window.status_label.text()
    assert text.startswith(f"Starting {big.solver.info.label}")
    assert "extreme eigenvalues at θ0 (101,770 parameters: a few seconds)" in text
    window.stop()
    qtbot.waitUntil(lambda: window.state == "ended", timeout=60_000)
    window.set_experiment(CLUSTERS)  # 826 parameters
    assert window.start()
    assert window.status_label.text() == f"Starting {CLUSTERS.solver.info.label}…"
    window.stop()
    qtbot.waitUntil(lambda: window.state == "ended", timeout=60_000)
