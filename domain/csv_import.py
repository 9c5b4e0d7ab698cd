"""Sales CSV import: every row is checked first; one bad row and nothing is written.

Columns (header row required, extra columns refused): ``customer_name``, ``phone``,
``product_sku``, ``sold_on`` (YYYY-MM-DD), ``latitude``, ``longitude``; optional ``email``,
``locale`` (es/en), ``address``, ``contract_months``, ``external_ref``. A customer already
stored with the same name and phone at the same place is reused
(:func:`domain.services.same_customer`).

With a geocoder (``POSVENTA_GEOCODER_URL``) a row may leave both coordinates empty, and the
file may leave out both coordinate columns, when it gives the address: each distinct address is
located once, after every other check has passed, and an address that cannot be found is a
problem of its row like any other.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from pydantic import ValidationError
from sqlmodel import Session

from domain.errors import DomainError
from domain.geocoding import GeocoderUnavailable, GeocodingError, NominatimGeocoder, Place
from domain.schemas import CustomerIn, SaleIn, validation_messages
from domain.services import find_or_create_customer, product_by_sku, register_sale

COORDINATES = ("latitude", "longitude")
REQUIRED = ("customer_name", "phone", "product_sku", "sold_on", *COORDINATES)
OPTIONAL = ("email", "locale", "address", "contract_months", "external_ref")
MAX_ROWS = 5000


class CsvImportError(DomainError):
    """The file cannot be imported; ``problems`` lists each one with its line number."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems[:5]) + (" …" if len(problems) > 5 else ""))
        self.problems = problems


@dataclass
class SaleRow:
    line: int
    customer: CustomerIn
    product_sku: str
    sold_on: str
    contract_months: int | None
    external_ref: str | None
    located: str | None = None  # what the geocoder found for the address, if it was looked up


def _messages(exc: ValidationError) -> str:
    return "; ".join(validation_messages(exc, whole="row"))


def parse_sales_csv(
    text: str, default_region: str = "ES", geocoder: NominatimGeocoder | None = None
) -> list[SaleRow]:
    """Validate a whole CSV file; raise :class:`CsvImportError` with every problem found.

    With ``geocoder``, rows without coordinates are located from their address (see the
    module docstring); the geocoder is not asked while any other problem remains."""
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel  # type: ignore[assignment]
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [h.strip() for h in (reader.fieldnames or [])]
    required = REQUIRED
    if geocoder is not None and "address" in header and not set(COORDINATES) & set(header):
        required = tuple(c for c in REQUIRED if c not in COORDINATES)
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    problems = []
    if missing:
        problems.append(f"missing columns: {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown columns: {', '.join(unknown)}")
    if problems:
        raise CsvImportError(problems)
    rows: list[SaleRow] = []
    to_locate: list[SaleRow] = []
    refs: set[str] = set()
    for number, raw in enumerate(reader, start=2):
        if len(rows) >= MAX_ROWS:
            raise CsvImportError([f"more than {MAX_ROWS} rows: split the file"])
        values = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k}
        if None in raw:
            problems.append(f"line {number}: more values than columns")
            continue
        if not any(values.values()):
            continue
        locate = (
            geocoder is not None
            and not values.get("latitude")
            and not values.get("longitude")
            and bool(values.get("address"))
        )
        try:
            customer = CustomerIn(
                name=values["customer_name"],
                phone=values["phone"],
                email=values.get("email") or None,
                locale=values.get("locale") or "es",
                address=values.get("address", ""),
                # a place-holder until the address is located, so every other check runs now
                latitude=0 if locate else values.get("latitude", ""),
                longitude=0 if locate else values.get("longitude", ""),
                default_region=default_region,
            )
            sale = SaleIn(
                customer_id=1,  # placeholder: the customer is created or found on import
                product_sku=values["product_sku"],
                sold_on=values["sold_on"],
                contract_months=values.get("contract_months") or None,
                external_ref=values.get("external_ref") or None,
            )
        except ValidationError as exc:
            problems.append(f"line {number}: {_messages(exc)}")
            continue
        except ValueError as exc:
            problems.append(f"line {number}: {exc}")
            continue
        if sale.external_ref:
            if sale.external_ref in refs:
                problems.append(f"line {number}: reference {sale.external_ref!r} appears twice")
            refs.add(sale.external_ref)
        row = SaleRow(
            line=number,
            customer=customer,
            product_sku=sale.product_sku,
            sold_on=sale.sold_on.isoformat(),
            contract_months=sale.contract_months,
            external_ref=sale.external_ref,
        )
        rows.append(row)
        if locate:
            to_locate.append(row)
    if problems:
        raise CsvImportError(problems)
    if not rows:
        raise CsvImportError(["the file has no sales"])
    if to_locate:
        assert geocoder is not None
        _locate_rows(to_locate, geocoder)
    return rows


def _address_key(address: str) -> str:
    return " ".join(address.split()).casefold()


def _locate_rows(rows: list[SaleRow], geocoder: NominatimGeocoder) -> None:
    """Fill in each row's coordinates from its address (one lookup per distinct address);
    :class:`CsvImportError` lists the addresses that cannot be found."""
    # one request per distinct address, inside the upload's web request (gunicorn gives it
    # 60 s): a self-hosted Nominatim answers in tens of milliseconds, OpenStreetMap's own one
    # address a second (see domain.geocoding)
    distinct = {_address_key(r.customer.address) for r in rows}
    if len(distinct) > geocoder.bulk_limit:
        raise CsvImportError(
            [
                f"{len(distinct)} addresses to locate: at most {geocoder.bulk_limit} per file "
                "with this geocoder; split the file or give their latitude and longitude"
            ]
        )
    found: dict[str, Place | GeocodingError] = {}
    problems = []
    for row in rows:
        key = _address_key(row.customer.address)
        if key not in found:
            try:
                found[key] = geocoder.locate(row.customer.address)
            except GeocoderUnavailable as exc:
                problem = f"line {row.line}: no address could be located: {exc}"
                raise CsvImportError([problem]) from exc
            except GeocodingError as exc:
                found[key] = exc
        place = found[key]
        if isinstance(place, GeocodingError):
            problems.append(
                f"line {row.line}: the address could not be located ({place}): "
                "give its latitude and longitude"
            )
            continue
        row.customer = row.customer.model_copy(
            update={"latitude": place.latitude, "longitude": place.longitude}
        )
        row.located = place.label
    if problems:
        raise CsvImportError(problems)


def import_sales(session: Session, rows: list[SaleRow], actor: str = "system") -> list[int]:
    """Store the validated rows in the caller's session (all or nothing); the new sale ids."""
    problems = []
    for row in rows:
        try:
            product_by_sku(session, row.product_sku)
        except DomainError as exc:
            problems.append(f"line {row.line}: {exc}")
    if problems:
        raise CsvImportError(problems)
    sale_ids = []
    for row in rows:
        customer, _ = find_or_create_customer(session, row.customer, actor=actor)
        try:
            sale = register_sale(
                session,
                SaleIn(
                    customer_id=customer.id,  # type: ignore[arg-type]
                    product_sku=row.product_sku,
                    sold_on=row.sold_on,  # type: ignore[arg-type]
                    contract_months=row.contract_months,
                    external_ref=row.external_ref,
                ),
                actor=actor,
            )
        except DomainError as exc:
            raise CsvImportError([f"line {row.line}: {exc}"]) from exc
        sale_ids.append(sale.id)  # type: ignore[arg-type]
    return sale_ids
