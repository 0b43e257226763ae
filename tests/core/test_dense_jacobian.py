"""One dense-Jacobian size rule: which methods keep a P × P matrix, the limit, and the message
the engine fails with, which the lab and the comparisons show before they start."""

from odeprop.core import solvers
from odeprop.core.config import DatasetConfig, Experiment, NetworkConfig, SolverConfig
from odeprop.core.run import Run
from odeprop.core.solvers import DENSE_JACOBIAN_LIMIT, dense_jacobian_refusal


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
    monkeypatch.setattr(solvers, "DENSE_JACOBIAN_LIMIT", 20)  # read when called
    exp = Experiment(dataset=DatasetConfig(n_samples=40), network=NetworkConfig(hidden=(8,)),
                     solver=SolverConfig(method="BDF"))
    run = Run(exp)
    assert run.status == "failed"
    assert run.message == dense_jacobian_refusal(exp.solver, run.net.n_params)
    assert "limited to 20 parameters" in run.message
