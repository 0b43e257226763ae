"""A multilayer perceptron over one flat parameter vector θ, with exact derivatives.

Loss, gradient (backpropagation), Hessian-vector products (Pearlmutter's R-operator, batched over
many directions at once) and the dense Hessian (layer block by layer block, from the R-operator
factorised per sample, as GEMMs over samples). Everything is vectorised over samples; losses use
stable formulations for large logits.

Layout of θ: for each layer in turn, its weight matrix W (fan_in × fan_out, row-major) then its
bias b (fan_out). A layer computes z = a·W + b, a' = f(z).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from scipy.special import expit

from .config import NetworkConfig

# Largest temporary (in float64 elements) the dense Hessian allocates per chunk of samples.
_HESSIAN_CHUNK_ELEMENTS = 1 << 22
# OpenBLAS gives a GEMM m·k·n / 2^18 threads (interface/gemm.c): one below 2^19 multiply-adds.
_GEMM_PIECE = (1 << 19) - 1
# Products of more multiply-adds than this (~5 ms on one core) may use BLAS threads; see _gemm.
_GEMM_SPLIT_BELOW = 1 << 27

# -- activations: value, first and second derivative from (z, a = f(z)) ----------------------


def _act(name: str, z: np.ndarray) -> np.ndarray:
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return expit(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "softplus":
        return np.logaddexp(0.0, z)
    return z


def log_softmax_and_softmax(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log softmax(z) and softmax(z) over the last axis, shifted by each row's maximum so
    that no exponential overflows. (On iris's 120 × 3 logits scipy.special.log_softmax alone
    costs 1.6× this, which gives both from one exponential; its softmax 1.3× ``softmax``.)"""
    shifted = z - z.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=-1, keepdims=True)
    return shifted - np.log(total), e / total


def softmax(z: np.ndarray) -> np.ndarray:
    """softmax(z) over the last axis (see ``log_softmax_and_softmax``)."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _mean_square(r: np.ndarray) -> float:
    """mean(r²) by one dot product (np.mean costs ~3 µs of overhead on a small array)."""
    flat = r.ravel()
    return float(flat @ flat) / flat.size


def _act_d1(name: str, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    if name == "tanh":
        return 1.0 - a * a
    if name == "sigmoid":
        return a * (1.0 - a)
    if name == "relu":
        return (z > 0).astype(z.dtype)
    if name == "softplus":
        return expit(z)
    return np.ones_like(z)


def _act_d2(name: str, z: np.ndarray, a: np.ndarray) -> np.ndarray | None:
    """Second derivative, or None where it is identically zero (ReLU almost everywhere, linear)."""
    if name == "tanh":
        return -2.0 * a * (1.0 - a * a)
    if name == "sigmoid":
        return a * (1.0 - a) * (1.0 - 2.0 * a)
    if name == "softplus":
        s = expit(z)
        return s * (1.0 - s)
    return None


def _gemm(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """A @ B for 2-D A (m × k) and B (k × n). A product too small to gain from threads
    (m·k·n < _GEMM_SPLIT_BELOW) is done as one stack of row blocks of at most _GEMM_PIECE
    multiply-adds each (one np.matmul call), which OpenBLAS runs on the calling thread.
    Threading such products buys little even on idle cores, and on a shared machine a threaded
    GEMM stalls whenever its helper thread is descheduled, and the helper then spins against
    the caller: measured on 2 cores next to other busy processes, the moons Hessian took
    ~1.2 ms this way against 2–30 ms with plain threaded GEMMs, the spirals one 12 against
    48–76 ms. Results equal A @ B up to rounding."""
    m, k = A.shape
    n = B.shape[1]
    work = m * k * n
    rows = _GEMM_PIECE // max(1, k * n)
    if work <= _GEMM_PIECE or work >= _GEMM_SPLIT_BELOW or rows < 4:
        return A @ B
    pieces = m // rows
    cut = pieces * rows
    out = np.empty((m, n))
    np.matmul(A[:cut].reshape(pieces, rows, k), B, out=out[:cut].reshape(pieces, rows, n))
    if cut < m:
        np.matmul(A[cut:], B, out=out[cut:])
    return out


class _Triangle(NamedTuple):
    """The upper triangle (r ≤ c) of an f × f symmetric matrix, in packed order."""

    rows: np.ndarray  # r of each packed entry
    cols: np.ndarray  # c of each packed entry
    flat: np.ndarray  # r·f + c: the entry's position in the flattened matrix
    pack: np.ndarray  # (f, f): the packed position of (r, c) and of (c, r)


@lru_cache(maxsize=64)
def _triangle(f: int) -> _Triangle:
    rows, cols = np.triu_indices(f)
    pack = np.empty((f, f), dtype=np.intp)
    pack[rows, cols] = pack[cols, rows] = np.arange(rows.size)
    tri = _Triangle(rows, cols, rows * f + cols, pack)
    for index in tri:
        index.flags.writeable = False
    return tri

@dataclass(frozen=True)
class LayerSlices:
    """Where one layer's W and b live in θ."""

    fan_in: int
    fan_out: int
    w: slice
    b: slice


