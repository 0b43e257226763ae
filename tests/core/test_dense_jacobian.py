"""One dense-Jacobian size rule: which methods keep a P × P matrix, the limit, and the message
the engine fails with, which the lab and the comparisons show before they start."""

import pytest

from odeprop.core import dense_limits
from odeprop.core.config import DatasetConfig, Experiment, NetworkConfig, SolverConfig
from odeprop.core.dense_limits import DENSE_JACOBIAN_LIMIT, dense_jacobian_refusal
from odeprop.core.run import Run


def refused(method, jacobian=None, n=DENSE_JACOBIAN_LIMIT + 1):
    return dense_jacobian_refusal(SolverConfig(method=method, jacobian=jacobian), n)


def test_which_methods_keep_a_dense_jacobian_and_the_limit():
    assert DENSE_JACOBIAN_LIMIT == 6000
    assert refused("BDF") and refused("Radau", "fd") and refused("LSODA")
    assert refused("cvode-dense") and refused("vode-bdf", "exact") and refused("lsoda")
    assert refused("vode-adams", "fd") and refused("zvode-bdf")
    assert refused("BDF", n=DENSE_JACOBIAN_LIMIT) is None  # the limit itself is allowed
    assert refused("vode-bdf", "none", 10**6) is None  # functional iteration: no matrix
    assert refused("zvode-bdf", "none", 10**6) is None
    assert refused("cvode-gmres", "exact", 10**6) is None  # Hv products
    for method in ("RK45", "DOP853", "dopri5", "gd", "momentum", "adam", "vode-adams"):
        assert refused(method, n=10**6) is None, method


def test_the_message_names_the_method_the_size_and_the_way_out():
    message = refused("BDF", n=101_770)
    assert message.startswith("solver.method: BDF keeps a dense 101,770 × 101,770 Jacobian "
                              "(about 231.5 GiB with its factorisations)")
    assert "limited to 6,000 parameters" in message and "use cvode-gmres" in message
    assert "about 2.9 GiB" in refused("zvode-bdf", "fd", 8000)  # complex entries: 16 bytes


def test_the_engine_fails_with_the_same_message(monkeypatch):
    monkeypatch.setattr(dense_limits, "DENSE_JACOBIAN_LIMIT", 20)  # read when called
    exp = Experiment(dataset=DatasetConfig(n_samples=40), network=NetworkConfig(hidden=(8,)),
                     solver=SolverConfig(method="BDF"))
    run = Run(exp)
    assert run.status == "failed"
    assert run.message == dense_jacobian_refusal(exp.solver, run.net.n_params)
    assert "limited to 20 parameters" in run.message


def test_the_whole_set_gauss_newton_system_has_the_same_limit():
    """ros2-gn/ros34pw2-gn with the whole set's Gauss–Newton matrix and lm solve a dense system
    of order min(samples × outputs, P): refused beyond the limit, with the way out named;
    the sampled matrix caps its own sample, and the check waits until the data are known."""
    whole = SolverConfig(method="ros2-gn", jacobian="gauss-newton")
    message = dense_jacobian_refusal(whole, 101_770, 40_000)
    assert message.startswith("solver.method: ros2-gn solves a dense 40,000 × 40,000 system")
    assert 'use jacobian = "sampled-gauss-newton"' in message and "cvode-gmres" in message
    assert dense_jacobian_refusal(SolverConfig(method="lm"), 101_770, 40_000).startswith(
        "solver.method: lm solves a dense 40,000 × 40,000 system")
    assert "sampled" not in dense_jacobian_refusal(SolverConfig(method="lm"), 10**5, 10**4)
    assert dense_jacobian_refusal(whole, 101_770, DENSE_JACOBIAN_LIMIT) is None
    assert dense_jacobian_refusal(whole, DENSE_JACOBIAN_LIMIT, 10**6) is None  # min(m, P)
    assert dense_jacobian_refusal(SolverConfig(method="ros2-gn"), 10**6, 10**6) is None
    assert dense_jacobian_refusal(whole, 10**6) is None  # the data not known yet


def test_a_comparison_refuses_a_whole_set_gauss_newton_run_before_it_starts(monkeypatch):
    from odeprop.core.comparison import Comparison, RunSpec
    from odeprop.core.comparison_runner import ComparisonRunner, RunsRefused
    from odeprop.core.config import StopConfig

    monkeypatch.setattr(dense_limits, "DENSE_JACOBIAN_LIMIT", 50)  # moons: 150 × 1 values, 97 P
    comparison = Comparison(
        name="gn", dataset=DatasetConfig(n_samples=200), network=NetworkConfig(hidden=(24,)),
        stop=StopConfig(max_steps=2),
        runs=(RunSpec("sampled", SolverConfig(method="ros2-gn")),
              RunSpec("lm", SolverConfig(method="lm"))))
    with pytest.raises(RunsRefused) as refused:
        ComparisonRunner(comparison)
    assert [index for index, _ in refused.value.refused] == [1]
    assert "runs[1] (lm): solver.method: lm solves a dense 97 × 97 system" in str(refused.value)
