"""SmoothGrad, VarGrad and SquareGrad: statistics of a method's attributions under noise.

Each wrapper takes any xaikit :class:`~xaikit.Explainer` (the *wrapped method*), adds
Gaussian noise to every input ``n_samples`` times, explains each noisy copy with the wrapped
method and returns a statistic of the attributions over the copies (mean, variance, mean
square). The noisy copies are built ``batch_size`` at a time and folded into running
moments, so memory does not grow with ``n_samples``.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import attrs
import numpy as np
import tensorflow as tf

import xaikit
from xaikit import Capabilities, Explainer
from xaikit.errors import InputError
from xaikit.explainer import as_flat
from xaikit.validators import non_negative, positive_int, seed

from .noise import draw_seeds, noise_scale, standard_normal

__all__ = ["NoiseWrapper", "SmoothGrad", "VarGrad", "SquareGrad"]

#: Prefix of the wrapped method's own ``prepare`` arrays among the wrapper's extras.
_INNER = "method__"


def _as_method(value: Any) -> Any:
    """A Keras model given in place of a method is wrapped with saliency (the default)."""
    if isinstance(value, Explainer) or not callable(value) or not hasattr(value, "inputs"):
        return value
    return xaikit.Saliency(value)


def _check_method(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    if not isinstance(value, Explainer):
        raise InputError(
            f"method: expected an xaikit Explainer to wrap (e.g. xaikit.Saliency(model)), "
            f"got {type(value).__name__}"
        )


def _inherited(name: str) -> Any:
    """Default of a shared field: the wrapped method's value."""

    def default(self: NoiseWrapper) -> Any:
        # Defaults are computed before validators run: check the method first.
        _check_method(self, attrs.fields(type(self)).method, self.method)
        return getattr(self.method, name)

    return attrs.Factory(default, takes_self=True)


def _with_operator(self: NoiseWrapper) -> Explainer:
    if self.operator is self.method.operator or self.operator == self.method.operator:
        return self.method
    return attrs.evolve(self.method, operator=self.operator)


@attrs.frozen
class _Moments:
    """Running count, mean and sum of squared deviations (Chan et al.'s merge), per element."""

    count: int = 0
    mean: tf.Tensor | None = None
    m2: tf.Tensor | None = None

    def merge(self, block: tf.Tensor) -> _Moments:
        """Fold in ``block`` (m, n, ...): m more values for each of the n samples."""
        m = int(block.shape[0])
        block_mean = tf.reduce_mean(block, axis=0)
        block_m2 = tf.reduce_sum(tf.square(block - block_mean), axis=0)
        if self.mean is None:
            return _Moments(m, block_mean, block_m2)
        total = self.count + m
        delta = block_mean - self.mean
        mean = self.mean + delta * (m / total)
        m2 = self.m2 + block_m2 + tf.square(delta) * (self.count * m / total)
        return _Moments(total, mean, m2)

    def variance(self) -> tf.Tensor:
        """The (population) variance of the values folded in; at least one block must be."""
        assert self.m2 is not None, "no block folded in yet"
        return self.m2 / self.count


