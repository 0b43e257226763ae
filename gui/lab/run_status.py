"""The lab's status line and progress text for a run's latest snapshot: plain text, no widgets.

Both change at most a few times a second (the window decides when); the progress is the largest
fraction of the way toward t_end or the nearest stopping target.
"""

from __future__ import annotations

import math

from ..common.log_axis import compact

STATUS_TITLES = {"finished": "Finished", "failed": "Run failed", "stopped": "Stopped",
                 "died": "Worker died"}


#: A run whose training loss ends this many times above where it began has not learnt: its end
#: is no success even when it reached t_end (gradient descent past its edge of stability).
LOSS_GREW = 100.0


def ending(status: str, message: str, first, last, stop) -> tuple[str, str]:
    """The banner's kind ("ok", "warning", "error", "info") and text for how a run ended.

    A run that finished only because it reached t_end is a success when it had no target and
    its loss did not grow; one with targets it missed, or whose loss grew :data:`LOSS_GREW`
    fold, ended without success, and says so in amber."""
    if status != "finished" or last is None:
        kind = {"failed": "error", "died": "error"}.get(status, "info")
        return kind, f"{STATUS_TITLES.get(status, status)}: {message}"
    missed = []
    for name, target, value, met in (
            ("loss", stop.target_loss, last.loss_train, lambda v, x: v <= x),
            ("accuracy", stop.target_accuracy, last.accuracy_train, lambda v, x: v >= x),
            ("RMS error", stop.target_rms, last.rms_train, lambda v, x: v <= x)):
        if target is None:
            continue
        if value is not None and met(value, target):
            return "ok", f"Finished: {message}"
        if name == "accuracy":
            missed.append(f"the target accuracy {target:.1%} (accuracy "
                          f"{'—' if value is None else format(value, '.1%')})")
        else:
            missed.append(f"the target {name} {compact(target)} ({name} {compact(value, 3)})")
    if missed:
        return "warning", f"Ended at t_end = {compact(stop.t_end)} without reaching " + \
            " or ".join(missed)
    start, end = first.loss_train if first else None, last.loss_train
    if start and end is not None and start > 0 and end > LOSS_GREW * start:
        return "warning", (f"Ended at t_end = {compact(stop.t_end)}, but the loss grew "
                           f"{end / start:,.0f}-fold (from {compact(start, 3)} to "
                           f"{compact(end, 3)}): the run did not learn (for gradient descent, "
                           "lower the learning rate)")
    return "ok", f"Finished: {message}"


#: Above this many parameters the first stiffness probe, at θ0, takes seconds (Lanczos on
#: ~50 Hessian-vector products: 2.2 s at 101,770 parameters), and the start says so.
SLOW_FIRST_PROBE = 20_000


def starting_line(experiment, n_params: int) -> str:
    """What the status bar says between Start and the first snapshot."""
    probe = experiment.probe
    parts = [f"Starting {experiment.solver.info.label}"]
    if probe.full_spectrum:
        parts.append("measuring Hessian spectra for the lens")
    probing = probe.stiffness_every > 0 or probe.stiffness_every_dt is not None
    if probing and n_params > SLOW_FIRST_PROBE:
        parts.append(f"first the Hessian's extreme eigenvalues at θ0 ({n_params:,} parameters: "
                     "a few seconds)")
    return ", ".join(parts) + "…"


def status_line(snap, state: str) -> str:
    """Step, time, step size, loss and the solver's counters of ``snap``, then the run's state."""
    parts = [f"step {snap.step}", f"t = {compact(snap.t)}", f"h = {compact(snap.h, 3)}",
             f"loss {compact(snap.loss_train)}"]
    if snap.accuracy_train is not None:
        parts.append(f"accuracy {snap.accuracy_train:.1%}")
    if snap.rms_train is not None:
        parts.append(f"RMS {compact(snap.rms_train, 3)}")
    parts.append(f"∇L evals {snap.n_grad}")
    if snap.n_hvp:  # a matrix-free method's Jacobian work
        parts.append(f"Hv {snap.n_hvp}")
    for name, value in (("rejected", snap.rejected), ("Jacobians", snap.jac_evals),
                        ("LU", snap.lu_decomps), ("Newton failures", snap.newton_failures),
                        ("order", snap.order)):
        if value is not None:
            parts.append(f"{name} {value}")
    if snap.method_in_use:
        parts.append(f"using {snap.method_in_use}")
    if state in ("running", "paused") and snap.status != "running":
        # the worker is writing its report: λmin and λmax at the end (a second or two
        # of Hessian-vector products for a big network)
        parts.append(f"{snap.status}; measuring the Hessian at the end…")
    else:
        parts.append(state)
    return "  ·  ".join(parts)


def run_progress(snap, first, stop, state: str) -> tuple[float, str]:
    """How far the run is toward ``stop.t_end`` or its nearest target (the largest fraction),
    measured from ``first`` (the run's first snapshot), and what that fraction counts."""
    candidates = [(snap.t / stop.t_end, f"t = {compact(snap.t, 3)} of {compact(stop.t_end)}")]

    def toward(now, start, target, name):
        if target is None or now is None or start is None or not start > target > 0:
            return
        if now > 0 and math.isfinite(now):
            candidates.append((math.log(start / now) / math.log(start / target),
                               f"{name} {compact(now, 3)} → {compact(target)}"))

    toward(snap.loss_train, first.loss_train, stop.target_loss, "loss")
    toward(snap.rms_train, first.rms_train, stop.target_rms, "RMS")
    if stop.target_accuracy and snap.accuracy_train is not None:
        candidates.append((snap.accuracy_train / stop.target_accuracy,
                           f"accuracy → {stop.target_accuracy:.0%}"))
    if stop.max_steps:
        candidates.append((snap.step / stop.max_steps, f"step {snap.step} of "
                           f"{stop.max_steps}"))
    if stop.max_wall_time:
        candidates.append((snap.wall / stop.max_wall_time, "wall-time limit"))
    fraction, text = max(candidates, key=lambda c: c[0])
    return (1.0 if state == "ended" and snap.status == "finished" else fraction), text
