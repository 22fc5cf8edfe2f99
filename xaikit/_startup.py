"""Keep TensorFlow's start-up chatter off the user's terminal, and nothing else.

When TensorFlow is first imported, and when it first looks for devices, its C++ runtime
writes informational lines straight to file descriptor 2 (``I0000 ... oneDNN custom
operations are on``, ``Could not find cuda drivers``, and on a machine without a GPU
``E0000 ... failed call to cuInit``), whatever ``TF_CPP_MIN_LOG_LEVEL`` says, because they
are logged before TensorFlow reads it. :func:`quiet_startup` sends fd 2 to a temporary file
for the duration, then writes back every line that is not one of those known, harmless ones,
so real errors still show. Setting ``TF_CPP_MIN_LOG_LEVEL=0`` turns the filtering off.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator

__all__ = ["quiet_startup", "BENIGN"]

#: Lines TensorFlow prints at start-up that carry no information for an xaikit user.
BENIGN = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|I0000 "
    r"|E0000 \S+ +\d+ cuda_\w+\.cc:\d+\] failed call to cuInit"
    # Keras' training input pipeline on TensorFlow 2.21: an attribute the runtime ignores.
    r"|E0000 \S+ +\d+ node_def_util\.cc:\d+\] NodeDef mentions attribute "
    r"use_unbounded_threadpool"
    r"|To enable the following instructions: .* rebuild TensorFlow)"
)


@contextlib.contextmanager
def quiet_startup() -> Iterator[None]:
    """Filter TensorFlow's start-up lines from fd 2 while the block runs (see module doc)."""
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL", "").strip() == "0":
        yield
        return
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to filter (closed descriptor)
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as captured:
        sys.stderr.flush()
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [
                line
                for line in captured.read().decode("utf-8", "replace").splitlines(keepends=True)
                if not BENIGN.match(line)
            ]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()
