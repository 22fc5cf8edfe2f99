"""Reading a run back: :func:`open_run` and the :class:`Run` record."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import zarr

from ..errors import InputError
from ..explanation import Explanation
from .store import (
    FORMAT,
    MARKERS,
    array_at,
    int_attribute,
    mapping_attribute,
    open_existing,
)

__all__ = ["Run", "open_run"]

#: Per-sample arrays in the order :meth:`Run.to_pandas` shows them.
_COLUMNS = ("sample_index", "sample_id", "label", "target", "prediction", "score",
            "convergence_delta")  # fmt: skip


class Run:
    """A run's store, read lazily: arrays are ``zarr.Array`` s, loaded when sliced.

    Attributes:
        path: where the store is.
        group: the Zarr group.

    ``run.attributions[:100]`` reads the first 100 rows only; rows of shards not yet
    committed hold zeros (see :attr:`committed_rows`). A run of a model of several inputs
    gives its attributions in the form its data came in: a dict of arrays by input name, or
    a list / tuple in the model's input order.
    """

    def __init__(self, path: str, group: zarr.Group) -> None:
        self.path, self.group = path, group

    # ------------------------------------------------------------------ attributes
    @property
    def attrs(self) -> dict[str, Any]:
        """The group's attributes: method, params, model, data, targets, fingerprint, ..."""
        return dict(self.group.attrs)

    @property
    def method(self) -> str:
        return str(self.group.attrs["method"])

    @property
    def params(self) -> dict[str, Any]:
        return dict(mapping_attribute(self.group.attrs.get("params", {}), "params"))

    @property
    def shard_size(self) -> int:
        return int_attribute(self.group.attrs["shard_size"], "shard_size")

    @property
    def complete(self) -> bool:
        """Whether every shard is committed and the run was finalised."""
        return bool(self.group.attrs.get("complete", False))

    @property
    def expected_samples(self) -> int | None:
        """The data's number of samples; None while unknown (a stream not yet finished)."""
        value = self.group.attrs.get("num_samples")
        return None if value is None else int_attribute(value, "num_samples")

    # ------------------------------------------------------------------ progress
    @property
    def committed_shards(self) -> np.ndarray:
        """(num_shards,) bool: which shards are committed."""
        if MARKERS not in self.group:
            return np.zeros(0, dtype=bool)
        return np.asarray(array_at(self.group, MARKERS)[:], dtype=bool)

    @property
    def committed_rows(self) -> np.ndarray:
        """(rows,) bool over the arrays' rows: True where the row's shard is committed."""
        if "sample_index" not in self.group:
            return np.zeros(0, dtype=bool)
        rows = array_at(self.group, "sample_index").shape[0]
        shards = self.committed_shards
        mask = np.zeros(rows, dtype=bool)
        for k in np.flatnonzero(shards):
            mask[k * self.shard_size : (k + 1) * self.shard_size] = True
        return mask

    @property
    def num_samples(self) -> int:
        """Samples explained and committed so far (all of them once :attr:`complete`)."""
        return int(self.committed_rows.sum())

    # ------------------------------------------------------------------ arrays
    def array(self, name: str) -> zarr.Array | None:
        """The per-sample array ``name``, or None when the run has none."""
        return array_at(self.group, name) if name in self.group else None

    def _required(self, name: str) -> zarr.Array:
        array = self.array(name)
        if array is None:
            raise KeyError(f"run {self.path} has no {name!r} array yet (no shard committed)")
        return array

    @property
    def attribution_arrays(self) -> dict[str, zarr.Array]:
        """The attributions per model input, by input name (one entry for one input)."""
        names = mapping_attribute(
            self.group.attrs.get("attribution_arrays", {"inputs": "attributions"}),
            "attribution_arrays",
        )
        return {key: self._required(str(name)) for key, name in names.items()}

    @property
    def attribution_form(self) -> str:
        """How the attributions are given back: 'array' (one array), 'list', 'tuple' or
        'dict' (one array per model input, in the form the data came in)."""
        return str(self.group.attrs.get("attribution_form", "array"))

    @property
    def input_names(self) -> list[str] | None:
        """The model's input names in its input order, for data of several inputs."""
        names = self.group.attrs.get("inputs")
        return [str(name) for name in names] if isinstance(names, list) else None

    @property
    def attributions(
        self,
    ) -> zarr.Array | list[zarr.Array] | tuple[zarr.Array, ...] | dict[str, zarr.Array]:
        """(N, ...) attributions (the inputs' shape, less the channel axis with a reducer).

        For a model of several inputs: one such array per input, as a dict by input name or
        a list / tuple in the model's input order (the form the data came in).
        """
        form = self.attribution_form
        if form == "array":
            return self._required("attributions")
        arrays = self.attribution_arrays
        if form == "dict":
            return arrays
        return list(arrays.values()) if form == "list" else tuple(arrays.values())

    @property
    def targets(self) -> zarr.Array:
        """(N,) int64 class indices, or (N, K) weights."""
        return self._required("target")

    @property
    def scores(self) -> zarr.Array:
        """(N,) the explained scalar at each input."""
        return self._required("score")

    @property
    def predictions(self) -> zarr.Array | None:
        """(N,) int64 top class (or the output of a single-output model)."""
        return self.array("prediction")

    @property
    def convergence_delta(self) -> zarr.Array | None:
        """(N,) for path methods (IG family), else None."""
        return self.array("convergence_delta")

    @property
    def sample_index(self) -> zarr.Array:
        """(N,) int64 each row's position in the data."""
        return self._required("sample_index")

    @property
    def sample_ids(self) -> zarr.Array | None:
        """(N,) strings naming the samples (image file names), when the data named them."""
        return self.array("sample_id")

    def explanation(self, rows: slice | np.ndarray | None = None) -> Explanation:
        """The rows ``rows`` (default: all) as an in-memory :class:`~xaikit.Explanation`."""
        rows = slice(None) if rows is None else rows
        delta = self.convergence_delta
        stored = self.attributions
        attributions: Any
        if isinstance(stored, dict):
            attributions = {name: np.asarray(array[rows]) for name, array in stored.items()}
        elif isinstance(stored, (list, tuple)):
            values = [np.asarray(array[rows]) for array in stored]
            attributions = values if isinstance(stored, list) else tuple(values)
        else:
            attributions = np.asarray(stored[rows])
        return Explanation(
            attributions=attributions,
            targets=np.asarray(self.targets[rows]),
            scores=np.asarray(self.scores[rows]),
            method=self.method,
            params=self.params,
            convergence_delta=None if delta is None else np.asarray(delta[rows]),
        )

    # ------------------------------------------------------------------ tables
    def records(self) -> dict[str, np.ndarray]:
        """Per-sample columns of the committed rows: sample_index, sample_id, label, target
        (or target_0 ... target_{K-1} for weights), prediction, score, convergence_delta."""
        mask = self.committed_rows
        columns: dict[str, np.ndarray] = {}
        for name in _COLUMNS:
            array = self.array(name)
            if array is None:
                continue
            values = np.asarray(array[:])[mask]
            if values.ndim == 2:
                for k in range(values.shape[1]):
                    columns[f"{name}_{k}"] = values[:, k]
            else:
                columns[name] = values
        return columns

    def to_pandas(self) -> Any:
        """The per-sample records of the committed rows as a ``pandas.DataFrame``.

        Raises:
            ImportError: pandas is not installed (``pip install pandas``).
        """
        try:
            import pandas
        except ImportError:
            raise ImportError(
                "Run.to_pandas() needs pandas, which is not installed: pip install pandas"
            ) from None
        return pandas.DataFrame(self.records())

    # ------------------------------------------------------------------ text
    def summary(self) -> str:
        """Several lines: method, parameters, model, data, progress, score statistics."""
        attrs = self.attrs
        total = self.expected_samples
        data = attrs.get("data", {})
        lines = [
            f"run:       {self.path}",
            f"method:    {self.method}",
            "params:    " + ", ".join(f"{k}={v}" for k, v in self.params.items()),
            f"model:     {attrs.get('model', {}).get('name')} "
            f"(weights sha256 {str(attrs.get('model', {}).get('sha256'))[:12]})",
            f"data:      {data.get('kind')} {data.get('source') or ''}".rstrip(),
            f"samples:   {self.num_samples}/{'?' if total is None else total} "
            f"({'complete' if self.complete else 'incomplete'}), "
            f"{int(self.committed_shards.sum())} shards of {self.shard_size}",
        ]
        if self.attribution_form == "array" and "attributions" in self.group:
            array = array_at(self.group, "attributions")
            lines.append(f"arrays:    attributions {array.shape} {array.dtype}")
        elif self.attribution_form != "array":
            names = mapping_attribute(self.group.attrs.get("attribution_arrays", {}), "")
            shown = [
                f"{key}: {part.shape} {part.dtype}"
                for key, name in names.items()
                if (part := self.array(str(name))) is not None
            ]
            if shown:
                form = self.attribution_form
                lines.append(f"arrays:    attributions ({form}) " + ", ".join(shown))
        records = self.records() if "score" in self.group else {}
        if records.get("score") is not None and len(records["score"]):
            s = records["score"].astype(np.float64)
            lines.append(
                f"score:     mean {s.mean():.4g}, std {s.std():.4g}, min {s.min():.4g}, "
                f"median {np.median(s):.4g}, max {s.max():.4g}"
            )
        if records.get("convergence_delta") is not None and len(records["convergence_delta"]):
            d = np.abs(records["convergence_delta"].astype(np.float64))
            lines.append(f"delta:     mean |delta| {d.mean():.4g}, max |delta| {d.max():.4g}")
        if records.get("prediction") is not None and records["prediction"].dtype.kind == "i":
            values, counts = np.unique(records["prediction"], return_counts=True)
            top = sorted(zip(counts.tolist(), values.tolist(), strict=True), reverse=True)[:5]
            lines.append("predicted: " + ", ".join(f"class {v}: {c}" for c, v in top))
        lines.append(
            f"created:   {attrs.get('created_at')}"
            + (f", finished {attrs.get('finished_at')}" if attrs.get("finished_at") else "")
        )
        return "\n".join(lines)

    def __repr__(self) -> str:
        total = self.expected_samples
        state = "complete" if self.complete else "incomplete"
        return (
            f"Run({self.path!r}, method={self.method!r}, samples="
            f"{self.num_samples}/{'?' if total is None else total}, {state})"
        )


def open_run(path: str | os.PathLike) -> Run:
    """The run stored at ``path`` (a folder or an fsspec URL), opened read-only.

    Raises:
        InputError: nothing at ``path``, or a Zarr store that is not a xaikit run.
    """
    where = os.fspath(path)
    group = open_existing(where, "r", argument="path")
    if group is None:
        raise InputError(f"path: no run at {where} (expected a store written by explain_dataset)")
    if group.attrs.get("xaikit_format") != FORMAT:
        raise InputError(f"path: {where} is a Zarr group but not a xaikit run")
    return Run(where, group)
