"""Phone numbers never reach the worker's log output."""

from __future__ import annotations

import io
import logging

from workflows.log_redaction import PhoneRedactingFilter, mask


def test_mask_keeps_only_the_ends() -> None:
    assert mask("to +34612345678 failed") == "to +34*******78 failed"
    assert mask("call +34 612 34 56 78 now") == "call +34*******78 now"
    assert mask("visit 12345 at 2026-11-23") == "visit 12345 at 2026-11-23"


def test_messages_and_tracebacks_are_masked() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(PhoneRedactingFilter())
    logger = logging.getLogger("posventa.test.redaction")
    logger.addHandler(handler)
    try:
        logger.warning("send to %s refused", "+34612345678")
        try:
            raise RuntimeError("provider said: +447700900123 is not reachable")
        except RuntimeError:
            logger.exception("activity failed")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert "+34612345678" not in out and "+447700900123" not in out
    assert "+34*******78" in out and "activity failed" in out
