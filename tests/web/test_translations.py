"""Every text the web app marks for translation has its Spanish in messages.po, and the compiled
catalog is up to date (a missing entry shows English to a Spanish dispatcher)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "web" / "translations" / "es" / "LC_MESSAGES"


def test_every_extracted_text_is_translated_and_compiled(tmp_path: Path) -> None:
    pot = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run(
        [str(pybabel), "extract", "-F", "web/babel.cfg", "-k", "_", "-k", "gettext", "-k", "_l",
         "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )  # fmt: skip
    with pot.open("rb") as f:
        wanted = [m.id for m in read_po(f) if m.id]
    with (CATALOG / "messages.po").open("rb") as f:
        po = read_po(f, locale="es")
    with (CATALOG / "messages.mo").open("rb") as f:
        mo = read_mo(f)
    assert len(wanted) > 300
    untranslated = [m for m in wanted if m not in po or not po[m].string]
    assert untranslated == []
    stale = [m for m in wanted if m not in mo or mo[m].string != po[m].string]
    assert stale == [], "run: .venv/bin/pybabel compile -d web/translations"
