"""scipy's legacy ``ode`` integrators (vode, zvode, lsoda, dopri5, dop853), one step at a time.

vode, zvode and lsoda are called the way ``ode.integrate(t_end, step=True)`` would call them, but
with ITASK = 5 and TCRIT = t_end: one internal step that never passes t_end (lsoda's ``step=True``
silently integrates all the way). Their counters are read from the Fortran work arrays:
vode/zvode give every SolverStats figure but the method in use (newton_iters is None with
functional iteration, which vode does not count); lsoda gives steps, order, Jacobians (= LU
factorisations) and its Adams/BDF switching, but keeps no rejection or Newton counts (None).

dopri5 and dop853 can only integrate to the end. They run in a daemon thread whose ``solout``
callback hands each accepted step over and waits until the next ``step()`` asks for another.
Rejections follow from our own count of gradient calls; Newton, Jacobian and LU figures are None.

The Fortran codes keep global state: two vode (or zvode, or lsoda) runs in one process break each
other. The app runs each in its own process; here the clash becomes a ``SolverFailure``.
"""

from __future__ import annotations

import math
import queue
import threading
import warnings
import weakref

import numpy as np
from scipy.integrate import ode
from scipy.integrate._ode import IntegratorConcurrencyError

from .base import SolverFailure, Stepper, finite_gradient

# vode and zvode statistics, 0-based iwork indices. zvode stores LENZW before LENRW and LENIW,
# which moves NLU..NETF one place on (measured, and as documented in dvode.f and zvode.f).
_VODE_IWORK = {  # name: (NLU, NNI, NCFN, NETF)
    "vode": (18, 19, 20, 21),
    "zvode": (19, 20, 21, 22),
}
_NST, _NJE, _NQU, _LSODA_MUSED = 10, 12, 13, 18
_HU = 10  # rwork: the step size last used
# dopri5 / dop853: right-hand-side calls per (accepted, rejected) attempt. dopri5 makes 6 calls
# either way (FSAL); dop853 makes 11 per attempt and a 12th after acceptance (measured against
# iwork's NFCN, NSTEP, NACCPT).
_RK_CALLS = {"dopri5": (6, 6), "dop853": (12, 11)}
_RK_ORDER = {"dopri5": 5, "dop853": 8}
_BIG_NSTEPS = 10**9
_THREAD_STOP_TIMEOUT = 5.0


