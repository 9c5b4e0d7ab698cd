"""Turning :mod:`workflows.client` errors into messages for dispatchers and API callers."""

from __future__ import annotations

from flask_babel import gettext as _


def gateway_errors() -> tuple[type[BaseException], ...]:
    """The errors a ``WorkflowGateway`` call may raise for reasons the user should hear about."""
    from workflows.client import WorkflowRejected, WorkflowUnavailable

    return (WorkflowUnavailable, WorkflowRejected)


def is_unavailable(exc: BaseException) -> bool:
    from workflows.client import WorkflowUnavailable

    return isinstance(exc, WorkflowUnavailable)


def workflow_error_message(exc: BaseException) -> str:
    if is_unavailable(exc):
        return _(
            "The workflow service (Temporal) is not reachable, so nothing was changed. "
            "Try again in a moment."
        )
    return _("Refused: %(reason)s", reason=str(exc))
