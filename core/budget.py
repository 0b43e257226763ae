"""What one run will need in memory, estimated before anything is built, and what it may use.

An experiment is refused when it is validated (``Experiment.__post_init__``, from what its
configuration tells) and again once its data are read (a CSV file's rows, columns and classes
are known only then), with a message that names the field to change and the estimate — never
a ``MemoryError`` half-way through building it. The estimate counts the data and their split,
the per-gradient passes over the training samples, the θ-sized vectors of the solver and the
stiffness probe, and the dense matrices a method keeps (the one size rule for those stays
:func:`~odeprop.core.dense_limits.dense_jacobian_refusal`; what it allows is counted here).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .dataset_kinds import class_count, input_dimension
from .dense_limits import dense_jacobian_refusal, dense_matrix_bytes

#: θ-sized vectors alive at once: the solver's own (Runge–Kutta stages, CVODE's history and
#: Krylov basis, Adam's moments), and the stiffness probe's Lanczos basis when it probes.
SOLVER_COPIES = 32
PROBE_COPIES = 64
#: (samples × units) arrays one gradient or Hessian-vector product keeps: the forward pass's
#: z and a, the backward pass's δ and the R-operator's pair.
PASS_COPIES = 6
#: Classification into more classes than this is refused (a CSV column of 10,000 distinct
#: names is an identifier, not a label; its one-hot targets alone would be N × 10,000).
MAX_CLASSES = 1000
#: Samples of the kinds that ignore ``n_samples``; tests check it against the data themselves.
FIXED_SAMPLES = {"xor": 4, "encoder": 4, "iris": 150, "digits": 1797}


def memory_limit() -> int:
    """Bytes one run may use: half the machine's physical memory, and half the process's
    address-space limit if one is set (``ulimit -v``)."""
    try:
        limit = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows): assume 16 GB
        limit = 8 * 10**9
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            limit = min(limit, soft // 2)
    except (ImportError, OSError, ValueError):
        pass
    return limit


@dataclass(frozen=True)
class Need:
    """One part of a run's memory: the field that sizes it, what it is, and its bytes."""

    field: str
    what: str
    bytes: int


def needs(experiment, n_train: int | None = None, n_test: int | None = None,
          n_features: int | None = None, n_outputs: int | None = None) -> list[Need]:
    """The parts of one run's memory, from the data's sizes when known (after reading a CSV
    file), else from the configuration (a CSV file's unknown sizes count as their minimum)."""

    data, net = experiment.dataset, experiment.network
    csv = data.kind == "csv"
    if n_train is None:
        n = 0 if csv else FIXED_SAMPLES.get(data.kind, data.n_samples)
        n_test = 0 if data.kind in ("xor", "encoder") else round(n * data.test_fraction)
        n_train = n - n_test
    d = n_features or input_dimension(data.kind, data.n_features) or 1
    if n_outputs is None:
        classes = None if csv else class_count(data.kind, data.n_classes)
        two = classes == 2 and net.loss in ("bce", "mse")
        n_outputs = 4 if data.kind == "encoder" else 1 if classes is None or two else classes
    sizes = (d, *net.hidden, n_outputs)
    n_params = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    units = sum(sizes[1:])
    probe = experiment.probe
    copies = SOLVER_COPIES + (PROBE_COPIES if probe.stiffness_every or probe.stiffness_every_dt
                              else 0)
    n_all = n_train + n_test
    source = "dataset.csv_path" if csv else "dataset.n_features" if d > 100 else \
        "dataset.n_samples"
    parts = [
        Need("network.hidden", f"{n_params:,} parameters need about {_size(8 * n_params)} for "
             f"θ alone and {_size(8 * n_params * copies)} with the solver's and the probe's "
             "working vectors", 8 * n_params * copies),
        Need(source, f"{n_all:,} samples × {d:,} features need about "
             f"{_size(16 * n_all * d)} (the data and their split)", 16 * n_all * d),
        Need("dataset.n_samples", f"{n_train:,} training samples through {units:,} units "
             f"need about {_size(8 * PASS_COPIES * n_train * units)} per gradient",
             8 * (PASS_COPIES * n_train + 2 * n_test) * units),
        Need("dataset.target_column" if csv else "dataset.n_classes",
             f"{n_all:,} samples × {n_outputs:,} outputs need about "
             f"{_size(16 * n_all * n_outputs)} of targets", 16 * n_all * n_outputs),
    ]
    solver = experiment.solver
    if dense_jacobian_refusal(solver, n_params, n_train * n_outputs) is None:
        dense = dense_matrix_bytes(solver, n_params, n_train * n_outputs)
        if dense:
            parts.append(Need("solver.method", f"{solver.method} keeps dense matrices of about "
                              f"{_size(dense)} for {n_params:,} parameters", dense))
    return parts


def size_refusal(experiment, **sizes) -> str | None:
    """Why one run of ``experiment`` would not fit in :func:`memory_limit`, naming the field of
    its largest part and the estimate, or None. ``sizes``: as for :func:`needs`."""
    parts = needs(experiment, **sizes)
    total, limit = sum(p.bytes for p in parts), memory_limit()
    if total <= limit:
        return None
    return out_of_memory(parts, f"one run needs about {_size(total)} in all, more than the "
                         f"{_size(limit)} it may use (half of this machine's memory)")


def out_of_memory(parts: list[Need], why: str) -> str:
    """The message for ``parts`` too big: the largest part, ``why``, and what to do."""
    big = max(parts, key=lambda p: p.bytes)
    advice = {"network.hidden": "use fewer or narrower layers",
              "solver.method": "use cvode-gmres (matrix-free) or an explicit method",
              "dataset.csv_path": "use a smaller file"}.get(big.field, "use less data")
    return f"{big.field}: {big.what}; {why}: {advice}"


def _size(n: float) -> str:
    if n >= 1e9:
        return f"{n / 1e9:,.3g} GB"
    return f"{n / 1e6:,.3g} MB" if n >= 1e6 else f"{max(n, 0) / 1e3:,.3g} kB"


__all__ = ["MAX_CLASSES", "Need", "memory_limit", "needs", "out_of_memory", "size_refusal"]