class LegacyOdeStepper(Stepper):
    """One of ``scipy.integrate.ode``'s integrators, one accepted step per ``step()``."""

    def __init__(self, flow, theta0, config, t_end):
        super().__init__(flow, theta0, config, t_end)
        self._method = config.method
        self._name = config.method.split("-")[0]  # vode, zvode, lsoda, dopri5, dop853
        self._failure: str | None = None
        self._closed = False
        self._ode = None
        self._pump: _SoloutPump | None = None
        rtol, atol = config.tolerances(0)
        options = {"rtol": rtol, "atol": atol, "nsteps": _BIG_NSTEPS,
                   "first_step": config.first_step or 0.0,
                   "max_step": config.max_step if math.isfinite(config.max_step) else 0.0}
        if self._name in _RK_CALLS:
            self._pump = _SoloutPump(self._name, finite_gradient(flow.rhs, self._name),
                                     self.theta, self.t_end, options)
            self._finalizer = weakref.finalize(self, self._pump.stop)
            self.stats.rejected = 0
            self.stats.order = _RK_ORDER[self._name]
        else:
            self._build_stepwise(options)

    # -- vode / zvode / lsoda ------------------------------------------------------------------
    def _build_stepwise(self, options: dict) -> None:
        mode = self.config.jacobian_mode
        flow, name = self.flow, self._name
        if name == "zvode":
            real_rhs = finite_gradient(flow.rhs, name)

            def rhs(t, y):
                return real_rhs(t, np.ascontiguousarray(y.real)).astype(complex)

            def jac(t, y):
                return flow.jac(t, np.ascontiguousarray(y.real)).astype(complex)
        else:
            rhs, jac = finite_gradient(flow.rhs, name), flow.jac
        if name == "lsoda":
            if self.config.max_order is not None:
                options["max_order_s"] = self.config.max_order
        else:
            adams = self._method.endswith("adams")
            options["method"] = "adams" if adams else "bdf"
            options["order"] = self.config.max_order or (12 if adams else 5)
        options["with_jacobian"] = mode != "none"
        self._ode = ode(rhs, jac if mode == "exact" else None)
        self._ode.set_integrator(name, **options)
        y0 = self.theta.astype(complex) if name == "zvode" else self.theta.copy()
        self._ode.set_initial_value(y0, 0.0)
        integrator = self._ode._integrator
        integrator.call_args[2] = 5  # ITASK 5: one step, never past TCRIT
        integrator.rwork[0] = self.t_end  # TCRIT
        s = self.stats
        if name == "lsoda":
            s.method_switches = 0
        else:
            s.rejected = s.newton_failures = 0
            s.newton_iters = 0 if self.config.jacobian_mode != "none" else None

    def set_tolerances(self, rtol: float, atol: float) -> None:
        """vode, zvode and lsoda take new RTOL/ATOL on a continuation call (ISTATE = 2);
        Hairer's codes cannot (refused by the configuration)."""
        if self._ode is None:
            return super().set_tolerances(rtol, atol)
        integrator = self._ode._integrator
        integrator.call_args[0], integrator.call_args[1] = rtol, atol

    def _step_stepwise(self) -> None:
        o = self._ode
        integrator = o._integrator
        t_old = o.t
        try:
            with warnings.catch_warnings():
                # The integrator reports failure through warnings.warn; we read istate instead.
                warnings.filterwarnings("ignore", message=rf"{self._name}: ",
                                        category=UserWarning)
                o._y, o.t = integrator.run(o.f, o.jac or _no_jacobian, o._y, o.t, self.t_end,
                                           o.f_params, o.jac_params)
        except IntegratorConcurrencyError as exc:
            raise self._failed(
                f"{self._name}: another {self._name} integration in this process took over its "
                "Fortran state (the legacy integrators hold one problem per process); this run "
                "cannot continue") from exc
        except Exception as exc:
            raise self._failed(f"{self._name}: {exc} ({type(exc).__name__} while "
                               f"stepping from t = {t_old:.6g})") from exc
        if integrator.istate < 0:
            text = integrator.messages.get(integrator.istate,
                                           f"Unexpected istate={integrator.istate}")
            raise self._failed(f"{self._name}: {text} at t = {o.t:.6g}")
        y = np.array(o._y.real if self._name == "zvode" else o._y, dtype=float)
        self._advance(float(o.t), y, float(integrator.rwork[_HU]), t_old)
        self._read_counters(integrator)

    def _read_counters(self, integrator) -> None:
        iwork, s = integrator.iwork, self.stats
        s.accepted = int(iwork[_NST])
        s.order = int(iwork[_NQU])
        s.jac_evals = int(iwork[_NJE])
        if self._name == "lsoda":
            s.lu_decomps = s.jac_evals  # LSODA factorises exactly once per Jacobian (NJE doc)
            method = {1: "Adams", 2: "BDF"}.get(int(iwork[_LSODA_MUSED]))
            if s.method_in_use is not None and method != s.method_in_use:
                s.method_switches += 1
            s.method_in_use = method
            return
        nlu, nni, ncfn, netf = (int(iwork[i]) for i in _VODE_IWORK[self._name])
        s.lu_decomps, s.newton_failures = nlu, ncfn
        # NNI counts chord-Newton iterations only; functional iteration ("none") is not counted.
        s.newton_iters = nni if self.config.jacobian_mode != "none" else None
        s.rejected = netf + ncfn

    # -- dopri5 / dop853 -------------------------------------------------------------------------
    def _step_solout(self) -> None:
        t_old = self.t
        try:
            t, y, calls = self._pump.next_step()
        except SolverFailure as exc:
            raise self._failed(str(exc)) from None
        s = self.stats
        s.accepted += 1
        accepted_cost, rejected_cost = _RK_CALLS[self._name]
        extra, remainder = divmod(calls - self._pump.base_calls - accepted_cost * s.accepted,
                                  rejected_cost)
        s.rejected = extra if remainder == 0 and extra >= 0 else None
        self._advance(t, y, t - t_old, t_old)

    @property
    def fd_jacobian_grads(self) -> int:
        """vode, zvode and lsoda build a finite-difference Jacobian with P gradient calls (their
        NFE counts these with the steps' calls)."""
        if self._pump is not None or self.config.jacobian_mode != "fd":
            return 0
        return (self.stats.jac_evals or 0) * self.theta.size

    @property
    def integrator_counts(self) -> dict | None:
        """dopri5/dop853: the integrator's own final NFCN, NSTEP, NACCPT, NREJCT (iwork[16..19])
        once its run has ended; note NREJCT leaves out rejections before the first acceptance."""
        return self._pump.final_counts if self._pump is not None else None

    # -- shared ----------------------------------------------------------------------------------
    def step(self) -> None:
        if self._failure is not None:
            raise SolverFailure(self._failure)
        if self._closed:
            raise SolverFailure(f"{self._method} was closed")
        if self.finished:
            raise SolverFailure(f"{self._method} has already reached t_end = {self.t_end:g}")
        if self._pump is not None:
            self._step_solout()
        else:
            self._step_stepwise()

    def _advance(self, t: float, y: np.ndarray, h: float, t_old: float) -> None:
        if not t > t_old:
            raise self._failed(f"{self._name}: no progress, t + h = t at t = {t_old:.6g} "
                       f"(step size {h:.3g})")
        if not np.all(np.isfinite(y)):
            raise self._failed(f"{self._name}: the solution became non-finite at t = {t:.6g}")
        self.t, self.theta, self.h = t, y, h

    def _failed(self, message: str) -> SolverFailure:
        """Remember the failure (later calls repeat it) and build the exception to raise."""
        self._failure = message
        return SolverFailure(message)

    def close(self) -> None:
        self._closed = True
        if self._pump is not None:
            self._finalizer()  # stops and joins the thread, once
        self._ode = None


