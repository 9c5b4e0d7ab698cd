"""Public URLs of the secret calendar links (built from ``settings.public_url``)."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from posventa.config import Settings

STAFF_FEED_PATH = "/calendars/{token}.ics"
CUSTOMER_VISIT_PATH = "/c/{token}.ics"


def feed_urls(settings: Settings, token: str) -> tuple[str, str]:
    """(https URL, webcal:// URL) of a staff feed: the first for Google/Outlook "from URL",
    the second opens the subscription dialog of Apple Calendar and Outlook desktop."""
    url = settings.public_url.rstrip("/") + STAFF_FEED_PATH.format(token=token)
    scheme, rest = url.split("://", 1)
    return url, f"webcal://{rest}"


def subscribe_links(settings: Settings, token: str, name: str) -> dict[str, str]:
    """One-click subscription links for the staff page."""
    https_url, webcal_url = feed_urls(settings, token)
    return {
        "https": https_url,
        "webcal": webcal_url,
        "google": "https://calendar.google.com/calendar/r?cid=" + quote(webcal_url, safe=""),
        "outlook": "https://outlook.live.com/calendar/0/addfromweb?url="
        + quote(https_url, safe="")
        + "&name="
        + quote(name, safe=""),
    }


def customer_visit_url(settings: Settings, token: str) -> str:
    """The link a customer taps to add their visit to their calendar."""
    return settings.public_url.rstrip("/") + CUSTOMER_VISIT_PATH.format(token=token)


def uid_domain(settings: Settings) -> str:
    """The public host name, used to keep event UIDs globally unique."""
    return urlsplit(settings.public_url).hostname or "posventa"
