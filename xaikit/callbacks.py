"""Keras callbacks: watch what a model attends to while it trains.

:class:`ExplainCallback` explains one fixed batch with any registered method every few epochs,
writes the heatmaps to TensorBoard (image summaries) and, optionally, ``.npy`` and PNG files
per epoch, and reports its own cost in the epoch logs::

    callback = xaikit.callbacks.ExplainCallback(
        x_val[:8], y_val[:8], method="integrated_gradients", params={"steps": 32},
        every_n_epochs=2, log_dir="logs", out_dir="runs/maps",
    )
    model.fit(x, y, epochs=10, callbacks=[callback])
    callback.attributions        # {2: (8, ...), 4: (8, ...), ...} kept per explained epoch

It only reads the model: weights, optimizer state and random draws of training are the same
with or without it. Pictures are drawn with TensorFlow (no matplotlib needed).
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from .errors import InputError
from .explainer import Explainer
from .registry import get_explainer, list_methods

__all__ = ["ExplainCallback", "render_heatmaps"]

#: Sub-folder of ``log_dir`` the summaries go to (beside Keras' own ``train/``, ``validation/``).
SUMMARY_FOLDER = "explanations"


def _fold(attributions: np.ndarray, input_rank: int) -> np.ndarray:
    """(N, ...) maps with the channel axis summed away when the method left it in:
    (N, H, W) for images, (N, T) for series, (N, F) for tables."""
    values = np.asarray(attributions, dtype=np.float64)
    if input_rank >= 3 and values.ndim == input_rank:
        values = values.sum(axis=-1)
    return values


def render_heatmaps(attributions: Any, input_rank: int | None = None) -> np.ndarray:
    """Attributions as RGB pictures in [0, 1], each scaled by its own 99th percentile.

    Signed maps use a diverging scale (white at zero, red positive, blue negative),
    non-negative maps a black-red-yellow-white heat scale.

    Args:
        attributions: (N, H, W[, C]) for images, (N, T[, C]) for series, (N, F) for tables.
        input_rank: the rank of the explained inputs (4 images, 3 series, 2 tables); None
            guesses from ``attributions`` (a 4-D array is images with channels).

    Returns:
        (N, H, W, 3) float32, one picture per image; for series and tables one picture
        (1, N, T or F, 3) with a row per sample.
    """
    values = np.asarray(attributions, dtype=np.float64)
    rank = input_rank if input_rank is not None else max(values.ndim, 2)
    maps = _fold(values, rank)
    if maps.ndim == 2:  # series / tables: one picture, a row per sample
        maps = maps[None]
    flat = np.abs(maps.reshape(len(maps), -1))
    top = np.percentile(flat, 99, axis=1) if flat.size else np.zeros(len(maps))
    top = np.where(top > 0, top, np.maximum(flat.max(axis=1, initial=0.0), 1e-12))
    scaled = np.clip(maps / top.reshape(-1, *[1] * (maps.ndim - 1)), -1.0, 1.0)
    if np.any(scaled < 0):
        pos, neg = np.clip(scaled, 0, 1), np.clip(-scaled, 0, 1)
        rgb = np.stack([1 - neg, 1 - pos - neg, 1 - pos], axis=-1)
    else:
        rgb = np.stack([3 * scaled, 3 * scaled - 1, 3 * scaled - 2], axis=-1)
    return np.clip(rgb, 0.0, 1.0).astype(np.float32)


def _strip(pictures: np.ndarray, gap: int = 2) -> np.ndarray:
    """(k, H, W, 3) pictures side by side with white gaps: (H, k * W + (k - 1) * gap, 3)."""
    k, h, _, _ = pictures.shape
    spacer = np.ones((h, gap, 3), np.float32)
    parts = [p for i in range(k) for p in ((spacer, pictures[i]) if i else (pictures[i],))]
    return np.concatenate(parts, axis=1)


def _png(picture: np.ndarray, min_height: int = 64) -> bytes:
    """An (H, W, 3) picture in [0, 1] as PNG bytes, enlarged (nearest) to ``min_height``."""
    scale = max(1, -(-min_height // picture.shape[0]))
    big = np.repeat(np.repeat(picture, scale, axis=0), scale, axis=1)
    return tf.io.encode_png(tf.constant(np.round(big * 255).astype(np.uint8))).numpy()


TENSORBOARD_MISSING = (
    "log_dir: writing TensorBoard summaries needs the tensorboard package, which is not "
    "installed; install it with `pip install 'xaikit[tensorboard]'` (or pass log_dir=None)"
)


def _check_every(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"every_n_epochs: expected an integer >= 1, got {value!r}")
    return int(value)


class ExplainCallback(keras.callbacks.Callback):
    """Explain a fixed batch every ``every_n_epochs`` epochs while a Keras model trains.

    Args:
        inputs: (N, F), (N, T, C) or (N, H, W, C) the batch to explain (e.g. a few validation
            samples), as a numpy array.
        targets: what to explain per sample, as for :meth:`xaikit.Explainer.explain`; None
            explains the model's top class at each epoch (which may change as it learns).
        method: a registered method name (default 'saliency'), or a factory
            ``model -> Explainer`` (e.g. ``lambda m: xaikit.IntegratedGradients(m, steps=16)``).
        params: parameters for a method given by name (e.g. ``{"steps": 32}``); stored as
            ``method_params`` (Keras reserves ``params`` on callbacks).
        every_n_epochs: explain after epochs ``n, 2n, 3n, ...`` (counted from 1).
        at_train_begin: also explain once before the first epoch (step 0), to see the start.
        log_dir: write image summaries (tag ``'<name>/<method>'``) and the scalar
            ``'<name>/explain_seconds'`` to ``log_dir/explanations`` for TensorBoard.
        out_dir: write ``epoch_<k>.npy`` (the attributions) and ``epoch_<k>.png`` (the
            heatmaps side by side) there after each explained epoch ``k``.
        max_images: at most this many heatmaps per image summary and PNG.
        keep: keep each explained epoch's attributions in :attr:`attributions`.
        name: the summaries' tag prefix.

    Each epoch's logs get ``explain_seconds``: the wall time spent explaining (0.0 when the
    epoch was not explained), so ``history.history["explain_seconds"]`` shows the cost.
    The explainer is built once, when training begins, and its compiled kernels are reused
    (they read the current weights). Training is not changed: the model is only read.
    """

    def __init__(
        self,
        inputs: Any,
        targets: Any = None,
        *,
        method: str | Callable[[Any], Explainer] = "saliency",
        params: Mapping[str, Any] | None = None,
        every_n_epochs: int = 1,
        at_train_begin: bool = False,
        log_dir: str | os.PathLike | None = None,
        out_dir: str | os.PathLike | None = None,
        max_images: int = 8,
        keep: bool = True,
        name: str = "attributions",
    ) -> None:
        super().__init__()
        x = np.asarray(inputs)
        if x.ndim < 2 or len(x) == 0 or not np.issubdtype(x.dtype, np.number):
            raise InputError(
                f"inputs: expected a numeric batch (N, ...) with N >= 1, got shape {x.shape} "
                f"of dtype {x.dtype}"
            )
        if isinstance(method, str):
            if method not in list_methods():
                raise InputError(
                    f"method: unknown method {method!r}; known: {', '.join(list_methods())}"
                )
        elif not callable(method):
            raise InputError(
                f"method: expected a registered method name or a factory model -> Explainer, "
                f"got {type(method).__name__}"
            )
        if params is not None and not isinstance(params, Mapping):
            raise InputError(f"params: expected a mapping or None, got {type(params).__name__}")
        if params and not isinstance(method, str):
            raise InputError("params: only for a method given by name; configure your factory")
        if isinstance(max_images, bool) or not isinstance(max_images, int) or max_images < 1:
            raise InputError(f"max_images: expected an integer >= 1, got {max_images!r}")
        if log_dir is not None and importlib.util.find_spec("tensorboard") is None:
            raise ImportError(TENSORBOARD_MISSING)
        self.inputs = x
        self.targets = targets
        self.method = method
        self.method_params = dict(params or {})
        self.every_n_epochs = _check_every(every_n_epochs)
        self.at_train_begin = bool(at_train_begin)
        self.log_dir = None if log_dir is None else Path(log_dir)
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.max_images = max_images
        self.keep = bool(keep)
        self.name = name
        #: step (epochs trained; 0 before training) -> (N, ...) attributions, if ``keep``.
        self.attributions: dict[int, np.ndarray] = {}
        self.explainer: Explainer | None = None
        self._writer: Any = None

    # ------------------------------------------------------------------ Keras hooks
    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        if isinstance(self.method, str):
            self.explainer = get_explainer(self.method, self.model, **self.method_params)
        else:
            self.explainer = self.method(self.model)
            if not isinstance(self.explainer, Explainer):
                raise InputError(
                    f"method: the factory must return an xaikit Explainer, got "
                    f"{type(self.explainer).__name__}"
                )
        if self.log_dir is not None:
            self._writer = tf.summary.create_file_writer(str(self.log_dir / SUMMARY_FOLDER))
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        if self.at_train_begin:
            self.explain_now(0)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        step = epoch + 1
        seconds = self.explain_now(step) if step % self.every_n_epochs == 0 else 0.0
        if logs is not None:
            logs["explain_seconds"] = seconds

    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    # ------------------------------------------------------------------ the work
    def explain_now(self, step: int) -> float:
        """Explain the batch, write what is asked for under ``step``; returns the seconds."""
        if self.explainer is None:
            raise RuntimeError("ExplainCallback.explain_now: training has not begun")
        start = time.perf_counter()
        values = np.asarray(self.explainer.explain(self.inputs, self.targets).attributions)
        pictures = render_heatmaps(values[: self.max_images], self.inputs.ndim)
        if self._writer is not None:
            with self._writer.as_default(step=step):
                tag = f"{self.name}/{self.explainer.method_name}"
                tf.summary.image(tag, pictures, max_outputs=self.max_images)
            self._writer.flush()
        if self.out_dir is not None:
            np.save(self.out_dir / f"epoch_{step:03d}.npy", values)
            (self.out_dir / f"epoch_{step:03d}.png").write_bytes(_png(_strip(pictures)))
        if self.keep:
            self.attributions[step] = values
        seconds = time.perf_counter() - start
        if self._writer is not None:
            with self._writer.as_default(step=step):
                tf.summary.scalar(f"{self.name}/explain_seconds", seconds)
            self._writer.flush()
        return seconds
