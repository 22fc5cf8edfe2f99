"""xaikit.viz: colour scales, overlays, coloured lines, bar charts; drawing only, no computing."""

from __future__ import annotations

import numpy as np
import pytest

import xaikit
from xaikit import viz
from xaikit.viz import _mpl

plt = pytest.importorskip("matplotlib.pyplot")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _explanation(attributions: np.ndarray) -> xaikit.Explanation:
    n = attributions.shape[0]
    return xaikit.Explanation(
        attributions=attributions,
        targets=np.zeros(n, np.int64),
        scores=np.zeros(n),
        method="test",
    )


# ---------------------------------------------------------------------- scales
def test_signed_limits_are_symmetric_and_clipped_at_the_percentile():
    values = np.linspace(-1.0, 3.0, 401)
    low, high = viz.color_limits(values, percentile=90.0)
    expected = np.percentile(np.abs(values), 90.0)
    assert (low, high) == pytest.approx((-expected, expected))


def test_non_negative_limits_start_at_zero():
    values = np.arange(101.0)
    assert viz.color_limits(values, percentile=50.0) == pytest.approx((0.0, 50.0))
    assert viz.color_limits(values, percentile=100.0, signed=True) == pytest.approx((-100, 100))


def test_all_zero_attributions_get_a_usable_scale():
    assert viz.color_limits(np.zeros((4, 4))) == (0.0, 1.0)


def test_bad_percentile_is_refused():
    with pytest.raises(ValueError, match="percentile"):
        viz.color_limits(np.ones(3), percentile=0)


def test_normalize_saturates_beyond_the_clip():
    values = np.array([-10.0, -1.0, 0.0, 0.5, 1.0])
    out = viz.normalize(values, percentile=100.0)
    np.testing.assert_allclose(out, values / 10.0)
    clipped = viz.normalize(np.array([0.0, 1.0, 2.0, 100.0]), percentile=50.0)
    np.testing.assert_allclose(clipped, [0.0, 1.0 / 1.5, 1.0, 1.0])  # median of |x|: 1.5


# ---------------------------------------------------------------------- images
def test_overlay_is_transparent_where_attribution_is_zero_and_symmetric_when_signed():
    image = np.random.default_rng(0).random((6, 6, 3))
    heat = np.zeros((6, 6))
    heat[1, 1], heat[4, 4] = 2.0, -1.0
    ax = viz.image_overlay(image, heat, percentile=100.0, alpha=0.8)
    rgba = ax.get_images()[1].get_array()
    assert rgba.shape == (6, 6, 4)
    assert rgba[0, 0, 3] == 0.0  # no attribution: the image shows through
    assert rgba[1, 1, 3] == pytest.approx(0.8)  # saturated
    cmap = plt.get_cmap(viz.SIGNED_CMAP)
    np.testing.assert_allclose(rgba[1, 1, :3], cmap(1.0)[:3])  # +max: top of the map
    np.testing.assert_allclose(rgba[4, 4, :3], cmap(0.25)[:3])  # -max/2 on a (-2, 2) scale


def test_overlay_sums_channels_and_outlines_a_mask():
    image = np.zeros((5, 5, 1))
    heat = np.ones((5, 5, 2))
    mask = np.zeros((5, 5), bool)
    mask[1:3, 1:3] = True
    ax = viz.image_overlay(image, heat, outline=mask, title="t")
    assert ax.get_title() == "t"
    assert ax.collections  # the contour of the mask
    with pytest.raises(ValueError, match="attribution"):
        viz.image_overlay(image, np.ones((4, 5)))


# ---------------------------------------------------------------------- series
def test_series_segments_take_the_colour_of_their_attribution():
    series = np.stack([np.sin(np.arange(10.0)), np.cos(np.arange(10.0))], axis=1)
    heat = np.zeros((10, 2))
    heat[3:5, 0] = 1.0  # segments 3 (3->4) and 4 carry the positive attribution
    ax = viz.series_lines(series, heat, percentile=100.0, channel_names=["a", "b"])
    lines = ax.collections
    assert len(lines) == 2
    colours = lines[0].get_colors()
    assert colours.shape == (9, 4)
    cmap = plt.get_cmap(viz.UNSIGNED_CMAP)
    np.testing.assert_allclose(colours[3, :3], cmap(1.0)[:3])  # mean of 1 and 1
    assert colours[0, 3] == 0.0 and colours[3, 3] == 1.0  # opacity follows |attribution|
    assert lines[1].get_colors()[:, 3].max() == 0.0  # channel b has no attribution
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]


