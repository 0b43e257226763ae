"""The network view: edges coloured and sized by θ, heat maps as computed, the summary for a big
network, values on hover, and the lab feeding it the run's weights."""

import numpy as np
import pytest
from conftest import SHORT_BDF
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QMouseEvent
from PySide6.QtWidgets import QApplication, QTabWidget

from odeprop.core.network_picture import network_picture
from odeprop.core.presets import load_preset
from odeprop.core.run import Problem
from odeprop.gui.classroom.network_diagram import NEGATIVE, POSITIVE, SIGNED_MAP
from odeprop.gui.classroom.network_view import NetworkPanel, NetworkView
from odeprop.gui.common.model_colours import binary_map


@pytest.fixture(scope="module")
def problem():
    return Problem.build(load_preset("default"))


@pytest.fixture(scope="module")
def theta(problem):
    return np.random.default_rng(7).normal(0.0, 1.0, problem.net.n_params)


@pytest.fixture
def view(qtbot, problem, theta):
    view = NetworkView()
    qtbot.addWidget(view)
    view.resize(600, 400)
    view.show()
    view.show_picture(network_picture(problem, theta))
    return view


def _weights(problem, theta):
    return np.concatenate([theta[layer.w] for layer in problem.net.layers])


def _widest_last_edge(problem, theta):
    """(edge index, θ index, j) of the last layer's largest |w| (into the output neuron)."""
    last = problem.net.layers[-1]
    j = int(np.argmax(np.abs(theta[last.w])))
    before = sum(s.fan_in * s.fan_out for s in problem.net.layers[:-1])
    return before + j, last.w.start + j, j


def _rgb(image, x, y):
    c = QColor(image.pixel(int(x), int(y)))
    return np.array([c.red(), c.green(), c.blue()])


def test_edge_colours_and_widths_follow_theta(view, problem, theta):
    diagram = view.diagram
    assert view.currentWidget() is diagram
    w = _weights(problem, theta)
    np.testing.assert_array_equal(diagram.edge_values, w)  # θ's order: layer by layer, W[i, j]
    assert diagram.edge_colors == [POSITIVE if v >= 0 else NEGATIVE for v in w]
    widths = diagram.edge_widths
    order = np.argsort(np.abs(w))
    assert np.all(np.diff(widths[order]) > 0)  # |w| → width, strictly increasing
    assert widths[np.argmax(np.abs(w))] == widths.max()
    # and what is painted: the middle of the last layer's widest edge has its colour
    k = _widest_last_edge(problem, theta)[0]
    x0, y0, x1, y1 = diagram._ends[k]
    image = diagram.grab().toImage()
    expected = QColor(diagram.edge_colors[k])
    got = _rgb(image, (x0 + x1) / 2, (y0 + y1) / 2)
    np.testing.assert_allclose(got, [expected.red(), expected.green(), expected.blue()],
                               atol=12)


def _image_array(image):
    image = image.convertToFormat(image.Format.Format_RGBA8888)
    h, w = image.height(), image.width()
    return np.frombuffer(image.constBits(), np.uint8).reshape(h, image.bytesPerLine())[
        :, : 4 * w].reshape(h, w, 4)


@pytest.mark.parametrize("layer, index", [(0, 1), (1, 3), (2, 15), (3, 0)])
def test_a_neurons_heat_map_is_its_activity_under_the_colour_map(view, layer, index):
    picture = view.picture
    values = picture.activity[layer][index]  # (nx, ny)
    lo, hi = picture.levels[layer]
    cmap = binary_map() if layer == 3 else SIGNED_MAP
    expected = cmap.map(((values - lo) / (hi - lo)).ravel(), mode="byte").reshape(24, 24, 4)
    drawn = _image_array(view.diagram.neuron_image(layer, index))  # rows: y from the top
    np.testing.assert_array_equal(drawn, expected.transpose(1, 0, 2)[::-1])


def test_summary_shows_for_a_big_network(qtbot):
    big = Problem.build(load_preset("big-network"))
    panel = NetworkPanel()
    qtbot.addWidget(panel)
    panel.resize(600, 400)
    panel.show()
    panel.set_problem(big)
    assert panel.refresh()
    summary = panel.summary
    assert panel.currentWidget() is summary
    picture = summary.picture
    assert picture.summary and picture.n_weights == 784 * 128 + 128 * 10
    np.testing.assert_allclose(summary.bars.opts["height"],
                               [np.linalg.norm(big.theta0[s.w]) for s in big.net.layers])
    for curve, counts in zip(summary.curves, picture.histograms, strict=True):
        x, y = curve.xData, curve.yData
        np.testing.assert_array_equal(x, picture.bin_edges)
        np.testing.assert_allclose(y, 100 * counts / counts.sum())
    assert "more than 400 weights" in summary.heading.text
    assert summary.histogram.getAxis("bottom").labelText == "weight w"


