"""What dispatchers and API callers are told when a workflow gives no result: refused, not
reachable (nothing changed), or accepted and still being carried out (nothing to send again).
The gateway raising each of these against a real server is tested in
tests/workflows/test_dev_server.py."""

from __future__ import annotations

from flask import Flask

from web.blueprints.api import _workflow_failure
from web.gateway_errors import workflow_error_message
from workflows.client import WorkflowPending, WorkflowRejected, WorkflowUnavailable


def test_pages_tell_pending_apart_from_unreachable(app: Flask) -> None:
    with app.test_request_context(headers={"Accept-Language": "en"}):
        pending = workflow_error_message(WorkflowPending("accepted"))
        unreachable = workflow_error_message(WorkflowUnavailable("down"))
        refused = workflow_error_message(WorkflowRejected("the sale has already ended"))
    assert "accepted and is still being carried out" in pending
    assert "nothing was changed" not in pending
    assert "nothing was changed" in unreachable
    assert refused == "Refused: the sale has already ended"


def test_api_answers_pending_with_retry_after(app: Flask) -> None:
    with app.test_request_context():
        body, status = _workflow_failure(WorkflowPending("accepted"))
        down, down_status = _workflow_failure(WorkflowUnavailable("down"))
    assert status == 503 and body.headers["Retry-After"] == "10"
    assert "still carrying it out" in body.get_json()["error"]
    assert down_status == 503 and "nothing was changed" in down.get_json()["error"]
    assert "Retry-After" not in down.headers
