"""Daily housekeeping (started by the ``posventa-housekeeping`` Schedule): texts older than the
retention period lose their words and numbers (``sms.retention``)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.housekeeping import HousekeepingActivities
    from activities.types import RedactSmsIn
    from workflows import contracts as c

REDACT_TIMEOUT = timedelta(hours=1)


@workflow.defn(name=c.HOUSEKEEPING_WORKFLOW)
class Housekeeping:
    @workflow.run
    async def run(self, data: c.HousekeepingInput) -> c.HousekeepingResult:
        if data.sms_retention_days <= 0:
            return c.HousekeepingResult()
        out = await workflow.execute_activity_method(
            HousekeepingActivities.redact_old_sms,
            RedactSmsIn(data.sms_retention_days),
            start_to_close_timeout=REDACT_TIMEOUT,
            heartbeat_timeout=timedelta(minutes=2),
        )
        return c.HousekeepingResult(sms_redacted=out.redacted)
