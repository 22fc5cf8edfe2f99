"""xaikit-myplugin: an xaikit plugin providing the 'input_x_gradient' method."""

from .method import InputXGradient

__all__ = ["InputXGradient"]
