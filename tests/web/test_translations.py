"""Every text the web app marks for translation has its Spanish in messages.po, and the compiled
catalog is up to date (a missing entry shows English to a Spanish dispatcher)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from domain.models import (
    PlanStatus,
    SaleStage,
    SaleStatus,
    StaffRole,
    UserRole,
    VisitKind,
    VisitStatus,
)
from sms.status import KNOWN as SMS_STATUSES

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "web" / "translations" / "es" / "LC_MESSAGES"


@pytest.fixture(scope="module")
def wanted(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Every text ``pybabel extract`` finds in the web app."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run(
        [str(pybabel), "extract", "-F", "web/babel.cfg", "-k", "_", "-k", "gettext", "-k", "_l",
         "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    with pot.open("rb") as f:
        return [m.id for m in read_po(f) if m.id]


def _forms(string: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    return (string,) if isinstance(string, str) else tuple(string)


def test_every_extracted_text_is_translated_and_compiled(wanted: list[str]) -> None:
    with (CATALOG / "messages.po").open("rb") as f:
        po = read_po(f, locale="es")
    with (CATALOG / "messages.mo").open("rb") as f:
        mo = read_mo(f)
    assert len(wanted) > 300
    untranslated = [m for m in wanted if m not in po or not all(_forms(po[m].string))]
    assert untranslated == []
    # (a plural's forms come back as a list from the .mo and as a tuple from the .po)
    stale = [m for m in wanted if m not in mo or _forms(mo[m].string) != _forms(po[m].string)]
    assert stale == [], "run: .venv/bin/pybabel compile -d web/translations"


def test_every_stored_name_the_pages_show_is_extracted(wanted: list[str]) -> None:
    """Templates translate stored names with ``_(value)``, which extraction cannot see: each
    one must be listed in ``web.i18n.DATA_NAMES`` (then the test above checks its Spanish)."""
    shown = [
        *VisitKind, *VisitStatus, *SaleStatus, *SaleStage, *StaffRole, *UserRole, *PlanStatus,
        *sorted(SMS_STATUSES),
    ]  # fmt: skip
    assert [str(name) for name in shown if str(name) not in wanted] == []