@attrs.frozen  # method positional, every other field keyword-only
class NoiseWrapper(Explainer):
    """Base of the noise wrappers: explains noisy copies with a wrapped method (abstract).

    Subclasses choose the statistic by implementing :meth:`statistic`.

    Args:
        method: the explainer to wrap (the only positional argument), e.g.
            ``xaikit.IntegratedGradients(model, steps=16)``; its model is explained. A Keras
            model given instead is wrapped with ``xaikit.Saliency(model)``. Its own
            ``prepare`` (IG's baselines, ...) is run on the clean inputs and each noisy copy
            of a sample gets that sample's prepared rows.
        n_samples: noisy copies per input (default 50).
        noise: standard deviation of the Gaussian noise as a fraction of each sample's range
            ``max(x_i) - min(x_i)`` (default 0.15). 0 reproduces the wrapped method.
        seed: seed of the per-sample noise seeds; None (default) draws fresh noise on each
            call. Sample i of a call always gets the same noise for a given seed, whatever
            ``batch_size`` is.
        batch_size: how many rows are handled at once: samples per chunk, and noisy copies
            passed to the wrapped method at once (default: the wrapped method's). The wrapped
            method bounds its own work inside a call with its own ``batch_size`` (IG's path
            points).
        operator: explained scalar (default: the wrapped method's). Another value re-targets
            the wrapped method too.
        reducer: channel reducer (default: the wrapped method's).
    """

    name: ClassVar[str | None] = None
    # Built from a model, the class wraps saliency, which explains several inputs; a wrapper
    # refuses at run time whatever the method it wraps refuses.
    capabilities: ClassVar[Capabilities] = Capabilities(seed="seed", multi_input=True)

    method: Explainer = attrs.field(converter=_as_method, validator=_check_method)
    model: Any = attrs.field(init=False, default=_inherited("model"), repr=False)
    batch_size: int = attrs.field(
        default=_inherited("batch_size"), validator=positive_int, kw_only=True
    )
    operator: Any = attrs.field(default=_inherited("operator"), kw_only=True)
    output: Any = attrs.field(default=_inherited("output"), kw_only=True)
    reducer: Any = attrs.field(default=_inherited("reducer"), kw_only=True)
    n_samples: int = attrs.field(default=50, validator=positive_int, kw_only=True)
    noise: float = attrs.field(default=0.15, validator=non_negative, kw_only=True)
    seed: int | None = attrs.field(default=None, validator=seed, kw_only=True)
    #: The wrapped method, re-targeted to the wrapper's operator: what explains each copy.
    inner: Explainer = attrs.field(
        init=False,
        default=attrs.Factory(_with_operator, takes_self=True),
        repr=False,
        eq=False,
    )

    def __attrs_post_init__(self) -> None:
        self.resolved_reducer()  # refuse an unknown reducer name now, not at explain time

    def check_data(self, sample_shape: Sequence[int | None] | None, where: str = "inputs") -> None:
        """The wrapper explains whatever kinds of data its wrapped method explains."""
        self.method.check_data(sample_shape, where)

    def check_input_count(self, names: Sequence[str], where: str = "inputs") -> None:
        """Several inputs where the wrapped method explains several inputs."""
        self.method.check_input_count(names, where)

    def attributes_inputs(self) -> bool:
        """Attributions of the inputs' shapes unless the wrapped method attributes layers."""
        return self.method.attributes_inputs()

    @abc.abstractmethod
    def statistic(self, mean: tf.Tensor, variance: tf.Tensor) -> tf.Tensor:
        """The attributions from the per-element mean and (population) variance over draws."""

    # ------------------------------------------------------------------ the Explainer hooks
    def prepare(self, inputs: np.ndarray, targets: np.ndarray) -> Mapping[str, np.ndarray]:
        """Per-sample noise seeds (N, 2), plus the wrapped method's own prepared arrays.

        Raises:
            InputError: no input is a float array, so there is nothing to add noise to
                (token ids): every copy would be the same and the statistic meaningless.
        """
        if not any(np.issubdtype(np.asarray(x).dtype, np.floating) for x in as_flat(inputs)):
            raise InputError(
                f"inputs: {self.method_name} adds Gaussian noise to float inputs, but every "
                "input of this model is integer (ids); explain it with the wrapped method "
                "itself at its embedding (layer=...), without noise"
            )
        prepared = self.inner.prepare(inputs, targets)
        return {
            "noise_seeds": draw_seeds(len(as_flat(inputs)[0]), self.seed),
            **{_INNER + key: value for key, value in prepared.items()},
        }

    def explain_batch(
        self, inputs: Any, targets: tf.Tensor, noise_seeds: tf.Tensor, **extras: Any
    ) -> Any:
        """The statistic over ``n_samples`` noisy copies of each of the n inputs (n, ...).

        With several inputs (a tuple), each float input gets its own noise (draw streams
        offset per input); integer inputs (ids) are copied unchanged.
        """
        flat = as_flat(inputs)
        n = int(flat[0].shape[0])
        inner_extras = {key[len(_INNER) :]: value for key, value in extras.items()}
        per_call = max(1, self.batch_size // n)  # draws per call: at most batch_size rows
        moments: list[_Moments] = []
        for first in range(0, self.n_samples, per_call):
            m = min(per_call, self.n_samples - first)
            noisy = [self._noisy(x, i, noise_seeds, first, m) for i, x in enumerate(flat)]
            result = self.inner.run_batch(
                noisy[0] if len(noisy) == 1 else tuple(noisy),
                _tile(targets, m),
                {k: _tile_all(v, m) for k, v in inner_extras.items()},
                need_scores=False,
            )
            blocks = as_flat(result.attributions)
            moments = moments or [_Moments() for _ in blocks]
            moments = [
                mo.merge(tf.reshape(b, (m, n, *b.shape[1:])))
                for mo, b in zip(moments, blocks, strict=True)
            ]
        out = [self.statistic(mo.mean, mo.variance()) for mo in moments]
        return out[0] if not isinstance(result.attributions, tuple) else tuple(out)

    def _noisy(self, x: tf.Tensor, index: int, seeds: tf.Tensor, first: int, m: int) -> tf.Tensor:
        """Draws ``first .. first + m`` of input ``index`` (m * n, ...), draw-major."""
        if not x.dtype.is_floating:
            return _tile(x, m)
        n, sample_shape = int(x.shape[0]), tuple(int(d) for d in x.shape[1:])
        offset = index * self.n_samples  # one stream of draws per input
        draws = np.repeat(np.arange(first, first + m, dtype=np.int32) + offset, n)
        noise = standard_normal(tf.tile(seeds, [m, 1]), draws, sample_shape)
        scale = tf.reshape(noise_scale(x, self.noise), [-1] + [1] * len(sample_shape))
        return _tile(x, m) + _tile(scale, m) * tf.cast(noise, x.dtype)


def _tile_all(value: Any, times: int) -> Any:
    """:func:`_tile` on every tensor of a structure (a method's per-input extras)."""
    return tf.nest.map_structure(lambda tensor: _tile(tensor, times), value)


def _tile(tensor: tf.Tensor, times: int) -> tf.Tensor:
    """``tensor`` (n, ...) repeated ``times`` times along the first axis: (times * n, ...)."""
    return tf.tile(tensor, [times] + [1] * (tensor.shape.rank - 1))


@attrs.frozen(kw_only=True)
class SmoothGrad(NoiseWrapper):
    """SmoothGrad (Smilkov et al., 2017): the mean attribution over noisy copies.

    ``SmoothGrad(xaikit.Saliency(model), n_samples=50, noise=0.15)`` averages the saliency
    maps of 50 copies of each input with Gaussian noise of std 15% of the input's range.
    Any registered method can be wrapped (``IntegratedGradients`` gives "SmoothGrad-IG").
    """

    name = "smoothgrad"

    def statistic(self, mean: tf.Tensor, variance: tf.Tensor) -> tf.Tensor:
        return mean


@attrs.frozen(kw_only=True)
class VarGrad(NoiseWrapper):
    """VarGrad (Adebayo et al., 2018): the variance of the attributions over noisy copies.

    The population variance (divided by ``n_samples``). Wrap ``Saliency(model,
    absolute=False)`` for the variance of the signed gradients.
    """

    name = "vargrad"

    def statistic(self, mean: tf.Tensor, variance: tf.Tensor) -> tf.Tensor:
        return variance


@attrs.frozen(kw_only=True)
class SquareGrad(NoiseWrapper):
    """SquareGrad (Hooker et al., 2019): the mean squared attribution over noisy copies."""

    name = "squaregrad"

    def statistic(self, mean: tf.Tensor, variance: tf.Tensor) -> tf.Tensor:
        return variance + tf.square(mean)
