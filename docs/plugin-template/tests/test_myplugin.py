"""Tests of the template plugin: the conformance suite, a plain reference, the registration."""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from xaikit_myplugin import InputXGradient, plugin

import xaikit
from xaikit.testing import check_explainer, conformance_models


def test_passes_the_conformance_suite():
    check_explainer(InputXGradient)  # tabular, sequence and image models


def test_matches_a_plain_gradient_tape():
    model, x = conformance_models()["image"]
    explanation = InputXGradient(model).explain(x)
    inputs = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = model(inputs)
        scores = tf.gather(outputs, explanation.targets, axis=1, batch_dims=1)
    expected = x * tape.gradient(scores, inputs).numpy()
    np.testing.assert_allclose(explanation.attributions, expected, rtol=1e-5, atol=1e-8)


def test_the_plugin_registers_the_method():
    registry = xaikit.Registry(autoload=False)  # a fresh registry: no installed plugins
    registry.register(plugin, name="xaikit_myplugin")
    assert registry.get("methods", "input_x_gradient") is InputXGradient
