"""What the model does, for the data view: decision surface, fitted curve, confusion matrix.

The GUI draws these; it does no maths of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .run import Problem


@dataclass(frozen=True)
class DecisionSurface:
    """The network's output over a grid of the (standardised) input plane."""

    xs: np.ndarray  # (nx,) grid coordinates along feature 0
    ys: np.ndarray  # (ny,) along feature 1
    values: np.ndarray  # (nx, ny): P(class 1) for two classes, else the predicted class index
    n_classes: int


def plane_grid(problem: Problem, resolution: int, margin: float = 0.5):
    """(xs, ys, points): a resolution × resolution grid over the span of 2-D data (train and
    test, widened by ``margin``); ``points`` is (resolution², 2), x varying slowest."""
    data = problem.dataset
    if data.n_features != 2:
        raise ValueError("a view over the input plane needs 2 input features")
    X = np.vstack([data.X_train, data.X_test]) if data.n_test else data.X_train
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    xs = np.linspace(lo[0], hi[0], resolution)
    ys = np.linspace(lo[1], hi[1], resolution)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    return xs, ys, np.column_stack([gx.ravel(), gy.ravel()])


def decision_surface(problem: Problem, theta: np.ndarray, resolution: int = 80,
                     margin: float = 0.5) -> DecisionSurface:
    data = problem.dataset
    xs, ys, points = plane_grid(problem, resolution, margin)
    out = problem.net.predict(theta, points)
    if out.shape[1] == 1:
        values = out[:, 0]
    elif data.n_classes == 2 and out.shape[1] == 2:
        values = out[:, 1]
    else:
        values = out.argmax(axis=1).astype(float)
    return DecisionSurface(xs, ys, values.reshape(resolution, resolution), data.n_classes or 1)


def regression_curve(problem: Problem, theta: np.ndarray, n: int = 200):
    """(x, ŷ) over the span of a 1-D input, sorted, for drawing the fitted curve."""
    data = problem.dataset
    X = np.vstack([data.X_train, data.X_test]) if data.n_test else data.X_train
    x = np.linspace(X[:, 0].min(), X[:, 0].max(), n)
    return x, problem.net.predict(theta, x[:, None])[:, 0]


def confusion_matrix(problem: Problem, theta: np.ndarray, split: str = "test") -> np.ndarray:
    """Counts (true class × predicted class) on the train or test split."""
    data = problem.dataset
    X, y = (data.X_test, data.y_test) if split == "test" else (data.X_train, data.y_train)
    C = data.n_classes
    out = problem.net.predict(theta, X) if len(X) else np.zeros((0, 1))
    predicted = (out[:, 0] > 0.5).astype(int) if out.shape[1] == 1 else out.argmax(axis=1)
    M = np.zeros((C, C), dtype=int)
    np.add.at(M, (np.asarray(y, dtype=int), predicted), 1)
    return M
