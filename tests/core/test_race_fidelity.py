"""The races' fidelity: a flow-following ros2-gn stays within 10 % of the flow, a leaver does not.

The configurations and figures are those the README's race tables name (benchmarks/suite.py):
Owens & Filkin's XOR to RMS 1 % and the sine regression to RMS 1 %.
"""

from __future__ import annotations

import pytest

from odeprop.core.config import Experiment
from odeprop.core.fidelity import (
    FOLLOWS,
    RACE_REFERENCE,
    TrackedRun,
    distances_from_flow,
    race_run,
    stop_targets,
)
from odeprop.core.run import Problem

XOR = {"dataset": {"kind": "xor", "standardize": False},
       "network": {"hidden": [2], "activations": ["sigmoid"], "loss": "mse",
                   "output": "sigmoid", "init": "uniform", "init_seed": 1},
       "stop": {"t_end": 1e9, "target_rms": 0.01},
       "probe": {"stiffness_every": 0, "metrics_every": 1000000}}
SINE = {"dataset": {"kind": "sin", "noise": 0.0},
        "network": {"hidden": [16, 16], "activations": ["tanh"], "loss": "mse"},
        "stop": {"t_end": 1e9, "target_rms": 0.01},
        "probe": {"stiffness_every": 0, "metrics_every": 1000000}}


def _experiment(base: dict, solver: dict) -> Experiment:
    return Experiment.from_dict({**base, "solver": solver})


@pytest.mark.parametrize("base, solver, most", [
    (XOR, {"method": "ros2-gn", "rtol": 1e-1, "atol": 1e-1}, 0.03),
    (SINE, {"method": "ros2-gn", "rtol": 1e-2, "atol": 1e-2}, FOLLOWS),
])
def test_a_flow_following_ros2_gn_stays_within_ten_percent(base, solver, most):
    experiment = _experiment(base, solver)
    run = TrackedRun(experiment, Problem.build(experiment), RACE_REFERENCE,
                     stop_targets(experiment.stop))
    report = run.run_to_end()
    track = report.flow
    assert report.status == "finished" and "target RMS" in report.message
    assert track.at_targets[-1] is not None and track.at_targets[-1] <= most
    assert track.at_end <= most and track.follows


def test_one_reference_per_problem_measures_what_tracking_each_run_does():
    """The races integrate the flow once per problem for every configuration's end: the
    distances are those a TrackedRun measures at its end; Levenberg–Marquardt leaves it."""
    experiment = _experiment(XOR, {"method": "ros2-gn", "rtol": 1e-1, "atol": 1e-1})
    problem = Problem.build(experiment)
    runs = [race_run(experiment.with_changes(solver=solver), problem)
            for solver in ({"method": "ros2-gn", "rtol": 1e-1, "atol": 1e-1},
                           {"method": "lm"})]
    assert all(r.reached for r in runs)
    follower, leaver = distances_from_flow(problem, [(r.final.t, r.theta) for r in runs])
    tracked = TrackedRun(experiment, problem, RACE_REFERENCE, stop_targets(experiment.stop))
    assert tracked.run_to_end().flow.at_end == pytest.approx(follower, rel=1e-6)
    assert follower <= 0.03 and leaver > FOLLOWS
