"""TensorFlow's known start-up chatter is filtered from fd 2; every other line still shows."""

from __future__ import annotations

import os

from xaikit._startup import quiet_startup

CHATTER = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
    "I0000 00:00:1795784219.358809   13983 port.cc:153] oneDNN custom operations are on.\n",
    "E0000 00:00:1795784348.515090   14510 cuda_platform.cc:52] failed call to cuInit: "
    "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\n",
    "E0000 00:00:1795790753.067822   29680 node_def_util.cc:682] NodeDef mentions attribute "
    "use_unbounded_threadpool which is not in the op definition\n",
]


def test_known_lines_are_dropped_and_others_written_back(capfd, monkeypatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    real = "E0000 00:00:1.0   1 some_op.cc:1] a real error the user must see\n"
    with quiet_startup():
        for line in [*CHATTER, real]:
            os.write(2, line.encode())
    err = capfd.readouterr().err
    assert err == real


def test_tf_cpp_min_log_level_0_turns_the_filter_off(capfd, monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    with quiet_startup():
        os.write(2, CHATTER[1].encode())
    assert capfd.readouterr().err == CHATTER[1]