def _hover(widget, x, y):
    event = QMouseEvent(QMouseEvent.Type.MouseMove, QPointF(x, y), QPointF(x, y),
                        Qt.MouseButton.NoButton, Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def test_hover_reports_the_value_under_the_pointer(qtbot, view, problem, theta):
    diagram = view.diagram
    edge, k, j = _widest_last_edge(problem, theta)
    x0, y0, x1, y1 = diagram._ends[edge]
    with qtbot.waitSignal(diagram.hovered, timeout=30_000) as blocker:
        _hover(diagram, (x0 + x1) / 2, (y0 + y1) / 2)
    assert diagram.hover_value == theta[k]
    assert f"{theta[k]:.4g}" in blocker.args[0]
    assert f"hidden 2 neuron {j + 1} → output P(lower moon)" in diagram.hover_text
    # a hidden neuron: its bias
    x, y = diagram._centres[1][4]
    _hover(diagram, x, y)
    b = theta[problem.net.layers[0].b][4]
    assert diagram.hover_value == b
    assert diagram.hover_text.startswith(f"hidden 1 neuron 5: bias {b:.4g}")
    _hover(diagram, 2, diagram.height() / 2)  # the empty margin
    assert diagram.hover_text == "" and diagram.hover_value is None


def test_panel_draws_only_on_screen_and_keeps_its_picture_on_diverged_weights(qtbot, problem,
                                                                             theta):
    panel = NetworkPanel()
    qtbot.addWidget(panel)
    panel.set_problem(problem)
    assert not panel.refresh()  # not on screen: nothing computed
    panel.resize(600, 400)
    panel.show()
    assert panel.refresh()
    np.testing.assert_array_equal(panel.diagram.edge_values, _weights(problem, problem.theta0))
    panel.set_theta(theta)
    assert not panel.refresh()  # within the data view's cadence
    assert panel.refresh(force=True)
    np.testing.assert_array_equal(panel.diagram.edge_values, _weights(problem, theta))
    panel.set_theta(np.full_like(theta, np.nan))
    assert not panel.refresh(force=True)
    np.testing.assert_array_equal(panel.diagram.edge_values, _weights(problem, theta))
    panel.set_problem(None)
    assert panel.currentWidget() is panel.empty


def test_the_lab_shows_the_runs_weights_in_a_tab_beside_the_data(qtbot, window):
    tabs = window.network_view.parentWidget()
    while not isinstance(tabs, QTabWidget):
        tabs = tabs.parentWidget()
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["Data", "Network"]
    assert tabs.widget(0) is window.data_view
    tabs.setCurrentWidget(window.network_view)
    theta0 = window.problem.theta0
    qtbot.waitUntil(lambda: window.network_view.picture is not None, timeout=30_000)
    np.testing.assert_array_equal(window.network_view.diagram.edge_values,
                                  _weights(window.problem, theta0))
    window.set_experiment(SHORT_BDF)
    with qtbot.waitSignal(window.run_ended, timeout=30_000):
        assert window.start()
    final = window.session.report.theta
    assert not np.array_equal(final, theta0)

    def shows(theta):
        return np.array_equal(window.network_view.diagram.edge_values,
                              _weights(window.problem, theta))

    qtbot.waitUntil(lambda: shows(final), timeout=30_000)
    window.reset()  # back to the seed's initial weights
    qtbot.waitUntil(lambda: shows(window.problem.theta0), timeout=30_000)


def test_without_2d_data_neurons_are_discs_coloured_by_their_bias(qtbot):
    from odeprop.core.config import Experiment

    iris = Problem.build(Experiment().with_changes(
        dataset={"kind": "iris"}, network={"loss": "softmax_ce", "hidden": [8]}))
    theta = np.random.default_rng(1).normal(0.0, 1.0, iris.net.n_params)
    view = NetworkView()
    qtbot.addWidget(view)
    view.resize(600, 400)
    view.show()
    view.show_picture(network_picture(iris, theta))
    diagram = view.diagram
    assert view.currentWidget() is diagram and diagram._images == []
    b = theta[iris.net.layers[0].b]
    x, y = diagram._centres[1][int(np.argmax(b))]  # the most positive bias: full blue
    np.testing.assert_allclose(_rgb(diagram.grab().toImage(), x, y),
                               [QColor(POSITIVE).red(), QColor(POSITIVE).green(),
                                QColor(POSITIVE).blue()], atol=3)
    _hover(diagram, x, y)
    assert diagram.hover_value == b.max()
    assert "P(setosa)" in diagram._describe_neuron(2, 0)[0]
