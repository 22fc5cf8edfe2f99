"""Exception and warning types raised by xaikit.

Every error raised because of something a user passed derives from :class:`XaikitError`, and
also from the built-in type a Python programmer would expect (``ValueError`` for a bad value,
``LookupError`` for an unknown name), so ``except ValueError`` keeps working.
"""

from __future__ import annotations

__all__ = [
    "XaikitError",
    "InputError",
    "UnknownNameError",
    "PluginError",
    "NameClashError",
    "NoGuidableActivationError",
    "BackendError",
    "PluginWarning",
    "ChunkSizeWarning",
]


class XaikitError(Exception):
    """Base class of all xaikit errors."""

    #: Raised while a ``tf.function`` is traced (an operator's check, a model that returns
    #: several outputs), a xaikit error would otherwise be rewritten by AutoGraph into a
    #: ``StagingError`` whose message starts with a stack dump. This marker makes AutoGraph
    #: let it through unchanged, so users can catch it by type and read its message.
    ag_pass_through = True


class InputError(XaikitError, ValueError):
    """An argument (inputs, targets, a parameter) has the wrong shape, type or value.

    The message names the argument, what was expected and what came.
    """


class UnknownNameError(XaikitError, LookupError):
    """A method, operator, reducer or metric name is not registered.

    The message lists the registered names.
    """

    def __str__(self) -> str:  # LookupError would quote the message like a KeyError
        return str(self.args[0]) if self.args else ""


class PluginError(XaikitError):
    """A plugin is malformed, or two plugins claim the same name."""


class NameClashError(PluginError):
    """Two plugins claim the same method, operator, reducer or metric name.

    The message names the name and both plugins.
    """


class NoGuidableActivationError(XaikitError, ValueError):
    """Guided backpropagation found no ReLU-family activation it could guide."""


class BackendError(XaikitError, ImportError):
    """Keras runs on a backend other than TensorFlow."""


class PluginWarning(UserWarning):
    """An installed plugin could not be loaded and was skipped."""


class ChunkSizeWarning(UserWarning):
    """Chunks of ``batch_size`` rows ran out of memory; the call went on with smaller ones."""
