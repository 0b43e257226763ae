"""A run: an experiment built into data, network, flow and solver, stepped one snapshot at a time.

Modelled on scipy's ``OdeSolver``: a small state machine (``ready`` → ``running`` →
``finished`` / ``failed`` / ``stopped``) whose failures come back as data with a message, never as
exceptions thrown across threads or processes.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np

from .budget import needs, out_of_memory, size_refusal
from .config import Experiment
from .datasets import Dataset, load_dataset
from .flow import GradientFlow, Objective
from .network import MLP, classification_accuracy, encode_targets, rms_error
from .snapshot import RunReport, Snapshot, Spectrum
from .solvers import SolverFailure, make_stepper
from .stiffness import StiffnessProbe, step_stability

#: Probes may always spend this many seconds in all, whatever their budget: a fast run (CVODE
#: on the default experiment takes ~50 ms) still shows λmax at its start and how it evolves.
#: A due probe runs only if it would fit, judged by what the last one cost.
PROBE_ALLOWANCE = 0.005

#: Up to this many parameters the final report takes the Hessian's whole spectrum (exact);
#: beyond, the live probe's iterative estimate.
FINAL_DENSE_LIMIT = 1500


@dataclass(frozen=True)
class Problem:
    """Data, network and initial weights: what every run of one comparison shares."""

    dataset: Dataset
    net: MLP
    T_train: np.ndarray
    T_test: np.ndarray
    theta0: np.ndarray

    @classmethod
    def build(cls, experiment: Experiment) -> Problem:
        """The experiment's data, network and θ0; ``ValueError`` with a one-line message when
        the data are bad, when they turn out too big for memory (a CSV file's sizes are known
        only now) or memory runs out, and when the loss or its gradient at θ0 is not finite."""
        try:
            data = load_dataset(experiment.dataset)
            loss = experiment.network.loss
            T_train = encode_targets(data.y_train, data.task, data.n_classes, loss)
            T_test = encode_targets(data.y_test, data.task, data.n_classes, loss)
            refusal = size_refusal(experiment, n_train=data.n_train, n_test=data.n_test,
                                   n_features=data.n_features, n_outputs=T_train.shape[1])
            if refusal:
                raise ValueError(refusal)
            net = MLP(data.X_train.shape[1], T_train.shape[1], experiment.network)
            problem = cls(data, net, T_train, T_test, net.init_params())
            problem._check_finite(experiment.dataset.standardize)
        except MemoryError:
            raise ValueError(out_of_memory(needs(experiment), "this machine ran out of memory "
                                           "building the data and the network")) from None
        return problem

    def _check_finite(self, standardized: bool) -> None:
        """Refuse data whose loss or gradient at θ0 is not finite, before any step: the values
        are too large for the network (a solver would fail at once and blame its step)."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            loss, grad = self.net.loss_grad(self.theta0, self.dataset.X_train, self.T_train)
        if math.isfinite(loss) and np.isfinite(grad).all():
            return
        data = self.dataset
        columns = [(np.abs(data.X_train[:, j]).max(initial=0.0), f"column {name!r}")
                   for j, name in enumerate(data.feature_names)]
        if data.task == "regression":
            columns += [(np.abs(self.T_train[:, j]).max(initial=0.0), f"target {name!r}")
                        for j, name in enumerate(data.target_names)]
        biggest, where = max(columns, key=lambda c: c[0])
        what = "the loss" if not math.isfinite(loss) else "the gradient of the loss"
        hint = (" or set dataset.standardize = true"
                if where.startswith("column") and not standardized else "")
        raise ValueError(f"dataset: {what} at the initial weights is not finite on "
                         f"{data.name}: its values are too large for the network ({where} "
                         f"reaches {biggest:.3g}); rescale the data{hint}")


