"""The lab offers rkc from the catalogue, with the knobs it has and none it lacks."""

from odeprop.core.methods import METHODS


def test_rkc_is_picked_with_its_tolerances_steps_and_spectral_radius_mode(window):
    panel = window.config_panel
    family = panel.family.findData("stabilised")
    assert family >= 0 and panel.family.itemText(family) == "Stabilised explicit (RKC)"
    panel.family.setCurrentIndex(family)
    assert [panel.method.itemData(i) for i in range(panel.method.count())] == ["rkc"]
    panel.method.setCurrentIndex(panel.method.findData("rkc"))
    assert panel.rtol.isEnabled() and panel.atol.isEnabled()
    assert panel.first_step.isEnabled() and panel.max_step.isEnabled()
    assert not panel.max_order.isEnabled() and "fixed order" in panel.max_order.toolTip()
    assert not panel.learning_rate.isEnabled()
    assert panel.jacobian.isEnabled()
    modes = [panel.jacobian.itemData(i) for i in range(panel.jacobian.count())]
    assert modes == [None, *METHODS["rkc"].jacobian_modes]
    panel.jacobian.setCurrentIndex(panel.jacobian.findData("exact"))
    solver = window.experiment().solver
    assert (solver.method, solver.jacobian) == ("rkc", "exact")


def test_the_stability_plot_says_rkc_has_a_bound_per_step(window):
    panel = window.config_panel
    panel.family.setCurrentIndex(panel.family.findData("stabilised"))
    panel.method.setCurrentIndex(panel.method.findData("rkc"))
    window.plots.set_experiment(window.experiment())
    note = window.plots.plots["hlam"].fixed_note
    assert "stages a step" in note and "order" not in note
