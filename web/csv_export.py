"""CSV files for spreadsheets: UTF-8 with a BOM (Excel reads accents right) and no cell a
spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

from flask import Response
from werkzeug.utils import secure_filename

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")  # a longitude west of Greenwich, say


def spreadsheet_safe(value: object) -> str:
    """The cell as text; one that starts like a formula ("=HYPERLINK(...)", "+34 612...") is
    prefixed with an apostrophe, which spreadsheets show as plain text (OWASP's advice). A
    plain negative number stays a number."""
    text = "" if value is None else str(value)
    if not text.startswith(FORMULA_STARTS) or PLAIN_NUMBER.fullmatch(text):
        return text
    return "'" + text


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([spreadsheet_safe(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode()


def csv_download(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]
) -> Response:
    """The rows as a CSV file the browser saves as ``filename``."""
    return Response(
        csv_bytes(header, rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{secure_filename(filename)}"'},
    )