class Clock:
    """The one clock every method is compared by (``Run.solver_wall``): wall seconds, and the
    thread's CPU seconds beside them (robust on a loaded machine), spent in the timed sections;
    ``running`` says whether one is under way (tests count the work done inside and outside).

    What is timed, for every method alike: the solver's set-up, each step, and the training
    loss and outputs at each accepted point (every method needs them to know it has reached its
    target; an optimiser's next gradient reuses that forward pass, a solver has usually paid it
    inside its step already). What is not: test-set metrics, stiffness probes, building the
    snapshot, recording, and any distance from a reference flow."""

    def __init__(self):
        self.seconds = 0.0
        self.cpu = 0.0
        self.running = False
        self._began = (0.0, 0.0)

    def __enter__(self) -> Clock:
        self.running = True
        self._began = (time.perf_counter(), time.thread_time())
        return self

    def __exit__(self, *exc) -> None:
        self.seconds += time.perf_counter() - self._began[0]
        self.cpu += time.thread_time() - self._began[1]
        self.running = False


@dataclass(frozen=True)
class _Point:
    """The training loss and outputs at an accepted point: what the stop test needs."""

    theta: np.ndarray
    loss: float
    output: np.ndarray
    accuracy: float | None
    rms: float | None


class Run:
    """One experiment being integrated; ``step()`` returns the next :class:`Snapshot`."""

    def __init__(self, experiment: Experiment, problem: Problem | None = None):
        self.experiment = experiment
        self.problem = problem or Problem.build(experiment)
        p = self.problem
        self.net = p.net
        self.train = Objective(p.net, p.dataset.X_train, p.T_train)
        self.test = Objective(p.net, p.dataset.X_test, p.T_test) if p.dataset.n_test else None
        self.flow = GradientFlow(self.train)
        self.probe = StiffnessProbe(self.train, experiment.probe.stiffness_method)
        self.status = "ready"
        self.message = ""
        self.stepper = None
        self.wall = 0.0
        self.clock = Clock()  # solver_wall: see Clock for what it times
        self.probe_wall = 0.0  # all probing, the cold first probe at step 0 included
        self._last_probe_cost = 0.0  # what the next probe is expected to cost
        self._last_probe_t = -math.inf
        self._phase = 0  # index into the solver's tolerance schedule
        self._last: Snapshot | None = None
        self.spectra: list[Spectrum] = []  # at probed steps, when probe.full_spectrum
        try:
            with self.clock:  # the set-up (a first gradient, an initial step size) is timed
                self.stepper = make_stepper(self.flow, p.theta0, experiment.solver,
                                            experiment.stop.t_end)
        except SolverFailure as exc:
            self.status, self.message = "failed", str(exc)
        except MemoryError:
            self.status = "failed"
            self.message = (f"solver.method: {experiment.solver.method} ran out of memory "
                            "while it was set up; use a smaller network or cvode-gmres")
        self.wall = self.clock.seconds

    # -- state -----------------------------------------------------------------------------
    @property
    def solver_wall(self) -> float:
        """Seconds on the one clock methods are compared by (see :class:`Clock`)."""
        return self.clock.seconds

    @property
    def theta(self) -> np.ndarray:
        return (self.stepper.theta if self.stepper else self.problem.theta0).copy()

    @property
    def done(self) -> bool:
        return self.status in ("finished", "failed", "stopped")

    @property
    def last(self) -> Snapshot | None:
        return self._last

    def start(self) -> Snapshot:
        """The snapshot of the initial point (step 0); the run is then running."""
        if self._last is None:
            if self.status == "ready":
                self.status = "running"
            timed = self.clock.seconds
            with self.clock:
                point = self._point()
            self.wall += self.clock.seconds - timed  # wall holds everything solver_wall does
            self._last = self._snapshot(point, probe=self._probing)
        return self._last

    def step(self) -> Snapshot:
        """Take one solver step and measure; after the end, returns the last snapshot again.

        Floating-point overflow is not warned about: a non-finite loss or θ ends the run as
        failed, with a message naming the step."""
        if self._last is None:
            self.start()
        if self.done:
            return self._last
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._step()

    def _step(self) -> Snapshot:
        begin = time.perf_counter()
        limit = self.experiment.stop.max_wall_time
        if limit is not None:  # ends even a step that never ends by itself, a little late so
            # that a step ending near the limit ends the run as usual, after it
            self.flow.deadline = begin + max(limit - self.wall, 0.0) + min(0.1 * limit, 1.0)
        with self.clock:
            point = self._advance(limit)
        if point is None:
            self.wall += time.perf_counter() - begin
            self._last = self._replace_status(self._last)
            return self._last
        snap = self._snapshot(point, probe=self._probe_due(), begin=begin)
        self._last = snap
        return snap

    def _advance(self, limit: float | None) -> _Point | None:
        """One step and the loss at its point (timed together); None if the run ended."""
        try:
            self.stepper.step()
        except SolverFailure as exc:
            self.status, self.message = "failed", f"{exc} (after step {self._last.step})"
        except MemoryError:
            self.status = "failed"
            self.message = (f"{self.experiment.solver.method} ran out of memory (after step "
                            f"{self._last.step}); use a smaller network or less data")
        except Exception as exc:  # a bug or a numerical fault inside a solver library
            self.status = "failed"
            self.message = (f"{self.experiment.solver.method} raised {type(exc).__name__}: {exc}"
                            f" (after step {self._last.step})")
        if self.flow.expired:  # whatever the library made of the flow's DeadlinePassed
            self.status = "stopped"
            self.message = (f"reached the wall-time limit {limit:g} s during a step of "
                            f"{self.experiment.solver.method}, which was abandoned (after step "
                            f"{self._last.step})")
        if self.status in ("failed", "stopped"):
            return None
        return self._point()

    def stop(self, message: str = "stopped by the user") -> Snapshot | None:
        """End the run now; the data so far stays."""
        if not self.done:
            self.status, self.message = "stopped", message
            if self._last is not None:
                self._last = self._replace_status(self._last)
        return self._last

    def close(self) -> None:
        if self.stepper is not None:
            self.stepper.close()

    # -- measuring ---------------------------------------------------------------------------
    @property
    def _probing(self) -> bool:
        cfg = self.experiment.probe
        return cfg.stiffness_every > 0 or cfg.stiffness_every_dt is not None

    def _probe_due(self) -> bool:
        cfg = self.experiment.probe
        step = self.stepper.stats.accepted
        due = (cfg.stiffness_every > 0 and step % cfg.stiffness_every == 0) or (
            cfg.stiffness_every_dt is not None
            and self.stepper.t - self._last_probe_t >= cfg.stiffness_every_dt)
        if due and cfg.stiffness_budget and step > 0:
            allowed = max(cfg.stiffness_budget * self.solver_wall, PROBE_ALLOWANCE)
            due = self.probe_wall + self._last_probe_cost <= allowed  # if it would fit
        return due

    def _point(self) -> _Point:
        """The training loss and outputs at the current point (on the clock: every method
        needs them for its stop test)."""
        st = self.stepper
        theta = st.theta if st else self.problem.theta0
        loss = self.train.loss(theta)
        out = self.train.output(theta)
        accuracy = (classification_accuracy(out, self.problem.dataset.y_train)
                    if self.problem.dataset.task == "classification" else None)
        rms = (rms_error(out, self.problem.T_train) if self.experiment.network.loss == "mse"
               else None)
        return _Point(theta, loss, out, accuracy, rms)

    def _snapshot(self, point: _Point, probe: bool, begin: float | None = None) -> Snapshot:
        st = self.stepper
        theta = point.theta
        stats = st.stats if st else None
        t = st.t if st else 0.0
        step = stats.accepted if stats else 0
        loss_train, acc_train, rms_train = point.loss, point.accuracy, point.rms
        cfg = self.experiment
        classify = self.problem.dataset.task == "classification"
        mse = cfg.network.loss == "mse"
        # the tolerances that produced this step (a schedule may change them for the next)
        rtol, atol = cfg.solver.tolerances(self._phase) if cfg.solver.info.tolerances else (None,
                                                                                          None)
        status, message = self.status, self.message
        if begin is not None:
            status, message = self._check_stop(step, t, loss_train, acc_train, rms_train, theta)
            if status == "running":
                self._advance_schedule(loss_train)
            elif status in ("finished", "stopped") and self._probing:
                probe = True  # λ at the end too, whatever the cadence or the budget
        loss_test = acc_test = rms_test = None
        due = step % cfg.probe.metrics_every == 0 or status != "running"  # always at the end
        if self.test is not None and due and math.isfinite(loss_train):
            loss_test = self.test.loss(theta)
            out_test = self.test.output(theta)
            acc_test = (classification_accuracy(out_test, self.problem.dataset.y_test)
                        if classify else None)
            rms_test = rms_error(out_test, self.problem.T_test) if mse else None

        lam_max = lam_min = curvature = h_lam = grad_norm = None
        if probe and st is not None:
            with self.clock:  # on the clock: an optimiser's next step reuses this gradient
                _, grad = self.train.loss_grad(theta)
            probe_begin = time.perf_counter()
            grad_norm = float(np.linalg.norm(grad))
            est = self.probe.estimate(theta, grad, spectrum=cfg.probe.full_spectrum)
            lam_max, lam_min, curvature = est.lambda_max, est.lambda_min, est.curvature
            if st.h is not None and math.isfinite(lam_max):
                h_lam = st.h * lam_max
            if est.spectrum is not None:
                self.spectra.append(Spectrum(step, float(t), st.h, est.spectrum, est.complete))
            self._last_probe_t = t
            spent = time.perf_counter() - probe_begin
            self.probe_wall += spent  # the budget's: the first, cold probe (~2× a warm one) too
            self._last_probe_cost = spent
        bound = st.stability_bound if st else math.inf
        if begin is not None:
            self.wall += time.perf_counter() - begin
        counts = self.flow.counts
        snap = Snapshot(
            step=step, t=float(t), h=st.h if st else None, wall=self.wall,
            solver_wall=self.solver_wall, loss_train=float(loss_train), loss_test=loss_test,
            accuracy_train=acc_train, accuracy_test=acc_test, rms_train=rms_train,
            rms_test=rms_test, grad_norm=grad_norm,
            rejected=stats.rejected if stats else None,
            newton_iters=stats.newton_iters if stats else None,
            newton_failures=stats.newton_failures if stats else None,
            order=stats.order if stats else None,
            jac_evals=stats.jac_evals if stats else None,
            lu_decomps=stats.lu_decomps if stats else None,
            method_in_use=stats.method_in_use if stats else None,
            method_switches=stats.method_switches if stats else None,
            n_grad=counts.grad, n_grad_fd=st.fd_jacobian_grads if st else 0,
            n_hvp=counts.hvp, n_hess=counts.hess,
            probe_hvp=self.probe.hvp_count, probe_hess=self.probe.hess_count,
            lambda_max=lam_max, lambda_min=lam_min, curvature=curvature, h_lambda_max=h_lam,
            stability_bound=bound if math.isfinite(bound) else None, rtol=rtol, atol=atol,
            status=status, message=message,
        )
        return snap

    def _check_stop(self, step, t, loss, acc, rms, theta) -> tuple[str, str]:
        stop = self.experiment.stop
        if not (math.isfinite(loss) and math.isfinite(theta.sum())):  # NaN/inf propagate
            self.status = "failed"
            self.message = (f"the loss became {loss} at step {step} (t = {t:.6g}): the weights "
                            "diverged. For gradient descent, lower the learning rate below "
                            "2/λmax; for a solver, tighten the tolerances.")
        elif self.stepper.finished:
            self.status, self.message = "finished", f"reached t_end = {stop.t_end:g}"
        elif stop.target_loss is not None and loss <= stop.target_loss:
            self.status, self.message = "finished", f"reached the target loss {stop.target_loss:g}"
        elif stop.target_accuracy is not None and acc is not None and acc >= stop.target_accuracy:
            self.status = "finished"
            self.message = f"reached the target accuracy {stop.target_accuracy:.1%}"
        elif stop.target_rms is not None and rms is not None and rms <= stop.target_rms:
            self.status = "finished"
            self.message = f"reached the target RMS error {stop.target_rms:g}"
        elif stop.max_steps is not None and step >= stop.max_steps:
            self.status, self.message = "stopped", f"reached the step limit {stop.max_steps}"
        elif stop.max_wall_time is not None and self.wall >= stop.max_wall_time:
            self.status = "stopped"
            self.message = f"reached the wall-time limit {stop.max_wall_time:g} s"
        return self.status, self.message

    def _advance_schedule(self, loss: float) -> None:
        """Move to the next tolerance phase once the loss has fallen below this one's bound."""
        schedule = self.experiment.solver.schedule
        phase = self._phase
        while phase < len(schedule) and loss <= schedule[phase].until_loss:
            phase += 1
        if phase != self._phase:
            self._phase = phase
            try:
                self.stepper.set_tolerances(*self.experiment.solver.tolerances(phase))
            except SolverFailure as exc:
                self.status, self.message = "failed", str(exc)

    def _replace_status(self, snap: Snapshot) -> Snapshot:
        return replace(snap, status=self.status, message=self.message, wall=self.wall,
                       solver_wall=self.solver_wall)

    # -- the end -----------------------------------------------------------------------------
    def run_to_end(self, on_snapshot=None) -> RunReport:
        """Step until a stop condition; ``on_snapshot(snap)`` sees every snapshot."""
        snap = self.start()
        if on_snapshot:
            on_snapshot(snap)
        while not self.done:
            snap = self.step()
            if on_snapshot:
                on_snapshot(snap)
        return self.report()

    def report(self) -> RunReport:
        """Final train/test figures, the Hessian's extreme eigenvalues at the end, θ, counters."""
        final = self._last or self.start()
        theta = self.theta
        lam_min = lam_max = None
        rel_tol = 1e-6
        if np.all(np.isfinite(theta)):
            with np.errstate(over="ignore", invalid="ignore"):
                if self.net.n_params <= FINAL_DENSE_LIMIT:  # exact, and cheap at this size
                    est = self.probe.estimate(theta, spectrum=True)
                else:  # the last snapshot's probe of this very θ, or the live probe's
                    # warm-started vectors (a few dozen Hv)
                    est = final if final.lambda_max is not None else self.probe.estimate(theta)
                    rel_tol = self.probe.tol
            lam_min, lam_max = est.lambda_min, est.lambda_max
        return RunReport(
            name=self.experiment.name, method=self.experiment.solver.method,
            status=self.status, message=self.message, final=final, theta=theta,
            lambda_min_final=lam_min, lambda_max_final=lam_max, n_params=self.net.n_params,
            eigen_rel_tol=rel_tol)


