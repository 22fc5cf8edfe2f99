"""The report's structured tasks: sentences as coloured tokens, a model of two inputs drawn
one panel per input. :mod:`xaikit.demo.report` calls these for the kinds in :data:`TASKS`."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np

from .. import viz
from .records import KindRun, MethodRun
from .structured import PairData, TextData

__all__ = ["TASKS", "write_task", "task_html", "per_input_summary", "sample_titles"]

#: The kinds this module reports.
TASKS = ("text", "two_input")


def sample_titles(run: KindRun) -> list[str]:
    """One title per explained sample: its true class, the predicted one and its probability."""
    names = run.data.class_names
    predicted = run.probabilities.argmax(axis=-1)
    return [
        f"true {names[label]} | predicted {names[guess]} {run.probabilities[i, guess]:.2f}"
        for i, (label, guess) in enumerate(zip(run.data.labels, predicted, strict=True))
    ]


def _pair_picture(run: KindRun, values: Any, path: Path, title: str) -> None:
    data = run.data
    assert isinstance(data, PairData)
    figure = viz.plot_inputs(
        values,
        dict(data.inputs),
        samples=None,
        titles=sample_titles(run),
        relevant=dict(data.relevant),
        feature_names=dict(data.feature_names),
        suptitle=title,
    )
    viz.save(figure, path, dpi=80)


def write_task(run: KindRun, folder: Path) -> None:
    """Write a structured task's arrays and pictures to ``folder``.

    text: ``inputs.npy`` (ids), ``labels.npy``, ``relevant.npy``, ``probabilities.npy``,
    ``vocabulary.txt`` and each method's ``<method>.npy`` (N, T). two_input: ``inputs.npz``
    and ``relevant.npz`` by input name, ``labels.npy``, ``probabilities.npy``, each method's
    ``<method>.npz`` and ``<method>.png``, and ``truth.png``.
    """
    data = run.data
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "labels.npy", data.labels)
    np.save(folder / "probabilities.npy", run.probabilities)
    if isinstance(data, TextData):
        np.save(folder / "inputs.npy", data.inputs)
        np.save(folder / "relevant.npy", data.relevant)
        (folder / "vocabulary.txt").write_text("\n".join(data.vocabulary) + "\n")
        for item in run.methods:
            if item.explanation is not None:
                np.save(folder / f"{item.name}.npy", item.explanation.attributions)
        return
    assert isinstance(data, PairData)
    np.savez(folder / "inputs.npz", **data.inputs)  # type: ignore[arg-type]
    np.savez(folder / "relevant.npz", **data.relevant)  # type: ignore[arg-type]
    truth = {name: mask.astype(np.float32) for name, mask in data.relevant.items()}
    _pair_picture(run, truth, folder / "truth.png", "relevant parts")
    for item in run.methods:
        if item.explanation is None:
            continue
        attributions = item.explanation.attributions
        np.savez(folder / f"{item.name}.npz", **attributions)
        _pair_picture(run, attributions, folder / f"{item.name}.png", item.name)


def per_input_summary(item: MethodRun) -> dict[str, dict[str, float]]:
    """Input name -> mean relevance mass, region area and share of ``|attribution|``."""
    return {
        name: {
            "relevance_mass": float(np.mean(part["mass"])),
            "region_area": float(np.mean(part["area"])),
            "share": float(np.mean(part["share"])),
        }
        for name, part in item.per_input.items()
    }


def _label(item: MethodRun) -> str:
    return f"<b>{html.escape(item.name)}</b><br><span class=note>{html.escape(item.plugin)}</span>"


def _sentences(data: TextData, values: np.ndarray, titles: list[str]) -> str:
    lines = [
        f"<div class=tokens>{viz.token_html(data.tokens(i), values[i])}"
        f" <span class=note>{html.escape(titles[i])}</span></div>"
        for i in range(len(data))
    ]
    return "".join(lines)


def _text_rows(run: KindRun) -> str:
    data = run.data
    assert isinstance(data, TextData)
    titles = sample_titles(run)
    rows = [
        "<tr><th>method</th><th>attributions per token (hover for the value)</th>"
        "<th>keyword share</th><th>keyword area</th><th>seconds</th></tr>",
        f"<tr><td><b>ground truth</b><br><span class=note>the keyword</span></td><td>"
        f"{_sentences(data, data.relevant.astype(float), titles)}</td><td></td><td></td>"
        "<td></td></tr>",
    ]
    for item in run.methods:
        if item.skipped or item.error:
            css, text = ("note", item.skipped) if item.skipped else ("err", f"failed: {item.error}")
            rows.append(
                f"<tr><td>{_label(item)}</td><td class={css} colspan=4>"
                f"{html.escape(str(text))}</td></tr>"
            )
            continue
        mass, area = item.mean_mass, item.mean_area
        values = np.asarray(item.explanation.attributions)
        css = "num good" if mass > 2 * area else "num"
        rows.append(
            f"<tr><td>{_label(item)}</td><td>{_sentences(data, values, titles)}</td>"
            f"<td class='{css}'>{mass:.2f}</td><td class=num>{area:.2f}</td>"
            f"<td class=num>{item.seconds:.2f}</td></tr>"
        )
    return "<table>" + "\n".join(rows) + "</table>"


def _pair_rows(kind: str, run: KindRun) -> str:
    data = run.data
    assert isinstance(data, PairData)
    names = list(data.inputs)
    head = "".join(
        f"<th>{html.escape(name)}: share of |attribution|</th>"
        f"<th>{html.escape(name)}: mass on its relevant part (area)</th>"
        for name in names
    )
    rows = [
        f"<tr><th>method</th><th>attributions</th>{head}<th>seconds</th></tr>",
        f"<tr><td><b>ground truth</b><br><span class=note>relevant parts</span></td>"
        f"<td><img src='{kind}/truth.png' alt='truth'></td>"
        + "<td></td>" * (2 * len(names) + 1)
        + "</tr>",
    ]
    for item in run.methods:
        if item.skipped or item.error:
            css, text = ("note", item.skipped) if item.skipped else ("err", f"failed: {item.error}")
            rows.append(
                f"<tr><td>{_label(item)}</td><td class={css} colspan={2 * len(names) + 2}>"
                f"{html.escape(str(text))}</td></tr>"
            )
            continue
        parts = per_input_summary(item)
        cells = "".join(
            f"<td class=num>{parts[name]['share']:.2f}</td>"
            f"<td class='{'num good' if p['relevance_mass'] > 2 * p['region_area'] else 'num'}'>"
            f"{p['relevance_mass']:.2f} ({p['region_area']:.2f})</td>"
            for name, p in ((name, parts[name]) for name in names)
        )
        rows.append(
            f"<tr><td>{_label(item)}</td><td><img src='{kind}/{item.name}.png' "
            f"alt='{html.escape(item.name)}'></td>{cells}"
            f"<td class=num>{item.seconds:.2f}</td></tr>"
        )
    return "<table>" + "\n".join(rows) + "</table>"


def task_html(kind: str, run: KindRun) -> str:
    """The report's section of a structured task."""
    intro = (
        f"<h2>{html.escape(kind)}: {html.escape(run.data.description)}</h2>"
        f"<p>Test accuracy {run.accuracy:.1%}, trained in {run.train_seconds:.1f} s. "
    )
    if kind == "text":
        return (
            intro + "The token ids are explained at the model's embedding layer "
            "(<code>layer='embedding', reducer='sum'</code>: one score per token); red is "
            "evidence for the true class, blue against. <b>Keyword share</b> is the keyword's "
            "share of |attribution| in its sentence; uniform attributions score the keyword "
            f"area. Attributions: <code>{kind}/&lt;method&gt;.npy</code> (N, T).</p>"
            + _text_rows(run)
        )
    return (
        intro + "Both inputs are explained at once. Each input's <b>share</b> of the total "
        "|attribution| says how much the method credits it (the units of the two inputs "
        "differ, so read shares with care); the <b>mass on its relevant part</b> is the share "
        "of that input's |attribution| on the shape's pixels (image) or on column t0 (table), "
        "with the part's area for comparison. Attributions: "
        f"<code>{kind}/&lt;method&gt;.npz</code> by input name.</p>" + _pair_rows(kind, run)
    )
