"""A fixed corpus of labels, rendered to bytes, to check that a change to the renderers changes no
byte of any document (a speed-up must draw exactly what was drawn before).

    python bench/label_corpus.py --save digests.json     # render the corpus, keep each digest
    python bench/label_corpus.py --check digests.json    # render twice, compare, list differences
    python bench/label_corpus.py --dump DIR              # write every document, to look at or diff

90 labels: the three document formats x 15 recipients (Latin, Chinese simplified and traditional,
Korean, Cyrillic, Greek, Thai, Arabic; countries that put the postcode first or last, with states,
provinces or none) x CN22 and CN23, with 1 to 14 items (some overflow onto item pages), every
contents category and both non-delivery instructions. Rendering goes straight to
labels.documents.render_content (no kept copies). Beside the documents, what the checks before
issue (labels.documents.check_printable) say of each request and of a dozen they refuse.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from domain.errors import InvalidArgument  # noqa: E402
from labels import documents  # noqa: E402
from labels.model import Address, ContentsType, CustomsDetails, CustomsForm, CustomsItem, DocumentFormat, Label, LabelRequest, NonDelivery, Pricing  # noqa: E402
from rates.model import Product  # noqa: E402
from tests.labels_support import domain_request  # noqa: E402


def make_label(request: LabelRequest, *, form: CustomsForm, number: str, export: bool = False) -> Label:
    """A label as the service issues it, without a store: fixed id, price and time."""
    return Label(
        id="corpus",
        seq=1,
        tracking_number=number,
        range_name="r",
        request=request,
        request_hash=request.content_hash(),
        pricing=Pricing(Product.EMS, "EMS", 3900),
        customs_form=form,
        export_declaration_required=export,
        created_at=datetime(2026, 11, 30, 1, 2, 3, tzinfo=UTC),
    )


def _latin(name: str, region: str, line: str, city: str, area: str = "", sub: str = "") -> Address:
    return Address(name=name, region_code=region, address_lines=(line,), city=city, administrative_area=area, sublocality=sub)


RECIPIENTS = (
    Address(
        "王小明",
        "TW",
        ("信義路五段7號",),
        "信義區",
        "臺北市",
        "110",
        phone="+886 912 345 678",
        latin=_latin("Wang Xiaoming", "TW", "No. 7, Sec. 5, Xinyi Rd.", "Xinyi Dist.", "Taipei City"),
    ),
    Address(
        "김민준",
        "KR",
        ("테헤란로 152",),
        "강남구",
        "서울특별시",
        "06236",
        phone="+82 10 1234 5678",
        latin=_latin("Kim Minjun", "KR", "152 Teheran-ro", "Gangnam-gu", "Seoul"),
    ),
    Address(
        "Иван Петров",
        "RU",
        ("ул. Тверская, д. 7, кв. 5",),
        "Москва",
        "Москва",
        "125009",
        latin=_latin("Ivan Petrov", "RU", "ul. Tverskaya, d. 7, kv. 5", "Moskva", "Moskva"),
    ),
    Address(
        "李华",
        "CN",
        ("建国路88号",),
        "北京市",
        "北京市",
        "100022",
        sublocality="朝阳区",
        latin=_latin("Li Hua", "CN", "88 Jianguo Rd", "Beijing", "Beijing Shi", "Chaoyang"),
    ),
    Address(
        "สมชาย ใจดี", "TH", ("1 ถนนสุขุมวิท",), "คลองเตย", "กรุงเทพมหานคร", "10110", latin=_latin("Somchai Jaidee", "TH", "1 Sukhumvit Rd", "Khlong Toei", "Bangkok")
    ),
    Address("محمد العلي", "SA", ("شارع الملك فهد 12",), "الرياض", "", "11564", latin=_latin("Mohammed Al-Ali", "SA", "12 King Fahd Rd", "Riyadh")),
    Address("Νίκος Παπαδόπουλος", "GR", ("Οδός Ερμού 10",), "Αθήνα", "", "105 63", latin=_latin("Nikos Papadopoulos", "GR", "Ermou 10", "Athina")),
    Address(
        "陳美玲",
        "HK",
        ("皇后大道中99號",),
        "中環",
        "香港島",
        "",
        company="長江貿易有限公司",
        latin=_latin("Chan Mei Ling", "HK", "99 Queen's Road Central", "Central", "Hong Kong Island"),
    ),
    Address("Max Müller", "DE", ("Friedrichstraße 43",), "Berlin", "Berlin", "10117", phone="+49 30 1234567"),
    Address("Jane Doe", "US", ("350 5th Ave", "Suite 7100"), "New York", "NY", "10118", company="Acme Imports LLC", phone="+1 212 555 0100"),
    Address("Oliver Smith", "GB", ("10 Downing St",), "London", "", "SW1A 2AA", email="oliver@example.co.uk"),
    Address("Amélie Dubois", "FR", ("1 rue de Rivoli",), "Paris", "", "75001"),
    Address("Charlotte Brown", "AU", ("1 George St",), "Sydney", "NSW", "2000", phone="+61 2 9999 0000"),
    Address("João Silva", "BR", ("Av. Paulista 1000",), "São Paulo", "SP", "01310-100"),
    Address("Ingrid Hansen", "NO", ("Karl Johans gate 1",), "Oslo", "", "0154"),
)

ITEMS = (
    CustomsItem("Ceramic tea cup", 2, 3000, "691200", 800, "JP"),
    CustomsItem("Green tea (sencha), 100 g tin", 3, 1500, "090210", 300, "JP"),
    CustomsItem("Cotton tenugui towel, indigo dyed", 1, 1200, "630260", 60, "JP"),
    CustomsItem("Stainless steel chef's knife 210 mm", 1, 18000, "821191", 250, "JP"),
    CustomsItem("Washi paper notebook", 5, 700, "482010", 400, "CN"),
    CustomsItem("Lacquered chopsticks, set of 2 pairs", 4, 2200, "441990", 120, "JP"),
    CustomsItem("Furoshiki wrapping cloth, silk", 1, 9800, "621410", 90, "JP"),
)
ITEM_COUNTS = (1, 3, 7, 14)
CATEGORIES = tuple(ContentsType)
FORMATS = tuple(DocumentFormat)


def corpus() -> list[tuple[str, Label]]:
    out: list[tuple[str, Label]] = []
    for fmt in FORMATS:
        for i, recipient in enumerate(RECIPIENTS):
            for j, form in enumerate((CustomsForm.CN22, CustomsForm.CN23)):
                n = ITEM_COUNTS[(i + j) % len(ITEM_COUNTS)]
                items = tuple(ITEMS[k % len(ITEMS)] for k in range(n))
                details = CustomsDetails(
                    non_delivery=NonDelivery.ABANDON if (i + j) % 2 else NonDelivery.RETURN_TO_SENDER,
                    invoice_number=f"INV-2026-{i:03d}" if form is CustomsForm.CN23 else "",
                    comments="Gifts for the family" if i % 3 == 0 else "",
                    importer_reference="P123456789012" if recipient.region_code == "KR" else "",
                )
                request = domain_request(region=recipient.region_code, fmt=fmt, contents=CATEGORIES[(i + j) % len(CATEGORIES)])
                weight = 200 + sum(it.net_weight_g * it.quantity for it in items)
                request = replace(request, recipient=recipient, items=items, customs=details, parcel=replace(request.parcel, weight_g=weight))
                number = f"EN{100000000 + 17 * (i * 2 + j):09d}JP"
                label = make_label(request, form=form, number=number, export=(i == 3 and j == 1))
                out.append((f"{fmt.value}-{recipient.region_code}-{form.value}-{n}", label))
    return out


def _refusals() -> list[tuple[str, LabelRequest]]:
    """Requests the checks before issue refuse (and a few they accept), beside the corpus's own."""
    base = corpus()[0][1].request
    tw = RECIPIENTS[0]
    us = RECIPIENTS[9]
    changes: list[tuple[str, Address]] = [
        ("no-latin", replace(tw, latin=None)),
        ("latin-not-latin", replace(tw, latin=replace(tw.latin, city="信義區") if tw.latin else None)),
        ("emoji-name", replace(us, name="Jane \U0001f600 Doe")),
        ("private-use", replace(us, address_lines=("350 5th Ave \ue000",))),
        ("control-char", replace(us, city="New\x07York")),
        ("no-zip", replace(us, postal_code="")),
        ("bad-zip", replace(us, postal_code="ABCDE")),
        ("bad-state", replace(us, administrative_area="Narnia")),
        ("de-postcode", replace(RECIPIENTS[8], postal_code="1011")),
        ("accents", replace(RECIPIENTS[11], name="Zoë Ærøskøbing-Ñúñez")),
        ("tab", replace(us, name="Jane\tDoe")),
        ("gb-no-postcode", replace(RECIPIENTS[10], postal_code="")),
    ]
    return [(name, replace(base, recipient=recipient)) for name, recipient in changes]