#: The warm-up run (:func:`warm_up`): this many training samples, at most this many steps.
WARM_UP_SAMPLES = 8
WARM_UP_STEPS = 2
_warm: set = set()  # the (solver, network) settings this process has warmed up


def warm_up(experiment: Experiment, problem: Problem) -> int | None:
    """Take a couple of steps of ``experiment``'s method on a few of ``problem``'s training
    samples, untimed and thrown away, so that the timed run that follows does not pay this
    process's first calls: modules imported when first needed, LAPACK's and numpy's first
    dispatch of each operation. In a fresh process (a comparison's worker) they fall unequally:
    on iris the first run costs 1.71× the next for whole-GN ``ros2-gn``, 1.29× for CVODE-GMRES,
    1.16× for Adam (``benchmarks/cold_start.py``). Once per process and setting; the steps
    taken, or None when already warm or when the warm-up failed (the run itself then says why)."""
    try:
        key = (experiment.solver, experiment.network)
        if key in _warm:
            return None
        _warm.add(key)
    except TypeError:  # an unhashable setting: warm up every time
        pass
    d, k = problem.dataset, WARM_UP_SAMPLES
    try:
        small = Problem(replace(d, X_train=d.X_train[:k], y_train=d.y_train[:k],
                                X_test=d.X_test[:k], y_test=d.y_test[:k]),
                        problem.net, problem.T_train[:k], problem.T_test[:k], problem.theta0)
        run = Run(experiment.with_changes(
            stop={"max_steps": WARM_UP_STEPS, "max_wall_time": 5.0},
            probe={"stiffness_every": 0, "stiffness_every_dt": None}), small)
        try:
            with np.errstate(all="ignore"):
                run.start()
                while not run.done:
                    run.step()
            return run.last.step
        finally:
            run.close()
    except Exception:  # noqa: BLE001 — best effort: the real run meets (and reports) any fault
        return None


__all__ = ["Problem", "Run", "step_stability", "warm_up"]
