"""CSV cells a spreadsheet opens as text, never as a formula."""

from __future__ import annotations

import pytest

from web.csv_export import csv_bytes, spreadsheet_safe


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+34612345678", "'+34612345678"),
        ("-1+2", "'-1+2"),
        ("\t=1", "'\t=1"),
        ("-0.3763", "-0.3763"),  # a plain number stays one
        ("-12", "-12"),
        ("Calle de Colón 1", "Calle de Colón 1"),
        (None, ""),
        (42, "42"),
    ],
)
def test_cells_that_would_run_as_formulas_are_text(value: object, cell: str) -> None:
    assert spreadsheet_safe(value) == cell


def test_files_open_with_their_accents_in_excel() -> None:
    body = csv_bytes(["name"], [["Lucía"]])
    assert body == "\ufeffname\r\nLucía\r\n".encode()
