"""Turning :mod:`workflows.client` errors into messages for dispatchers and API callers."""

from __future__ import annotations

from flask import flash
from flask_babel import gettext as _


def gateway_errors() -> tuple[type[BaseException], ...]:
    """The errors a ``WorkflowGateway`` call may raise for reasons the user should hear about."""
    from workflows.client import WorkflowRejected, WorkflowUnavailable

    return (WorkflowUnavailable, WorkflowRejected)


def is_unavailable(exc: BaseException) -> bool:
    from workflows.client import WorkflowUnavailable

    return isinstance(exc, WorkflowUnavailable)


def is_pending(exc: BaseException) -> bool:
    from workflows.client import WorkflowPending

    return isinstance(exc, WorkflowPending)


def workflow_error_message(exc: BaseException) -> str:
    if is_pending(exc):
        return _(
            "The request was accepted and is still being carried out; reload the page in a "
            "moment to see it. There is no need to send it again."
        )
    if is_unavailable(exc):
        return _(
            "The workflow service (Temporal) is not reachable, so nothing was changed. "
            "Try again in a moment."
        )
    return _("Refused: %(reason)s", reason=str(exc))


def flash_workflow_error(exc: BaseException) -> None:
    """Tell the user what became of a request the workflow did not answer with a result."""
    flash(workflow_error_message(exc), "info" if is_pending(exc) else "error")
