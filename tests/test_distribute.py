"""A tf.distribute strategy splits each chunk over replicas and changes no result."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import numpy as np
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import xaikit
    from xaikit.testing import conformance_models

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert strategy.num_replicas_in_sync == 2
    seen = set()
    for kind, (model, x) in conformance_models().items():
        for name, params in [
            ("saliency", {}),
            ("guided_backprop", {}),
            ("integrated_gradients", {"steps": 8}),
            ("random_baseline_ig", {"steps": 8, "num_runs": 2, "seed": 3}),
        ]:
            plain = xaikit.get_explainer(name, model, batch_size=4, **params).explain(x)
            spread = xaikit.get_explainer(
                name, model, batch_size=4, strategy=strategy, **params
            ).explain(x)
            np.testing.assert_allclose(
                spread.attributions, plain.attributions, rtol=1e-5, atol=1e-6, err_msg=name
            )
            np.testing.assert_allclose(spread.scores, plain.scores, rtol=1e-6, err_msg=name)
            if plain.convergence_delta is not None:
                np.testing.assert_allclose(
                    spread.convergence_delta, plain.convergence_delta, atol=1e-5, err_msg=name
                )
    # the work really went to both devices
    model, x = conformance_models()["tabular"]
    devices = []

    class Spy(xaikit.Saliency):
        def explain_batch(self, inputs, targets):
            devices.append(tf.constant(0.0).device)
            return super().explain_batch(inputs, targets)

    Spy(model, batch_size=4, strategy=strategy).explain(x)
    assert {d.rsplit(":", 1)[-1] for d in devices} == {"0", "1"}, devices
    print("OK")
    """
)


def test_mirrored_strategy_on_two_logical_cpus_matches_single_device():
    # Logical devices must be configured before TensorFlow starts: a fresh interpreter.
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0 and done.stdout.strip().endswith("OK"), done.stderr[-3000:]


def test_strategy_must_be_a_strategy():
    import pytest

    import xaikit
    from xaikit.testing import conformance_models

    model, _ = conformance_models()["tabular"]
    with pytest.raises(xaikit.InputError, match="strategy: expected a tf.distribute.Strategy"):
        xaikit.Saliency(model, strategy="mirrored")
