"""Importing xaikit with Keras set to another backend fails with xaikit's own message.

Each case runs in a fresh interpreter; xaikit refuses before Keras (or TensorFlow) is
imported, so these subprocesses are quick, and the message is xaikit's even where importing
Keras on that backend would itself fail (JAX or torch not installed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = (
    "import sys\n"
    "try:\n"
    "    import xaikit\n"
    "except Exception as error:\n"
    "    print(f'{type(error).__module__}.{type(error).__name__}: {error}')\n"
    "    print('keras imported:', 'keras' in sys.modules)\n"
    "    sys.exit(3)\n"
)


def _run(env_changes: dict[str, str | None]) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("backend", ["jax", "numpy", "torch"])
def test_another_backend_in_keras_backend_is_refused_by_xaikit(backend):
    result = _run({"KERAS_BACKEND": backend})
    assert result.returncode == 3, result.stdout + result.stderr
    assert (
        "xaikit.errors.BackendError: xaikit needs Keras on the TensorFlow backend, but Keras "
        f"is configured for {backend!r} (KERAS_BACKEND={backend!r}). "
        "Set KERAS_BACKEND=tensorflow"
    ) in result.stdout
    assert "keras imported: False" in result.stdout


def test_another_backend_in_keras_json_is_refused_by_xaikit(tmp_path):
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "jax", "floatx": "float32"}))
    result = _run({"KERAS_HOME": str(tmp_path), "KERAS_BACKEND": None})
    assert result.returncode == 3, result.stdout + result.stderr
    assert f"configured for 'jax' (set in {tmp_path / 'keras.json'})" in result.stdout


def test_keras_backend_overrides_keras_json(tmp_path):
    from xaikit._backend import configured_backend

    (tmp_path / "keras.json").write_text(json.dumps({"backend": "jax"}))
    env = {"KERAS_HOME": str(tmp_path), "KERAS_BACKEND": "tensorflow"}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        patch.delitem(sys.modules, "keras")  # as if keras were not imported yet
        assert configured_backend() == ("tensorflow", "KERAS_BACKEND")
        patch.delenv("KERAS_BACKEND")
        assert configured_backend() == ("jax", str(tmp_path / "keras.json"))
        (tmp_path / "keras.json").write_text("{not json")
        assert configured_backend() == ("tensorflow", "default")
    assert configured_backend() == ("tensorflow", "keras")  # keras is back in sys.modules
