"""The Gauss–Newton matrix of an MLP's loss, and fast solves with I + σ·B.

The (generalised) Gauss–Newton matrix splits the loss into the network's last pre-activation
z (per sample, ``out`` values) and a convex function of it:

    B = Σ_n J_nᵀ D_n J_n + l2·diag(mask),   J_n = ∂z_n/∂θ (out × P),  D_n ⪰ 0 (out × out).

D_n is the loss's Hessian in z where that is positive semidefinite: binary cross-entropy
p(1 − p)/N, softmax cross-entropy (diag(s) − s·sᵀ)/N, linear-output squared error 2/(N·out)·I.
For squared error behind a sigmoid output the sigmoid belongs to the model and the squared error
to the loss, so D_n = 2/(N·out)·diag(σ'(z)²): the residual term (s − t)·σ''(z) of the exact
second derivative is the part Gauss–Newton drops (it vanishes at zero residual, where B = H).
B is positive semidefinite, and equals the exact Hessian H wherever the network is linear in θ
(linear least squares) or the residual is zero.

Nothing P × P is formed unless asked for. With a square root D_n = F_nᵀF_n the weighted Jacobian
Ĵ (rows (n, r), m = N·r of them, r = out) gives B = ĴᵀĴ + l2·mask. For a layer
z_i = a_{i−1}·W_i + b_i, row (n, r) of Ĵ restricted to W_i is the outer product
a_{i−1}[n] ⊗ Δ_i[n, r] with Δ_i[n, r] = ∂(F_n z_n)_r / ∂z_i (a backward pass of the r rows of
F_n). So Ĵv, Ĵᵀw and the m × m kernel ĴĴᵀ come from per-layer products (Ĵ itself is stored
only when small, to make Ĵv and Ĵᵀw two matrix-vector products):

    (ĴĴᵀ)[(n, r), (n', r')] = Σ_i (a_{i−1}[n]·a_{i−1}[n'] + 1)·(Δ_i[n, r]·Δ_i[n', r']),

at N²·fan_in + m²·fan_out multiply-adds per layer instead of m²·P.

Solves with W = I + σB (σ = γh in a Rosenbrock method, h in Levenberg–Marquardt):

* m < P: the Woodbury identity. With Λ = I + σ·l2·mask (diagonal),
  W⁻¹ = Λ⁻¹ − Λ⁻¹Ĵᵀ(I/σ + ĴΛ⁻¹Ĵᵀ)⁻¹ĴΛ⁻¹, one m × m Cholesky; ĴΛ⁻¹Ĵᵀ = K_w/(1 + σ·l2) + K_b
  from the kernel split into weight and bias parts, so a new σ costs one m × m Cholesky only.
* m ≥ P: B formed densely (m·P² through Ĵ, built in row blocks), one P × P Cholesky of I + σB.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import lu_factor, lu_solve
from scipy.linalg.lapack import dpotrf, dpotrs
from scipy.special import expit

from .network import MLP, _act_d1, softmax

#: Rows of Ĵ materialised at once when the dense P × P matrix is assembled.
_DENSE_ROW_BLOCK = 2048
#: Ĵ is kept whole (for the Woodbury solves) up to this many entries (32 MB).
_EXPLICIT_LIMIT = 1 << 22
#: Below this many entries Ĵ is kept whatever the rows per sample (see ``_explicit``).
_TINY_EXPLICIT = 1 << 14
#: W⁻¹ is formed as a matrix when that costs at most this many multiply-adds (ShiftedSolve).
_TINY_OPERATOR = 1 << 16


def loss_curvature_factor(net: MLP, z: np.ndarray, T: np.ndarray) -> np.ndarray:
    """F with D_n = F_nᵀF_n for every sample, shape (N, r, out): r = out rows per sample, or
    out − 1 for softmax cross-entropy, whose curvature has rank out − 1 (see below)."""
    n, out = z.shape
    if net.loss_name == "softmax_ce":
        return _softmax_factor(softmax(z), n) if out > 1 else np.zeros((n, 1, 1))
    if net.loss_name == "bce":
        p = expit(z)
        diag = np.sqrt(p * (1.0 - p) / n)
    else:
        c = 2.0 / T.size
        if net.output == "sigmoid":
            s = expit(z)
            diag = np.sqrt(c) * s * (1.0 - s)
        else:
            diag = np.full(z.shape, np.sqrt(c))
    if out == 1:
        return diag.reshape(n, 1, 1)
    return diag[:, :, None] * np.eye(out)


def _softmax_factor(s: np.ndarray, n: int) -> np.ndarray:
    """F (N, K − 1, K) with FᵀF = (diag(s) − s·sᵀ)/N, for probabilities s (N, K).

    F₀ = diag(√s)(I − 1·sᵀ) (K × K) has FᵀF₀ = diag(s) − s·sᵀ because Σ s = 1, but its rows are
    dependent: √sᵀ·F₀ = 0. The reflection Q = I − 2uuᵀ/|u|², u = √s − e_K, maps √s to e_K, so
    the last row of Q·F₀ is zero and the other K − 1 rows keep (QF₀)ᵀ(QF₀) = F₀ᵀF₀. They are
    F[r, k] = √s_k·(δ_rk − √s_r·√s_k / d) for k < K and F[r, K] = √s_r·√s_K, d = 1 − √s_K,
    taken as (Σ_{r<K} s_r)/(1 + √s_K) to avoid cancellation when s_K → 1. A third fewer rows
    of Ĵ on three classes (iris), a tenth fewer on ten (digits); B is the same."""
    root = np.sqrt(s)
    d = s[:, :-1].sum(axis=1) / (1.0 + root[:, -1])
    q = np.divide(s[:, :-1], d[:, None], out=np.zeros_like(d, shape=(s.shape[0], s.shape[1] - 1)),
                  where=d[:, None] > 0)  # √s_k·√s_k / d
    head = root[:, :-1] * (1.0 / math.sqrt(n))  # √s_r / √N
    F = np.empty((s.shape[0], s.shape[1] - 1, s.shape[1]))
    np.multiply(head[:, :, None], q[:, None, :], out=F[:, :, :-1])
    np.negative(F, out=F)
    F.reshape(s.shape[0], -1)[:, ::s.shape[1] + 1] += head  # F[:, r, r], a strided view
    np.multiply(head, root[:, -1:], out=F[:, :, -1])
    return F


def loss_curvature(net: MLP, z: np.ndarray, T: np.ndarray) -> np.ndarray:
    """D_n (N, out, out): the per-sample positive semidefinite curvature Gauss–Newton uses."""
    F = loss_curvature_factor(net, z, T)
    return np.einsum("nro,nrp->nop", F, F)


class GaussNewton:
    """The Gauss–Newton matrix at one θ, held as per-layer factors (nothing P × P)."""

    def __init__(self, net: MLP, theta: np.ndarray, X: np.ndarray, T: np.ndarray,
                 forward=None, workspace: Workspace | None = None):
        zs, acts = forward if forward is not None else net.forward(theta, X)
        self.workspace = workspace or Workspace()
        self.net = net
        self.n_params = net.n_params
        self.l2 = float(net.l2)
        self.mask = net.weight_mask
        n = X.shape[0]
        F = loss_curvature_factor(net, zs[-1], T)  # (n, r, out)
        self.n_samples, self.rows = n, F.shape[1]
        self.m = n * self.rows
        params = net.unpack(theta)
        nl = len(net.layers)
        self.inputs = [acts[i] for i in range(nl)]  # a_{i−1}: the input of layer i, (n, fan_in)
        deltas: list = [None] * nl
        delta = F  # ∂(F z_out)/∂z_out
        for i in range(nl - 1, -1, -1):
            deltas[i] = delta
            if i > 0:
                d1 = _act_d1(net.activations[i - 1], zs[i - 1], acts[i])
                fo = net.layers[i].fan_out
                back = (delta.reshape(-1, fo) @ params[i][0].T).reshape(n, self.rows, -1)
                delta = back * d1[:, None, :]
        self.deltas = deltas  # Δ_i, (n, r, fan_out)
        self._kernels = None
        self._gram = None
        self._dense = None
        self._J = None

    @property
    def use_woodbury(self) -> bool:
        """Whether the m × m (Woodbury) form is the smaller system."""
        return self.m < self.n_params

    # -- products -------------------------------------------------------------------------
    def jvp(self, v: np.ndarray) -> np.ndarray:
        """Ĵ·v, shape (N, r)."""
        J = self._explicit()
        if J is not None:
            return (J @ v).reshape(self.n_samples, self.rows)
        out = np.zeros((self.n_samples, self.rows))
        for s, a, d in zip(self.net.layers, self.inputs, self.deltas, strict=True):
            W = v[s.w].reshape(s.fan_in, s.fan_out)
            u = a @ W
            u += v[s.b]  # (n, fan_out): the change of z_i along v
            if self.rows == 1:
                out[:, 0] += np.einsum("nf,nf->n", d[:, 0, :], u)
            else:
                out += np.einsum("nrf,nf->nr", d, u)
        return out

    def vjp(self, w: np.ndarray) -> np.ndarray:
        """Ĵᵀ·w for w of shape (N, r): a vector of length P."""
        J = self._explicit()
        if J is not None:
            return w.reshape(-1) @ J
        g = np.empty(self.n_params)
        for s, a, d in zip(self.net.layers, self.inputs, self.deltas, strict=True):
            e = d[:, 0, :] * w if self.rows == 1 else np.einsum("nr,nrf->nf", w, d)
            g[s.w] = (a.T @ e).ravel()
            g[s.b] = e.sum(axis=0)
        return g

    def _explicit(self) -> np.ndarray | None:
        """Ĵ stored (in the workspace) when the Woodbury form is in use, Ĵ is small and its
        products cost no more than the per-layer ones: then they are two matrix-vector products
        instead of a pass per layer. With one row per sample both cost about N·P; with r rows
        (softmax over r classes) Ĵ's products cost r times the per-layer ones and building Ĵ
        as much again (digits, 320 × 2,410: 371 → 235 ms a run per layer), unless Ĵ is tiny
        and the per-layer calls' overhead is what counts."""
        if self._J is None and self.use_woodbury and self.m * self.n_params <= _EXPLICIT_LIMIT:
            if self.rows == 1 or self.m * self.n_params <= _TINY_EXPLICIT:
                self._J = self.jacobian(out=self.workspace.get("J", (self.m, self.n_params)))
        return self._J

    def matvec(self, v: np.ndarray) -> np.ndarray:
        """B·v = Ĵᵀ(Ĵv) + l2·mask·v."""
        out = self.vjp(self.jvp(v))
        if self.l2:
            out += self.l2 * self.mask * v
        return out

    def diagonal(self) -> np.ndarray:
        """diag(B)."""
        dg = np.empty(self.n_params)
        for s, a, d in zip(self.net.layers, self.inputs, self.deltas, strict=True):
            d2 = np.einsum("nrf,nrf->nf", d, d)
            dg[s.w] = ((a * a).T @ d2).ravel()
            dg[s.b] = d2.sum(axis=0)
        if self.l2:
            dg += self.l2 * self.mask
        return dg

    # -- matrices -------------------------------------------------------------------------
    def kernels(self) -> tuple[np.ndarray, np.ndarray | None]:
        """(K_w, K_b), m × m: the weights' and the biases' parts of ĴĴᵀ; without a penalty
        only their sum matters, and it comes back as (ĴĴᵀ, None)."""
        if self._kernels is None:
            n, r, m = self.n_samples, self.rows, self.m
            split = bool(self.l2)
            ws = self.workspace
            K_w = ws.get("K_w", (m, m))
            K_b = ws.get("K_b", (m, m), zero=True) if split else None
            G, S = ws.get("G", (m, m)), ws.get("S", (n, n))
            for i, (a, d) in enumerate(zip(self.inputs, self.deltas, strict=True)):
                flat = d.reshape(m, -1)
                if flat.shape[1] == 1:
                    np.multiply.outer(flat[:, 0], flat[:, 0], out=G)
                else:
                    np.matmul(flat, flat.T, out=G)
                if split:
                    K_b += G
                if a.shape[1] == 1:
                    np.multiply.outer(a[:, 0], a[:, 0], out=S)
                else:
                    np.matmul(a, a.T, out=S)
                if not split:
                    S += 1.0  # the bias: a⁺ = [a, 1]
                target = K_w if i == 0 else G
                if r == 1:
                    np.multiply(G, S, out=target)
                else:
                    np.multiply(G.reshape(n, r, n, r), S[:, None, :, None],
                                out=target.reshape(n, r, n, r))
                if i > 0:
                    K_w += G
            self._kernels = (K_w, K_b)
        return self._kernels

    def gram(self) -> np.ndarray:
        """ĴĴᵀ (m × m) from the stored Ĵ, formed once (each step size tried reuses it): for
        tiny systems, one product instead of the per-layer kernels."""
        if self._gram is None:
            J = self._explicit()
            self._gram = J @ J.T
        return self._gram

    def jacobian(self, rows: slice | None = None, out: np.ndarray | None = None) -> np.ndarray:
        """Ĵ itself (or a block of its rows, whole samples), m × P, written into ``out`` if
        given: for the dense form, small Woodbury systems and tests."""
        r = self.rows
        rows = rows or slice(0, self.m)
        samples = slice(rows.start // r, -(-rows.stop // r))
        k = samples.stop - samples.start
        J = np.empty((k * r, self.n_params)) if out is None else out
        for s, a, d in zip(self.net.layers, self.inputs, self.deltas, strict=True):
            a, d = a[samples], d[samples]
            block = np.reshape(J[:, s.w], (k, r, s.fan_in, s.fan_out), copy=False)
            np.multiply(a[:, None, :, None], d[:, :, None, :], out=block)  # 1.5× einsum's speed
            J[:, s.b] = d.reshape(k * r, -1)
        first = samples.start * r
        return J[rows.start - first:rows.stop - first]

    def dense(self) -> np.ndarray:
        """B as a dense P × P matrix (ĴᵀĴ in row blocks, plus the penalty); formed once and
        kept (read-only) for the next call."""
        if self._dense is not None:
            return self._dense
        step = max(self.rows, _DENSE_ROW_BLOCK // self.rows * self.rows)
        if self.m <= step:  # one block (iris): Ĵ and B in the workspace, B = ĴᵀĴ in one product
            J = self.jacobian(out=self.workspace.get("J", (self.m, self.n_params)))
            B = self.workspace.get("B", (self.n_params,) * 2)
            B.flags.writeable = True  # the previous matrix's, handed out read-only
            np.matmul(J.T, J, out=B)
        else:
            B = np.zeros((self.n_params, self.n_params))
            for start in range(0, self.m, step):
                J = self.jacobian(slice(start, min(self.m, start + step)))
                B += J.T @ J
        if self.l2:
            B[np.diag_indices_from(B)] += self.l2 * self.mask
        B.flags.writeable = False
        self._dense = B
        return B


class ShiftedSolve:
    """Solves with W = I + σ·B for one σ: factorise once, solve many right-hand sides.

    For a tiny system (P²·m ≤ ``_TINY_OPERATOR`` multiply-adds, no penalty: XOR, the encoder)
    W⁻¹ = I − Ĵᵀ(I/σ + ĴĴᵀ)⁻¹Ĵ is formed as a P × P matrix, and a solve is one
    matrix-vector product: there numpy's per-call overhead, not arithmetic, is the cost
    (a Woodbury solve is five calls).
    """

    def __init__(self, gn: GaussNewton, sigma: float):
        self.gn, self.sigma = gn, float(sigma)
        self._lam_inv = None
        self._inverse = None
        if gn.use_woodbury and not gn.l2 and gn.n_params**2 * gn.m <= _TINY_OPERATOR:
            J = gn._explicit()
            C = gn.gram() + np.eye(gn.m) / self.sigma
            c, info = dpotrf(C.T, lower=0, clean=0, overwrite_a=1)  # symmetric: Cᵀ = C
            if info == 0:
                inverse = -(J.T @ dpotrs(c, J, lower=0)[0])
                inverse.flat[::gn.n_params + 1] += 1.0
                self._inverse = inverse
                return
        if gn.use_woodbury and gn.l2:
            self._lam_inv = 1.0 / (1.0 + sigma * gn.l2 * gn.mask)
        size = gn.m if gn.use_woodbury else gn.n_params
        C = self._system(gn.workspace.get("C", (size, size)))
        c, info = dpotrf(C.T, lower=0, clean=0, overwrite_a=1)  # Cᵀ = C, Fortran-ordered
        if info == 0:
            self._factor = lambda b: dpotrs(c, b, lower=0)[0]
        else:  # rounding made C numerically indefinite (huge σ, rank-deficient B)
            lu = lu_factor(self._system(np.empty((size, size))), check_finite=False)
            self._factor = lambda b: lu_solve(lu, b, check_finite=False)

    def _system(self, C: np.ndarray) -> np.ndarray:
        """The symmetric positive definite matrix to factorise, written into C: I/σ + ĴΛ⁻¹Ĵᵀ
        (Woodbury) or I + σB (dense)."""
        gn, sigma = self.gn, self.sigma
        if gn.use_woodbury:
            K_w, K_b = gn.kernels()
            if K_b is None:
                np.copyto(C, K_w)
            else:
                np.multiply(K_w, 1.0 / (1.0 + sigma * gn.l2), out=C)
                C += K_b
            C.flat[::C.shape[0] + 1] += 1.0 / sigma
        else:
            np.multiply(gn.dense(), sigma, out=C)
            C.flat[::C.shape[0] + 1] += 1.0
        return C

    def solve(self, v: np.ndarray) -> np.ndarray:
        """W⁻¹·v."""
        if self._inverse is not None:
            return self._inverse @ v
        gn = self.gn
        if not gn.use_woodbury:
            return self._factor(v)
        u = v * self._lam_inv if self._lam_inv is not None else v
        w = self._factor(gn.jvp(u).ravel()).reshape(gn.n_samples, gn.rows)
        correction = gn.vjp(w)
        if self._lam_inv is not None:
            correction *= self._lam_inv
        correction -= u
        correction *= -1.0
        return correction


class Workspace:
    """Scratch arrays kept between steps. Fresh large arrays each step cost page faults (glibc
    returns big freed blocks to the system): on the sin problem that was ~0.3 ms of a 0.45 ms
    kernel. Objects that share a workspace must not be used after a newer one has been built."""

    def __init__(self):
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], zero: bool = False) -> np.ndarray:
        a = self._arrays.get(name)
        if a is None or a.shape != shape:
            a = self._arrays[name] = np.empty(shape)
        if zero:
            a.fill(0.0)
        return a
