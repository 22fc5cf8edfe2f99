"""Griffe extension for the API reference: Sphinx-style markup in docstrings to Markdown.

xaikit's docstrings are Google style with a few reStructuredText habits that mkdocstrings
would print verbatim: roles such as ``:class:`~xaikit.Explanation``` become code spans
(``Explanation``; the ``~`` keeps only the last name), and a paragraph ending in ``::``
(which introduces an indented code block in reST) ends in ``:`` instead.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|data|mod|exc|obj|const):`([^`]+)`")
_LITERAL_BLOCK = re.compile(r"(\S)::$", re.MULTILINE)


def _role(match: re.Match) -> str:
    text = match.group(1)
    label, _, target = text.partition(" <")
    if target:  # :class:`label <target>`
        return f"`{label.strip()}`"
    if text.startswith("~"):
        return f"`{text[1:].rsplit('.', 1)[-1]}`"
    return f"`{text}`"


def convert(text: str) -> str:
    """``text`` with Sphinx roles as code spans and ``::`` paragraph ends as ``:``."""
    return _LITERAL_BLOCK.sub(r"\1:", _ROLE.sub(_role, text))


class SphinxRoles(griffe.Extension):
    """Rewrites every loaded docstring with :func:`convert`."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = convert(obj.docstring.value)
