"""Lazy, headless access to matplotlib (the optional ``viz`` extra)."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["pyplot", "MISSING_MESSAGE"]

MISSING_MESSAGE = (
    "xaikit.viz needs matplotlib, which is not installed; install the extra with "
    "`pip install 'xaikit[viz]'`"
)


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg backend, imported on first use.

    The Agg backend is selected only when pyplot has not been imported yet, so a notebook or
    application that already chose a backend keeps it.

    Raises:
        ImportError: matplotlib is missing (the message says how to install it).
    """
    try:
        matplotlib = importlib.import_module("matplotlib")
    except ImportError:
        raise ImportError(MISSING_MESSAGE) from None
    import sys

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    return importlib.import_module("matplotlib.pyplot")
