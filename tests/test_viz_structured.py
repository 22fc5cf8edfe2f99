"""Pictures of structured explanations (one panel per input) and token attributions as HTML."""

from __future__ import annotations

import re

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from xaikit import viz  # noqa: E402

SPAN = re.compile(r'<span class="xaikit-token" style="([^"]*)" title="([^"]*)">(.*?)</span>')


# ---------------------------------------------------------------------- token_html
def test_one_span_per_token_with_its_value():
    page = viz.token_html(["the", "goal", "was"], [0.0, 2.0, -0.5])
    spans = SPAN.findall(page)
    assert [text for *_, text in spans] == ["the", "goal", "was"]
    assert [float(title) for _, title, _ in spans] == [0.0, 2.0, -0.5]
    assert page.count("<span") == 3 and page.count("</span>") == 3


def test_tokens_and_values_are_escaped():
    page = viz.token_html(['<b>"x"</b>', "a&b"], [1.0, -1.0])
    assert "<b>" not in page
    assert "&lt;b&gt;&quot;x&quot;&lt;/b&gt;" in page and "a&amp;b" in page


def _rgb(style: str) -> tuple[int, int, int]:
    hex_ = re.search(r"background-color:#([0-9a-f]{6})", style).group(1)
    return int(hex_[:2], 16), int(hex_[2:4], 16), int(hex_[4:], 16)


def test_colour_follows_the_sign_and_size():
    spans = SPAN.findall(viz.token_html(["a", "b", "c", "d"], [3.0, -3.0, 0.0, 1.0]))
    red, blue, white, pale = (_rgb(style) for style, _, _ in spans)
    assert red[0] > red[2] and blue[2] > blue[0]  # positive red, negative blue
    assert white == (255, 255, 255)
    assert red[1] < pale[1] < 255  # a smaller positive value is a paler red
    assert viz.token_color(3.0, 3.0) == viz.token_color(10.0, 3.0)  # saturates at the limit


def test_limit_and_shape_are_checked():
    same = viz.token_html(["a"], [1.0], limit=4.0)
    assert _rgb(SPAN.findall(same)[0][0]) == _rgb(SPAN.findall(viz.token_html(["a", "b"],
                                                                [1.0, 4.0]))[0][0])  # fmt: skip
    with pytest.raises(ValueError, match="one score per token"):
        viz.token_html(["a", "b"], [1.0])
    with pytest.raises(ValueError, match="limit"):
        viz.token_html(["a"], [1.0], limit=0.0)
    zeros = SPAN.findall(viz.token_html(["a", "b"], [0.0, 0.0]))
    assert all(_rgb(style) == (255, 255, 255) for style, _, _ in zeros)


# ---------------------------------------------------------------------- several inputs
@pytest.fixture
def structured():
    rng = np.random.default_rng(0)
    inputs = {
        "image": rng.normal(size=(3, 8, 8, 1)),
        "table": rng.normal(size=(3, 4)),
        "tokens": rng.integers(1, 9, size=(3, 5)),
    }
    attributions = {
        "image": rng.normal(size=(3, 8, 8, 1)),
        "table": rng.normal(size=(3, 4)),
        "tokens": rng.normal(size=(3, 5, 6)),  # at an embedding: summed over its axis
    }
    return inputs, attributions


def test_one_panel_per_input_and_sample_named(structured):
    inputs, attributions = structured
    relevant = {"table": np.array([[True, False, False, False]] * 3)}
    figure = viz.plot(
        attributions, inputs, samples=2, titles=["first", "second"], relevant=relevant
    )
    axes = [ax for ax in figure.axes if ax.get_visible() and ax.get_title()]
    titles = [ax.get_title() for ax in axes]
    assert titles[:3] == ["first\nimage", "table", "tokens"]
    assert titles[3:6] == ["second\nimage", "table", "tokens"]
    viz.save(figure, "/dev/null")


def test_lists_are_named_by_the_given_names(structured, tmp_path):
    inputs, attributions = structured
    order = ["image", "table"]
    figure = viz.plot_inputs(
        [attributions[k] for k in order], [inputs[k] for k in order], samples=1, names=order
    )
    assert [ax.get_title() for ax in figure.axes if ax.get_title()] == ["sample 0\nimage", "table"]
    assert viz.save(figure, tmp_path / "two.png").endswith("two.png")
    figure = viz.plot([attributions["table"]] * 2, [inputs["table"]] * 2, samples=1)
    assert [ax.get_title() for ax in figure.axes if ax.get_title()] == [
        "sample 0\ninput_0",
        "input_1",
    ]
    viz.save(figure, tmp_path / "default.png")


def test_mismatched_structures_are_refused(structured):
    inputs, attributions = structured
    with pytest.raises(ValueError, match="expected attributions for the inputs"):
        viz.plot({"image": attributions["image"]}, inputs)
    bad = dict(attributions, table=np.zeros((3, 7)))
    with pytest.raises(ValueError, match=r"explanation\['table'\]"):
        viz.plot(bad, inputs)
