"""Temporal activities: thin adapters from workflows to the domain, SMS, calendars and solver."""
