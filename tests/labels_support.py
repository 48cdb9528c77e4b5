"""Shared builders for the label tests: requests, a fresh PostgreSQL database, and decoders that
read documents back (PDF text with pypdf, the Code 128 barcode by rendering with pypdfium2 and
decoding with zxing-cpp)."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from urllib.parse import urlparse, urlunparse

import psycopg
from google.type import money_pb2

from kokokara.shipping.v1 import common_pb2, labels_pb2
from labels.model import Address, ContentsType, CustomsItem, DocumentFormat, LabelRequest, ParcelSpec
from rates.model import ContentsFlag, Method

SHIP_DATE = date(2026, 11, 30)

# A deliverable address per destination the tests use (line, city, state or province, postcode):
# addresses are checked against their country's format (labels.addresses).
PLACES = {
    "CA": ("1 Main St", "Springfield", "ON", "K1A 0B1"),
    "US": ("350 5th Ave", "New York", "NY", "10118"),
    "FR": ("1 rue de Rivoli", "Paris", "", "75001"),
    "DE": ("Unter den Linden 1", "Berlin", "", "10117"),
    "GB": ("10 Downing St", "London", "", "SW1A 2AA"),
    "TW": ("No. 7, Sec. 5, Xinyi Rd.", "Xinyi Dist.", "Taipei City", "110"),
    "AU": ("1 George St", "Sydney", "NSW", "2000"),
    "NO": ("Karl Johans gate 1", "Oslo", "", "0154"),
    "KR": ("152 Teheran-ro", "Gangnam-gu", "Seoul", "06236"),
    "BR": ("Av. Paulista 1000", "Sao Paulo", "SP", "01310-100"),
    "SG": ("1 Raffles Place", "Singapore", "", "048616"),
    "NZ": ("1 Queen St", "Auckland", "", "1010"),
}


def place(region: str) -> tuple[str, str, str, str]:
    return PLACES.get(region, PLACES["CA"] if region == "CA" else ("1 Main St", "Springfield", "", ""))


def domain_request(
    request_id: str = "req-1",
    *,
    method: Method = Method.EMS,
    region: str = "CA",
    items: tuple[CustomsItem, ...] | None = None,
    weight_g: int = 1200,
    phone: str = "+1 555 0100",
    fmt: DocumentFormat = DocumentFormat.PDF_A6,
    contents: ContentsType = ContentsType.MERCHANDISE,
    recipient_name: str = "Jane Doe",
) -> LabelRequest:
    return LabelRequest(
        request_id=request_id,
        method=method,
        sender=Address(
            name="Kokokara Shop", region_code="JP", address_lines=("1-2-3 Ginza",), city="Chuo-ku", administrative_area="Tokyo", postal_code="104-0061"
        ),
        recipient=Address(
            name=recipient_name,
            region_code=region,
            address_lines=(place(region)[0],),
            city=place(region)[1],
            administrative_area=place(region)[2],
            postal_code=place(region)[3],
            phone=phone,
        ),
        parcel=ParcelSpec(weight_g),
        items=items if items is not None else (CustomsItem("Ceramic tea cup", 2, 3000, "691200", 800, "JP"),),
        contents_type=contents,
        document_format=fmt,
        ship_date=SHIP_DATE,
    )


def yen(units: int) -> money_pb2.Money:
    return money_pb2.Money(currency_code="JPY", units=units)


def proto_request(
    request_id: str,
    *,
    method: int = common_pb2.SHIPPING_METHOD_EMS,
    region: str = "CA",
    name: str = "Jane Doe",
    phone: str = "+1 555 0100",
    items: list[labels_pb2.CustomsItem] | None = None,
    weight_g: int = 1200,
    fmt: int = labels_pb2.DOCUMENT_FORMAT_PDF_A6,
    ship_date: date = SHIP_DATE,
) -> labels_pb2.CreateLabelRequest:
    if items is None:
        items = [
            labels_pb2.CustomsItem(
                description="Ceramic tea cup", quantity=2, unit_value=yen(3000), net_weight_grams=800, origin_region_code="JP", hs_code="691200"
            )
        ]
    return labels_pb2.CreateLabelRequest(
        request_id=request_id,
        method=method,  # type: ignore[arg-type]
        sender=labels_pb2.Address(
            name="Kokokara Shop", address_lines=["1-2-3 Ginza"], city="Chuo-ku", administrative_area="Tokyo", postal_code="104-0061", region_code="JP"
        ),
        recipient=labels_pb2.Address(
            name=name,
            address_lines=[place(region)[0]],
            city=place(region)[1],
            administrative_area=place(region)[2],
            postal_code=place(region)[3],
            region_code=region,
            phone=phone,
        ),
        parcel=common_pb2.Parcel(weight_grams=weight_g),
        customs_items=items,
        contents_type=common_pb2.CONTENTS_TYPE_MERCHANDISE,
        document_format=fmt,  # type: ignore[arg-type]
        ship_date={"year": ship_date.year, "month": ship_date.month, "day": ship_date.day},
    )


LITHIUM = ContentsFlag.LITHIUM_BATTERY_LOOSE


@contextmanager
def fresh_database(base_url: str) -> Iterator[str]:
    """Creates an empty PostgreSQL database and yields its URL; drops it afterwards."""
    name = f"labels_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    parsed = urlparse(base_url)
    url = urlunparse(parsed._replace(path=f"/{name}"))
    try:
        yield url
    finally:
        with psycopg.connect(base_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def pdf_text(content: bytes) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def pdf_barcodes(content: bytes, page: int = 0) -> list[tuple[str, str]]:
    """(format, text) of every barcode found on a rendered page."""
    import pypdfium2
    import zxingcpp

    doc = pypdfium2.PdfDocument(content)
    try:
        image = doc[page].render(scale=4).to_pil()
    finally:
        doc.close()
    return [(str(r.format), r.text) for r in zxingcpp.read_barcodes(image)]