def test_series_accepts_folded_attributions_and_shades_a_region():
    series = np.random.default_rng(1).normal(size=(12, 3))
    mask = np.zeros(12, bool)
    mask[2:5] = True
    ax = viz.series_lines(series, np.linspace(-1, 1, 12), highlight=mask)
    assert len(ax.collections) == 3
    assert len(ax.patches) == 1  # one shaded span
    with pytest.raises(ValueError, match="attribution"):
        viz.series_lines(series, np.ones(11))


# ---------------------------------------------------------------------- tables
def test_bars_are_signed_and_coloured_by_sign():
    heat = np.array([0.5, -0.25, 0.0, 1.0])
    ax = viz.tabular_bars(heat, feature_names=list("abcd"), highlight=[True, False, False, True])
    widths = [patch.get_width() for patch in ax.patches]
    # features are drawn top to bottom: bars in order a, b, c, d
    np.testing.assert_allclose(widths, heat)
    cmap = plt.get_cmap(viz.SIGNED_CMAP)
    assert ax.patches[0].get_facecolor() == pytest.approx(cmap(0.85))
    assert ax.patches[1].get_facecolor() == pytest.approx(cmap(0.15))
    low, high = ax.get_xlim()
    assert low == pytest.approx(-high)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["* a", "b", "c", "* d"]


# ---------------------------------------------------------------------- grids
@pytest.mark.parametrize(
    ("shape", "reduced", "panels"),
    [((5, 8, 8, 3), True, 4), ((3, 20, 2), False, 3), ((6, 4), False, 4)],
)
def test_plot_draws_one_panel_per_sample_and_saves_a_png(tmp_path, shape, reduced, panels):
    rng = np.random.default_rng(2)
    inputs = rng.normal(size=shape)
    attributions = rng.normal(size=shape[:-1] if reduced else shape)
    figure = viz.plot(_explanation(attributions), inputs, samples=4, suptitle="m")
    visible = [ax for ax in figure.axes if ax.get_visible()]
    assert len(visible) == panels
    path = viz.save(figure, tmp_path / "out.png")
    with open(path, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    assert not plt.get_fignums()  # save() closed the figure


def test_plot_draws_the_values_given_and_checks_shapes():
    inputs = np.zeros((2, 4, 4, 1))
    values = np.zeros((2, 4, 4))
    values[1, 2, 3] = 5.0
    figure = viz.plot(values, inputs, samples=[1], titles=["only"], percentile=100.0)
    rgba = figure.axes[0].get_images()[1].get_array()
    assert np.argwhere(rgba[..., 3] > 0).tolist() == [[2, 3]]
    assert figure.axes[0].get_title() == "only"
    with pytest.raises(ValueError, match="explanation"):
        viz.plot(np.zeros((2, 3, 3)), inputs)
    with pytest.raises(ValueError, match="samples"):
        viz.plot(values, inputs, samples=[5])
    with pytest.raises(ValueError, match="inputs"):
        viz.plot(np.zeros((2, 1, 1, 1, 1)), np.zeros((2, 1, 1, 1, 1)))


def test_shared_scale_uses_one_limit_for_every_panel():
    inputs = np.zeros((2, 3))
    values = np.array([[1.0, 0.0, 0.0], [4.0, 0.0, -1.0]])
    figure = viz.plot(values, inputs, shared_scale=True, percentile=100.0)
    assert figure.axes[0].get_xlim() == pytest.approx(figure.axes[1].get_xlim())
    assert figure.axes[0].get_xlim() == pytest.approx((-4.2, 4.2))


def test_missing_matplotlib_gives_an_install_hint(monkeypatch):
    real = _mpl.importlib.import_module

    def fake(name, *args):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real(name, *args)

    monkeypatch.setattr(_mpl.importlib, "import_module", fake)
    with pytest.raises(ImportError, match=r"xaikit\[viz\]"):
        viz.plot(np.zeros((1, 3)), np.zeros((1, 3)))
