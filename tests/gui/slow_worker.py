"""A worker whose gradient turns slow after a few steps: a stand-in for a big network's long
steps and cold probes (the Stop that arrives mid-step), imported by the spawned process."""

import time

from odeprop.core.worker import RunProcess, _worker_main

#: after this flow time every gradient takes SLOW_SECONDS (the worker is deaf to commands)
SLOW_AFTER_T = 0.5
SLOW_SECONDS = 5.0


def _slow_main(conn, experiment_data, theta0, start_paused, niceness):
    from odeprop.core.flow import GradientFlow

    rhs = GradientFlow.rhs

    def slow_rhs(self, t, theta):
        if t > SLOW_AFTER_T:
            time.sleep(SLOW_SECONDS)
        return rhs(self, t, theta)

    GradientFlow.rhs = slow_rhs
    _worker_main(conn, experiment_data, theta0, start_paused, niceness)


class SlowStepProcess(RunProcess):
    """:class:`RunProcess` over the slow gradient above."""

    def __init__(self, experiment, theta0=None, start_paused: bool = False, niceness: int = 0,
                 pace=None, keep_thetas: bool = False):
        self._start(_slow_main, (experiment.to_dict(), theta0, start_paused, niceness))
