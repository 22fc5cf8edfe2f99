"""Import-time check that Keras 3 runs on the TensorFlow backend.

The backend Keras will use is read *before* Keras is imported (from ``KERAS_BACKEND`` or the
``backend`` entry of ``keras.json``), so a user who set another backend gets xaikit's own
message even when importing Keras on that backend would fail first (for instance because
JAX is not installed).
"""

from __future__ import annotations

import json
import os
import sys

from .errors import BackendError

__all__ = ["check_backend", "configured_backend"]

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_HINT = "Set KERAS_BACKEND=tensorflow before importing keras or xaikit."


def _keras_config_path() -> str:
    """Where Keras reads ``keras.json`` (the same rule as ``keras.src.backend.config``)."""
    if "KERAS_HOME" in os.environ:
        base = os.environ["KERAS_HOME"]
    else:
        home = os.path.expanduser("~")
        base = os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")
    return os.path.expanduser(os.path.join(base, "keras.json"))


def configured_backend() -> tuple[str, str]:
    """The backend Keras uses or will use, and where that setting comes from.

    Returns:
        ``(backend, source)``; source is ``'keras'`` when Keras is already imported,
        ``'KERAS_BACKEND'``, the path of ``keras.json``, or ``'default'``.
    """
    keras = sys.modules.get("keras")
    config = getattr(keras, "config", None)
    if config is not None and hasattr(config, "backend"):
        return str(config.backend()), "keras"
    env = os.environ.get("KERAS_BACKEND")
    if env:
        return env, "KERAS_BACKEND"
    path = _keras_config_path()
    try:
        with open(path) as file:
            backend = json.load(file).get("backend")
    except (OSError, ValueError, AttributeError):
        backend = None
    if isinstance(backend, str) and backend:
        return backend, path
    return "tensorflow", "default"


def _refuse(backend: str, source: str) -> BackendError:
    where = {
        "keras": "keras was already imported with it",
        "KERAS_BACKEND": f"KERAS_BACKEND={backend!r}",
        "default": "the default",
    }.get(source, f"set in {source}")
    return BackendError(
        f"xaikit needs Keras on the TensorFlow backend, but Keras is configured for "
        f"{backend!r} ({where}). {_HINT}"
    )


def check_backend() -> None:
    """Raise :class:`BackendError` unless Keras 3 runs (or will run) on TensorFlow."""
    backend, source = configured_backend()
    if backend != "tensorflow":
        raise _refuse(backend, source)
    from ._startup import quiet_startup

    with quiet_startup():
        import keras

    major = int(str(keras.__version__).split(".")[0])
    if major < 3:
        raise BackendError(
            f"xaikit needs Keras 3, but keras {keras.__version__} is installed; "
            "upgrade with `pip install 'keras>=3'`."
        )
    backend = keras.config.backend()
    if backend != "tensorflow":  # pragma: no cover - keras read a setting we did not see
        raise _refuse(backend, "keras")
