"""Turning bad data into non-retryable activity failures (retrying cannot fix a missing record)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from temporalio.exceptions import ApplicationError

from domain.errors import DomainError

P = ParamSpec("P")
R = TypeVar("R")


def bad_data_is_final(fn: Callable[P, R]) -> Callable[P, R]:
    """Re-raise :class:`DomainError` (and validation errors) as a non-retryable ApplicationError."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (DomainError, ValueError) as exc:
            raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True) from exc

    return wrapper
