"""``check_explainer``: the conformance suite every attribution method should pass.

Plugin authors run it on their methods, as scikit-learn's ``check_estimator``::

    from xaikit.testing import check_explainer
    check_explainer("my_method")                           # a registered name
    check_explainer(MyMethod)                              # a class taking the model
    check_explainer(lambda model: MyMethod(model, k=3))    # or any factory

or, under pytest, one test per named check (a failure names the check)::

    from xaikit.testing import parametrize_with_checks

    @parametrize_with_checks(["my_method", MyOtherMethod])
    def test_conformance(check):
        check()

The suite builds small deterministic Keras models (tabular, sequence, image) and runs the
method only on the data kinds it declares (:class:`~xaikit.Capabilities`); on the others it
checks that the method refuses the data with an :class:`~xaikit.InputError`. A stochastic
method is seeded through its declared seed parameter, as scikit-learn sets ``random_state``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import attrs

from .capabilities import DATA_KINDS
from .conformance_checks import (
    CHECKS,
    STRUCTURED_KINDS,
    CheckContext,
    Method,
    check_refuses_several_inputs,
    check_refuses_undeclared_data,
    resolve_method,
)
from .errors import InputError
from .testing_models import conformance_models

__all__ = [
    "KINDS",
    "STRUCTURED_KINDS",
    "Check",
    "check_explainer",
    "checks",
    "conformance_models",
    "parametrize_with_checks",
]

#: Kinds of model and data the suite runs on.
KINDS = DATA_KINDS


@attrs.frozen
class Check:
    """One named check of one method on one kind of data; call it to run it.

    Raises ``AssertionError`` naming the method, the kind and the check when it fails.
    """

    method: str
    kind: str
    name: str
    run: Callable[[], None] = attrs.field(repr=False)

    @property
    def id(self) -> str:
        """``"method-kind-check"``, the pytest id."""
        return f"{self.method}-{self.kind}-{self.name}"

    def __call__(self) -> None:
        try:
            self.run()
        except AssertionError as error:
            raise AssertionError(f"[{self.name} on {self.kind}] {self.method}: {error}") from None


def checks(method: Method, *, kinds: Iterable[str] | None = None) -> Iterator[Check]:
    """The named checks of ``method``, lazily (nothing is built until a check runs).

    Args:
        method: a registered name, an Explainer class, or a factory ``model -> Explainer``.
            A factory without a ``capabilities`` attribute is taken to explain every data
            kind, and is not run on the structured models.
        kinds: restrict to these kinds (default: all of :data:`KINDS` and
            :data:`STRUCTURED_KINDS`). The method's declared data kinds get the full suite,
            the others the refusal check; the two-input model is run when the method declares
            ``multi_input`` (else its refusal is checked), the token model, explained at its
            embedding with ``layer=``, when it declares ``layers`` and takes parameters.
    """
    resolved = resolve_method(method)
    known = (*KINDS, *STRUCTURED_KINDS)
    wanted = tuple(known if kinds is None else kinds)
    for kind in wanted:
        if kind not in known:
            raise InputError(f"kinds: expected some of {', '.join(known)}, got {kind!r}")
    declared = resolved.capabilities
    for kind in wanted:
        ctx = CheckContext(resolved, kind)
        run: tuple[Callable[[CheckContext], None], ...]
        if kind in STRUCTURED_KINDS and not resolved.declared:
            run = ()  # a bare factory: what it does with structured models is unknown
        elif kind == "two_inputs":
            run = CHECKS if declared.multi_input else (check_refuses_several_inputs,)
        elif kind == "tokens":
            run = CHECKS if declared.layers and resolved.takes_params else ()
        else:
            run = CHECKS if declared.supports(kind) else (check_refuses_undeclared_data,)
        for check in run:
            yield Check(resolved.label, kind, check.__name__, functools.partial(check, ctx))


def check_explainer(method: Method, *, kinds: Iterable[str] | None = None) -> None:
    """Run every conformance check on ``method`` (see :func:`checks`).

    Checks, on each declared kind (and the two-input and token models for methods that
    declare ``multi_input`` / ``layers``): an ``Explanation`` of finite float attributions of
    the inputs' shape and structure; scores are the explained outputs; results are
    deterministic (stochastic methods seeded through their declared seed parameter) and
    independent of ``batch_size``;
    every form of targets (None, int, int array, one-hot, tf.data) gives the same answer and
    another class another answer; NaN inputs are refused; the model is unchanged afterwards.
    On undeclared kinds: the data are refused with an InputError saying what is supported.

    Raises:
        AssertionError: the first check that fails, naming the check, the kind and the method.
    """
    for check in checks(method, kinds=kinds):
        check()


def parametrize_with_checks(
    methods: Sequence[Method], *, kinds: Iterable[str] | None = None
) -> Any:
    """A ``pytest.mark.parametrize`` over every check of every method, argument ``check``.

    Test ids read ``method-kind-check``, so a failure names the check (like scikit-learn's
    ``parametrize_with_checks``).
    """
    import pytest

    wanted = None if kinds is None else tuple(kinds)
    all_checks = [check for method in methods for check in checks(method, kinds=wanted)]
    return pytest.mark.parametrize("check", all_checks, ids=[check.id for check in all_checks])
