"""Message status ordering: callbacks may arrive late or twice, so a status only moves forward."""

from __future__ import annotations

# Twilio's statuses in the order a message goes through them.
_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "receiving": 3,
    "received": 4,
    "delivered": 4,
    "read": 5,
}
TERMINAL = frozenset({"failed", "undelivered", "canceled"})
KNOWN = frozenset(_RANK) | TERMINAL


def next_status(current: str, reported: str) -> str:
    """The status to keep when ``reported`` arrives for a message that is ``current``.

    Forward moves win (queued < sending < sent < delivered < read). Failed, undelivered and
    canceled are terminal; they can replace any status short of delivery. Unknown or backward
    reports change nothing.
    """
    reported = (reported or "").strip().lower()
    if reported not in KNOWN or current in TERMINAL:
        return current
    current_rank = _RANK.get(current, -1)
    if reported in TERMINAL:
        return reported if current_rank < _RANK["delivered"] else current
    return reported if _RANK[reported] > current_rank else current
