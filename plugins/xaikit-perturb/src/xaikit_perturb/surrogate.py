"""The linear fits behind LIME and Kernel SHAP, solved for a whole chunk of samples at once.

Every sample has its own design matrix: its masks ``Z`` (S, M) as 0/1, the scores ``y`` (S,)
of the masked copies and the row weights ``w`` (S,). Samples with fewer than M segments are
padded: their extra columns are zero and are pinned to a zero coefficient.

Everything is float64, in compiled TensorFlow functions: batched Gram matrices and batched
symmetric eigendecompositions. Doing the algebra in TensorFlow rather than numpy keeps it on
TensorFlow's own thread pool, the one the model just ran on; numpy's BLAS threads would
compete with that pool's spinning threads, which on a small machine cost more than the fit.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

__all__ = ["batched_solve", "weighted_ridge", "constrained_least_squares"]

#: Eigenvalues below this fraction of the largest (in magnitude) are treated as zero.
RTOL = 1e-10

_F64 = tf.float64
_TINY = float(np.finfo(np.float64).tiny)


def _solve(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    values, vectors = tf.linalg.eigh(a)
    size = tf.abs(values)
    keep = size > RTOL * tf.reduce_max(size, axis=1, keepdims=True)
    inverse = tf.where(keep, 1.0 / tf.where(keep, values, tf.ones_like(values)), 0.0)
    projected = tf.linalg.matvec(vectors, b, transpose_a=True)
    return tf.linalg.matvec(vectors, inverse * projected)


@tf.function(
    input_signature=[tf.TensorSpec((None, None, None), _F64)] + [tf.TensorSpec((None, None), _F64)]
)
def _solve_fn(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    return _solve(a, b)


def batched_solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Least-squares solutions of ``a[i] x[i] = b[i]`` for symmetric ``a[i]``: (n, D, D),
    (n, D) -> (n, D).

    Through the eigendecomposition of each ``a[i]``: directions whose eigenvalue is below
    :data:`RTOL` times the largest in magnitude are dropped, so a singular or nearly singular
    system (fewer masks than segments) gets its minimum-norm solution instead of rounding
    noise blown up. Each system is solved on its own: the result does not depend on which
    samples share a chunk.
    """
    return _solve_fn(tf.constant(a, _F64), tf.constant(b, _F64)).numpy()


def _diagonal(values: tf.Tensor) -> tf.Tensor:
    """(n, M) -> (n, M, M) diagonal matrices."""
    return tf.linalg.diag(values)


_SPECS = [
    tf.TensorSpec((None, None, None), tf.bool, name="masks"),
    tf.TensorSpec((None, None), _F64, name="y"),
    tf.TensorSpec((None, None), _F64, name="w"),
    tf.TensorSpec((None, None), tf.bool, name="valid"),
]


@tf.function(input_signature=[*_SPECS, tf.TensorSpec((), _F64, name="ridge")])
def _ridge_fn(masks, y, w, valid, ridge):
    ones = tf.cast(valid, _F64)
    z = tf.cast(masks, _F64) * ones[:, None, :]
    total = tf.maximum(tf.reduce_sum(w, axis=1), _TINY)
    z_mean = tf.linalg.matvec(z, w, transpose_a=True) / total[:, None]
    y_mean = tf.reduce_sum(w * y, axis=1) / total
    zc = (z - z_mean[:, None, :]) * ones[:, None, :]
    zw = zc * w[..., None]
    a = tf.matmul(zw, zc, transpose_a=True) + _diagonal(ridge + (1.0 - ones))
    b = tf.linalg.matvec(zw, y - y_mean[:, None], transpose_a=True)
    beta = _solve(a, b) * ones
    return beta, y_mean - tf.reduce_sum(z_mean * beta, axis=1)


def weighted_ridge(
    masks: np.ndarray, y: np.ndarray, w: np.ndarray, valid: np.ndarray, ridge: float
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted ridge regression with an unpenalised intercept, per sample.

    Minimises ``sum_s w_s (y_s - c - z_s . beta)^2 + ridge * |beta|^2`` for each sample.

    Args:
        masks: (n, S, M) bool masks z (False in padding columns).
        y: (n, S) scores of the masked copies.
        w: (n, S) non-negative row weights (0 for padding rows).
        valid: (n, M) bool, the sample's real segments.
        ridge: the penalty, >= 0.

    Returns:
        ``(beta (n, M), intercept (n,))`` float64; ``beta`` is 0 in padding columns.
    """
    beta, intercept = _ridge_fn(
        tf.constant(masks, tf.bool),
        tf.constant(y, _F64),
        tf.constant(w, _F64),
        tf.constant(valid, tf.bool),
        tf.constant(ridge, _F64),
    )
    return beta.numpy(), intercept.numpy()


@tf.function(input_signature=[*_SPECS, tf.TensorSpec((None,), _F64, name="total")])
def _constrained_fn(masks, y, w, valid, total):
    ones = tf.cast(valid, _F64)
    z = tf.cast(masks, _F64) * ones[:, None, :]
    w = w / tf.maximum(tf.reduce_sum(w, axis=1, keepdims=True), _TINY)
    zw = z * w[..., None]
    a = tf.matmul(zw, z, transpose_a=True) + _diagonal(1.0 - ones)
    b = tf.linalg.matvec(zw, y, transpose_a=True)
    # The Lagrange system [[A, 1], [1^T, 0]] [phi; lambda] = [b; total].
    top = tf.concat([a, ones[:, :, None]], axis=2)
    bottom = tf.concat([ones, tf.zeros_like(ones[:, :1])], axis=1)[:, None, :]
    system = tf.concat([top, bottom], axis=1)
    rhs = tf.concat([b, total[:, None]], axis=1)
    return _solve(system, rhs)[:, :-1] * ones


def constrained_least_squares(
    masks: np.ndarray, y: np.ndarray, w: np.ndarray, valid: np.ndarray, total: np.ndarray
) -> np.ndarray:
    """Weighted least squares without intercept whose coefficients sum to ``total``.

    Minimises ``sum_s w_s (y_s - z_s . phi)^2`` subject to ``sum_j phi_j = total`` for each
    sample, through the (M + 1) x (M + 1) Lagrange system ``[[Z^T W Z, 1], [1^T, 0]]``, so the
    constraint holds to rounding whatever the data.

    Args:
        masks: (n, S, M) bool masks z; y: (n, S) targets; w: (n, S) row weights (rescaled to
            sum 1 per sample, which changes nothing but the conditioning).
        valid: (n, M) bool, the sample's real segments (the only ones that enter the sum).
        total: (n,) the required sum of the coefficients.

    Returns:
        (n, M) float64 coefficients, 0 in padding columns.
    """
    return _constrained_fn(
        tf.constant(masks, tf.bool),
        tf.constant(y, _F64),
        tf.constant(w, _F64),
        tf.constant(valid, tf.bool),
        tf.constant(total, _F64),
    ).numpy()
