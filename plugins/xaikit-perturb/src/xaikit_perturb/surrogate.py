"""The linear fits behind LIME and Kernel SHAP, solved for a whole chunk of samples at once.

Every sample has its own design matrix: its masks ``Z`` (S, M) as 0/1, the scores ``y`` (S,)
of the masked copies and the row weights ``w`` (S,). Samples with fewer than M segments are
padded: their extra columns are zero and are pinned to a zero coefficient. Everything is
float64; the systems of all samples of a chunk are solved together (batched
eigendecompositions).
"""

from __future__ import annotations

import numpy as np

__all__ = ["batched_solve", "weighted_ridge", "constrained_least_squares"]

#: Singular values below this fraction of the largest are treated as zero.
RTOL = 1e-10


def batched_solve(a: np.ndarray, b: np.ndarray, rtol: float = RTOL) -> np.ndarray:
    """Least-squares solutions of ``a[i] x[i] = b[i]`` for symmetric ``a[i]``: (n, D, D),
    (n, D) -> (n, D).

    Through the eigendecomposition of each ``a[i]``: directions whose eigenvalue is below
    ``rtol`` times the largest in magnitude are dropped, so a singular or nearly singular
    system (fewer masks than segments) gets its minimum-norm solution instead of rounding
    noise blown up. Each system is solved on its own: the result does not depend on which
    samples share a chunk.
    """
    values, vectors = np.linalg.eigh(a)
    size = np.abs(values)
    keep = size > rtol * size.max(axis=1, keepdims=True)
    inverse = np.where(keep, 1.0 / np.where(keep, values, 1.0), 0.0)
    projected = np.matmul(vectors.transpose(0, 2, 1), b[..., None])[..., 0]
    return np.matmul(vectors, (inverse * projected)[..., None])[..., 0]


def _gram(z: np.ndarray, w: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``Z^T W Z`` (n, M, M) and ``Z^T W y`` (n, M).

    One BLAS product per sample: faster than ``einsum`` or a batched ``matmul`` over a
    transposed view, which numpy does not hand to BLAS.
    """
    zw = z * w[..., None]
    gram = np.empty((len(z), z.shape[2], z.shape[2]))
    moment = np.empty((len(z), z.shape[2]))
    for i in range(len(z)):
        gram[i] = zw[i].T @ z[i]
        moment[i] = zw[i].T @ y[i]
    return gram, moment


def weighted_ridge(
    z: np.ndarray, y: np.ndarray, w: np.ndarray, valid: np.ndarray, ridge: float
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted ridge regression with an unpenalised intercept, per sample.

    Minimises ``sum_s w_s (y_s - c - z_s . beta)^2 + ridge * |beta|^2`` for each sample.

    Args:
        z: (n, S, M) 0/1 masks (zero in padding columns).
        y: (n, S) scores of the masked copies.
        w: (n, S) non-negative row weights (0 for padding rows).
        valid: (n, M) bool, the sample's real segments.
        ridge: the penalty, >= 0.

    Returns:
        ``(beta (n, M), intercept (n,))``; ``beta`` is 0 in padding columns.
    """
    z = z * valid[:, None, :]
    total = np.maximum(w.sum(axis=1), np.finfo(np.float64).tiny)
    z_mean = np.matmul(w[:, None, :], z)[:, 0] / total[:, None]
    y_mean = (w * y).sum(axis=1) / total
    zc = (z - z_mean[:, None, :]) * valid[:, None, :]
    a, b = _gram(zc, w, y - y_mean[:, None])
    m = z.shape[-1]
    a = a + np.eye(m) * (ridge + (~valid).astype(np.float64))[:, None, :]
    beta = batched_solve(a, b) * valid
    return beta, y_mean - np.einsum("nm,nm->n", z_mean, beta)


def constrained_least_squares(
    z: np.ndarray, y: np.ndarray, w: np.ndarray, valid: np.ndarray, total: np.ndarray
) -> np.ndarray:
    """Weighted least squares without intercept whose coefficients sum to ``total``.

    Minimises ``sum_s w_s (y_s - z_s . phi)^2`` subject to ``sum_j phi_j = total`` for each
    sample, through the (M + 1) x (M + 1) Lagrange system ``[[Z^T W Z, 1], [1^T, 0]]``, so the
    constraint holds to rounding whatever the data.

    Args:
        z: (n, S, M) 0/1 masks; y: (n, S) targets; w: (n, S) row weights (rescaled to sum 1
            per sample, which changes nothing but the conditioning).
        valid: (n, M) bool, the sample's real segments (the only ones that enter the sum).
        total: (n,) the required sum of the coefficients.

    Returns:
        (n, M) coefficients, 0 in padding columns.
    """
    n, _, m = z.shape
    ones = valid.astype(np.float64)
    z = z * ones[:, None, :]
    w = w / np.maximum(w.sum(axis=1, keepdims=True), np.finfo(np.float64).tiny)
    a, b = _gram(z, w, y)
    system = np.zeros((n, m + 1, m + 1))
    system[:, :m, :m] = a + np.eye(m) * (1.0 - ones)[:, None, :]
    system[:, :m, m] = ones
    system[:, m, :m] = ones
    rhs = np.concatenate([b, total[:, None]], axis=1)
    return batched_solve(system, rhs)[:, :m] * ones