def check_all() -> dict[str, bytes]:
    """What the checks before issue say of each request: nothing, or the fields and messages."""
    out: dict[str, bytes] = {}
    for name, request in [*((n, label.request) for n, label in corpus()), *_refusals()]:
        try:
            documents.check_printable(request)
            out[f"check:{name}"] = b"ok"
        except InvalidArgument as exc:
            out[f"check:{name}"] = repr([(v.field, v.description) for v in exc.violations]).encode()
    return out


def render_all() -> dict[str, bytes]:
    docs = {name: documents.render_content(label, label.request.document_format) for name, label in corpus()}
    return {**docs, **check_all()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--save", type=Path, help="write the digests of the corpus to this JSON file")
    group.add_argument("--check", type=Path, help="compare the corpus with the digests in this JSON file")
    group.add_argument("--dump", type=Path, help="write every document to this directory")
    args = parser.parse_args()
    docs = render_all()
    digests = {name: hashlib.sha256(content).hexdigest() for name, content in docs.items()}
    if args.save:
        args.save.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")
        print(f"{len(digests)} documents, digests written to {args.save}")
        return 0
    if args.dump:
        args.dump.mkdir(parents=True, exist_ok=True)
        for name, content in docs.items():
            suffix = ".txt" if name.startswith("check:") else ".zpl" if name.startswith("zpl") else ".pdf"
            (args.dump / (name.replace(":", "-") + suffix)).write_bytes(content)
        print(f"{len(docs)} documents written to {args.dump}")
        return 0
    kept = json.loads(args.check.read_text())
    differ = sorted(name for name in digests.keys() | kept.keys() if digests.get(name) != kept.get(name))
    # Again in the same process: what a process keeps between documents must not change a byte.
    again = {name: hashlib.sha256(content).hexdigest() for name, content in render_all().items()}
    differ += sorted(f"{name} (second rendering)" for name in again if again[name] != kept.get(name))
    for name in differ:
        print(f"  differs: {name}")
    print(f"{len(digests)} documents, {len(differ)} differ from {args.check}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
