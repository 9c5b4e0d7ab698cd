"""Calendars: per-person iCalendar feeds and CalDAV sync."""
