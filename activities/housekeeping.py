"""Housekeeping activities: personal data kept no longer than configured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from temporalio import activity

from activities.types import RedactSmsIn, RedactSmsOut
from domain.db import session_scope
from sms.retention import redact_before


class HousekeepingActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn(name="redact_old_sms")
    def redact_old_sms(self, data: RedactSmsIn) -> RedactSmsOut:
        """Blank the texts older than ``retention_days``, a batch per transaction."""
        if data.retention_days <= 0:
            return RedactSmsOut(0)
        before = datetime.now(UTC) - timedelta(days=data.retention_days)
        total = 0
        while True:
            with session_scope(self.engine) as session:
                done = redact_before(session, before)
            total += done
            activity.heartbeat(total)
            if not done:
                return RedactSmsOut(total)
