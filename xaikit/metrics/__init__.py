"""Explanation-quality metrics (faithfulness and robustness)."""

BUILTIN_METRICS: dict = {}

__all__ = ["BUILTIN_METRICS"]
