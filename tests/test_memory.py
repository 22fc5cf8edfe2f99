"""Memory pressure: ``explain()`` on 200,000 tabular rows keeps its peak memory near the
inputs plus the outputs, whatever the number of chunks (no hidden copy of the data per chunk,
no growth with IG's path points).

Measured in a fresh subprocess (TensorFlow's allocations are invisible to tracemalloc): the
peak resident set size (Linux ``VmHWM``, reset through ``/proc/self/clear_refs`` after the
kernels are traced) minus the resident size before the call.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROWS, FEATURES = 200_000, 8
#: Peak extra memory allowed, as a multiple of the inputs' plus the attributions' bytes.
BOUND = 3.0

PROBE = """
import json, os, sys
import numpy as np
sys.path.insert(0, {tests!r})
from strategies import build_model
import xaikit

def status(key):
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) * 1024 for line in lines if line.startswith(key))

model = build_model(({features},), 3)
explainer = xaikit.get_explainer({method!r}, model, **{params!r})
x = np.random.default_rng(0).normal(size=({rows}, {features})).astype("float32")
explainer.explain(x[:5000])  # trace the kernels and warm the allocators first
with open("/proc/self/clear_refs", "w") as reset:
    reset.write("5")  # resets VmHWM to the current RSS
before = status("VmRSS:")
explanation = explainer.explain(x)
peak = status("VmHWM:")
print(json.dumps({{"extra": peak - before, "io": x.nbytes + explanation.attributions.nbytes,
                  "chunks": -(-len(x) // explainer.batch_size)}}))
"""


def _clear_refs_works() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as reset:
            reset.write("5")
        return True
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux") or not _clear_refs_works(), reason="Linux")
@pytest.mark.parametrize(
    ("method", "params"), [("saliency", {}), ("integrated_gradients", {"steps": 8})]
)
def test_peak_memory_stays_near_inputs_plus_outputs(method: str, params: dict) -> None:
    code = PROBE.format(
        tests=str(Path(__file__).parent), method=method, params=params, rows=ROWS, features=FEATURES
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "XAIKIT_DISABLE_PLUGIN_AUTOLOAD": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    assert measured["chunks"] > 100  # many chunks: a per-chunk copy would show
    ratio = measured["extra"] / measured["io"]
    assert ratio < BOUND, (
        f"{method}: peak extra memory {measured['extra'] / 1e6:.1f} MB is {ratio:.2f}x the "
        f"inputs + attributions ({measured['io'] / 1e6:.1f} MB); bound {BOUND}x"
    )