def _no_jacobian():
    return None


class _SoloutPump:
    """Runs dopri5/dop853 from 0 to t_end in a daemon thread, releasing one accepted step per
    request. Holds no reference to its stepper, so a forgotten stepper can still be collected."""

    def __init__(self, name: str, rhs, theta0: np.ndarray, t_end: float, options: dict):
        self.name, self.t_end = name, t_end
        self.calls = 0
        self.base_calls: int | None = None  # calls made before the first step (f0, initial h)
        self.final_counts: dict | None = None
        self._rhs = rhs
        self._y0 = np.array(theta0, dtype=float)
        self._ode = ode(self._counted_rhs).set_integrator(name, **options)
        self._ode.set_solout(self._solout)
        self._ode.set_initial_value(self._y0, 0.0)
        self._requests: queue.SimpleQueue = queue.SimpleQueue()  # main → thread: "step"/"stop"
        self._events: queue.SimpleQueue = queue.SimpleQueue()  # thread → main
        self._thread = threading.Thread(target=self._run, name=f"odeprop-{name}", daemon=True)
        self._started = False
        self._stopped = False

    def _counted_rhs(self, t, y):
        self.calls += 1
        return self._rhs(t, y)

    def _solout(self, t, y):
        if self.base_calls is None:  # the call at the initial point, before any step
            self.base_calls = self.calls
            return 0
        self._events.put(("step", float(t), np.array(y, dtype=float), self.calls))
        if t >= self.t_end * (1 - 1e-12):
            return 0  # the last step: let the run end on its own
        return -1 if self._requests.get() == "stop" else 0

    def _run(self) -> None:
        integrator = self._ode._integrator
        try:
            # dopri5.run without its warnings.warn: the same runner call, istate read directly.
            x, _, iwork, istate = integrator.runner(
                self._counted_rhs, 0.0, self._y0, self.t_end, *integrator.call_args, ())
            self.final_counts = {"nfev": int(iwork[16]), "nstep": int(iwork[17]),
                                 "naccpt": int(iwork[18]), "nrejct": int(iwork[19])}
            if istate < 0:
                text = integrator.messages.get(istate, f"Unexpected istate={istate}")
                self._events.put(("failed", f"{self.name}: {text} at t = {x:.6g}"))
            else:
                self._events.put(("done", None))
        except BaseException as exc:  # handed to the main thread, never lost
            self._events.put(("failed", f"{self.name}: {exc} ({type(exc).__name__} during "
                                        "the integration)"))

    def next_step(self):
        """Let the integrator run to its next accepted step; (t, y, calls so far)."""
        if not self._started:
            self._started = True
            self._thread.start()
        else:
            self._requests.put("step")
        while True:
            try:
                kind, *payload = self._events.get(timeout=0.5)
                break
            except queue.Empty:
                if not self._thread.is_alive() and self._events.empty():
                    raise SolverFailure(f"{self.name}: the integration thread ended") from None
        if kind == "step":
            return payload
        if kind == "failed":
            raise SolverFailure(payload[0])
        raise SolverFailure(f"{self.name}: the integration ended before t_end")

    def stop(self) -> None:
        """Make the callback return -1 and join the thread. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        if self._started and self._thread.is_alive():
            self._requests.put("stop")
            self._thread.join(_THREAD_STOP_TIMEOUT)
