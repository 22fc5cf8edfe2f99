"""xaikit.viz.plot_quantile_maps: one panel per quantile, titled, on one shared scale."""

from __future__ import annotations

import numpy as np
import pytest

import xaikit
from xaikit import viz

plt = pytest.importorskip("matplotlib.pyplot")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


QUANTILES = [0.1, 0.5, 0.9]


def _maps(shape: tuple[int, ...]) -> np.ndarray:
    passes = np.random.default_rng(0).normal(size=(12, *shape))
    return xaikit.quantile_maps(passes, QUANTILES)


def _titles(figure) -> list[str]:
    return [ax.get_title() for ax in figure.axes if ax.get_visible()]


def test_one_axes_per_quantile_titled_with_the_quantile():
    figure = viz.plot_quantile_maps(_maps((6, 7)), QUANTILES, title="saliency")
    assert len(figure.axes) == 3
    assert _titles(figure) == ["q=0.1", "q=0.5 (median)", "q=0.9"]
    assert figure._suptitle.get_text() == "saliency"


def test_maps_share_one_colour_scale():
    figure = viz.plot_quantile_maps(_maps((5, 5)), QUANTILES)
    limits = {ax.images[0].get_clim() for ax in figure.axes}
    assert len(limits) == 1
    low, high = limits.pop()
    assert low == -high  # normal draws are signed: a symmetric scale


def test_overlays_on_an_image_and_channels_summed(tmp_path):
    maps = np.abs(_maps((8, 8, 3)))
    image = np.random.default_rng(1).uniform(size=(8, 8, 3))
    figure = viz.plot_quantile_maps(maps, QUANTILES, image=image)
    assert len(figure.axes) == 3 and all(len(ax.images) == 2 for ax in figure.axes)
    path = viz.save(figure, tmp_path / "q.png")
    assert open(path, "rb").read(4) == b"\x89PNG"


def test_tabular_row_is_drawn_as_a_strip():
    figure = viz.plot_quantile_maps(_maps((8,)), QUANTILES)
    assert figure.axes[0].images[0].get_array().shape == (1, 8)


def test_mismatched_quantiles_or_image_are_refused():
    with pytest.raises(ValueError, match="maps: expected one map per quantile"):
        viz.plot_quantile_maps(_maps((4, 4)), [0.5])
    with pytest.raises(ValueError, match="image's shape"):
        viz.plot_quantile_maps(_maps((4, 4)), QUANTILES, image=np.zeros((5, 5)))
