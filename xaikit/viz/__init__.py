"""Pictures of attributions (needs the ``viz`` extra: matplotlib).

Visualization never computes attributions: it draws an :class:`~xaikit.Explanation` or plain
arrays. matplotlib is imported on first use, on the headless Agg backend::

    from xaikit import viz
    figure = viz.plot(explanation, images, samples=8)   # heatmap overlays, one per sample
    viz.save(figure, "saliency.png")

Images get overlays (:func:`image_overlay`), time series attribution-coloured lines
(:func:`series_lines`), tables signed bar charts (:func:`tabular_bars`). Signed attributions
use a symmetric diverging scale (red positive, blue negative), non-negative ones a sequential
scale, both clipped at a percentile of ``|attributions|`` (:func:`color_limits`).

Explanations of models of several inputs are drawn one panel per input (:func:`plot_inputs`,
which :func:`plot` calls for dict or list attributions); token attributions become coloured
HTML text (:func:`token_html`, no matplotlib needed).
"""

from .figure import data_kind, plot, save
from .image import fold_channels, image_overlay, to_display_image
from .quantiles import plot_quantile_maps
from .scale import SIGNED_CMAP, UNSIGNED_CMAP, color_limits, is_signed, normalize
from .series import series_lines
from .structured import plot_inputs
from .tabular import tabular_bars
from .text import token_color, token_html

__all__ = [
    "plot",
    "save",
    "data_kind",
    "image_overlay",
    "series_lines",
    "tabular_bars",
    "plot_quantile_maps",
    "plot_inputs",
    "token_html",
    "token_color",
    "color_limits",
    "normalize",
    "is_signed",
    "fold_channels",
    "to_display_image",
    "SIGNED_CMAP",
    "UNSIGNED_CMAP",
]
