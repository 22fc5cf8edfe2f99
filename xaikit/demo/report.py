"""Write the demo's results: attributions (.npy), one picture per method, summary and HTML."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .. import viz
from .._json import jsonable
from ..viz._mpl import pyplot
from .data import DemoData
from .records import KindRun, MethodRun
from .report_structured import (
    TASKS,
    per_input_summary,
    sample_titles,
    task_html,
    write_task,
)

__all__ = ["write_report", "summary"]

#: How many samples share one row of pictures, per kind.
_COLUMNS = {"image": 6, "series": 2, "tabular": 4}


def _picture(run: KindRun, values: Any, path: Path, title: str) -> None:
    data = run.data
    assert isinstance(data, DemoData)
    figure = viz.plot(
        values,
        data.inputs,
        samples=None,
        titles=sample_titles(run),
        relevant=data.relevant,
        feature_names=data.feature_names,
        ncols=_COLUMNS[data.kind],
        suptitle=title,
    )
    viz.save(figure, path, dpi=80)


#: How many samples the per-epoch strip shows (one row each).
_STRIP_SAMPLES = 3


def _epoch_strip(run: KindRun, path: Path) -> None:
    """Saliency of the first samples (rows) before training and after each epoch (columns),
    each row on one colour scale so the maps of one sample compare across epochs."""
    plt = pyplot()
    steps = sorted(run.epoch_maps)
    rows = min(_STRIP_SAMPLES, len(run.data))
    figure, axes = plt.subplots(
        rows, len(steps), figsize=(1.5 * len(steps), 1.6 * rows), squeeze=False
    )
    for i in range(rows):
        maps = np.stack([run.epoch_maps[step][i] for step in steps])
        limits = viz.color_limits(maps)
        for ax, step, heat in zip(axes[i], steps, maps, strict=True):
            title = ("before training" if step == 0 else f"epoch {step}") if i == 0 else None
            image = np.asarray(run.data.inputs)[i]
            viz.image_overlay(image, heat, ax, limits=limits, title=title)
    figure.suptitle("saliency while the model trains (ExplainCallback)", fontsize=10)
    viz.save(figure, path, dpi=80)


def _metric_means(item: MethodRun) -> dict[str, dict[str, Any]]:
    out = {}
    for name, result in item.metrics.items():
        mean = float(getattr(result, "mean", float("nan")))
        out[name] = {
            "mean": None if math.isnan(mean) else mean,
            "higher_is_better": bool(getattr(result, "higher_is_better", True)),
            "scores": np.asarray(getattr(result, "scores", [])).astype(float).tolist(),
        }
    return out


def summary(results: Mapping[str, KindRun]) -> dict[str, Any]:
    """Everything measured, as JSON-ready data: accuracy, relevance mass, metrics, errors."""
    out: dict[str, Any] = {}
    for kind, run in results.items():
        methods = {}
        for item in run.methods:
            entry: dict[str, Any] = {"plugin": item.plugin, "params": _jsonable(item.params)}
            if item.skipped:
                entry["skipped"] = item.skipped
            elif item.error:
                entry["error"] = item.error
            else:
                entry.update(
                    relevance_mass=item.mean_mass,
                    relevance_mass_per_sample=np.round(np.asarray(item.relevance_mass), 4).tolist(),
                    region_area=item.mean_area,
                    seconds=round(item.seconds, 3),
                    metrics=_metric_means(item),
                )
                if item.metric_errors:
                    entry["metric_errors"] = dict(item.metric_errors)
                if item.metrics_error:
                    entry["metrics_error"] = item.metrics_error
                if item.per_input:
                    entry["per_input"] = per_input_summary(item)
            methods[item.name] = entry
        out[kind] = {
            "description": run.data.description,
            "test_accuracy": run.accuracy,
            "train_seconds": round(run.train_seconds, 2),
            "samples": len(run.data),
            "methods": methods,
        }
    return out


def _jsonable(value: Any) -> Any:
    return jsonable(value, max_array=64)


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border-bottom: 1px solid #ddd; padding: 6px 10px; text-align: left;
         vertical-align: middle; }
td img { max-width: 100%; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.err { color: #a00; font-family: monospace; }
.good { color: #060; font-weight: bold; }
.note { color: #555; font-size: 0.9em; }
.tokens { margin: 4px 0; line-height: 1.8; }
"""


def _method_rows(kind: str, run: KindRun) -> str:
    rows = [
        "<tr><th>method</th><th>attributions</th><th>relevance mass</th>"
        "<th>region area</th><th>seconds</th></tr>",
        f"<tr><td><b>ground truth</b><br><span class=note>relevant region</span></td>"
        f"<td><img src='{kind}/truth.png' alt='truth'></td><td></td><td></td><td></td></tr>",
    ]
    for item in run.methods:
        label = (
            f"<b>{html.escape(item.name)}</b><br><span class=note>{html.escape(item.plugin)}</span>"
        )
        if item.skipped:
            rows.append(
                f"<tr><td>{label}</td><td class=note colspan=4>{html.escape(item.skipped)}"
                "</td></tr>"
            )
            continue
        if item.error:
            rows.append(
                f"<tr><td>{label}</td><td class=err colspan=4>failed: "
                f"{html.escape(item.error)}</td></tr>"
            )
            continue
        mass, area = item.mean_mass, item.mean_area
        css = "num good" if mass > 2 * area else "num"
        rows.append(
            f"<tr><td>{label}</td><td><img src='{kind}/{item.name}.png' "
            f"alt='{html.escape(item.name)}'></td><td class='{css}'>{mass:.2f}</td>"
            f"<td class=num>{area:.2f}</td><td class=num>{item.seconds:.2f}</td></tr>"
        )
    return "<table>" + "\n".join(rows) + "</table>"


