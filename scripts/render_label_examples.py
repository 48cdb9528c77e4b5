"""Issues every sample request of examples/labels/ on a throwaway server and writes what a packing
bench would print: the documents, and PNG pages of the US, German, Taiwanese and Korean labels for
docs/img/ (pypdfium2 for PDF pages, zplkit for ZPL).

    python scripts/render_label_examples.py [--out build/label-examples] [--png docs/img]

The server runs in this process on 127.0.0.1:0 with a temporary SQLite database.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import grpc  # noqa: E402
from google.protobuf import json_format  # noqa: E402

from kokokara.shipping.server import bootstrap  # noqa: E402
from kokokara.shipping.server.settings import Settings  # noqa: E402
from kokokara.shipping.v1 import labels_pb2, labels_pb2_grpc  # noqa: E402

EXAMPLES = REPO / "examples" / "labels"
PNG_FOR = {
    "us_gift_cn22_pdf_a6": "label_US",
    "de_ems_cn23_pdf_4x6": "label_DE",
    "tw_ems_cn23_zpl": "label_TW_zpl",
    "tw_ems_cn23_pdf_a6": "label_TW",
    "kr_ems_cn23_pdf_4x6": "label_KR",
}


def pngs(content: bytes, content_type: str) -> list[bytes]:
    if content_type == "application/pdf":
        import io

        import pypdfium2

        doc = pypdfium2.PdfDocument(content)
        out = []
        for i in range(len(doc)):
            buffer = io.BytesIO()
            doc[i].render(scale=200 / 72).to_pil().convert("L").save(buffer, format="PNG", optimize=True)
            out.append(buffer.getvalue())
        doc.close()
        return out
    import zplkit

    return [scene.png() for scene in zplkit.render(content, zplkit.Options(profile="zd621")).labels]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "build" / "label-examples")
    parser.add_argument("--png", type=Path, default=REPO / "docs" / "img")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    args.png.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        service = bootstrap.start(Settings(listen_addr="127.0.0.1:0", database_path=Path(tmp) / "examples.sqlite3", log_requests=False))
        try:
            with grpc.insecure_channel(service.address) as channel:
                stub = labels_pb2_grpc.LabelServiceStub(channel)
                for path in sorted(EXAMPLES.glob("*.json")):
                    request = json_format.Parse(path.read_text(encoding="utf-8"), labels_pb2.CreateLabelRequest())
                    label = stub.CreateLabel(request, timeout=60).label
                    doc = label.documents[0]
                    suffix = ".pdf" if doc.content_type == "application/pdf" else ".zpl"
                    (args.out / f"{path.stem}{suffix}").write_bytes(doc.content)
                    print(f"{path.name}: {label.tracking_number} {label.product_name} {labels_pb2.CustomsForm.Name(label.customs_form)}")
                    if path.stem in PNG_FOR:
                        for i, png in enumerate(pngs(doc.content, doc.content_type), 1):
                            (args.png / f"{PNG_FOR[path.stem]}_p{i}.png").write_bytes(png)
        finally:
            service.stop(0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
