"""Activities that text customers through :class:`sms.messenger.Messenger`.

The messenger is idempotent on the key the workflow passes (workflow id + step), so a retried
activity, or one re-run after a worker crash, returns the first message instead of sending again.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.types import (
    RouteChangeSmsIn,
    RouteChangeSmsOut,
    SaleSmsIn,
    SmsOut,
    VisitSmsIn,
)

if TYPE_CHECKING:
    from sms.messenger import Messenger


def _outcome(result: Any) -> SmsOut:
    return SmsOut(
        message_id=result.message_id, status=result.status, skipped_reason=result.skipped_reason
    )


class SmsActivities:
    def __init__(self, messenger: Messenger) -> None:
        self.messenger = messenger

    def _send(self, fn: Any, *args: Any, **kwargs: Any) -> SmsOut:
        return _outcome(self._guarded(fn, *args, **kwargs))

    def _guarded(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """``fn``'s result; a message that can never go out fails for good, not retried."""
        from sms.errors import PermanentSmsError

        try:
            return fn(*args, **kwargs)
        except PermanentSmsError as exc:
            raise ApplicationError(
                f"the SMS cannot be delivered: {exc}", type="PermanentSmsError", non_retryable=True
            ) from exc
        except (LookupError, ValueError) as exc:  # unknown visit/sale, bad template or slots
            raise ApplicationError(str(exc), type="ValueError", non_retryable=True) from exc

    @activity.defn(name="send_visit_sms")
    def send_visit_sms(self, data: VisitSmsIn) -> SmsOut:
        slots = [datetime.fromisoformat(s) for s in data.slots] or None
        told = [datetime.fromisoformat(s) for s in data.told_window]
        return self._send(
            self.messenger.send_for_visit,
            data.visit_id,
            data.template,
            data.idempotency_key,
            slots=slots,
            told_window=(told[0], told[1]) if len(told) == 2 else None,
        )

    @activity.defn(name="send_sale_sms")
    def send_sale_sms(self, data: SaleSmsIn) -> SmsOut:
        return self._send(
            self.messenger.send_for_sale, data.sale_id, data.template, data.idempotency_key
        )

    @activity.defn(name="send_route_change_sms")
    def send_route_change_sms(self, data: RouteChangeSmsIn) -> RouteChangeSmsOut:
        """Text the staff whose route the plan gives or changes (the workflow asks on the day
        only)."""
        from sms.staff_notices import tell_staff_of_route_changes

        texted = self._guarded(
            tell_staff_of_route_changes, self.messenger, data.plan_id, data.previous_plan_id
        )
        return RouteChangeSmsOut(texted_staff_ids=texted)
