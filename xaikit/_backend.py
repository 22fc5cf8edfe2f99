"""Import-time check that Keras runs on the TensorFlow backend."""

from __future__ import annotations

import os

from .errors import BackendError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def check_backend() -> None:
    """Raise :class:`BackendError` unless Keras 3 runs on TensorFlow."""
    import keras

    major = int(keras.__version__.split(".")[0])
    if major < 3:
        raise BackendError(
            f"xaikit needs Keras 3, but keras {keras.__version__} is installed; "
            "upgrade with `pip install 'keras>=3'`."
        )
    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise BackendError(
            f"xaikit needs Keras on the TensorFlow backend, but Keras runs on {backend!r} "
            f"(KERAS_BACKEND={os.environ.get('KERAS_BACKEND', '<unset>')!r}). "
            "Set KERAS_BACKEND=tensorflow before importing keras or xaikit."
        )