def _metrics_table(run: KindRun) -> str:
    ran = [item for item in run.methods if item.explanation is not None]
    names = sorted({name for item in ran for name in (*item.metrics, *item.metric_errors)})
    if not names:
        reasons = {item.metrics_error for item in ran if item.metrics_error}
        why = "; ".join(sorted(reasons)) or "no metric is registered"
        return f"<p class=note>No metrics: {html.escape(why)}</p>"
    better: dict[str, bool] = {}
    for item in ran:
        for name, result in _metric_means(item).items():
            better.setdefault(name, result["higher_is_better"])
    arrows = {name: "&uarr;" if better.get(name, True) else "&darr;" for name in names}
    if not better:
        arrows = dict.fromkeys(names, "")
    head = "".join(f"<th>{html.escape(name)} {arrows[name]}</th>" for name in names)
    rows = [f"<tr><th>method</th>{head}</tr>"]
    notes = []
    for item in ran:
        means = _metric_means(item)
        cells = []
        for name in names:
            if name in means and means[name]["mean"] is not None:
                cells.append(f"<td class=num>{means[name]['mean']:.3g}</td>")
            elif name in item.metric_errors:
                notes.append(f"{item.name} / {name}: {item.metric_errors[name]}")
                cells.append(
                    f"<td class=err title='{html.escape(item.metric_errors[name])}'>"
                    f"error [{len(notes)}]</td>"
                )
            else:
                cells.append("<td></td>")
        rows.append(f"<tr><td>{html.escape(item.name)}</td>{''.join(cells)}</tr>")
    listed = "".join(f"<li class=err>{html.escape(note)}</li>" for note in notes)
    return (
        "<p class=note>Mean over the explained samples; the arrow says which direction is "
        "better.</p><table>"
        + "\n".join(rows)
        + "</table>"
        + (f"<ol>{listed}</ol>" if notes else "")
    )


def _html(results: Mapping[str, KindRun]) -> str:
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>xaikit demo</title>",
        f"<style>{_STYLE}</style></head><body><h1>xaikit demo</h1>",
        "<p>Each model below was trained on synthetic data whose truly relevant region is "
        "known (outlined in green, or starred). Every registered method explains the true "
        "class of a few held-out samples. Red is positive attribution (evidence for the "
        "class), blue negative; non-negative methods use a dark-to-yellow scale. "
        "<b>Relevance mass</b> is the share of |attribution| inside the relevant region; "
        "a method no better than uniform scores the region's <b>area</b> (bold green: more "
        "than twice the area).</p>",
    ]
    for kind, run in results.items():
        if kind in TASKS:
            parts.append(task_html(kind, run))
            continue
        parts.append(
            f"<h2>{html.escape(kind)}: {html.escape(run.data.description)}</h2>"
            f"<p>Test accuracy {run.accuracy:.1%}, trained in {run.train_seconds:.1f} s. "
            f"Attributions: <code>{kind}/&lt;method&gt;.npy</code>.</p>"
        )
        parts.append(_method_rows(kind, run))
        if run.epoch_maps:
            parts.append(
                "<h3>Attributions while training</h3><p class=note>Saliency of the first "
                "samples before training and after each epoch, recorded by "
                "<code>xaikit.callbacks.ExplainCallback</code> during training: the maps "
                f"gather on the shape as the model learns. Arrays: <code>{kind}/epochs.npy"
                f"</code> (steps, N, ...).</p><img src='{kind}/epochs.png' alt='epochs'>"
            )
        parts.append("<h3>Metrics</h3>" + _metrics_table(run))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(results: Mapping[str, KindRun], out: str | Path) -> Path:
    """Write ``out/index.html``, ``out/summary.json`` and per kind ``out/<kind>/``: inputs,
    labels, relevant mask and predictions (.npy), each method's attributions (.npy) and
    picture (.png), and the ground truth's picture.

    Returns:
        The path of ``index.html``.
    """
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    for kind, run in results.items():
        folder = root / kind
        folder.mkdir(exist_ok=True)
        if kind in TASKS:
            write_task(run, folder)
            continue
        data = run.data
        assert isinstance(data, DemoData)
        np.save(folder / "inputs.npy", data.inputs)
        np.save(folder / "labels.npy", data.labels)
        np.save(folder / "relevant.npy", data.relevant)
        np.save(folder / "probabilities.npy", run.probabilities)
        _picture(run, data.relevant.astype(np.float32), folder / "truth.png", "relevant region")
        if run.epoch_maps:
            np.save(
                folder / "epochs.npy", np.stack([run.epoch_maps[k] for k in sorted(run.epoch_maps)])
            )
            _epoch_strip(run, folder / "epochs.png")
        for item in run.methods:
            if item.explanation is None:
                continue
            np.save(folder / f"{item.name}.npy", item.explanation.attributions)
            _picture(run, item.explanation.attributions, folder / f"{item.name}.png", item.name)
    (root / "summary.json").write_text(json.dumps(summary(results), indent=2) + "\n")
    index = root / "index.html"
    index.write_text(_html(results), encoding="utf-8")
    return index
