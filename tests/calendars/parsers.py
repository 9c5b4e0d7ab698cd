"""Read a calendar with four independent parsers and report each event's UTC start and end."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import icalendar
import ics
import recurring_ical_events

ROOT = Path(__file__).resolve().parents[2]
NODE_SCRIPT = Path(__file__).parent / "js" / "parse_ics.mjs"

Times = dict[str, tuple[datetime, datetime]]


def _utc(value: object) -> datetime:
    assert isinstance(value, datetime), f"expected a date-time, got {value!r}"
    assert value.tzinfo is not None, f"floating time {value!r}"
    return value.astimezone(UTC)


def with_icalendar(body: bytes) -> Times:
    cal = icalendar.Calendar.from_ical(body)
    return {
        str(e["uid"]): (_utc(e.decoded("dtstart")), _utc(e.decoded("dtend")))
        for e in cal.walk("VEVENT")
    }


def with_recurring_ical_events(body: bytes) -> Times:
    cal = icalendar.Calendar.from_ical(body)
    found = recurring_ical_events.of(cal).between((1970, 1, 1), (2100, 1, 1))
    return {str(e["uid"]): (_utc(e["dtstart"].dt), _utc(e["dtend"].dt)) for e in found}


def _arrow_utc(value: object) -> datetime:
    return value.to("utc").datetime.astimezone(UTC)  # type: ignore[attr-defined]


def with_ics(body: bytes) -> Times:
    cal = ics.Calendar(body.decode("utf-8"))
    return {e.uid: (_arrow_utc(e.begin), _arrow_utc(e.end)) for e in cal.events}


def node_available() -> str:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not installed: the ical.js check needs Node.js")
    if not (ROOT / "node_modules" / "ical.js").exists():
        raise RuntimeError("ical.js is missing: run `npm ci` (scripts/bootstrap --test does)")
    return node


def with_icaljs_raw(body: bytes) -> dict:
    proc = subprocess.run(
        [node_available(), str(NODE_SCRIPT)],
        input=body,
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


def with_icaljs(body: bytes) -> Times:
    return {
        e["uid"]: (
            datetime.fromtimestamp(e["start"], UTC),
            datetime.fromtimestamp(e["end"], UTC),
        )
        for e in with_icaljs_raw(body)["events"]
    }


def all_parsers(body: bytes) -> dict[str, Times]:
    return {
        "icalendar": with_icalendar(body),
        "recurring-ical-events": with_recurring_ical_events(body),
        "ics": with_ics(body),
        "ical.js": with_icaljs(body),
    }
