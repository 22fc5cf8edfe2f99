"""The Beam transforms: read shards, explain them with RunInference, write them to the store.

See :mod:`xaikit.beam` for the pipeline they make.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, cast

import apache_beam as beam
import attrs
import numpy as np
from apache_beam.ml.inference.base import (
    KeyedModelHandler,
    ModelHandler,
    PredictionResult,
    RunInference,
)

from ..runs.compute import Predictor, explain_rows
from ..runs.paths import source_from_path
from ..runs.sources import Shard
from ..runs.store import Store, open_existing

__all__ = [
    "ExplainerModelHandler",
    "DataSpec",
    "ReadShards",
    "WriteShards",
    "ExplainToZarr",
]


# ---------------------------------------------------------------------------- the data
@attrs.frozen
class DataSpec:
    """Where each worker reads the data: a path and how to decode it (picklable).

    Attributes:
        path: a ``.npy`` (memory-mapped), a ``.npz`` of one array, or a folder of images.
        size: images' (height, width, channels); None for arrays.
        scale: multiplies images' pixel values 0..255.
        labels_as_targets: explain each image's class sub-folder.
    """

    path: str
    size: tuple[int, int, int] | None = None
    scale: float = 1.0
    labels_as_targets: bool = False

    def open(self, model: Any = None) -> Any:
        """The :mod:`xaikit.runs` source of the data."""
        return source_from_path(
            self.path,
            model=model,
            size=self.size,
            scale=self.scale,
            labels_as_targets=self.labels_as_targets,
        )


class ReadShards(beam.DoFn):
    """Shard numbers ``k`` -> ``(k, Shard)`` with its rows loaded (each worker opens the data
    once, in ``setup``)."""

    def __init__(self, data: DataSpec, shard_size: int) -> None:
        self.data, self.shard_size = data, shard_size

    def setup(self) -> None:
        self.source = self.data.open()

    def process(self, index: int) -> Iterator[tuple[int, Shard]]:
        yield index, self.source.read_shard(index, self.shard_size)


# ---------------------------------------------------------------------------- the model
@attrs.define
class _Loaded:
    """What each worker holds: the explainer (its batch_size may shrink) and a predictor."""

    explainer: Any
    predictor: Predictor


class ExplainerModelHandler(ModelHandler):
    """A RunInference model handler that explains instead of predicting.

    Each worker loads the saved model and builds the explainer once (``load_model``); each
    batch of examples is then explained by :func:`xaikit.runs.compute.explain_rows` (so an
    out-of-memory error halves ``batch_size`` instead of failing the bundle).

    Examples may be :class:`~xaikit.runs.Shard` s (what :class:`ExplainToZarr` sends: each is
    explained whole, and its inference is the dict of per-sample arrays a store holds), or
    single samples: arrays (...) or ``(x, y)`` tuples, stacked into one batch, each inference
    the dict of that sample's values (``attributions``, ``target``, ``score``, ...).

    Args:
        model_path: a ``.keras`` file (any path Keras reads, ``gs://`` included).
        method: a registered method name (``xaikit methods``).
        params: the method's parameters (``batch_size`` too).
        targets: targets for samples that bring none: None (top class) or one int.
        allow_custom_code: load models holding Python code (Keras' safe mode off).
        max_batch_size: examples per RunInference batch (default 1: one shard at a time).
    """

    def __init__(
        self,
        model_path: str,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        targets: int | None = None,
        allow_custom_code: bool = False,
        max_batch_size: int = 1,
    ) -> None:
        super().__init__()
        self.model_path, self.method = str(model_path), method
        self.params = dict(params or {})
        self.targets, self.allow_custom_code = targets, allow_custom_code
        self._batching_kwargs = {"min_batch_size": 1, "max_batch_size": int(max_batch_size)}

    def load_model(self) -> _Loaded:
        """Load the model and build the explainer (once per worker)."""
        import keras

        import xaikit

        model = keras.saving.load_model(
            self.model_path, compile=False, safe_mode=not self.allow_custom_code
        )
        explainer = xaikit.get_explainer(self.method, model, **self.params)
        return _Loaded(explainer, Predictor(model))

    def _explain(
        self, loaded: _Loaded, x: Any, targets: Any, structure: Any = None
    ) -> dict[str, np.ndarray]:
        arrays, loaded.explainer = explain_rows(
            loaded.explainer, x, targets, loaded.predictor, structure
        )
        return arrays

    def run_inference(
        self,
        batch: Sequence[Any],
        model: _Loaded,
        inference_args: dict[str, Any] | None = None,
    ) -> Iterable[PredictionResult]:
        """Explain ``batch``: shards one by one, single samples stacked together."""
        if all(isinstance(example, Shard) for example in batch):
            results = []
            for shard in batch:
                targets = shard.y if shard.y is not None else self.targets
                arrays = self._explain(model, shard.x, targets, shard.structure)
                arrays["sample_index"] = np.arange(shard.start, shard.stop, dtype=np.int64)
                arrays.update(shard.columns)
                results.append(PredictionResult(attrs.evolve(shard, x=None, y=None), arrays))
            return results
        pairs = [e if isinstance(e, tuple) else (e, None) for e in batch]
        x = np.stack([np.asarray(pair[0]) for pair in pairs])
        given = [pair[1] for pair in pairs]
        targets = self.targets if all(t is None for t in given) else np.stack(given)
        arrays = self._explain(model, x, targets)
        return [
            PredictionResult(example, {name: values[i] for name, values in arrays.items()})
            for i, example in enumerate(batch)
        ]

    def get_metrics_namespace(self) -> str:
        return "xaikit"

    def batch_elements_kwargs(self) -> Mapping[str, Any]:
        return self._batching_kwargs


# ---------------------------------------------------------------------------- the store
class WriteShards(beam.DoFn):
    """``(k, PredictionResult)`` of a whole shard -> written to the store, then committed;
    yields ``k``."""

    def __init__(self, out: str) -> None:
        self.out = out

    def setup(self) -> None:
        self.store = _open_store(self.out)

    def teardown(self) -> None:
        self.store.close()

    def process(self, element: tuple[int, PredictionResult]) -> Iterator[int]:
        index, result = element
        # Beam's PredictionResult types its fields with unbound type variables: here they
        # are the shard (rows without data) and the explained arrays by name.
        shard = cast(Shard, result.example)
        arrays = cast(Mapping[str, np.ndarray], result.inference)
        self.store.write_shard(index, shard.start, arrays)
        yield index


def _open_store(out: str) -> Store:
    """The store the driver created at ``out``, opened for writing."""
    group = open_existing(out, "r+")
    if group is None:
        raise FileNotFoundError(f"no run store at {out}")
    return Store(group, out)


def _finalize(count: int, out: str, num_samples: int) -> int:
    store = _open_store(out)
    store.finalize(num_samples)
    store.close()
    return count


class ExplainToZarr(beam.PTransform):
    """Shard numbers -> explained, written and committed shards; then the run is finalised.

    Args:
        data: where workers read the data.
        handler: the :class:`ExplainerModelHandler`.
        out: the store (already created, with its fingerprint, by :func:`run_pipeline`).
        shard_size: rows per shard.
        num_samples: rows in the data.
    """

    def __init__(
        self,
        data: DataSpec,
        handler: ExplainerModelHandler,
        out: str,
        shard_size: int,
        num_samples: int,
    ) -> None:
        super().__init__()
        self.data, self.handler, self.out = data, handler, out
        self.shard_size, self.num_samples = shard_size, num_samples

    def expand(self, shards: beam.PCollection) -> beam.PCollection:
        written = (
            shards
            | "Spread" >> beam.Reshuffle()
            | "ReadShards" >> beam.ParDo(ReadShards(self.data, self.shard_size))
            | "Explain" >> RunInference(KeyedModelHandler(self.handler))
            | "WriteShards" >> beam.ParDo(WriteShards(self.out))
        )
        return (
            written
            | "CountShards" >> beam.combiners.Count.Globally()
            | "Finalize" >> beam.Map(_finalize, self.out, self.num_samples)
        )