class MLP:
    """The network's shape and maths; holds no parameters and no data."""

    def __init__(self, n_inputs: int, n_outputs: int, config: NetworkConfig):
        self.config = config
        self.sizes = (n_inputs, *config.hidden, n_outputs)
        self.activations = tuple(config.activations)
        self.loss_name = config.loss
        self.output = "sigmoid" if config.loss == "mse" and config.output == "sigmoid" else "linear"
        self.l2 = config.l2
        self.layers: list[LayerSlices] = []
        offset = 0
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:], strict=True):
            w = slice(offset, offset + fan_in * fan_out)
            b = slice(w.stop, w.stop + fan_out)
            self.layers.append(LayerSlices(fan_in, fan_out, w, b))
            offset = b.stop
        self.n_params = offset
        self.weight_mask = np.zeros(self.n_params)
        for layer in self.layers:
            self.weight_mask[layer.w] = 1.0

    def describe(self) -> str:
        acts = "/".join(self.activations) if self.activations else "no hidden layer"
        shape = "-".join(map(str, self.sizes))
        return f"MLP {shape} ({acts}, {self.loss_name}), {self.n_params} parameters"

    # -- parameters -----------------------------------------------------------------------
    def init_params(self, scheme: str | None = None, seed: int | None = None) -> np.ndarray:
        """Seeded initial weights; biases start at zero."""
        scheme = scheme or self.config.init
        rng = np.random.default_rng(self.config.init_seed if seed is None else seed)
        theta = np.zeros(self.n_params)
        for layer in self.layers:
            fi, fo = layer.fan_in, layer.fan_out
            shape = (fi * fo,)
            if scheme == "xavier_uniform":
                lim = np.sqrt(6.0 / (fi + fo))
                theta[layer.w] = rng.uniform(-lim, lim, shape)
            elif scheme == "xavier_normal":
                theta[layer.w] = rng.normal(0.0, np.sqrt(2.0 / (fi + fo)), shape)
            elif scheme == "he_normal":
                theta[layer.w] = rng.normal(0.0, np.sqrt(2.0 / fi), shape)
            elif scheme == "lecun_normal":
                theta[layer.w] = rng.normal(0.0, np.sqrt(1.0 / fi), shape)
            elif scheme == "uniform":
                theta[layer.w] = rng.uniform(-0.5, 0.5, shape)
            else:
                raise ValueError(f"network.init: unknown initialisation {scheme!r}")
        return theta

    def unpack(self, theta: np.ndarray):
        """Views (W, b) of each layer inside θ (a (P,) vector) or a batch of them ((k, P))."""
        lead = theta.shape[:-1]
        return [
            (theta[..., s.w].reshape(*lead, s.fan_in, s.fan_out), theta[..., s.b])
            for s in self.layers
        ]

    # -- forward ----------------------------------------------------------------------------
    def forward(self, theta: np.ndarray, X: np.ndarray):
        """Pre-activations zs and activations acts (acts[0] = X, acts[-1] = output logits)."""
        acts, zs = [X], []
        a = X
        params = self.unpack(theta)
        for i, (W, b) in enumerate(params):
            z = a @ W + b
            zs.append(z)
            a = _act(self.activations[i], z) if i < len(params) - 1 else z
            acts.append(a)
        return zs, acts

    def predict(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Network output: probabilities for classification losses, values for squared error."""
        _, acts = self.forward(theta, X)
        return self.output_of(acts[-1])

    # -- loss and its derivatives with respect to the output pre-activation z ------------------
    def _data_loss(self, z: np.ndarray, T: np.ndarray) -> float:
        """The data loss (mean over samples) alone: what a trial step or a snapshot needs."""
        n = z.shape[0]
        if self.loss_name == "bce":
            return float(np.logaddexp(0.0, z).sum() - np.vdot(T, z)) / n
        if self.loss_name == "softmax_ce":
            return -float(np.vdot(T, log_softmax_and_softmax(z)[0])) / n
        r = (expit(z) if self.output == "sigmoid" else z) - T
        return _mean_square(r)

    def _loss_and_dz(self, z: np.ndarray, T: np.ndarray):
        """Data loss (mean over samples) and G = ∂loss/∂z."""
        n = z.shape[0]
        if self.loss_name == "bce":
            return self._data_loss(z, T), (expit(z) - T) / n
        if self.loss_name == "softmax_ce":
            logp, p = log_softmax_and_softmax(z)
            return -float(np.vdot(T, logp)) / n, (p - T) / n
        c = 2.0 / T.size
        if self.output == "sigmoid":
            s = expit(z)
            r = s - T
            return _mean_square(r), c * r * s * (1.0 - s)
        r = z - T
        return _mean_square(r), c * r

    def _dz_dir(self, z: np.ndarray, T: np.ndarray, Rz: np.ndarray) -> np.ndarray:
        """R{G} = (∂²loss/∂z²)·Rz, for Rz of shape (..., n, out)."""
        n = z.shape[0]
        if self.loss_name == "bce":
            p = expit(z)
            return p * (1.0 - p) * Rz / n
        if self.loss_name == "softmax_ce":
            S = softmax(z)
            return S * (Rz - np.sum(S * Rz, axis=-1, keepdims=True)) / n
        c = 2.0 / T.size
        if self.output == "sigmoid":
            s = expit(z)
            d1 = s * (1.0 - s)
            return c * (d1 * d1 + (s - T) * d1 * (1.0 - 2.0 * s)) * Rz
        return c * Rz

    # -- objective ----------------------------------------------------------------------------
    def loss(self, theta: np.ndarray, X: np.ndarray, T: np.ndarray, cache=None) -> float:
        zs, _ = cache if cache is not None else self.forward(theta, X)
        return self._data_loss(zs[-1], T) + self._penalty(theta)

    def _penalty(self, theta: np.ndarray) -> float:
        if not self.l2:
            return 0.0
        w = theta * self.weight_mask
        return 0.5 * self.l2 * float(w @ w)

    def output_of(self, z: np.ndarray) -> np.ndarray:
        """The network's output from its last pre-activation (see ``predict``)."""
        if self.loss_name == "bce" or self.output == "sigmoid":
            return expit(z)
        if self.loss_name == "softmax_ce":
            return softmax(z)
        return z

    def loss_grad(self, theta: np.ndarray, X: np.ndarray, T: np.ndarray, cache=None):
        """Loss and its exact gradient by backpropagation (``cache``: a forward pass at θ)."""
        zs, acts = cache if cache is not None else self.forward(theta, X)
        loss, delta = self._loss_and_dz(zs[-1], T)
        grad = np.empty(self.n_params)
        params = self.unpack(theta)
        for i in range(len(self.layers) - 1, -1, -1):
            s = self.layers[i]
            grad[s.w] = (acts[i].T @ delta).ravel()
            grad[s.b] = delta.sum(axis=0)
            if i > 0:
                delta = (delta @ params[i][0].T) * _act_d1(self.activations[i - 1], zs[i - 1],
                                                           acts[i])
        if self.l2:
            grad += self.l2 * self.weight_mask * theta
        return float(loss + self._penalty(theta)), grad

    def hvp(self, theta: np.ndarray, X: np.ndarray, T: np.ndarray, V: np.ndarray,
            cache=None) -> np.ndarray:
        """Exact Hessian-vector products H·V by the R-operator.

        V is one direction (P,) or a batch (P, k); the result has V's shape. ``cache`` may hold
        a forward pass ``(zs, acts)`` at this θ to skip recomputing it. Directional quantities
        are laid out (samples, k, units) so every product is one large matrix multiply.
        """
        single = V.ndim == 1
        Vb = np.ascontiguousarray(V[None, :] if single else V.T)  # (k, P)
        k = Vb.shape[0]
        zs, acts = cache if cache is not None else self.forward(theta, X)
        params = self.unpack(theta)
        dirs = self.unpack(Vb)
        nl = len(self.layers)
        n = X.shape[0]
        d1 = [_act_d1(self.activations[i], zs[i], acts[i + 1]) for i in range(nl - 1)]

        def times_dirs(A, VW):  # (n, fi) with (k, fi, fo) -> (n, k, fo)
            fi, fo = VW.shape[1], VW.shape[2]
            return (A @ VW.transpose(1, 0, 2).reshape(fi, k * fo)).reshape(n, k, fo)

        # forward R pass: R{z_i} for every layer
        Ra = None  # R{a_0} = 0
        Rzs = []
        for i, ((W, _), (VW, Vbias)) in enumerate(zip(params, dirs, strict=True)):
            Rz = times_dirs(acts[i], VW) + Vbias[None, :, :]
            if Ra is not None:
                Rz += (Ra.reshape(n * k, -1) @ W).reshape(n, k, -1)
            Rzs.append(Rz)
            if i < nl - 1:
                Ra = d1[i][:, None, :] * Rz
        # backward pass, ordinary and R
        z_out = zs[-1]
        _, delta = self._loss_and_dz(z_out, T)
        Rdelta = self._dz_dir(z_out[:, None, :], T[:, None, :], Rzs[-1])
        out = np.empty_like(Vb)
        for i in range(nl - 1, -1, -1):
            s = self.layers[i]
            fi, fo = s.fan_in, s.fan_out
            Rg_w = (acts[i].T @ Rdelta.reshape(n, k * fo)).reshape(fi, k, fo).transpose(1, 0, 2)
            if i > 0:
                Ra_prev = d1[i - 1][:, None, :] * Rzs[i - 1]
                Rg_w = Rg_w + (Ra_prev.reshape(n, k * fi).T @ delta).reshape(k, fi, fo)
            out[:, s.w] = Rg_w.reshape(k, fi * fo)
            out[:, s.b] = Rdelta.sum(axis=0)
            if i > 0:
                W, VW = params[i][0], dirs[i][0]
                back = delta @ W.T  # (n, fi)
                Rback = (Rdelta.reshape(n * k, fo) @ W.T).reshape(n, k, fi)
                Rback += (delta @ VW.transpose(2, 0, 1).reshape(fo, k * fi)).reshape(n, k, fi)
                Rdelta_new = Rback * d1[i - 1][:, None, :]
                d2 = _act_d2(self.activations[i - 1], zs[i - 1], acts[i])
                if d2 is not None:
                    Rdelta_new += (back * d2)[:, None, :] * Rzs[i - 1]
                delta = back * d1[i - 1]
                Rdelta = Rdelta_new
        if self.l2:
            out += self.l2 * self.weight_mask * Vb
        return out[0] if single else out.T

    def hessian(self, theta: np.ndarray, X: np.ndarray, T: np.ndarray,
                block: int = 256) -> np.ndarray:
        """Dense exact Hessian, assembled layer block by layer block; exactly symmetric.

        For the directions of one layer m (W_m[i, j], or b_m[j] with a_m[n, i] read as 1) the
        R-operator factorises per sample: R{z_l}[n] = a_m[n, i]·Q_l[n, j] with Q_l = ∂z_l/∂z_m,
        and, as the backward R-pass is linear in the direction, R{δ_l}[n] = a_m[n, i]·S_l[n, j]
        for every l ≥ m, S_l = ∂δ_l/∂z_m. Each block H[l, m] (l ≥ m) is then a sum over samples
        of products of these small per-sample factors: GEMMs over samples against row-wise
        Kronecker products (see ``_hessian_add_samples``); the blocks above the diagonal are the
        transposes of those below it. Work: N·P_m²/4 multiply-adds for a diagonal block (packed
        by its symmetries), 2·N·P_l·P_m for one below the diagonal; at most N·P², all in GEMMs,
        and no temporary larger than about N·(width² + fan_in²) per chunk of samples.

        ``block`` caps how many samples are processed at once (a memory budget may make the
        chunks smaller); it changes nothing but rounding. ``_hessian_by_hvp`` is the reference.
        """
        zs, acts = self.forward(theta, X)
        params = self.unpack(theta)
        nl = len(self.layers)
        n = X.shape[0]
        d1 = [_act_d1(self.activations[i], zs[i], acts[i + 1]) for i in range(nl - 1)]
        # backward pass: deltas[l] = ∂L/∂z_l; bd2[l] = (δ_{l+1}·W_{l+1}ᵀ) ⊙ f''(z_l), or None
        _, delta = self._loss_and_dz(zs[-1], T)
        deltas: list = [None] * nl
        bd2: list = [None] * (nl - 1)
        deltas[-1] = delta
        for i in range(nl - 1, 0, -1):
            back = _gemm(deltas[i], params[i][0].T)
            deltas[i - 1] = back * d1[i - 1]
            d2 = _act_d2(self.activations[i - 1], zs[i - 1], acts[i])
            if d2 is not None:
                bd2[i - 1] = back * d2
        # the loss's per-sample Hessian in the logits: out2[n, j, :] = (∂²L/∂z²)[n]·e_j
        c = self.sizes[-1]
        unit = np.broadcast_to(np.eye(c), (n, c, c))
        out2 = self._dz_dir(zs[-1][:, None, :], T[:, None, :], unit)

        sums: dict = {}
        chunk = self._hessian_chunk_size(n, block)
        for start in range(0, n, chunk):
            rows = slice(start, min(n, start + chunk))
            self._hessian_add_samples(sums, rows, params, acts, d1, bd2, deltas, out2)
        H = np.empty((self.n_params, self.n_params))
        self._hessian_assemble(H, sums)
        if self.l2:
            idx = np.flatnonzero(self.weight_mask)
            H[idx, idx] += self.l2
        return H

    def _hessian_chunk_size(self, n: int, block: int) -> int:
        """Samples per chunk: at most ``block``, and few enough that the largest per-chunk
        temporary (a Kronecker product, or a factor Q/S of shape (samples, fan_out_m, n_l))
        stays under _HESSIAN_CHUNK_ELEMENTS; chunks are of near-equal size."""
        per_sample = 1
        for m, sm in enumerate(self.layers):
            for sl in self.layers[m:]:
                per_sample = max(per_sample, (sl.fan_in + 1) * (sm.fan_in + 1),
                                 sl.fan_out * (sm.fan_in + 1), sm.fan_out * sl.fan_in,
                                 sm.fan_out * sl.fan_out)
        cap = max(1, min(int(block), _HESSIAN_CHUNK_ELEMENTS // per_sample))
        pieces = -(-n // cap)
        return -(-n // pieces)

    def _hessian_add_samples(self, sums: dict, rows: slice, params, acts, d1, bd2, deltas,
                             out2) -> None:
        """Add the samples ``rows`` to the GEMM results ``sums`` that make up the blocks
        H[l, m], l ≥ m, of the data loss's Hessian.

        Indices: layer m's parameters (i, j), i < fan_in the weight W_m[i, j] and i = fan_in the
        bias b_m[j]; (p, q) likewise for layer l. With a⁺ = [a, 1] this (row, column) order is
        θ's layout of [W, b], and
          H[(p, q), (i, j)] = Σ_n a⁺_l[n, p]·a⁺_m[n, i]·S_l[n, j, q]          (every l ≥ m)
                            + Σ_n A_l[n, j, p]·δ_l[n, q]·a⁺_m[n, i]   (l > m, weights of l)
        with A_l[n, j] = ∂a_l/∂z_m[j] (for l = m + 1 diagonal: f'(z_m)[j]·[p = j]).
        sums[("mm", m)]: the diagonal block packed by its double symmetry (p ↔ i, j ↔ q), rows
        p ≤ i, columns j ≤ q; sums[("lm", l, m)]: the first sum, rows (p, i), columns (q, j);
        sums[("A", l, m)]: the second, rows (q, i), columns j (l = m + 1) or (p, j).
        """
        nl = len(self.layers)
        k = rows.stop - rows.start
        aplus = []  # a⁺ transposed, (fan_in + 1, k): the GEMMs' left factors come out C-ordered
        for i, s in enumerate(self.layers):
            a = np.empty((s.fan_in + 1, k))
            a[:-1] = acts[i][rows].T
            a[-1] = 1.0
            aplus.append(a)
        d1 = [d[rows] for d in d1]
        out2 = out2[rows]

        def add(key, value):
            if key in sums:
                sums[key] += value
            else:
                sums[key] = value

        for m, sm in enumerate(self.layers):
            fo_m = sm.fan_out
            am = aplus[m]
            # forward: Q[l][n, j, :] = ∂z_l/∂z_m[j], A[l][n, j, :] = ∂a_l/∂z_m[j] (l ≥ m + 2)
            Q: dict = {}
            A: dict = {}
            for i in range(m + 1, nl):
                W = params[i][0]
                if i == m + 1:
                    Q[i] = d1[m][:, :, None] * W
                else:
                    A[i] = Q[i - 1] * d1[i - 1][:, None, :]
                    Q[i] = _gemm(A[i].reshape(-1, W.shape[0]), W).reshape(k, fo_m, W.shape[1])
            # S[n, j, :] = ∂δ_l/∂z_m[j], from the output down to layer m
            if m == nl - 1:
                S = out2
            elif out2.shape[-1] == 1:
                S = Q[nl - 1] * out2
            else:
                S = np.matmul(Q[nl - 1], out2)
            for i in range(nl - 1, m, -1):
                sl = self.layers[i]
                fi_l, fo_l = sl.fan_in, sl.fan_out
                K = (aplus[i][:, None, :] * am[None, :, :]).reshape(-1, k)
                add(("lm", i, m), _gemm(K, S.transpose(0, 2, 1).reshape(k, fo_l * fo_m)))
                K = (deltas[i][rows].T[:, None, :] * am[None, :, :]).reshape(-1, k)
                if i == m + 1:
                    add(("A", i, m), _gemm(K, d1[m]))
                else:
                    add(("A", i, m), _gemm(K, A[i].transpose(0, 2, 1).reshape(k, fi_l * fo_m)))
                # backward R-pass one layer down
                S = _gemm(S.reshape(-1, fo_l), params[i][0].T).reshape(k, fo_m, fi_l)
                S *= d1[i - 1][:, None, :]
                if bd2[i - 1] is not None:
                    if i - 1 == m:
                        S.reshape(k, -1)[:, ::fo_m + 1] += bd2[m][rows]  # S[:, j, j]
                    else:
                        S += bd2[i - 1][rows][:, None, :] * Q[i - 1]
            # diagonal block: a⁺⊗a⁺ and S = ∂²L_n/∂z_m² are both symmetric; keep one triangle
            tri = _triangle(sm.fan_in + 1)
            S = S.reshape(k, -1).take(_triangle(fo_m).flat, axis=1)
            add(("mm", m), _gemm(am[tri.rows] * am[tri.cols], S))

    def _hessian_assemble(self, H: np.ndarray, sums: dict) -> None:
        """Write the blocks of H from the GEMM results of ``_hessian_add_samples``."""
        for m, sm in enumerate(self.layers):
            fi_m, fo_m = sm.fan_in + 1, sm.fan_out
            cm = slice(sm.w.start, sm.b.stop)
            pack_a, pack_s = _triangle(fi_m).pack, _triangle(fo_m).pack
            # unpack: columns (q, j) first, then for each p the rows (p, i) of every i
            half = sums[("mm", m)].take(pack_s.ravel(), axis=1).reshape(-1, fo_m, fo_m)
            Hmm = H[cm, cm].reshape(fi_m, fo_m, fi_m, fo_m)  # views into H
            for p in range(fi_m):
                Hmm[p] = half[pack_a[p]].transpose(1, 0, 2)
            for i in range(m + 1, len(self.layers)):
                sl = self.layers[i]
                fi_l, fo_l = sl.fan_in, sl.fan_out
                cl = slice(sl.w.start, sl.b.stop)
                Hlm = H[cl, cm].reshape(fi_l + 1, fo_l, fi_m, fo_m)
                Hlm[...] = sums[("lm", i, m)].reshape(fi_l + 1, fi_m, fo_l, fo_m).transpose(
                    0, 2, 1, 3)
                R = sums[("A", i, m)]
                if i == m + 1:  # rows (q, i), columns j; only p = j
                    diag = np.arange(fo_m)
                    Hlm[diag, :, :, diag] += R.reshape(fo_l, fi_m, fo_m).transpose(2, 0, 1)
                else:  # rows (q, i), columns (p, j)
                    Hlm[:fi_l] += R.reshape(fo_l, fi_m, fi_l, fo_m).transpose(2, 0, 1, 3)
                H[cm, cl] = H[cl, cm].T

    def _hessian_by_hvp(self, theta: np.ndarray, X: np.ndarray, T: np.ndarray,
                        block: int = 256) -> np.ndarray:
        """Dense exact Hessian the slow, simple way: the R-operator on blocks of the identity,
        symmetrised. The reference for ``hessian`` (tests and benchmark)."""
        P = self.n_params
        cache = self.forward(theta, X)
        H = np.empty((P, P))
        for start in range(0, P, block):
            stop = min(P, start + block)
            E = np.zeros((P, stop - start))
            E[np.arange(start, stop), np.arange(stop - start)] = 1.0
            H[:, start:stop] = self.hvp(theta, X, T, E, cache=cache)
        return 0.5 * (H + H.T)


def encode_targets(y: np.ndarray, task: str, n_classes: int | None, loss: str) -> np.ndarray:
    """The (N, outputs) target matrix the loss compares the network's output with."""
    if task == "regression":
        if loss != "mse":
            raise ValueError(f"network.loss: {loss} needs class labels; a regression dataset "
                             "needs the squared-error loss 'mse'")
        y = np.asarray(y, dtype=float)
        return y.reshape(-1, 1) if y.ndim == 1 else y  # (N, k), also when N = 0
    labels = np.asarray(y, dtype=int)
    if loss == "bce" and n_classes != 2:
        raise ValueError(f"network.loss: binary cross-entropy needs 2 classes, the data has "
                         f"{n_classes}; use softmax_ce")
    if loss == "bce" or (loss == "mse" and n_classes == 2):
        return labels.reshape(-1, 1).astype(float)
    T = np.zeros((len(labels), n_classes))
    T[np.arange(len(labels)), labels] = 1.0
    return T


def classification_accuracy(output: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of samples whose predicted class (threshold 0.5 or argmax) is the label."""
    predicted = output[:, 0] > 0.5 if output.shape[1] == 1 else output.argmax(axis=1)
    return int(np.count_nonzero(predicted == labels)) / len(labels)  # 4× faster than np.mean


def rms_error(output: np.ndarray, T: np.ndarray) -> float:
    """Root-mean-square error over all samples and outputs."""
    r = (output - T).ravel()
    return math.sqrt(float(r @ r) / r.size)
