"""Timeouts and retry policies of posventa's activities, in one place."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.common import RetryPolicy, SearchAttributeKey

STAGE_KEY = SearchAttributeKey.for_keyword("PosventaStage")

# Bad data (a missing record, an invalid value) fails at once; anything else is retried.
FINAL_ERRORS = ["NotFound", "Conflict", "DomainError", "ValueError", "PermanentSmsError"]

# Short start-to-close timeouts: a worker that dies mid-activity is noticed (and the activity
# retried on another worker) within seconds; every activity is idempotent.
DB: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=15),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=5),
        non_retryable_error_types=FINAL_ERRORS,
    ),
}

SMS: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=15),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=2),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=10),
        maximum_attempts=20,
        non_retryable_error_types=FINAL_ERRORS,
    ),
}

CALDAV: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=60),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=5),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=2),
        maximum_attempts=3,
    ),
}

# Rounds of CalDAV pushes the planning workflow tries (each with the retries above) and the pause
# between rounds; a server that stays down never blocks the plan: the feed still has everything.
CALDAV_ROUNDS = 4
CALDAV_PAUSE = timedelta(minutes=10)


def draft_options(seconds: float) -> dict[str, Any]:
    return {
        "start_to_close_timeout": timedelta(seconds=seconds * 3 + 120),
        "heartbeat_timeout": timedelta(seconds=30),
        "retry_policy": RetryPolicy(
            initial_interval=timedelta(seconds=5),
            maximum_attempts=3,
            non_retryable_error_types=FINAL_ERRORS,
        ),
    }
