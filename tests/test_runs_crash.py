"""A CLI run killed with SIGKILL at several points, then started again, ends with the store an
uninterrupted run writes: every array equal bit for bit, the same attributes but timestamps.

The kill points come from the runner's test hook (``XAIKIT_TEST_KILL_AT``, see
:data:`xaikit.runs.store.KILL_ENV`): the process kills itself right after creating the store,
after writing a shard's attributions but not its other arrays, after all of a shard's data
but before its commit marker, and right after a marker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from _runs_helpers import assert_same_store, tabular_data, tabular_model

from xaikit import cli
from xaikit.runs import KILL_ENV, open_run

ARGS = ["--method", "integrated_gradients", "--param", "steps=4", "--batch-size", "64",
        "--shard-size", "128", "--no-progress"]  # fmt: skip


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash")
    tabular_model().save(root / "model.keras")
    np.save(root / "x.npy", tabular_data(1000))  # 8 shards, the last of 104 rows
    return root


def command(root, out) -> list[str]:
    return ["explain", "--model", str(root / "model.keras"), "--data", str(root / "x.npy"),
            "--out", str(out), *ARGS]  # fmt: skip


def run_cli(root, out, kill_at: str | None) -> int:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "XAIKIT_DISABLE_PLUGIN_AUTOLOAD": "1"}
    env.pop(KILL_ENV, None)
    if kill_at is not None:
        env[KILL_ENV] = kill_at
    done = subprocess.run(
        [sys.executable, "-m", "xaikit.cli", *command(root, out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if kill_at is None:
        assert done.returncode == 0, done.stderr[-2000:]
    return done.returncode


def committed(out) -> list[int]:
    return np.flatnonzero(open_run(out).committed_shards).tolist()


def test_killed_runs_resume_to_the_uninterrupted_store(files, tmp_path):
    assert cli.main(command(files, tmp_path / "whole")) == 0  # the reference, in-process

    out = tmp_path / "killed"
    assert run_cli(files, out, "created") == -signal.SIGKILL
    assert committed(out) == [] and not open_run(out).complete

    assert run_cli(files, out, "1:attributions") == -signal.SIGKILL  # mid-shard
    assert committed(out) == [0]

    assert run_cli(files, out, "3:data") == -signal.SIGKILL  # data written, no marker
    assert committed(out) == [0, 1, 2]
    stray = out / "attributions" / "c" / "7" / "0.0123abcd.partial"  # a write cut short
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"half a chunk")

    assert run_cli(files, out, "5:committed") == -signal.SIGKILL  # between shards
    assert committed(out) == [0, 1, 2, 3, 4, 5]
    assert open_run(out).num_samples == 768 and not stray.exists()

    assert run_cli(files, out, None) == 0
    run = open_run(out)
    assert run.complete and run.num_samples == 1000
    assert_same_store(out, tmp_path / "whole")
